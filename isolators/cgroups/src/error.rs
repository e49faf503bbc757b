//! The crate's error type. Every message names what it is about (the parameter, the container, the
//! cgroup path) and which isolator said it, in one line; it reaches the harness through
//! `module_abi::Error`, which any `std::error::Error` converts into.

use std::path::PathBuf;

use cgroupfs::Error as CgroupError;

/// A failure of one of the cgroups isolators.
#[derive(Debug, thiserror::Error)]
pub enum IsolatorError {
    /// A parameter list the module cannot be created with (an unknown or repeated key, a value
    /// that does not parse); the message names the module, the key and the value.
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    /// This host cannot give what the parameters ask for.
    #[error("{isolator}: {reason}")]
    Unsupported { isolator: &'static str, reason: String },

    /// Mesos's refusal to take over an existing cgroup, with Mesos's text so a search finds it.
    #[error("The cgroup at '{}' already exists", path.display())]
    AlreadyExists { path: PathBuf },

    /// `prepare` for a container this isolator already holds.
    #[error("{isolator}: container '{container}' has already been prepared")]
    AlreadyPrepared { isolator: &'static str, container: String },

    /// A call for a container this isolator does not hold (other than `cleanup`, where it is fine).
    #[error("{isolator}: unknown container '{container}'")]
    UnknownContainer { isolator: &'static str, container: String },

    /// Resources that cannot be mapped onto the cgroup.
    #[error("{isolator}: invalid resources for container '{container}': {reason}")]
    InvalidResources { isolator: &'static str, container: String, reason: String },

    /// A cgroupfs operation failed; `action` says what the isolator was doing.
    #[error("{isolator}: failed to {action} for container '{container}': {source}")]
    Cgroup { isolator: &'static str, action: &'static str, container: String, source: CgroupError },

    /// Reading the mount table or a hierarchy root at creation failed.
    #[error("{isolator}: {source}")]
    Hierarchy { isolator: &'static str, source: CgroupError },

    /// A file this crate reads itself (v2 `cgroup.controllers`, checked at creation).
    #[error("{isolator}: failed to access {}: {source}", path.display())]
    File { isolator: &'static str, path: PathBuf, source: std::io::Error },
}

/// The crate's result type.
pub type Result<T, E = IsolatorError> = std::result::Result<T, E>;
