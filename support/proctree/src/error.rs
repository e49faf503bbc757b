//! The crate's errors: [`UsageError`] when a process tree cannot be measured, [`PosixError`] for
//! a posix isolator call. Messages are one line, lower-case, without a trailing period, and name
//! the isolator, the container or the path.

use std::io;
use std::path::PathBuf;

/// A process tree that could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The `/proc` directory could not be listed.
    #[error("failed to list {}: {source}", path.display())]
    List { path: PathBuf, source: io::Error },

    /// The tree's root process is not there (it ended).
    #[error("no process {pid} in {}", proc_root.display())]
    NoProcess { pid: i32, proc_root: PathBuf },

    /// `sysconf` has no value for the clock tick or the page size.
    #[error("sysconf({name}) gave no value")]
    Sysconf { name: &'static str },
}

/// A failed call of a posix isolator; `isolator` is its name (`posix/cpu`).
#[derive(Debug, thiserror::Error)]
pub enum PosixError {
    /// The module's parameters (the posix isolators take none).
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    /// A call for a container this isolator does not hold.
    #[error("{isolator}: unknown container '{container}'")]
    UnknownContainer { isolator: &'static str, container: String },

    /// `prepare` twice.
    #[error("{isolator}: container '{container}' has already been prepared")]
    AlreadyPrepared { isolator: &'static str, container: String },

    /// `recover` of a container already held, or with a pid that cannot be one.
    #[error("{isolator}: cannot recover container '{container}': {reason}")]
    Recover { isolator: &'static str, container: String, reason: String },

    /// The container's process tree could not be measured.
    #[error("{isolator}: no usage of container '{container}': {source}")]
    Usage { isolator: &'static str, container: String, source: UsageError },
}
