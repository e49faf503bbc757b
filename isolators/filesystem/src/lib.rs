//! Mesos's filesystem isolators as module-abi modules (kind `Isolator`):
//!
//! | module | Mesos name | what it does |
//! |---|---|---|
//! | `org_apache_mesos_LinuxFilesystemIsolator` ([`LinuxFilesystemIsolator`], [`linux`]) | `filesystem/linux` | a mount namespace per container; with a rootfs: `pivot_root` into it, a fresh `/proc`, a read-only `/sys`, a minimal `/dev`, the sandbox at `/mnt/mesos/sandbox`; host-path volumes, read-only or read-write |
//! | `org_apache_mesos_PosixFilesystemIsolator` ([`PosixFilesystemIsolator`], [`posix`]) | `filesystem/posix` | the host's file system as it is; refuses a rootfs and volumes, as Mesos's does |
//!
//! Both set `MESOS_SANDBOX` (Mesos's containerizer sets it; the suite's containerizer leaves it to
//! the filesystem isolator): `/mnt/mesos/sandbox` (the `sandbox_directory` parameter) in a
//! container with a rootfs, else the sandbox's host path. Mesos allows exactly one `filesystem/*`
//! isolator per agent; pick one of the two.
//!
//! The isolators only describe the container's file system, in its launch info: the Linux
//! containerizer's launch helper does every mount, inside the container's new mount namespace,
//! and the pivot. With a rootfs, mount targets are paths in the container, and the helper mounts
//! them at `<rootfs><target>`, resolved inside the rootfs. Nothing is ever mounted on the host, so
//! nothing is left when the container's last process ends and its namespace goes.
//!
//! [`rootfs`] lists a rootfs's mounts, [`volumes`] turns `ContainerInfo.volumes` into mounts,
//! [`prepared`] is the table that refuses a second `prepare`. The crate reads no `/proc` file.

pub mod error;
pub mod linux;
pub mod posix;
pub mod prepared;
pub mod rootfs;
pub mod volumes;

#[cfg(test)]
mod tests;

use std::path::Path;

use module_abi::{ContainerConfig, ContainerId};

pub use error::{FilesystemError, VolumeError};
pub use linux::LinuxFilesystemIsolator;
pub use posix::PosixFilesystemIsolator;

/// The environment variable naming the sandbox as the container sees it.
pub const MESOS_SANDBOX: &str = "MESOS_SANDBOX";

/// The sandbox must be an absolute path: volumes and the sandbox mount are made from it.
fn check_sandbox(isolator: &'static str, id: &ContainerId, config: &ContainerConfig) -> error::Result<()> {
    let sandbox = Path::new(&config.directory);
    if !sandbox.is_absolute() {
        return Err(FilesystemError::Sandbox {
            isolator,
            container: id.to_string(),
            path: sandbox.to_owned(),
        });
    }
    Ok(())
}

module_abi::declare_module! {
    name: org_apache_mesos_LinuxFilesystemIsolator,
    kind: Isolator,
    module: LinuxFilesystemIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "filesystem/linux: a mount namespace per container; a rootfs with /proc, /sys, a minimal /dev and the sandbox at /mnt/mesos/sandbox; host-path volumes.",
}

module_abi::declare_module! {
    name: org_apache_mesos_PosixFilesystemIsolator,
    kind: Isolator,
    module: PosixFilesystemIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "filesystem/posix: the host's file system and MESOS_SANDBOX; no rootfs, no volumes.",
}
