//! What a container with its own root file system gets mounted, in order (Mesos's
//! `ROOTFS_CONTAINER_MOUNTS` and `makeStandardDevices`, `filesystem/linux.cpp`). Targets are paths
//! in the container; the launch helper mounts each at `<rootfs><target>` before it pivots into
//! the rootfs. Sources are paths on the host.
//!
//! - a fresh `proc` at `/proc` (`nosuid,nodev,noexec`): it shows the container's pid namespace;
//! - a fresh `sysfs` at `/sys`, read-only (`ro,nosuid,nodev,noexec`);
//! - a `tmpfs` at `/dev` (`mode=755`, `nosuid,noexec,strictatime`) holding only `full`, `null`,
//!   `random`, `tty`, `urandom` and `zero`, each a bind mount of the host's node (Mesos copies the
//!   nodes into a devices directory and binds those; binding the host's node gives the same
//!   device without a second copy to clean up);
//! - a private `devpts` instance at `/dev/pts` (`newinstance,ptmxmode=0666,mode=0620,gid=5`,
//!   Mesos's options: gid 5 is the `tty` group on every common distribution) and a `tmpfs` at
//!   `/dev/shm` (`mode=1777`, `nosuid,nodev,strictatime`);
//! - the sandbox bound at `sandbox_directory` (`/mnt/mesos/sandbox`).
//!
//! The `/dev` symlinks (`fd`, `stdin`, `stdout`, `stderr`, `ptmx -> pts/ptmx`) are not mounts, and
//! the launch info has no file operations (Mesos's `ContainerFileOperation`): the launch helper
//! adds them to a fresh `/dev` it mounted in a rootfs, as runc does for a `/dev` it sets up.
//!
//! Left out from Mesos's list: the read-only binds of `/proc/{bus,fs,irq,sys,sysrq-trigger}`, the
//! masked paths (`/proc/kcore`, `/proc/keys`, ...) and the `tmpfs` at `/sys/fs/cgroup`. The
//! first two need a source inside the container's own `/proc` and an "only if it exists" rule the
//! launch info cannot express; nothing in the suite mounts cgroups into a container.

use module_abi::ContainerMountInfo;

/// Mesos's standard devices, bound from the host's `/dev`.
pub const DEVICES: [&str; 6] = ["full", "null", "random", "tty", "urandom", "zero"];

// `MS_*` values are `c_ulong`, `u32` on 32-bit targets: the casts are not no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
const PROC: u64 = (libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV) as u64;
#[allow(clippy::unnecessary_cast)]
const SYS: u64 = (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV) as u64;
#[allow(clippy::unnecessary_cast)]
const DEV: u64 = (libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_STRICTATIME) as u64;
#[allow(clippy::unnecessary_cast)]
const DEVICE: u64 = libc::MS_BIND as u64;
#[allow(clippy::unnecessary_cast)]
const PTS: u64 = (libc::MS_NOSUID | libc::MS_NOEXEC) as u64;
#[allow(clippy::unnecessary_cast)]
const SHM: u64 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME) as u64;
#[allow(clippy::unnecessary_cast)]
const SANDBOX: u64 = (libc::MS_BIND | libc::MS_REC) as u64;

fn mount(
    source: &str,
    target: &str,
    fs_type: Option<&str>,
    flags: u64,
    options: Option<&str>,
) -> ContainerMountInfo {
    ContainerMountInfo {
        target: target.to_owned(),
        source: Some(source.to_owned()),
        fs_type: fs_type.map(str::to_owned),
        flags,
        options: options.map(str::to_owned),
    }
}

/// The mounts of a container with a rootfs whose sandbox `sandbox` (on the host) appears at
/// `sandbox_directory` (in the container).
pub fn mounts(sandbox: &str, sandbox_directory: &str) -> Vec<ContainerMountInfo> {
    let mut mounts = vec![
        mount("proc", "/proc", Some("proc"), PROC, None),
        mount("sysfs", "/sys", Some("sysfs"), SYS, None),
        mount("tmpfs", "/dev", Some("tmpfs"), DEV, Some("mode=755")),
    ];
    for device in DEVICES {
        let path = format!("/dev/{device}");
        mounts.push(mount(&path, &path, None, DEVICE, None));
    }
    mounts.push(mount(
        "devpts",
        "/dev/pts",
        Some("devpts"),
        PTS,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    ));
    mounts.push(mount("tmpfs", "/dev/shm", Some("tmpfs"), SHM, Some("mode=1777")));
    mounts.push(mount(sandbox, sandbox_directory, None, SANDBOX, None));
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    // `MS_*` are `c_ulong`, `u32` on 32-bit targets: the casts are not no-ops everywhere.
    #[allow(clippy::unnecessary_cast)]
    #[test]
    fn proc_sys_dev_then_the_sandbox() {
        let mounts = mounts("/work/sandboxes/c1", "/mnt/mesos/sandbox");
        let targets: Vec<&str> = mounts.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "/proc",
                "/sys",
                "/dev",
                "/dev/full",
                "/dev/null",
                "/dev/random",
                "/dev/tty",
                "/dev/urandom",
                "/dev/zero",
                "/dev/pts",
                "/dev/shm",
                "/mnt/mesos/sandbox"
            ]
        );
        assert_eq!(mounts[1].flags & libc::MS_RDONLY as u64, libc::MS_RDONLY as u64, "/sys is read-only");
        assert_eq!(mounts[2].flags & libc::MS_NODEV as u64, 0, "/dev must allow devices");
        assert_eq!(mounts[4].source.as_deref(), Some("/dev/null"), "devices come from the host's nodes");
        assert_eq!(mounts[4].flags, libc::MS_BIND as u64);
        assert_eq!(mounts[11].source.as_deref(), Some("/work/sandboxes/c1"));
        assert_eq!(mounts[11].flags, (libc::MS_BIND | libc::MS_REC) as u64);
    }
}
