//! Parts 2 and 3: `n` sleeping containers launched through one persistent harness
//! (`agent-harness run-many --file=- --concurrency=n`), their usage swept with `@usage`, then all
//! destroyed with `@destroy`; the harness's memory from `/proc/<pid>/status`, and a check that
//! nothing was left behind (no process, no cgroup, no runtime directory, no checkpoint).

use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::stats::{Summary, summarize};
use crate::{Config, HARNESS_ISOLATION};

/// How many `@usage` sweeps are timed at each size.
const SWEEPS: usize = 5;

/// How many containers are launched, timed, once `n` are live: the launch cost at `n` (a median
/// of 50, so that one slow moment of the machine does not move it).
pub const BATCH: usize = 50;

/// The containers live at the end of a size `n` beyond `n`: a batch launched together, then a
/// batch one at a time.
pub const EXTRA: usize = 2 * BATCH;

#[derive(Debug, Clone, Serialize)]
pub struct Many {
    pub containers: usize,
    /// From the first line written to the last `launched` line read.
    pub launch_seconds: f64,
    /// The median launch, in ms, of [`BATCH`] more containers launched one at a time once
    /// `containers` are live.
    pub launch_at_n_ms: f64,
    /// [`BATCH`] containers written at once, per launch, in ms: the throughput with
    /// `containers` live.
    pub launch_batch_ms: f64,
    /// From `@destroy` to the last `finished` line (of `containers` + [`EXTRA`]).
    pub destroy_seconds: f64,
    /// `destroy_seconds` per container, in ms.
    pub destroy_per_container_ms: f64,
    /// VmRSS before any container (modules loaded), with all live, and VmHWM at the end, in KiB.
    pub rss_idle_kib: u64,
    pub rss_loaded_kib: u64,
    pub hwm_kib: u64,
    /// (rss_loaded - rss_idle) / containers.
    pub rss_per_container_kib: f64,
    /// The harness's threads with every container live (one event loop: no thread per container).
    pub threads: u64,
    /// The harness's own timing of each sweep over the `containers` live (before the timed
    /// launches), in milliseconds.
    pub usage_sweep_ms: Option<Summary>,
    /// What was left behind (empty when nothing).
    pub leaks: Vec<String>,
}

/// A number field of `/proc/<pid>/status` (`VmRSS` and `VmHWM` are in KiB).
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.trim_start_matches(':').split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Reads events until `want` of kind `event` were seen; the events seen of that kind.
fn wait_for(
    lines: &mut Lines<BufReader<ChildStdout>>,
    event: &str,
    want: usize,
) -> Result<Vec<serde_json::Value>> {
    let mut seen = Vec::new();
    while seen.len() < want {
        let line = lines.next().context("run-many ended early")??;
        let value: serde_json::Value = serde_json::from_str(&line)?;
        match value["event"].as_str() {
            Some(e) if e == event => seen.push(value),
            Some("failed") => bail!("a container failed to launch: {line}"),
            _ => {}
        }
    }
    Ok(seen)
}

pub fn measure(config: &Config, n: usize) -> Result<Many> {
    let prefix = format!("bench-many-{}-{n}-", std::process::id());
    let mut child = crate::lifecycle::harness(config, "run-many", HARNESS_ISOLATION)
        .arg(format!("--container_id_prefix={prefix}"))
        .arg("--file=-")
        .arg(format!("--concurrency={}", n + EXTRA))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start agent-harness run-many")?;
    let result = drive(config, n, &prefix, &mut child);
    if result.is_err() {
        // run-many destroys every live container on SIGTERM, then exits: a part that failed
        // halfway leaves neither the harness nor its sleeping containers behind.
        // SAFETY: kill has no memory effects; the pid is our own child's, not yet waited for.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = child.wait();
    }
    result
}

/// Drives one started `run-many` through the part (see [`measure`]).
fn drive(config: &Config, n: usize, prefix: &str, child: &mut std::process::Child) -> Result<Many> {
    let pid = child.id();
    let mut stdin = child.stdin.take().context("stdin")?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();

    // An empty sweep answers once the modules are loaded: the idle memory.
    stdin.write_all(b"@usage\n")?;
    wait_for(&mut lines, "usage", 1)?;
    let rss_idle_kib = status_kib(pid, "VmRSS");

    let start = Instant::now();
    stdin.write_all("/bin/sleep 3600\n".repeat(n).as_bytes())?;
    let launched = wait_for(&mut lines, "launched", n)?;
    let launch_seconds = start.elapsed().as_secs_f64();
    let mut pids: Vec<i32> = launched.iter().filter_map(|e| e["pid"].as_i64()).map(|p| p as i32).collect();
    let rss_loaded_kib = status_kib(pid, "VmRSS");
    let threads = status_kib(pid, "Threads");

    // The sweeps, over exactly the `n` live, a second after the last launch: an agent sweeps
    // long-running containers periodically, not in the kernel's wake of a thousand launches (and
    // of the previous size's thousand removals), whose deferred work would be timed with it.
    std::thread::sleep(std::time::Duration::from_secs(1));
    stdin.write_all("@usage\n".repeat(SWEEPS).as_bytes())?;
    let sweeps = wait_for(&mut lines, "usage", SWEEPS)?;
    let mut sweep_ms = Vec::new();
    for sweep in &sweeps {
        if sweep["containers"].as_u64() != Some(n as u64) {
            bail!("a sweep saw {} containers, not {n}", sweep["containers"]);
        }
        sweep_ms.push(sweep["seconds"].as_f64().unwrap_or(f64::NAN) * 1e3);
    }

    // The throughput with `n` live: a batch more written at once, timed together (a launch can
    // overlap the helper's exec of the one before).
    let start = Instant::now();
    stdin.write_all("/bin/sleep 3600\n".repeat(BATCH).as_bytes())?;
    let more = wait_for(&mut lines, "launched", BATCH)?;
    let launch_batch_ms = start.elapsed().as_secs_f64() * 1e3 / BATCH as f64;
    pids.extend(more.iter().filter_map(|e| e["pid"].as_i64()).map(|p| p as i32));

    // The cost of a launch with `n` live: a batch more, one at a time, each timed from its line
    // to its `launched` event; the median (as crun's launches are summarized), so one launch that
    // waited for an RCU grace period does not stand for the batch.
    let mut each_ms = Vec::with_capacity(BATCH);
    for _ in 0..BATCH {
        let start = Instant::now();
        stdin.write_all(b"/bin/sleep 3600\n")?;
        stdin.flush()?;
        let more = wait_for(&mut lines, "launched", 1)?;
        each_ms.push(start.elapsed().as_secs_f64() * 1e3);
        pids.extend(more.iter().filter_map(|e| e["pid"].as_i64()).map(|p| p as i32));
    }
    let launch_at_n_ms = crate::stats::summarize(&each_ms).map(|s| s.median).unwrap_or(f64::NAN);
    let live = n + EXTRA;

    let start = Instant::now();
    stdin.write_all(b"@destroy\n")?;
    let finished = wait_for(&mut lines, "finished", live)?;
    let destroy_seconds = start.elapsed().as_secs_f64();
    let hwm_kib = status_kib(pid, "VmHWM");
    drop(stdin);
    let status = child.wait()?;

    let mut leaks = Vec::new();
    if !status.success() {
        leaks.push(format!("run-many exited with {status}"));
    }
    let unclean = finished.iter().filter(|e| e["errors"].as_array().is_some_and(|a| !a.is_empty())).count();
    if unclean > 0 {
        leaks.push(format!("{unclean} containers reported teardown errors"));
    }
    leaks.extend(leaked(prefix, &pids, &config.work_dir));
    Ok(Many {
        containers: n,
        launch_seconds,
        launch_at_n_ms,
        launch_batch_ms,
        destroy_seconds,
        destroy_per_container_ms: destroy_seconds * 1e3 / live as f64,
        rss_idle_kib,
        rss_loaded_kib,
        hwm_kib,
        rss_per_container_kib: rss_loaded_kib.saturating_sub(rss_idle_kib) as f64 / n as f64,
        threads,
        usage_sweep_ms: summarize(&sweep_ms),
        leaks,
    })
}

/// Every cgroup hierarchy mount point, from `/proc/self/mountinfo`.
fn cgroup_mounts() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split_whitespace().nth(4).map(PathBuf::from))
        .collect()
}

/// Directories in `dir` whose names start with `prefix`.
fn entries_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// What the containers of `prefix` left behind.
pub fn leaked(prefix: &str, pids: &[i32], work_dir: &Path) -> Vec<String> {
    let mut leaks = Vec::new();
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = pids.iter().filter(|p| unsafe { libc::kill(**p, 0) } == 0).count();
    if alive > 0 {
        leaks.push(format!("{alive} container processes still exist"));
    }
    for mount in cgroup_mounts() {
        let root = mount.join(crate::CGROUPS_ROOT);
        let left = entries_with_prefix(&root, prefix);
        if !left.is_empty() {
            leaks.push(format!("{} cgroups left in {}", left.len(), root.display()));
        }
    }
    let runtime: Vec<PathBuf> =
        crate::lifecycle::runtime_dirs().iter().flat_map(|dir| entries_with_prefix(dir, prefix)).collect();
    if !runtime.is_empty() {
        leaks.push(format!("{} runtime directories left", runtime.len()));
    }
    let checkpoints = entries_with_prefix(&work_dir.join("meta/containers"), prefix);
    if !checkpoints.is_empty() {
        leaks.push(format!("{} checkpoints left", checkpoints.len()));
    }
    leaks
}
