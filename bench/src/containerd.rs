//! The containerd part: `ctr run --rm` of a `/bin/true` container with cpus 0.5 (shares 512,
//! CFS quota 50 ms / 100 ms) and 64 MiB of memory, on the locally built busybox image, through
//! each runc-compatible runtime in turn: the suite's `isolation-runc`, runc and crun, one after
//! another through one private containerd (its shim `containerd-shim-runc-v2` calls the runtime
//! with `--runc-binary`). A container's time is the whole `ctr run` seen from outside: the
//! snapshot, the shim, create, start, the exit, delete.
//!
//! crun needs no wrapper here: the bench already runs in a mount namespace without
//! `/sys/fs/cgroup/unified`, and containerd and its shims inherit it. The containers' cgroups go
//! under the bench's cgroups root (the ctr namespace is named after it, and ctr's default cgroups
//! path is `/<namespace>/<id>`). After the last one, containerd is stopped and what is left
//! (processes naming its folder, mounts under it, runtime state) is reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use local_containerd::{Daemon, Settings, image};
use serde::Serialize;

use crate::lifecycle::Runtime;
use crate::stats::summarize;

/// The runtimes compared, in table order: (row name, binary name).
const RUNTIMES: [(&str, &str); 3] =
    [("isolation-runc", "isolation-runc"), ("runc", "runc"), ("crun", "crun")];

/// The part's results.
#[derive(Debug, Serialize)]
pub struct ContainerdPart {
    pub containerd: String,
    pub runtimes: Vec<Runtime>,
    /// What was left once containerd stopped (empty: nothing).
    pub leaks: Vec<String>,
}

/// What the part runs with.
#[derive(Debug)]
pub struct Part<'a> {
    /// The build folder (the image cache goes in it).
    pub build: &'a Path,
    /// The suite's runtime binary.
    pub suite_runtime: &'a Path,
    /// containerd's folder, and the runtimes' root and ctr's fifos.
    pub dir: &'a Path,
    /// The ctr namespace, which is also the cgroups root of the containers.
    pub namespace: &'a str,
    /// Containers per runtime, in `rounds` rounds.
    pub containers: usize,
    pub rounds: usize,
}

/// A program on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Where a runtime's binary is: the suite's as given, the others on PATH.
fn binary(part: &Part, name: &str) -> Option<PathBuf> {
    if name == "isolation-runc" {
        return part.suite_runtime.is_file().then(|| part.suite_runtime.to_path_buf());
    }
    on_path(name)
}

/// Why the part cannot run here.
fn skip_reason() -> Option<String> {
    let missing: Vec<&str> = ["containerd", "ctr", "containerd-shim-runc-v2"]
        .into_iter()
        .filter(|t| on_path(t).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "containerd is not installed ({} missing; apt-get install containerd)",
            missing.join(", ")
        ));
    }
    image::skip_reason()
}

/// Measures the part's containers per runtime through one containerd.
pub fn measure(part: &Part) -> Result<ContainerdPart> {
    let (build, dir, namespace, containers, rounds) =
        (part.build, part.dir, part.namespace, part.containers, part.rounds);
    if let Some(reason) = skip_reason() {
        bail!(reason);
    }
    let image_tar = image::cached_image_tar(&build.join("oci-images"))?;
    let settings = Settings { dir: dir.join("containerd"), cri: None };
    let mut daemon = Daemon::start(settings, Duration::from_secs(60))?;
    let version = crate::machine::first_line("containerd", &["--version"]);
    daemon.import(namespace, &image_tar)?;
    let runtime_root = dir.join("runtime-root");
    let fifo_dir = dir.join("fifo");
    std::fs::create_dir_all(&runtime_root)?;
    std::fs::create_dir_all(&fifo_dir)?;

    let mut runtimes: Vec<(Runtime, Option<PathBuf>)> = RUNTIMES
        .iter()
        .map(|(name, bin)| {
            let path = binary(part, bin);
            let skipped = path.is_none().then(|| format!("{bin} not found (built or installed)"));
            (Runtime { name: (*name).to_owned(), summary: None, skipped, samples: Vec::new() }, path)
        })
        .collect();
    let per_round = containers.div_ceil(rounds.max(1));
    let mut n = 0;
    for round in 0..rounds.max(1) {
        for (runtime, path) in runtimes.iter_mut() {
            let Some(path) = path.as_ref().filter(|_| runtime.skipped.is_none()) else { continue };
            eprintln!("containerd: round {}/{} {}", round + 1, rounds, runtime.name);
            // Two unmeasured runs first, as in the lifecycle part.
            for i in 0..per_round + 2 {
                n += 1;
                let id = format!("c{n}");
                let mut ctr = daemon.ctr(namespace, &["run", "--rm", "--runc-binary"]);
                ctr.arg(path).arg("--runc-root").arg(&runtime_root).arg("--fifo-dir").arg(&fifo_dir);
                ctr.args(["--memory-limit", "67108864", "--cpus", "0.5", "--cpu-shares", "512"]);
                ctr.args([image::IMAGE, &id, "/bin/true"]);
                match timed(&mut ctr) {
                    Ok(ms) if i >= 2 => runtime.samples.push(ms),
                    Ok(_) => {}
                    Err(e) => {
                        runtime.skipped = Some(format!("failed: {e:#}"));
                        // A failed run may leave its container record.
                        let _ = daemon.ctr_output(namespace, &["container", "delete", &id]);
                        break;
                    }
                }
            }
        }
    }
    let stopped = daemon.stop(Duration::from_secs(30));
    // Shims exit on their own shortly after their task is deleted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut leaks = leftovers(dir, &runtime_root);
    while !leaks.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        leaks = leftovers(dir, &runtime_root);
    }
    leaks.extend(remove_cgroups_root(namespace));
    if let Err(e) = stopped {
        leaks.push(e.to_string());
    }
    let runtimes = runtimes
        .into_iter()
        .map(|(mut runtime, _)| {
            if runtime.skipped.is_none() {
                runtime.summary = summarize(&runtime.samples);
            }
            runtime
        })
        .collect();
    Ok(ContainerdPart { containerd: version, runtimes, leaks })
}

/// Runs `command` to its end; its wall time in milliseconds. Fails on a non-zero exit.
fn timed(command: &mut Command) -> Result<f64> {
    let start = Instant::now();
    let out = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        bail!("ctr run failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(ms)
}

/// What containerd and the runtimes left: processes naming the folder (containerd, shims),
/// mounts under it, runtime state.
fn leftovers(dir: &Path, runtime_root: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut leaks = Vec::new();
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            leaks.push(format!("process {pid}: {}", cmdline.trim()));
        }
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for point in mountinfo.lines().filter_map(|l| l.split_whitespace().nth(4)) {
        if point.starts_with(&needle) {
            leaks.push(format!("mount {point}"));
        }
    }
    for namespace in std::fs::read_dir(runtime_root).into_iter().flatten().flatten() {
        for state in std::fs::read_dir(namespace.path()).into_iter().flatten().flatten() {
            leaks.push(format!("runtime state {}", state.path().display()));
        }
    }
    leaks
}

/// The runtimes make `/<namespace>` in every cgroup hierarchy (blkio and cpuset too, which the
/// harness's own cleanup does not visit) and leave it: remove it from each, empty; one that holds
/// a cgroup still is reported.
fn remove_cgroups_root(namespace: &str) -> Vec<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut leaks = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let fstype = fields.iter().position(|f| *f == "-").and_then(|i| fields.get(i + 1));
        if !matches!(fstype, Some(&"cgroup") | Some(&"cgroup2")) {
            continue;
        }
        let Some(mount) = fields.get(4) else { continue };
        let root = Path::new(mount).join(namespace);
        if root.is_dir() && std::fs::remove_dir(&root).is_err() {
            leaks.push(format!("cgroup {}", root.display()));
        }
    }
    leaks
}

/// Checks the leftover scan on this process's own folder (nothing there, nothing found).
#[cfg(test)]
mod tests {
    #[test]
    fn an_empty_folder_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::leftovers(dir.path(), &dir.path().join("none")).is_empty());
    }
}
