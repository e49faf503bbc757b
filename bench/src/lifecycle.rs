//! Part 1: the lifecycle of one `/bin/true` container with cpu and memory cgroups (cpus 0.5,
//! mem 64 MB) and pid, mount, ipc and uts namespaces, run one after another, through each runtime:
//!
//! - `harness run`: one `agent-harness run` process per container (modules loaded every time);
//! - `harness run-many`: one persistent `agent-harness run-many --concurrency=1`; a container's
//!   time is the time between two consecutive `finished` lines, so it holds everything from the
//!   launch of one container to the cleanup of the next;
//! - `harness run (busybox rootfs)`: `run` with `filesystem/linux` added and `--rootfs` the
//!   bundle's busybox rootfs, so it too pivots into a root of its own as crun and runc do;
//! - `crun run` and `runc run` on an equivalent OCI bundle (busybox rootfs, the same limits and
//!   namespaces);
//! - the floor: `unshare -fpimu --mount-proc /bin/true`, a namespaced process with nothing else.
//!
//! The runtimes take turns in rounds, so a burst of load on the machine hits all of them alike.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::stats::{Summary, summarize};
use crate::{Config, HARNESS_ISOLATION, HARNESS_RESOURCES};

/// The runtimes compared, in table order.
pub const RUNTIMES: [&str; 6] =
    ["harness run-many", "harness run", "harness run (busybox rootfs)", "crun", "runc", "floor (unshare)"];

/// `filesystem/linux`, for the rootfs row.
const LINUX_FILESYSTEM: &str = "org_apache_mesos_LinuxFilesystemIsolator";

#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    pub name: String,
    /// Milliseconds per container.
    pub summary: Option<Summary>,
    /// Why it was not measured, when it was not.
    pub skipped: Option<String>,
    #[serde(skip)]
    pub samples: Vec<f64>,
}

/// Writes the OCI bundle: a busybox rootfs and a config with the harness's limits and namespaces,
/// running `/bin/true`.
pub fn write_bundle(dir: &Path) -> Result<()> {
    write_bundle_running(dir, &["/bin/true"])
}

/// [`write_bundle`] running `args` (`args[0]` is a busybox applet in `/bin`).
pub fn write_bundle_running(dir: &Path, args: &[&str]) -> Result<()> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("busybox is missing (apt-get install -y busybox-static)")?;
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(dir.join("rootfs/proc"))?;
    std::fs::create_dir_all(dir.join("rootfs/dev"))?;
    std::fs::copy(busybox, bin.join("busybox"))?;
    let applet = args[0].rsplit('/').next().unwrap_or("true");
    std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    // cpus 0.5 and mem 64 MB by Mesos's formulas, as the cgroups isolators write them: shares
    // 512, CFS quota 50 ms per 100 ms period, a 64 MiB memory limit.
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "bench",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc",
                    "options": ["nosuid", "noexec", "nodev"]}],
        "linux": {
            "resources": {"cpu": {"shares": 512, "quota": 50000, "period": 100000},
                          "memory": {"limit": 67_108_864}},
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
        }
    });
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// Runs `command` to its end; its wall time in milliseconds. Fails on a non-zero exit.
pub fn timed(command: &mut Command) -> Result<f64> {
    let start = Instant::now();
    let status = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if !status.status.success() {
        // The program and its first argument name it; the whole command line (an inline manifest)
        // would bury the reason.
        let args: Vec<String> =
            command.get_args().take(1).map(|a| a.to_string_lossy().into_owned()).collect();
        bail!(
            "{} {} failed ({}): {}",
            command.get_program().to_string_lossy(),
            args.join(" "),
            status.status,
            String::from_utf8_lossy(&status.stderr).trim()
        );
    }
    Ok(ms)
}

/// `agent-harness run` of one `/bin/true` container `id` with the bench's modules, work dir,
/// resources and `isolation`, with `extra` flags before the command.
pub fn harness_run(config: &Config, isolation: &str, id: &str, extra: &[String]) -> Command {
    let mut command = harness(config, "run", isolation);
    command.arg(format!("--container_id={id}")).args(extra).args(["--", "/bin/true"]);
    command
}

/// `agent-harness <subcommand>` (`run` or `run-many`) with the flags every harness container of
/// the bench shares: the suite's modules (whose containerizer runs the helper of
/// [`Config::launcher_dir`]), `isolation`, the resources and the work dir.
pub fn harness(config: &Config, subcommand: &str, isolation: &str) -> Command {
    let mut command = Command::new(&config.harness);
    command
        .arg(subcommand)
        .arg(format!("--modules={}", config.modules))
        .arg(format!("--isolation={isolation}"))
        .arg(format!("--resources={HARNESS_RESOURCES}"))
        .arg(format!("--work_dir={}", config.work_dir.display()));
    command
}

/// One container of `runtime`, timed from outside.
fn one(config: &Config, runtime: &str, bundle: &Path, n: usize) -> Result<f64> {
    let id = format!("bench-{}-{n}", std::process::id());
    match runtime {
        "harness run" => timed(&mut harness_run(config, HARNESS_ISOLATION, &id, &[])),
        "harness run (busybox rootfs)" => timed(&mut harness_run(
            config,
            &format!("{HARNESS_ISOLATION},{LINUX_FILESYSTEM}"),
            &id,
            &[format!("--rootfs={}", bundle.join("rootfs").display())],
        )),
        "crun" => timed(Command::new("crun").args(["run", "--bundle"]).arg(bundle).arg(&id)),
        "runc" => timed(Command::new("runc").args(["run", "--bundle"]).arg(bundle).arg(&id)),
        "floor (unshare)" => timed(Command::new("unshare").args(["-fpimu", "--mount-proc", "/bin/true"])),
        other => bail!("unknown runtime {other}"),
    }
}

/// The engine's phases of `agent-harness run` (what `--json` reports in `durations`), in order.
pub const PHASES: [&str; 8] = ["prepare", "launch", "isolate", "watch", "exec", "run", "destroy", "cleanup"];

/// Where the time of one `agent-harness run` goes: the median of each engine phase over `count`
/// runs (`--json`), the median wall time of the same runs, and that of `agent-harness --version`
/// (a process that starts, parses its flags and exits, loading nothing).
#[derive(Debug, Clone, Serialize)]
pub struct Phases {
    pub count: usize,
    /// `(phase, median ms)` in [`PHASES`] order.
    pub phases: Vec<(String, f64)>,
    pub wall_ms: f64,
    pub version_ms: f64,
}

/// Measures [`Phases`] with `count` runs (after two unmeasured ones).
pub fn phases(config: &Config, count: usize) -> Result<Phases> {
    let mut per_phase: Vec<Vec<f64>> = PHASES.iter().map(|_| Vec::new()).collect();
    let mut walls = Vec::new();
    let mut versions = Vec::new();
    for i in 0..count + 2 {
        let id = format!("bench-{}-phases-{i}", std::process::id());
        let start = Instant::now();
        let output = harness_run(config, HARNESS_ISOLATION, &id, &["--json".to_owned()])
            .stdin(Stdio::null())
            .output()?;
        let wall = start.elapsed().as_secs_f64() * 1e3;
        if !output.status.success() {
            bail!("agent-harness run --json failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        let outcome: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let version = timed(Command::new(&config.harness).arg("--version"))?;
        if i < 2 {
            continue;
        }
        for (phase, samples) in PHASES.iter().zip(&mut per_phase) {
            let seconds =
                outcome["durations"][phase].as_f64().with_context(|| format!("no {phase} duration"))?;
            samples.push(seconds * 1e3);
        }
        walls.push(wall);
        versions.push(version);
    }
    let median = |v: &[f64]| summarize(v).map(|s| s.median).unwrap_or(f64::NAN);
    Ok(Phases {
        count,
        phases: PHASES.iter().zip(&per_phase).map(|(p, v)| ((*p).to_owned(), median(v))).collect(),
        wall_ms: median(&walls),
        version_ms: median(&versions),
    })
}

/// `count` containers through one `run-many --concurrency=1`, after `warmup` unmeasured ones.
fn run_many(config: &Config, round: usize, count: usize, warmup: usize) -> Result<Vec<f64>> {
    let mut child = harness(config, "run-many", HARNESS_ISOLATION)
        .arg(format!("--container_id_prefix=bench-{}-r{round}-", std::process::id()))
        .args(["--file=-", "--concurrency=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start agent-harness run-many")?;
    {
        let mut stdin = child.stdin.take().context("stdin")?;
        stdin.write_all("/bin/true\n".repeat(count + warmup).as_bytes())?;
    }
    let stdout = BufReader::new(child.stdout.take().context("stdout")?);
    let mut finished = Vec::new();
    for line in stdout.lines() {
        let line = line?;
        let event: serde_json::Value = serde_json::from_str(&line)?;
        match event["event"].as_str() {
            Some("finished") => {
                if event["exit_status"] != 0 || event["errors"].as_array().is_some_and(|e| !e.is_empty()) {
                    bail!("a run-many container did not end cleanly: {line}");
                }
                finished.push(Instant::now());
            }
            Some("failed") => bail!("a run-many container failed: {line}"),
            _ => {}
        }
    }
    let status = child.wait()?;
    if !status.success() || finished.len() != count + warmup {
        bail!("run-many ended with {status} after {} containers", finished.len());
    }
    Ok(finished
        .windows(2)
        .skip(warmup.saturating_sub(1))
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .collect())
}

/// Whether a runtime can be measured here; the reason when not.
fn available(config: &Config, runtime: &str) -> Option<String> {
    let program = match runtime {
        "crun" => "crun",
        "runc" => "runc",
        "floor (unshare)" => "unshare",
        _ => return (!config.harness.exists()).then(|| format!("{} is not built", config.harness.display())),
    };
    missing(program)
}

/// Why `program` cannot be run (not on `PATH`), or `None`.
pub fn missing(program: &str) -> Option<String> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false);
    (!found).then(|| format!("{program} is not installed (apt-get install -y crun runc)"))
}

/// Measures every runtime: `config.containers` containers each, in `config.rounds` rounds.
pub fn measure(config: &Config, bundle_dir: &Path) -> Vec<Runtime> {
    let mut runtimes: Vec<Runtime> = RUNTIMES
        .iter()
        .map(|name| Runtime {
            name: (*name).to_owned(),
            summary: None,
            skipped: available(config, name),
            samples: Vec::new(),
        })
        .collect();
    let per_round = config.containers.div_ceil(config.rounds);
    let mut n = 0;
    for round in 0..config.rounds {
        for runtime in runtimes.iter_mut().filter(|r| r.skipped.is_none()) {
            eprintln!("lifecycle: round {}/{} {}", round + 1, config.rounds, runtime.name);
            let result = if runtime.name == "harness run-many" {
                run_many(config, round, per_round, 3)
            } else {
                // Two unmeasured runs first: page cache, dentries, the kernel's rcu_sync state.
                (0..per_round + 2)
                    .map(|i| {
                        n += 1;
                        one(config, &runtime.name, bundle_dir, n).map(|ms| (i >= 2).then_some(ms))
                    })
                    .filter_map(Result::transpose)
                    .collect()
            };
            match result {
                Ok(samples) => runtime.samples.extend(samples),
                Err(e) => runtime.skipped = Some(format!("failed: {e:#}")),
            }
        }
    }
    for runtime in &mut runtimes {
        if runtime.skipped.is_none() {
            runtime.summary = summarize(&runtime.samples);
        }
    }
    runtimes
}

/// Where the containerizer keeps its per-container runtime directories, by default (for the leak
/// checks): `<runtime_dir>/containers`, or `<runtime_dir>/<cgroups_root>/containers` where each
/// cgroups root has its own part.
pub fn runtime_dirs() -> Vec<PathBuf> {
    let base = PathBuf::from("/run/agent-harness/containerizer");
    vec![base.join("containers"), base.join(crate::CGROUPS_ROOT).join("containers")]
}
