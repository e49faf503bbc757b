//! A periodic `timerfd` (CLOCK_MONOTONIC, non-blocking): the watch descriptor of a container whose
//! disk use is checked every `--container_disk_watch_interval`. It is readable once an interval
//! has passed; [`Timer::expired`] reads (and so clears) it without blocking.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A periodic timer descriptor.
#[derive(Debug)]
pub struct Timer(OwnedFd);

fn timespec(duration: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: duration.as_secs() as libc::time_t,
        tv_nsec: duration.subsec_nanos() as libc::c_long,
    }
}

impl Timer {
    /// A timer that first expires after `interval`, then every `interval`.
    pub fn periodic(interval: Duration) -> std::io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new descriptor that
        // nothing else owns.
        let fd =
            unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let timer = Timer(unsafe { OwnedFd::from_raw_fd(fd) });
        let spec = libc::itimerspec { it_interval: timespec(interval), it_value: timespec(interval) };
        // SAFETY: `spec` is a valid itimerspec for the call's duration; the old value is not asked for.
        if unsafe { libc::timerfd_settime(timer.0.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(timer)
    }

    /// Whether the timer expired since the last call (reading it clears it).
    pub fn expired(&self) -> bool {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into `count`, which lives for the call.
        let n =
            unsafe { libc::read(self.0.as_raw_fd(), (&raw mut count).cast(), std::mem::size_of::<u64>()) };
        n == 8 && count > 0
    }

    /// The descriptor to wait on.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
