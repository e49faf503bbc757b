//! "Nothing left behind", checked from the outside: the cgroup file systems, `/proc` (through
//! `procfs`), the mount table and the work dir, never through the code under test. And the
//! best-effort cleanup after a failed test, so one failure does not leak processes and cgroups
//! into the next test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::TestResult;
use crate::host::Host;
use crate::sandbox::Sandbox;

/// How long killed processes get to be reaped before they count as left behind.
const REAP_WAIT: Duration = Duration::from_secs(10);

/// The checks of [`Sandbox::assert_clean`]; on success the cgroups root directories are removed.
pub fn assert_clean(sandbox: &Sandbox) -> TestResult {
    let mut problems = Vec::new();
    for dir in sandbox.root_dirs() {
        for child in child_dirs(&dir) {
            problems.push(format!("cgroup left: {}", child.display()));
        }
    }
    // Killed processes may take a moment to be reaped by their parent.
    let deadline = Instant::now() + REAP_WAIT;
    let mut processes = processes_in(&sandbox.name);
    while !processes.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        processes = processes_in(&sandbox.name);
    }
    problems.extend(processes.iter().map(|p| format!("process left: {p}")));
    for mount in mounts_under(&sandbox.base) {
        problems.push(format!("mount left: {}", mount.display()));
    }
    for entry in entries(&sandbox.work_dir.join("meta").join("containers")) {
        problems.push(format!("checkpoint left: {}", entry.display()));
    }
    for entry in entries(&sandbox.runtime_dir.join(&sandbox.name).join("containers")) {
        problems.push(format!("containerizer runtime dir left: {}", entry.display()));
    }
    if !problems.is_empty() {
        return Err(format!("the test left things behind: {}", problems.join("; ")).into());
    }
    for dir in sandbox.root_dirs() {
        remove_cgroup_dir(&dir)
            .map_err(|e| format!("cannot remove the cgroups root {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Kills every process in the sandbox's cgroups, removes its cgroups (bottom-up), unmounts what
/// is mounted under it and removes its temp dir. Errors are ignored: this runs in `Drop`.
pub fn best_effort(sandbox: &Sandbox) {
    remove_everything(&sandbox.name, &sandbox.root_dirs(), &sandbox.base);
}

/// Cleans up after test processes that were killed before their sandboxes' `Drop` could run
/// (a hang killed by a test runner's timeout): every `it-<pid>-<n>` cgroups root whose test
/// process is gone, and its temp dir.
pub fn sweep_stale(host: &Host) {
    let mut stale = std::collections::BTreeSet::new();
    for mount in host.cgroup_mounts() {
        for dir in child_dirs(&mount) {
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else { continue };
            let pid = name.strip_prefix("it-").and_then(|rest| rest.split_once('-')).map(|(pid, _)| pid);
            let gone = |pid: i32| procfs::process::Process::new(pid).is_err();
            if pid.and_then(|pid| pid.parse::<i32>().ok()).is_some_and(gone) {
                stale.insert(name.to_owned());
            }
        }
    }
    for name in stale {
        let roots: Vec<PathBuf> = host.cgroup_mounts().into_iter().map(|m| m.join(&name)).collect();
        remove_everything(&name, &roots, &std::env::temp_dir().join(&name));
    }
}

fn remove_everything(name: &str, roots: &[PathBuf], base: &Path) {
    let deadline = Instant::now() + REAP_WAIT;
    loop {
        let mut pids = Vec::new();
        for root in roots {
            for dir in tree(root) {
                thaw(&dir);
                pids.extend(procs(&dir));
                // v2: kills the whole subtree at once (ignored where the file does not exist).
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            }
        }
        pids.extend(processes_in(name).iter().map(|p| p.pid));
        pids.sort_unstable();
        pids.dedup();
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            // Our own child (a helper the in-process engine launched) must be reaped by us.
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for root in roots {
        let mut dirs = tree(root);
        // Children before parents.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = remove_cgroup_dir(&dir);
        }
    }
    let mut mounts = mounts_under(base);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for mount in mounts {
        let _ = nix::mount::umount2(&mount, nix::mount::MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(base);
}

/// A process found in a cgroup of the sandbox.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: i32,
    pub comm: String,
    pub state: String,
    pub cgroup: String,
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, state {}) in {}", self.pid, self.comm, self.state, self.cgroup)
    }
}

/// Every process whose `/proc/<pid>/cgroup` names a cgroup at or under `/<root>` in any hierarchy.
pub fn processes_in(root: &str) -> Vec<Process> {
    let exact = format!("/{root}");
    let below = format!("/{root}/");
    let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
    // A process that ends while the list is read is simply not listed.
    all.flatten()
        .filter_map(|process| {
            let cgroups = process.cgroups().ok()?;
            let hit =
                cgroups.0.into_iter().find(|c| c.pathname == exact || c.pathname.starts_with(&below))?;
            let stat = process.stat().ok();
            Some(Process {
                pid: process.pid(),
                comm: stat.as_ref().map(|s| s.comm.clone()).unwrap_or_default(),
                state: stat.map_or_else(|| "?".to_owned(), |s| s.state.to_string()),
                cgroup: format!("{}:{}:{}", hit.hierarchy, hit.controllers.join(","), hit.pathname),
            })
        })
        .collect()
}

/// The mount points under a directory: the kit's own check.
pub use agent_harness::kit::leaks::mounts_under;

/// The subdirectories of `dir` (none when it does not exist).
fn child_dirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_dir()).collect()
}

/// Every entry of `dir` (none when it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// `dir` and every cgroup below it, parents first.
fn tree(dir: &Path) -> Vec<PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut all = vec![dir.to_path_buf()];
    for child in child_dirs(dir) {
        all.extend(tree(&child));
    }
    all
}

/// The pids of a cgroup's `cgroup.procs`.
fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A frozen v1 freezer cgroup cannot be killed: thaw it (a no-op elsewhere).
fn thaw(dir: &Path) {
    let state = dir.join("freezer.state");
    if std::fs::read_to_string(&state).is_ok_and(|s| s.trim() != "THAWED") {
        let _ = std::fs::write(&state, "THAWED");
    }
}

/// `rmdir` of a cgroup, retried while the kernel still reports it busy (a process that was just
/// reaped leaves its cgroup asynchronously); a missing directory is fine.
fn remove_cgroup_dir(dir: &Path) -> std::io::Result<()> {
    let deadline = Instant::now() + REAP_WAIT;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}
