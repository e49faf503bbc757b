//! The one error type of the crate.
//!
//! Every variant names the cgroup file or directory it is about, so a single line in an agent log is
//! enough to find what went wrong. Messages are lower-case without a trailing period, to be wrapped by
//! the caller's context.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A failure of a cgroupfs operation; every variant carries the path involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cgroup file or `/proc/self/mountinfo` could not be read.
    #[error("failed to read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },

    /// A value could not be written to a cgroup control file.
    #[error("failed to write '{value}' to {path}: {source}")]
    Write { path: PathBuf, value: String, source: io::Error },

    /// A file held something this crate cannot parse.
    #[error("failed to parse {path}: {reason}")]
    Parse { path: PathBuf, reason: String },

    /// Mesos's refusal to reuse a cgroup (`"The cgroup at '<p>' already exists"`).
    #[error("the cgroup at '{}' already exists", path.display())]
    AlreadyExists { path: PathBuf },

    /// A cgroup directory could not be created.
    #[error("failed to create cgroup {path}: {source}")]
    Create { path: PathBuf, source: io::Error },

    /// A cgroup directory could not be removed (after the EBUSY retries).
    #[error("failed to remove cgroup {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },

    /// A cgroup directory could not be listed.
    #[error("failed to list {path}: {source}")]
    List { path: PathBuf, source: io::Error },

    /// No v1 hierarchy with this controller is mounted; `path` is the cgroup that needed it.
    #[error("no cgroup v1 hierarchy with controller '{controller}' is mounted for cgroup {path}")]
    NotMounted { controller: String, path: PathBuf },

    /// The handle was built without the controller an operation needs.
    #[error("cgroup {path} does not use controller '{controller}'")]
    NotConfigured { controller: String, path: PathBuf },

    /// A v2 controller is not offered by the parent (`cgroup.controllers`).
    #[error("controller '{controller}' is not available in {path}")]
    Unavailable { controller: String, path: PathBuf },

    /// The container id or cgroups root is not a plain relative path.
    #[error("invalid cgroup name '{name}' under {path}: {reason}")]
    InvalidName { name: String, path: PathBuf, reason: module_params::PathError },

    /// Memory+swap cannot be limited here (Mesos's `--cgroups_limit_swap`); `path` is the file or
    /// hierarchy that says so.
    #[error("cannot limit memory+swap at {path}: {reason}")]
    SwapLimitUnavailable { path: PathBuf, reason: &'static str },

    /// A system call on a cgroup file failed (eventfd, inotify, kill, bpf).
    #[error("failed to {op} for {path}: {source}")]
    Sys { op: &'static str, path: PathBuf, source: nix::errno::Errno },

    /// The kernel's eBPF verifier refused the v2 device filter; `log` is what it said.
    #[error("the eBPF verifier refused the device filter for {path} ({errno}): {log}")]
    Verifier { path: PathBuf, errno: nix::errno::Errno, log: String },

    /// A bounded wait (freeze, processes exiting) ran out.
    #[error("timed out after {timeout:?} waiting for {what} in {path}")]
    Timeout { what: &'static str, path: PathBuf, timeout: Duration },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
