//! The helper process seen from the host: pidfds and non-blocking reaping.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use module_abi::ContainerTermination;

/// `pidfd_open(pid)`: `Ok(None)` when no process has that pid any more.
pub fn pidfd_open(pid: Pid) -> nix::Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1; nothing is borrowed.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if ret < 0 {
        return match Errno::last() {
            Errno::ESRCH => Ok(None),
            errno => Err(errno),
        };
    }
    // SAFETY: the kernel returned a new descriptor that only we own.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
}

/// Whether the process behind `pidfd` has exited (a pidfd polls readable then). Never blocks.
pub fn has_exited(pidfd: impl AsFd) -> nix::Result<bool> {
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reaps our child `pid` if it has exited: `Ok(Some(how))` once reaped, `Ok(None)` while it runs.
/// With `block`, waits for it.
pub fn reap(pid: Pid, block: bool) -> nix::Result<Option<ContainerTermination>> {
    let mut flags = WaitPidFlag::WEXITED;
    if !block {
        flags |= WaitPidFlag::WNOHANG;
    }
    loop {
        return match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::Exited(_, code)) => {
                Ok(Some(ContainerTermination { exit_code: Some(code), signal: None }))
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                Ok(Some(ContainerTermination { exit_code: None, signal: Some(signal as i32) }))
            }
            Ok(_) => Ok(None),
            Err(Errno::EINTR) => continue,
            Err(e) => Err(e),
        };
    }
}
