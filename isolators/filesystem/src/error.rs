//! The crate's errors. Every message names the isolator and the container it is about, in one
//! line; where Mesos has a text for the same refusal, that text follows, so a search finds Mesos's
//! docs. They reach the harness through `module_abi::Error`, which any `std::error::Error`
//! converts into.

use std::io;
use std::path::PathBuf;

/// A failure of `filesystem/linux` or `filesystem/posix`.
#[derive(Debug, thiserror::Error)]
pub enum FilesystemError {
    /// A parameter list the module cannot be created with; names the module, the key and the value.
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    /// `prepare` for a container the isolator already holds (Mesos's text).
    #[error("{isolator}: container '{container}': Container has already been prepared")]
    AlreadyPrepared { isolator: &'static str, container: String },

    /// Something the isolator does not do, in Mesos's words ("Container root filesystems not
    /// supported", "Volumes in ContainerInfo is not supported", "Only support MESOS containers").
    #[error("{isolator}: container '{container}': {what}")]
    Unsupported { isolator: &'static str, container: String, what: String },

    /// A rootfs that cannot be entered.
    #[error("{isolator}: container '{container}': the rootfs '{}' {reason}", path.display())]
    Rootfs { isolator: &'static str, container: String, path: PathBuf, reason: String },

    /// A sandbox path the isolator cannot use.
    #[error("{isolator}: container '{container}': the sandbox '{}' is not an absolute path", path.display())]
    Sandbox { isolator: &'static str, container: String, path: PathBuf },

    /// A volume that cannot be mounted.
    #[error("{isolator}: container '{container}': {source}")]
    Volume { isolator: &'static str, container: String, source: VolumeError },
}

/// Why a host-path volume cannot be mounted. Mesos's texts (`volume/host_path`) where it has one.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A volume the isolator refuses as given (mode, paths).
    #[error("Invalid volume: {0}")]
    Invalid(String),

    /// The host path is not there (Mesos creates it only with `--host_path_volume_force_creation`).
    #[error("Path '{0}' in HOST_PATH volume does not exist")]
    HostPathMissing(String),

    /// Without a rootfs, an absolute container path is a host path, which is never created.
    #[error(
        "Mount point '{0}' is an absolute path. It must exist if the container shares the host filesystem"
    )]
    MountPointMissing(String),

    /// The mount point under the sandbox could not be created.
    #[error("Failed to create the mount point at '{}': {source}", path.display())]
    MountPoint { path: PathBuf, source: io::Error },

    /// A mount point under the sandbox would be reached through a symlink, which could lead out of
    /// the sandbox.
    #[error("the mount point '{}' goes through the symlink '{}'", mount_point.display(), symlink.display())]
    Symlink { mount_point: PathBuf, symlink: PathBuf },
}

/// The crate's result type.
pub type Result<T, E = FilesystemError> = std::result::Result<T, E>;
