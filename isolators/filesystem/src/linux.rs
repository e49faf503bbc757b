//! `filesystem/linux`: Mesos's Linux filesystem isolator
//! (`src/slave/containerizer/mesos/isolators/filesystem/linux.cpp`), with the host-path volumes of
//! Mesos's `volume/host_path`, which Mesos always adds beside it ([`crate::volumes`]).
//!
//! Every container gets a mount namespace of its own (`CLONE_NEWNS`), so what is mounted for it
//! lives and dies with it: nothing is mounted on the host, and `cleanup` has nothing to unmount.
//!
//! With a rootfs (`ContainerConfig.rootfs`, a directory), `prepare` asks for it through
//! `ContainerLaunchInfo.rootfs` (the launch helper pivots into it) and for the mounts of
//! [`crate::rootfs`]: a fresh `/proc`, a read-only `/sys`, a minimal `/dev`, and the sandbox at
//! `sandbox_directory` (`/mnt/mesos/sandbox`), which is also the working directory and
//! `MESOS_SANDBOX`. Every mount target is a path in the container: the helper mounts it at
//! `<rootfs><target>`, resolved inside the rootfs, before it pivots.
//!
//! Without a rootfs the container keeps the host's file system, in its own mount namespace, with
//! its volumes, and `MESOS_SANDBOX` is the sandbox's host path.
//!
//! The parameter is Mesos's agent flag `sandbox_directory` (absolute, default
//! `/mnt/mesos/sandbox`). Mesos's checks at creation are left out: root (without it the helper's
//! first mount fails, naming the mount), the `linux` launcher (the suite's containerizer is the
//! only one), and a shared mount at the work dir (it serves persistent volumes mounted on the
//! host, and the suite has none).

use std::path::Path;

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, EnvironmentVariable, Isolator, Module,
    Parameters, Result,
};
use module_params::{Params, ValueError};

use crate::error::{FilesystemError, Result as FsResult};
use crate::prepared::Prepared;
use crate::volumes::{self, Layout};
use crate::{MESOS_SANDBOX, check_sandbox, rootfs};

/// Mesos's isolator name, which errors start with.
pub const NAME: &str = "filesystem/linux";

/// The parameter naming where the sandbox appears in a container with a rootfs.
pub const SANDBOX_DIRECTORY: &str = "sandbox_directory";

/// Mesos's default `--sandbox_directory`.
pub const DEFAULT_SANDBOX_DIRECTORY: &str = "/mnt/mesos/sandbox";

/// The module of `org_apache_mesos_LinuxFilesystemIsolator`.
#[derive(Debug)]
pub struct LinuxFilesystemIsolator {
    sandbox_directory: String,
    pub(crate) prepared: Prepared,
}

impl Module for LinuxFilesystemIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        let params = Params::new(NAME, &parameters, &[SANDBOX_DIRECTORY]).map_err(FilesystemError::from)?;
        let sandbox_directory = params
            .parse(SANDBOX_DIRECTORY, |value| {
                let path = Path::new(value);
                if !path.is_absolute() {
                    return Err(ValueError::NotAbsolute);
                }
                if path.components().any(|c| c == std::path::Component::ParentDir) {
                    return Err(ValueError::Other("must not have a '..' component".to_owned()));
                }
                if path.parent().is_none() {
                    return Err(ValueError::Other("must not be '/'".to_owned()));
                }
                Ok(value.trim_end_matches('/').to_owned())
            })
            .map_err(FilesystemError::from)?
            .unwrap_or_else(|| DEFAULT_SANDBOX_DIRECTORY.to_owned());
        Ok(LinuxFilesystemIsolator { sandbox_directory, prepared: Prepared::default() })
    }
}

impl LinuxFilesystemIsolator {
    /// Where the sandbox appears in a container with a rootfs.
    pub fn sandbox_directory(&self) -> &str {
        &self.sandbox_directory
    }

    fn launch_info(&self, id: &ContainerId, config: &ContainerConfig) -> FsResult<ContainerLaunchInfo> {
        check_sandbox(NAME, id, config)?;
        let container_info = config.container_info.as_ref();
        if let Some(kind) = container_info.and_then(|info| info.kind.as_deref()).filter(|k| *k != "MESOS") {
            return Err(FilesystemError::Unsupported {
                isolator: NAME,
                container: id.to_string(),
                what: format!("Only support MESOS containers (the container info's type is '{kind}')"),
            });
        }
        let mut info =
            ContainerLaunchInfo { clone_namespaces: vec![libc::CLONE_NEWNS], ..Default::default() };
        let sandbox_in_container = match &config.rootfs {
            Some(rootfs) => {
                check_rootfs(id, rootfs)?;
                info.rootfs = Some(rootfs.clone());
                info.mounts = rootfs::mounts(&config.directory, &self.sandbox_directory);
                info.working_directory = Some(self.sandbox_directory.clone());
                self.sandbox_directory.clone()
            }
            None => config.directory.clone(),
        };
        let layout = Layout {
            sandbox: Path::new(&config.directory),
            sandbox_in_rootfs: config.rootfs.as_ref().map(|_| self.sandbox_directory.as_str()),
        };
        let volumes = container_info.map(|info| info.volumes.as_slice()).unwrap_or_default();
        let volume_mounts = volumes::mounts(volumes, layout).map_err(|source| FilesystemError::Volume {
            isolator: NAME,
            container: id.to_string(),
            source,
        })?;
        info.mounts.extend(volume_mounts);
        info.environment
            .push(EnvironmentVariable { name: MESOS_SANDBOX.to_owned(), value: sandbox_in_container });
        Ok(info)
    }
}

/// A rootfs must be an absolute path to a directory (the helper checks again, without following
/// anything, when it opens it).
fn check_rootfs(id: &ContainerId, rootfs: &str) -> FsResult<()> {
    let refuse = |reason: String| FilesystemError::Rootfs {
        isolator: NAME,
        container: id.to_string(),
        path: rootfs.into(),
        reason,
    };
    if !rootfs.starts_with('/') {
        return Err(refuse("is not an absolute path".to_owned()));
    }
    match std::fs::metadata(rootfs) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(refuse("is not a directory".to_owned())),
        Err(e) => Err(refuse(format!("cannot be used: {e}"))),
    }
}

impl Isolator for LinuxFilesystemIsolator {
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

    /// The container's mounts went with its mount namespace; the mount points created in the
    /// sandbox stay with the sandbox, as in Mesos.
    fn cleanup(&self, id: &ContainerId) -> Result<()> {
        self.prepared.remove(id);
        Ok(())
    }
}
