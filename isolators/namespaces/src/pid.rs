//! `namespaces/pid`: a pid namespace and, in the container's own mount namespace, a fresh `proc`
//! at `/proc` (`MS_NOSUID|MS_NODEV|MS_NOEXEC`, as Mesos mounts it), so `ps` in the container lists
//! only its processes and pid 1 is its init (the launch helper).
//!
//! A container whose `LinuxInfo.share_pid_namespace` is true stays in the agent's pid namespace
//! and `/proc` (Mesos's rule for a top-level container), unless the operator refuses that with
//! the parameter `disallow_sharing_agent_pid_namespace` (Mesos's agent flag, default `false`):
//! then its `prepare` fails with Mesos's message.

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerMountInfo, Error, Result};
use module_params::Params;

use crate::namespace::{Namespace, NamespaceIsolator};

/// Mesos's flags for the container's `/proc`.
// `MS_*` are `c_ulong`, which is `u32` on 32-bit targets: the cast is not a no-op everywhere.
#[allow(clippy::unnecessary_cast)]
const PROC_FLAGS: u64 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u64;

const DISALLOW_SHARING: &str = "disallow_sharing_agent_pid_namespace";

/// The pid namespace, and whether a container may share the agent's.
#[derive(Debug)]
pub struct Pid {
    disallow_sharing: bool,
}

impl Pid {
    /// Whether the container shares the agent's pid namespace (refused when disallowed).
    fn shares(&self, config: &ContainerConfig) -> Result<bool> {
        let share = config
            .container_info
            .as_ref()
            .and_then(|c| c.linux_info.as_ref())
            .and_then(|l| l.share_pid_namespace)
            .unwrap_or(false);
        if share && self.disallow_sharing {
            return Err(Error::msg(format!(
                "{}: Sharing agent pid namespace with top-level container is not allowed",
                Self::NAME
            )));
        }
        Ok(share)
    }
}

/// The module type of `org_apache_mesos_NamespacesPidIsolator`.
pub type NamespacesPidIsolator = NamespaceIsolator<Pid>;

impl Namespace for Pid {
    const NAME: &'static str = "namespaces/pid";
    /// The mount namespace too: the new `/proc` must not replace the host's.
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWPID, libc::CLONE_NEWNS];
    const PARAMETERS: &'static [&'static str] = &[DISALLOW_SHARING];

    fn new(params: &Params<'_>) -> Result<Pid> {
        Ok(Pid { disallow_sharing: params.bool(DISALLOW_SHARING)?.unwrap_or(false) })
    }

    fn clone_flags(&self, config: &ContainerConfig) -> Result<Vec<i32>> {
        Ok(if self.shares(config)? { vec![] } else { Self::CLONE_FLAGS.to_vec() })
    }

    fn launch_info(
        &self,
        _container_id: &ContainerId,
        config: &ContainerConfig,
        info: &mut ContainerLaunchInfo,
    ) -> Result<()> {
        if self.shares(config)? {
            return Ok(());
        }
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
    fn takes_only_its_flag() {
        let p = |k: &str, v: &str| vec![module_abi::Parameter { key: k.into(), value: v.into() }];
        assert!(NamespacesPidIsolator::create(p("x", "y")).is_err());
        assert!(NamespacesPidIsolator::create(p(DISALLOW_SHARING, "maybe")).is_err());
        assert!(NamespacesPidIsolator::create(p(DISALLOW_SHARING, "true")).is_ok());
    }

    #[test]
    fn sharing_the_agents_namespace_unless_disallowed() {
        let sharing = ContainerConfig {
            container_info: Some(module_abi::ContainerInfo {
                linux_info: Some(module_abi::LinuxInfo {
                    share_pid_namespace: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let isolator = NamespacesPidIsolator::create(vec![]).unwrap();
        let info = isolator.prepare(&ContainerId::new("c"), &sharing).unwrap().unwrap();
        assert!(info.clone_namespaces.is_empty() && info.mounts.is_empty(), "{info:?}");
        let p = module_abi::Parameter { key: DISALLOW_SHARING.into(), value: "true".into() };
        let strict = NamespacesPidIsolator::create(vec![p]).unwrap();
        let err = strict.prepare(&ContainerId::new("c"), &sharing).unwrap_err();
        assert_eq!(
            err.message(),
            "namespaces/pid: Sharing agent pid namespace with top-level container is not allowed"
        );
        let info = strict.prepare(&ContainerId::new("c"), &ContainerConfig::default()).unwrap().unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS]);
    }
}
