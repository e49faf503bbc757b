//! `namespaces/net`: a network namespace of its own. A new network namespace has only `lo`, and it
//! is down; `isolate` brings it up from inside the namespace, so the container has exactly one
//! interface, the loopback, up.
//!
//! `setns` into a network namespace changes only the calling thread's namespace, so a short-lived
//! thread enters the container's namespace, sets `IFF_UP` with `SIOCSIFFLAGS` on a socket created
//! there (a socket belongs to the namespace it was created in), and ends; the host's threads are
//! never moved.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

use module_abi::{ContainerId, Error, Result};
use module_params::Params;
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::namespace::{Namespace, NamespaceIsolator};

/// The network namespace.
#[derive(Debug)]
pub struct Net;

/// The module type of `org_apache_mesos_NamespacesNetIsolator`.
pub type NamespacesNetIsolator = NamespaceIsolator<Net>;

impl Namespace for Net {
    const NAME: &'static str = "namespaces/net";
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWNET];

    fn new(_params: &Params<'_>) -> Result<Net> {
        Ok(Net)
    }

    fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
        bring_up_loopback(pid)
            .map_err(|e| Error::msg(format!("{}: container '{container_id}': {e}", Self::NAME)))
    }
}

/// Brings `lo` up in the network namespace of the process `pid`.
pub fn bring_up_loopback(pid: i32) -> std::result::Result<(), String> {
    let path = format!("/proc/{pid}/ns/net");
    let namespace = File::open(&path).map_err(|e| format!("failed to open {path}: {e}"))?;
    std::thread::Builder::new()
        .name("netns-loopback".to_owned())
        .spawn(move || {
            setns(&namespace, CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("failed to enter {path}: {e}"))?;
            let socket = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
                .map_err(|e| format!("failed to create a socket in {path}: {e}"))?;
            set_up(&socket, "lo").map_err(|e| format!("failed to bring 'lo' up in {path}: {e}"))
        })
        .map_err(|e| format!("failed to start a thread: {e}"))?
        .join()
        .map_err(|_| "the loopback thread panicked".to_owned())?
}

/// Adds `IFF_UP` to the flags of the interface `name`, as `ip link set <name> up` does.
fn set_up(socket: &OwnedFd, name: &str) -> nix::Result<()> {
    // SAFETY: ifreq is plain integers, arrays and a union of them; all-zero is valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into the ifreq we own.
    let got = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) };
    nix::errno::Errno::result(got)?;
    // SAFETY: SIOCGIFFLAGS filled `ifru_flags`, the union member read here and written back.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags from the ifreq we own.
    let set = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const request) };
    nix::errno::Errno::result(set).map(drop)
}

#[cfg(test)]
mod tests {
    use module_abi::{Isolator, Module};

    use super::*;

    #[test]
    fn a_missing_process_is_a_clear_error() {
        let isolator = NamespacesNetIsolator::create(vec![]).unwrap();
        let err = isolator.isolate(&ContainerId::new("c"), i32::MAX).unwrap_err().to_string();
        assert!(err.starts_with("namespaces/net: container 'c': "), "{err}");
        assert!(err.contains(&format!("/proc/{}/ns/net", i32::MAX)), "{err}");
    }
}
