//! Killing every process of a cgroup and removing its directories.
//!
//! Processes are found through `cgroup.procs`, never by name, and are usually not our children, so
//! they cannot be waited for with `waitpid`: the end of a kill is `cgroup.procs` being empty in
//! every cgroup of the subtree, polled with a bounded back-off. (An exited process leaves
//! `cgroup.procs` when it exits, even while it is an unreaped zombie of its parent.)

use std::io;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::files;

/// How often and how long `rmdir` is retried on EBUSY (Mesos's cgroups2: 5000 x 1 ms). A cgroup
/// stays busy for a moment after its last process exits, until the kernel finishes tearing down
/// the exited tasks' css_set links.
const RMDIR_RETRIES: u32 = 5000;
const RMDIR_RETRY_INTERVAL: Duration = Duration::from_millis(1);

/// Mesos's `FREEZE_RETRY_INTERVAL`: a freeze that has not completed by then is undone and tried
/// again (tasks in uninterruptible sleep can keep a v1 cgroup in FREEZING, MESOS-1689/1758).
const FREEZE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// The first and the longest sleep of [`poll_until`]. A SIGKILLed process usually leaves
/// `cgroup.procs` within tens of microseconds, so the first sleep is short; the back-off keeps a
/// long wait (a task in uninterruptible sleep) from spinning.
const POLL_FIRST: Duration = Duration::from_micros(50);
const POLL_LONGEST: Duration = Duration::from_millis(50);

/// Sleeps with a back-off of 50 us doubling to 50 ms until `done` holds or `timeout` passes.
fn poll_until(timeout: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    let mut interval = POLL_FIRST;
    loop {
        if done()? {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        sleep(interval.min(deadline - now));
        interval = (interval * 2).min(POLL_LONGEST);
    }
}

/// Every pid in `cgroup.procs` of `dir` and of its descendant cgroups.
pub(crate) fn pids_in_subtree(dir: &Path) -> Result<Vec<i32>> {
    ids_in_subtree(dir, "cgroup.procs")
}

/// Every id in the list file `list` (`cgroup.procs`, `tasks`, `cgroup.threads`) of `dir` and of
/// its descendant cgroups, sorted and each once.
pub(crate) fn ids_in_subtree(dir: &Path, list: &str) -> Result<Vec<i32>> {
    let mut pids = Vec::new();
    for cgroup in files::subtree_bottom_up(dir)? {
        match files::read_procs(&cgroup.join(list)) {
            Ok(found) => pids.extend(found),
            // Removed concurrently (a nested cgroup being destroyed): it holds no process.
            Err(Error::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// SIGKILLs every process of the subtree once; a process already gone is fine.
fn kill_subtree(dir: &Path) -> Result<()> {
    for pid in pids_in_subtree(dir)? {
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(source) => {
                return Err(Error::Sys {
                    op: "send SIGKILL to a process",
                    path: dir.join("cgroup.procs"),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Waits (bounded) until no process is left in the subtree of `dir`.
pub(crate) fn wait_until_empty(dir: &Path, timeout: Duration) -> Result<()> {
    if poll_until(timeout, || Ok(pids_in_subtree(dir)?.is_empty()))? {
        Ok(())
    } else {
        Err(Error::Timeout { what: "every process to exit", path: dir.join("cgroup.procs"), timeout })
    }
}

/// Kills without a freezer: SIGKILL everything listed until nothing is listed. A process forking
/// in a loop can outrun one pass, hence the repetition.
pub(crate) fn kill_repeatedly(dir: &Path, timeout: Duration) -> Result<()> {
    let done = poll_until(timeout, || {
        kill_subtree(dir)?;
        Ok(pids_in_subtree(dir)?.is_empty())
    })?;
    if done {
        Ok(())
    } else {
        Err(Error::Timeout { what: "every process to exit", path: dir.join("cgroup.procs"), timeout })
    }
}

/// v1: Mesos's TasksKiller: freeze (so nothing forks), SIGKILL every process, thaw (a frozen task
/// only dies once thawed), then wait until `cgroup.procs` is empty.
pub(crate) fn freeze_and_kill(freezer_dir: &Path, timeout: Duration) -> Result<()> {
    // An empty cgroup (the usual case once a container's init has exited: the pid namespace took
    // every other process with it) has nothing to freeze, and nothing can enter it but by
    // migration, which only the launcher does; skipping the freeze and thaw saves two writes that
    // each wait for the freezer's state change.
    if !freezer_dir.exists() || pids_in_subtree(freezer_dir)?.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let state = freezer_dir.join("freezer.state");
    loop {
        files::write(&state, "FROZEN")?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if poll_until(remaining.min(FREEZE_RETRY_INTERVAL), || Ok(files::read(&state)?.trim() == "FROZEN"))? {
            break;
        }
        files::write(&state, "THAWED")?;
        if Instant::now() >= deadline {
            return Err(Error::Timeout { what: "the freezer to reach FROZEN", path: state, timeout });
        }
    }
    let killed = kill_subtree(freezer_dir);
    // Thaw even when a kill failed: leaving the cgroup frozen would wedge its processes.
    files::write(&state, "THAWED")?;
    killed?;
    wait_until_empty(freezer_dir, deadline.saturating_duration_since(Instant::now()))
}

/// v2: `cgroup.kill` (kernel >= 5.14) kills the whole subtree atomically, forks included; older
/// kernels fall back to repeated SIGKILL.
pub(crate) fn cgroup_kill(dir: &Path, timeout: Duration) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let kill_file = dir.join("cgroup.kill");
    if !kill_file.exists() {
        return kill_repeatedly(dir, timeout);
    }
    files::write(&kill_file, "1")?;
    wait_until_empty(dir, timeout)
}

/// `rmdir` retrying EBUSY; a directory already gone is fine.
pub(crate) fn remove_dir_retrying(dir: &Path) -> Result<()> {
    let mut attempts = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempts < RMDIR_RETRIES => {
                attempts += 1;
                sleep(RMDIR_RETRY_INTERVAL);
            }
            Err(source) => {
                return Err(Error::Remove { path: dir.to_owned(), source });
            }
        }
    }
}

/// Removes `dir` and its descendant cgroups, deepest first (the v2 leaf before its parent).
pub(crate) fn remove_subtree(dir: &Path) -> Result<()> {
    for cgroup in files::subtree_bottom_up(dir)? {
        remove_dir_retrying(&cgroup)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_collected_from_the_subtree() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("c1");
        std::fs::create_dir_all(cg.join("leaf")).unwrap();
        std::fs::write(cg.join("cgroup.procs"), "").unwrap();
        std::fs::write(cg.join("leaf/cgroup.procs"), "12\n7\n").unwrap();
        assert_eq!(pids_in_subtree(&cg).unwrap(), vec![7, 12]);
        assert!(pids_in_subtree(&dir.path().join("missing")).unwrap().is_empty());
    }

    #[test]
    fn wait_times_out_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "1\n").unwrap();
        let err = wait_until_empty(dir.path(), Duration::from_millis(5)).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }));
        assert!(err.to_string().contains("cgroup.procs"), "{err}");
    }

    #[test]
    fn remove_missing_is_ok_and_not_empty_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        remove_dir_retrying(&dir.path().join("missing")).unwrap();
        // A plain directory with a file in it cannot be rmdir'ed (cgroupfs files would not block it).
        let busy = dir.path().join("busy");
        std::fs::create_dir(&busy).unwrap();
        std::fs::write(busy.join("f"), "").unwrap();
        let err = remove_dir_retrying(&busy).unwrap_err();
        assert!(err.to_string().contains("busy"), "{err}");
    }
}
