//! `namespaces/pid`: a pid namespace and, in the container's own mount namespace, a fresh `proc`
//! at `/proc` (`MS_NOSUID|MS_NODEV|MS_NOEXEC`, as Mesos mounts it), so `ps` in the container lists
//! only its processes and pid 1 is its init (the launch helper).

use module_abi::{ContainerId, ContainerLaunchInfo, ContainerMountInfo, Result};
use module_params::Params;

use crate::namespace::{Namespace, NamespaceIsolator};

/// Mesos's flags for the container's `/proc`.
// `MS_*` are `c_ulong`, which is `u32` on 32-bit targets: the cast is not a no-op everywhere.
#[allow(clippy::unnecessary_cast)]
const PROC_FLAGS: u64 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u64;

/// The pid namespace.
#[derive(Debug)]
pub struct Pid;

/// The module type of `org_apache_mesos_NamespacesPidIsolator`.
pub type NamespacesPidIsolator = NamespaceIsolator<Pid>;

impl Namespace for Pid {
    const NAME: &'static str = "namespaces/pid";
    /// The mount namespace too: the new `/proc` must not replace the host's.
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWPID, libc::CLONE_NEWNS];

    fn new(_params: &Params<'_>) -> Result<Pid> {
        Ok(Pid)
    }

    fn launch_info(&self, _container_id: &ContainerId, info: &mut ContainerLaunchInfo) -> Result<()> {
        info.mounts.push(ContainerMountInfo {
            target: "/proc".to_owned(),
            source: Some("proc".to_owned()),
            fs_type: Some("proc".to_owned()),
            flags: PROC_FLAGS,
            options: None,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerConfig, Isolator, Module};

    use super::*;

    #[test]
    fn asks_for_pid_and_mount_namespaces_and_proc() {
        let isolator = NamespacesPidIsolator::create(vec![]).unwrap();
        let info = isolator.prepare(&ContainerId::new("c"), &ContainerConfig::default()).unwrap().unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS]);
        assert_eq!(info.mounts.len(), 1);
        assert_eq!(info.mounts[0].target, "/proc");
        assert_eq!(info.mounts[0].source.as_deref(), Some("proc"));
        assert_eq!(info.mounts[0].fs_type.as_deref(), Some("proc"));
        assert_eq!(info.mounts[0].flags, PROC_FLAGS);
        assert!(!isolator.supports_nesting());
        assert!(isolator.supports_standalone());
    }

    #[test]
    fn takes_no_parameters() {
        let p = module_abi::Parameter { key: "x".into(), value: "y".into() };
        assert!(NamespacesPidIsolator::create(vec![p]).is_err());
    }
}
