//! The one error type of the containerizer. Every variant names the container, file or call it is
//! about; messages are lower-case without a trailing period so callers can wrap them.

use std::io;
use std::path::PathBuf;

/// A failure of a containerizer operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter list the module cannot be created with; names the key and the value.
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    /// The host has no hierarchy the containerizer can kill containers through.
    #[error(
        "neither is cgroup2 mounted at {} nor is a cgroup v1 freezer hierarchy mounted; the \
         containerizer needs one of them to kill containers (parameter 'cgroups_hierarchy')",
        hierarchy.display()
    )]
    NoKillHierarchy { hierarchy: PathBuf },

    /// The launch request asks for something this containerizer cannot or must not do.
    #[error("invalid launch of container '{container}': {reason}")]
    Launch { container: String, reason: String },

    /// The launch helper binary is not where it is looked for.
    #[error(
        "the launch helper '{}' does not exist (build it with the containerizer, install it next to the library, or set the 'launcher_dir' parameter)",
        path.display()
    )]
    HelperMissing { path: PathBuf },

    /// A container id that is already launched.
    #[error("Container '{0}' already exists")]
    AlreadyExists(String),

    /// A container id the call needs to know.
    #[error("unknown container '{0}'")]
    Unknown(String),

    /// A file or directory operation failed.
    #[error("failed to {op} {}: {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: io::Error },

    /// A system call failed.
    #[error("failed to {op}: {source}")]
    Sys { op: &'static str, source: nix::Error },

    /// The container's cgroup could not be created, joined, killed or removed.
    #[error("container '{container}': {source}")]
    Cgroup { container: String, source: cgroupfs::Error },

    /// A file written by the helper or the host could not be parsed.
    #[error("failed to parse {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }

    /// An [`Error::Sys`] for the call `op`.
    pub(crate) fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> Error {
        move |source| Error::Sys { op, source }
    }
}
