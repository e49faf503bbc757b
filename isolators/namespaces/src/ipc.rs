//! `namespaces/ipc`: an IPC namespace (System V IPC objects and POSIX message queues of its own)
//! and, when asked, a `/dev/shm` of its own (POSIX shared memory), with Mesos's rules for a
//! top-level container's `LinuxInfo.ipc_mode` (`namespaces/ipc.cpp`):
//!
//! | `ipc_mode` | IPC namespace | `/dev/shm` |
//! |---|---|---|
//! | unset | new | the agent's without a rootfs; with one, `filesystem/linux`'s tmpfs |
//! | `PRIVATE` | new | a fresh tmpfs (`mode=1777`, `nosuid,nodev,strictatime`) of `shm_size` MB, else `default_container_shm_size`, else tmpfs's default (half the RAM) |
//! | `SHARE_PARENT` | the agent's | the agent's (bound into a rootfs); refused with `disallow_sharing_agent_ipc_namespace` |
//!
//! `shm_size` with any mode but `PRIVATE` is Mesos's error. Mesos mounts a private `/dev/shm` on
//! the host under its runtime directory and binds it into the container; here the tmpfs is
//! mounted in the container's own mount namespace, so it ends with the container and nothing is
//! left to unmount.
//!
//! Parameters (Mesos's agent flags): `default_container_shm_size` (stout bytes: `64MB`; units `B`,
//! `KB`, `MB`, `GB`, `TB`) and `disallow_sharing_agent_ipc_namespace` (`true`/`false`, default
//! `false`).

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerMountInfo, Error, Result};
use module_params::{Params, ValueError};

use crate::namespace::{Namespace, NamespaceIsolator};

/// Mesos's flags for a private `/dev/shm`.
// `MS_*` are `c_ulong`, which is `u32` on 32-bit targets: the cast is not a no-op everywhere.
#[allow(clippy::unnecessary_cast)]
const SHM_FLAGS: u64 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME) as u64;
#[allow(clippy::unnecessary_cast)]
const BIND: u64 = libc::MS_BIND as u64;

const DEFAULT_SHM_SIZE: &str = "default_container_shm_size";
const DISALLOW_SHARING: &str = "disallow_sharing_agent_ipc_namespace";

/// The agent's shared memory directory (Mesos's `AGENT_SHM_DIRECTORY`).
const AGENT_SHM: &str = "/dev/shm";

/// The IPC namespace and the operator's `/dev/shm` settings.
#[derive(Debug)]
pub struct Ipc {
    default_shm_size: Option<u64>,
    disallow_sharing: bool,
}

/// The module type of `org_apache_mesos_NamespacesIpcIsolator`.
pub type NamespacesIpcIsolator = NamespaceIsolator<Ipc>;

/// A container's `LinuxInfo.ipc_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Private,
    ShareParent,
}

/// Parses a size in stout's `Bytes` form: digits then a unit (`B`, `KB`, `MB`, `GB`, `TB`, any
/// case); no fractions.
pub fn parse_bytes(text: &str) -> std::result::Result<u64, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if unit.starts_with('.') {
        return Err(format!("fractional bytes '{text}'"));
    }
    if number.is_empty() || unit.is_empty() {
        return Err(format!("invalid bytes '{text}' (a number and a unit: B, KB, MB, GB or TB)"));
    }
    let shift = match unit.to_ascii_uppercase().as_str() {
        "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return Err(format!("unknown bytes unit '{unit}' (B, KB, MB, GB or TB)")),
    };
    let value: u64 = number.parse().map_err(|e| format!("invalid bytes '{text}': {e}"))?;
    value.checked_mul(1u64 << shift).ok_or_else(|| format!("bytes '{text}' overflow 64 bits"))
}

impl Ipc {
    /// The container's IPC mode and `/dev/shm` size (bytes), checked by Mesos's rules.
    fn mode(&self, config: &ContainerConfig) -> Result<(Option<Mode>, Option<u64>)> {
        let linux = config.container_info.as_ref().and_then(|c| c.linux_info.as_ref());
        let mode = match linux.and_then(|l| l.ipc_mode.as_deref()) {
            None => None,
            Some("PRIVATE") => Some(Mode::Private),
            Some("SHARE_PARENT") => Some(Mode::ShareParent),
            Some(other) => {
                return Err(Error::msg(format!("{}: Unknown IPC mode '{other}'", Self::NAME)));
            }
        };
        let size = match linux.and_then(|l| l.shm_size) {
            Some(_) if mode != Some(Mode::Private) => {
                return Err(Error::msg(format!(
                    "{}: Only support specifying the size of /dev/shm when the IPC mode is `PRIVATE`",
                    Self::NAME
                )));
            }
            Some(megabytes) => Some(u64::from(megabytes) << 20),
            None => self.default_shm_size,
        };
        Ok((mode, size))
    }
}

impl Namespace for Ipc {
    const NAME: &'static str = "namespaces/ipc";
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWIPC];
    const PARAMETERS: &'static [&'static str] = &[DEFAULT_SHM_SIZE, DISALLOW_SHARING];

    fn new(params: &Params<'_>) -> Result<Ipc> {
        let default_shm_size =
            params.parse(DEFAULT_SHM_SIZE, |v| parse_bytes(v).map_err(ValueError::Other))?;
        let disallow_sharing = params.bool(DISALLOW_SHARING)?.unwrap_or(false);
        Ok(Ipc { default_shm_size, disallow_sharing })
    }

    fn clone_flags(&self, config: &ContainerConfig) -> Result<Vec<i32>> {
        Ok(match self.mode(config)?.0 {
            None => vec![libc::CLONE_NEWIPC],
            // The private /dev/shm is mounted in the container's own mount namespace.
            Some(Mode::Private) => vec![libc::CLONE_NEWIPC, libc::CLONE_NEWNS],
            Some(Mode::ShareParent) if self.disallow_sharing => {
                return Err(Error::msg(format!(
                    "{}: Sharing agent IPC namespace with top-level container is not allowed",
                    Self::NAME
                )));
            }
            Some(Mode::ShareParent) if config.rootfs.is_some() => vec![libc::CLONE_NEWNS],
            Some(Mode::ShareParent) => vec![],
        })
    }

    fn launch_info(
        &self,
        _container_id: &ContainerId,
        config: &ContainerConfig,
        info: &mut ContainerLaunchInfo,
    ) -> Result<()> {
        match self.mode(config)? {
            (Some(Mode::Private), size) => {
                let options = match size {
                    Some(bytes) => format!("mode=1777,size={bytes}"),
                    None => "mode=1777".to_owned(),
                };
                info.mounts.push(ContainerMountInfo {
                    target: AGENT_SHM.to_owned(),
                    source: Some("tmpfs".to_owned()),
                    fs_type: Some("tmpfs".to_owned()),
                    flags: SHM_FLAGS,
                    options: Some(options),
                });
            }
            // The agent's /dev/shm, over the tmpfs `filesystem/linux` gives a rootfs.
            (Some(Mode::ShareParent), _) if config.rootfs.is_some() => {
                info.mounts.push(ContainerMountInfo {
                    target: AGENT_SHM.to_owned(),
                    source: Some(AGENT_SHM.to_owned()),
                    fs_type: None,
                    flags: BIND,
                    options: None,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerInfo, Isolator, LinuxInfo, Module, Parameter};

    use super::*;

    fn config(mode: Option<&str>, shm_size: Option<u32>, rootfs: bool) -> ContainerConfig {
        ContainerConfig {
            container_info: Some(ContainerInfo {
                linux_info: Some(LinuxInfo {
                    ipc_mode: mode.map(str::to_owned),
                    shm_size,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            rootfs: rootfs.then(|| "/rootfs".to_owned()),
            ..Default::default()
        }
    }

    fn isolator(params: &[(&str, &str)]) -> NamespacesIpcIsolator {
        let params = params.iter().map(|(k, v)| Parameter { key: (*k).into(), value: (*v).into() }).collect();
        NamespacesIpcIsolator::create(params).unwrap()
    }

    fn prepare(isolator: &NamespacesIpcIsolator, config: &ContainerConfig) -> Result<ContainerLaunchInfo> {
        isolator.prepare(&ContainerId::new("c"), config).map(Option::unwrap)
    }

    #[test]
    fn bytes_parse_as_stout_does() {
        assert_eq!(parse_bytes("64MB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1gb"), Ok(1 << 30));
        assert_eq!(parse_bytes("512B"), Ok(512));
        assert!(parse_bytes("64").unwrap_err().starts_with("invalid bytes '64'"));
        assert!(parse_bytes("MB").is_err());
        assert_eq!(parse_bytes("1.5GB").unwrap_err(), "fractional bytes '1.5GB'");
        assert!(parse_bytes("3PB").unwrap_err().starts_with("unknown bytes unit 'PB'"));
        assert!(parse_bytes("99999999999TB").unwrap_err().contains("overflow"));
    }

    #[test]
    fn unset_mode_is_a_new_namespace_and_the_agents_shm() {
        let ipc = isolator(&[]);
        for config in [ContainerConfig::default(), config(None, None, false), config(None, None, true)] {
            let info = prepare(&ipc, &config).unwrap();
            assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWIPC]);
            assert!(info.mounts.is_empty());
        }
    }

    #[test]
    fn private_mode_mounts_a_sized_shm() {
        let ipc = isolator(&[(DEFAULT_SHM_SIZE, "32MB")]);
        let info = prepare(&ipc, &config(Some("PRIVATE"), Some(8), false)).unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWIPC, libc::CLONE_NEWNS]);
        assert_eq!(info.mounts.len(), 1);
        assert_eq!(info.mounts[0].target, "/dev/shm");
        assert_eq!(info.mounts[0].fs_type.as_deref(), Some("tmpfs"));
        assert_eq!(info.mounts[0].flags, SHM_FLAGS);
        assert_eq!(info.mounts[0].options.as_deref(), Some("mode=1777,size=8388608"));
        let info = prepare(&ipc, &config(Some("PRIVATE"), None, false)).unwrap();
        assert_eq!(info.mounts[0].options.as_deref(), Some("mode=1777,size=33554432"), "the flag's default");
        let info = prepare(&isolator(&[]), &config(Some("PRIVATE"), None, true)).unwrap();
        assert_eq!(info.mounts[0].options.as_deref(), Some("mode=1777"), "tmpfs's own default");
    }

    #[test]
    fn share_parent_shares_unless_disallowed() {
        let info = prepare(&isolator(&[]), &config(Some("SHARE_PARENT"), None, false)).unwrap();
        assert!(info.clone_namespaces.is_empty() && info.mounts.is_empty());
        let info = prepare(&isolator(&[]), &config(Some("SHARE_PARENT"), None, true)).unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWNS]);
        assert_eq!(info.mounts[0].source.as_deref(), Some("/dev/shm"));
        assert_eq!(info.mounts[0].flags, BIND);
        let err =
            prepare(&isolator(&[(DISALLOW_SHARING, "true")]), &config(Some("SHARE_PARENT"), None, false))
                .unwrap_err();
        assert_eq!(
            err.message(),
            "namespaces/ipc: Sharing agent IPC namespace with top-level container is not allowed"
        );
    }

    #[test]
    fn shm_size_needs_private_mode_and_bad_values_are_refused() {
        for mode in [None, Some("SHARE_PARENT")] {
            let err = prepare(&isolator(&[]), &config(mode, Some(8), false)).unwrap_err();
            assert!(err.message().contains("Only support specifying the size of /dev/shm"), "{err}");
        }
        let err = prepare(&isolator(&[]), &config(Some("SHARED"), None, false)).unwrap_err();
        assert_eq!(err.message(), "namespaces/ipc: Unknown IPC mode 'SHARED'");
        let p = |k: &str, v: &str| vec![Parameter { key: k.into(), value: v.into() }];
        let err = NamespacesIpcIsolator::create(p(DEFAULT_SHM_SIZE, "64")).unwrap_err();
        assert!(err.message().starts_with("namespaces/ipc: invalid value '64' for parameter"), "{err}");
        assert!(NamespacesIpcIsolator::create(p(DISALLOW_SHARING, "yes")).is_err());
    }
}
