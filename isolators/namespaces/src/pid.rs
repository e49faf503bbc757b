//! `namespaces/pid`: a pid namespace and, in the container's own mount namespace, a fresh `proc`
//! at `/proc` (`MS_NOSUID|MS_NODEV|MS_NOEXEC`, as Mesos mounts it), so `ps` in the container lists
//! only its processes and pid 1 is its init (the launch helper).

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerMountInfo, Isolator, Module, Parameters,
    Result,
};

/// Mesos's flags for the container's `/proc`.
// `MS_*` are `c_ulong`, which is `u32` on 32-bit targets: the cast is not a no-op everywhere.
#[allow(clippy::unnecessary_cast)]
const PROC_FLAGS: u64 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u64;

/// The pid namespace isolator.
#[derive(Debug)]
pub struct NamespacesPidIsolator;

impl Module for NamespacesPidIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        crate::params::only("namespaces/pid", &parameters, &[])?;
        Ok(NamespacesPidIsolator)
    }
}

impl Isolator for NamespacesPidIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        Ok(Some(ContainerLaunchInfo {
            clone_namespaces: vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS],
            mounts: vec![ContainerMountInfo {
                target: "/proc".to_owned(),
                source: Some("proc".to_owned()),
                fs_type: Some("proc".to_owned()),
                flags: PROC_FLAGS,
                options: None,
            }],
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_pid_and_mount_namespaces_and_proc() {
        let info = NamespacesPidIsolator
            .prepare(&ContainerId::new("c"), &ContainerConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS]);
        assert_eq!(info.mounts.len(), 1);
        assert_eq!(info.mounts[0].target, "/proc");
        assert_eq!(info.mounts[0].fs_type.as_deref(), Some("proc"));
        assert_eq!(info.mounts[0].flags, PROC_FLAGS);
        assert!(!NamespacesPidIsolator.supports_nesting());
        assert!(NamespacesPidIsolator.supports_standalone());
    }

    #[test]
    fn takes_no_parameters() {
        let p = module_abi::Parameter { key: "x".into(), value: "y".into() };
        assert!(NamespacesPidIsolator::create(vec![p]).is_err());
    }
}
