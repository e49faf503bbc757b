//! The crate's error type: one line naming the isolator and what it is about (the container, the
//! path, the project id). The messages Mesos has for the same failures are Mesos's, word for word.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::walk::WalkError;

/// A failure of `disk/du` or `disk/xfs`.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    #[error("'{}' is not an XFS filesystem", path.display())]
    NotXfs { path: PathBuf },

    #[error("XFS project quotas are not enabled on '{}'", path.display())]
    QuotaNotEnabled { path: PathBuf },

    #[error("Failed to enable XFS project quotas on '{}': {errno}", path.display())]
    EnableQuota { path: PathBuf, errno: Errno },

    #[error("Failed to get quota status for '{}': {errno}", path.display())]
    QuotaStatus { path: PathBuf, errno: Errno },

    #[error("The XFS disk isolator requires running as root.")]
    NotRoot,

    #[error("Failed to assign project ID, range exhausted")]
    RangeExhausted,

    /// A `quotactl` on a project that failed.
    #[error("{isolator}: cannot {action} of project {project} for container '{container}': {errno}")]
    Quota { isolator: &'static str, action: &'static str, project: u32, container: String, errno: Errno },

    /// A project id that cannot be read or set on a file of the sandbox.
    #[error("{isolator}: cannot {action} project id of '{}': {errno}", path.display())]
    ProjectId { isolator: &'static str, action: &'static str, path: PathBuf, errno: Errno },

    #[error("{isolator}: cannot measure the sandbox of container '{container}': {source}")]
    Walk { isolator: &'static str, container: String, source: WalkError },

    #[error("{isolator}: cannot create the watch timer of container '{container}': {source}")]
    Timer { isolator: &'static str, container: String, source: std::io::Error },

    #[error("{isolator}: invalid disk resource for container '{container}': {reason}")]
    InvalidResources { isolator: &'static str, container: String, reason: String },

    #[error("{isolator}: container '{container}' has already been prepared")]
    AlreadyPrepared { isolator: &'static str, container: String },

    #[error("{isolator}: unknown container '{container}'")]
    UnknownContainer { isolator: &'static str, container: String },

    #[error("{isolator}: cannot read '{}': {source}", path.display())]
    File { isolator: &'static str, path: PathBuf, source: std::io::Error },
}

pub type Result<T, E = DiskError> = std::result::Result<T, E>;
