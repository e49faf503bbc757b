//! The container's cgroups as the runtime's own commands use them: `ps` lists the processes of
//! the containerizer's cgroup, `pause` and `resume` freeze and thaw it (v1 `freezer.state`, v2
//! `cgroup.freeze`). The directories are the ones the containerizer reported at `create`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CgroupError {
    #[error("the container has no freezer cgroup (its cgroups: {0})")]
    NoFreezer(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

/// The freezer of the container: `(directory, v2)`.
fn freezer(dirs: &[String]) -> Option<(PathBuf, bool)> {
    dirs.iter().map(PathBuf::from).find_map(|dir| {
        if dir.join("freezer.state").exists() {
            Some((dir, false))
        } else if dir.join("cgroup.freeze").exists() {
            Some((dir, true))
        } else {
            None
        }
    })
}

/// Whether the container's cgroup is frozen.
pub fn frozen(dirs: &[String]) -> bool {
    match freezer(dirs) {
        Some((dir, false)) => fs::read_to_string(dir.join("freezer.state"))
            .is_ok_and(|s| matches!(s.trim(), "FROZEN" | "FREEZING")),
        Some((dir, true)) => fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1"),
        None => false,
    }
}

/// Freezes (`true`) or thaws the container, and waits until the kernel says it is done.
pub fn set_frozen(dirs: &[String], freeze: bool) -> Result<(), CgroupError> {
    let (dir, v2) = freezer(dirs).ok_or_else(|| CgroupError::NoFreezer(dirs.join(", ")))?;
    let (file, value, done) = match (v2, freeze) {
        (false, true) => ("freezer.state", "FROZEN", "FROZEN"),
        (false, false) => ("freezer.state", "THAWED", "THAWED"),
        (true, true) => ("cgroup.freeze", "1", "frozen 1"),
        (true, false) => ("cgroup.freeze", "0", "frozen 0"),
    };
    let path = dir.join(file);
    let check = if v2 { dir.join("cgroup.events") } else { path.clone() };
    // A v1 freeze can stay FREEZING while a task is in an uninterruptible sleep: writing again
    // retries it, as runc does.
    loop {
        fs::write(&path, value).map_err(|source| CgroupError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        let now = fs::read_to_string(&check).map_err(|source| CgroupError::Io {
            action: "read",
            path: check.clone(),
            source,
        })?;
        if now.lines().any(|line| line.trim() == done) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every process of the container: the `cgroup.procs` of its cgroup and every cgroup below.
pub fn processes(dirs: &[String]) -> Vec<i32> {
    let mut pids = Vec::new();
    if let Some((dir, _)) = freezer(dirs).or_else(|| dirs.first().map(|d| (PathBuf::from(d), false))) {
        collect(&dir, &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn collect(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect(&entry.path(), pids);
            }
        }
    }
}

/// The host's cgroup hierarchies under `/sys/fs/cgroup` from `/proc/self/mountinfo`: mount point
/// and controllers (`None` for cgroup2), named controllers (`name=systemd`) left out.
pub fn host_hierarchies() -> Vec<(String, Option<Vec<String>>)> {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (Some(point), Some(fstype), Some(options)) = (left.get(4), right.first(), right.get(2)) else {
            continue;
        };
        if !point.starts_with("/sys/fs/cgroup") {
            continue;
        }
        match *fstype {
            "cgroup2" => out.push((point.to_string(), None)),
            "cgroup" => {
                let controllers: Vec<String> = options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("name=") && !o.contains('='))
                    .map(str::to_owned)
                    .collect();
                if !controllers.is_empty() {
                    out.push((point.to_string(), Some(controllers)));
                }
            }
            _ => {}
        }
    }
    out
}
