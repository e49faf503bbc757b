//! OOM notification without a thread: a file descriptor an event loop polls for readability.
//!
//! - v1: an `eventfd` registered on `memory.oom_control` through `cgroup.event_control`, as Mesos's
//!   `cgroups::memory::oom::listen` does. The kernel drops its reference to the `memory.oom_control`
//!   file once the registration is written, so only the eventfd is kept. The kernel also signals the
//!   eventfd when the cgroup is removed, so a wake-up is a hint: confirm with `oom_occurred()`
//!   before removing the cgroup.
//! - v2: there is no event registration; the kernel raises `IN_MODIFY` on `memory.events` whenever
//!   one of its counters (low, high, max, oom, oom_kill) changes, so an `inotify` watch on it is the
//!   wait and `oom_occurred()` tells an OOM from the other events.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::error::{Error, Result};
use crate::files;
use crate::formulas::MemoryLimit;

/// A readable-when-OOM file descriptor for one container cgroup. Dropping it ends the watch.
#[derive(Debug)]
pub struct OomListener {
    fd: OwnedFd,
    /// The file watched (`memory.oom_control` or `memory.events`), for errors.
    path: PathBuf,
}

impl OomListener {
    /// v1: registers an eventfd for `memory.oom_control` of the memory cgroup `dir`.
    pub(crate) fn eventfd(dir: &Path) -> Result<OomListener> {
        let control = dir.join("memory.oom_control");
        let efd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|source| Error::Sys { op: "create an eventfd", path: control.clone(), source })?;
        let oom_control =
            std::fs::File::open(&control).map_err(|source| Error::Read { path: control.clone(), source })?;
        let registration = format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd());
        files::write(&dir.join("cgroup.event_control"), &registration)?;
        Ok(OomListener { fd: efd.into(), path: control })
    }

    /// v2: watches `memory.events` of the cgroup `dir` with a nonblocking inotify fd.
    pub(crate) fn inotify(dir: &Path) -> Result<OomListener> {
        let events = dir.join("memory.events");
        let sys = |op, source| Error::Sys { op, path: events.clone(), source };
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| sys("create an inotify fd", e))?;
        inotify.add_watch(&events, AddWatchFlags::IN_MODIFY).map_err(|e| sys("watch", e))?;
        Ok(OomListener { fd: inotify.into(), path: events })
    }

    /// Consumes every pending notification; `true` when there was at least one. Never blocks.
    pub fn drain(&self) -> Result<bool> {
        let mut buf = [0u8; 4096];
        let mut any = false;
        loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(0) => return Ok(any),
                Ok(_) => any = true,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(any),
                Err(source) => {
                    return Err(Error::Sys {
                        op: "read the oom notification",
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// The file whose changes this listener reports.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives up the descriptor, for an event loop that wants to own it.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl AsFd for OomListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for OomListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Mesos's memory limitation message. Sizes are printed as stout's `Bytes` prints them (`64MB`,
/// `1536KB`), so the text is the one Mesos users search for.
pub fn limitation_message(limit: MemoryLimit, max_used_bytes: u64, memory_stat: &str) -> String {
    let limit = match limit {
        MemoryLimit::Bytes(bytes) => format_bytes(bytes),
        MemoryLimit::Unlimited => "unlimited".to_owned(),
    };
    format!(
        "Memory limit exceeded: Requested: {limit} Maximum Used: {}\n\nMEMORY STATISTICS: \n{memory_stat}\n",
        format_bytes(max_used_bytes)
    )
}

/// stout's `operator<<(Bytes)`: the largest unit that loses no information.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    if bytes == 0 {
        return "0B".to_owned();
    }
    for (size, unit) in UNITS {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// v1: an OOM happened when `memory.oom_control` counts a kill (`oom_kill N`, kernels >= 4.13)
/// or the cgroup is under OOM right now (`under_oom 1`).
pub(crate) fn v1_oom_occurred(oom_control: &str) -> bool {
    let map = files::parse_flat_keyed(oom_control);
    map.get("oom_kill").is_some_and(|n| *n > 0) || map.get("under_oom").is_some_and(|n| *n > 0)
}

/// v2: `memory.events` counts an OOM kill (`oom_kill`) or the limit was hit with reclaim failing
/// (`oom`, what Mesos's cgroups2 isolator checks).
pub(crate) fn v2_oom_occurred(memory_events: &str) -> bool {
    let map = files::parse_flat_keyed(memory_events);
    map.get("oom_kill").is_some_and(|n| *n > 0) || map.get("oom").is_some_and(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_stout() {
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(1023), "1023B");
        assert_eq!(format_bytes(1536 * 1024), "1536KB");
        assert_eq!(format_bytes(32 << 20), "32MB");
        assert_eq!(format_bytes(3 << 30), "3GB");
    }

    #[test]
    fn message_shape() {
        let msg = limitation_message(MemoryLimit::Bytes(32 << 20), 33_554_432, "total_rss 1\n");
        assert_eq!(
            msg,
            "Memory limit exceeded: Requested: 32MB Maximum Used: 32MB\n\nMEMORY STATISTICS: \ntotal_rss 1\n\n"
        );
    }

    #[test]
    fn oom_detection() {
        assert!(!v1_oom_occurred("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"));
        assert!(v1_oom_occurred("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"));
        assert!(v1_oom_occurred("oom_kill_disable 1\nunder_oom 1\n"));
        assert!(!v2_oom_occurred("low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n"));
        assert!(v2_oom_occurred("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n"));
    }

    #[test]
    fn inotify_listener_sees_a_modification() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.events"), "oom 0\n").unwrap();
        let listener = OomListener::inotify(dir.path()).unwrap();
        assert!(!listener.drain().unwrap());
        std::fs::write(dir.path().join("memory.events"), "oom 1\n").unwrap();
        assert!(listener.drain().unwrap());
        assert!(!listener.drain().unwrap());
    }
}
