//! `filesystem/posix`: Mesos's default filesystem isolator, for containers that share the host's
//! file system (`src/slave/containerizer/mesos/isolators/filesystem/posix.cpp`).
//!
//! What Mesos's does, and so this one:
//! - a rootfs is refused ("Container root filesystems not supported": the symlinks it makes would
//!   point elsewhere in another root);
//! - `ContainerInfo.volumes` are refused ("Volumes in ContainerInfo is not supported"). Mesos's
//!   posix isolator makes symlinks from the sandbox only for *persistent volumes*, which are disk
//!   resources, not `ContainerInfo` volumes; the suite's resources are scalars and carry none, so
//!   there is nothing to link;
//! - `prepare` twice for one container is refused ("Container has already been prepared").
//!
//! It also sets `MESOS_SANDBOX` to the sandbox, which Mesos's containerizer sets for every
//! container (and the suite's containerizer leaves to the filesystem isolators). No namespace, no
//! mount: the container sees the host's file system and starts in its sandbox. No parameters.

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, EnvironmentVariable, Isolator, Module,
    Parameters, Result,
};
use module_params::Params;

use crate::error::{FilesystemError, Result as FsResult};
use crate::prepared::Prepared;
use crate::{MESOS_SANDBOX, check_sandbox};

/// Mesos's isolator name, which errors start with.
pub const NAME: &str = "filesystem/posix";

/// The module of `org_apache_mesos_PosixFilesystemIsolator`.
#[derive(Debug, Default)]
pub struct PosixFilesystemIsolator {
    prepared: Prepared,
}

impl Module for PosixFilesystemIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        Params::new(NAME, &parameters, &[]).map_err(FilesystemError::from)?;
        Ok(PosixFilesystemIsolator::default())
    }
}

impl PosixFilesystemIsolator {
    fn launch_info(&self, id: &ContainerId, config: &ContainerConfig) -> FsResult<ContainerLaunchInfo> {
        let unsupported = |what: &str| FilesystemError::Unsupported {
            isolator: NAME,
            container: id.to_string(),
            what: what.to_owned(),
        };
        if config.rootfs.is_some() {
            return Err(unsupported("Container root filesystems not supported"));
        }
        if config.container_info.as_ref().is_some_and(|info| !info.volumes.is_empty()) {
            return Err(unsupported("Volumes in ContainerInfo is not supported"));
        }
        check_sandbox(NAME, id, config)?;
        Ok(ContainerLaunchInfo {
            environment: vec![EnvironmentVariable {
                name: MESOS_SANDBOX.to_owned(),
                value: config.directory.clone(),
            }],
            ..Default::default()
        })
    }
}

impl Isolator for PosixFilesystemIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn recover(&self, states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> Result<()> {
        self.prepared.recover(&states);
        Ok(())
    }

    fn prepare(&self, id: &ContainerId, config: &ContainerConfig) -> Result<Option<ContainerLaunchInfo>> {
        self.prepared.reserve(NAME, id)?;
        // A refused container is not prepared: it can be prepared again once fixed.
        let info = self.launch_info(id, config).inspect_err(|_| self.prepared.remove(id))?;
        Ok(Some(info))
    }

    fn cleanup(&self, id: &ContainerId) -> Result<()> {
        self.prepared.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerInfo, Parameter, Volume};

    use super::*;

    fn config(rootfs: Option<&str>, volumes: Vec<Volume>) -> ContainerConfig {
        ContainerConfig {
            directory: "/work/sandboxes/c1".into(),
            rootfs: rootfs.map(str::to_owned),
            container_info: Some(ContainerInfo { volumes, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn sets_mesos_sandbox_and_nothing_else() {
        let isolator = PosixFilesystemIsolator::create(vec![]).unwrap();
        let info = isolator.prepare(&ContainerId::new("c1"), &config(None, vec![])).unwrap().unwrap();
        assert_eq!(
            info,
            ContainerLaunchInfo {
                environment: vec![EnvironmentVariable {
                    name: "MESOS_SANDBOX".into(),
                    value: "/work/sandboxes/c1".into()
                }],
                ..Default::default()
            }
        );
        assert!(isolator.supports_standalone() && !isolator.supports_nesting());
    }

    #[test]
    fn refuses_what_mesos_refuses() {
        let isolator = PosixFilesystemIsolator::create(vec![]).unwrap();
        let id = ContainerId::new("c1");
        let err = isolator.prepare(&id, &config(Some("/rootfs"), vec![])).unwrap_err();
        assert_eq!(
            err.message(),
            "filesystem/posix: container 'c1': Container root filesystems not supported"
        );
        let volume = Volume { container_path: "data".into(), host_path: Some("/tmp".into()), mode: None };
        let err = isolator.prepare(&id, &config(None, vec![volume])).unwrap_err();
        assert_eq!(
            err.message(),
            "filesystem/posix: container 'c1': Volumes in ContainerInfo is not supported"
        );
        // Refused containers were not taken in: a good prepare still works, once.
        isolator.prepare(&id, &config(None, vec![])).unwrap();
        let err = isolator.prepare(&id, &config(None, vec![])).unwrap_err();
        assert_eq!(err.message(), "filesystem/posix: container 'c1': Container has already been prepared");
        isolator.cleanup(&id).unwrap();
        isolator.cleanup(&id).unwrap();
        isolator.prepare(&id, &config(None, vec![])).unwrap();
    }

    #[test]
    fn recovered_containers_count_as_prepared() {
        let isolator = PosixFilesystemIsolator::create(vec![]).unwrap();
        let id = ContainerId::new("c1");
        let state = ContainerState { container_id: id.clone(), pid: 1, directory: "/s".into(), config: None };
        isolator.recover(vec![state], vec![]).unwrap();
        assert!(isolator.prepare(&id, &config(None, vec![])).is_err());
    }

    #[test]
    fn takes_no_parameters() {
        let p = Parameter { key: "sandbox_directory".into(), value: "/x".into() };
        let err = PosixFilesystemIsolator::create(vec![p]).unwrap_err();
        assert_eq!(
            err.message(),
            "filesystem/posix: unknown parameter 'sandbox_directory' (it takes no parameters)"
        );
    }
}
