//! The crate's error type. Every message starts with the isolator's Mesos name, says which
//! container (or parameter, or profile file) it is about, and fits on one line; it reaches the
//! harness through `module_abi::Error`, which any `std::error::Error` converts into. Where Mesos
//! has a text for the same refusal, the message carries Mesos's text, so a search finds both.

use std::path::PathBuf;

use crate::seccomp::ProfileError;

/// A failure of one of the Linux isolators.
#[derive(Debug, thiserror::Error)]
pub enum IsolatorError {
    /// A parameter list the module cannot be created with; names the module, the key and the value.
    #[error(transparent)]
    Parameter(#[from] module_params::ParamError),

    /// The module cannot run on this host or with these parameters (Mesos's creation errors).
    #[error("{isolator}: {reason}")]
    Create { isolator: &'static str, reason: String },

    /// What a container asks for is refused.
    #[error("{isolator}: container '{container}': {reason}")]
    Refused { isolator: &'static str, container: String, reason: String },

    /// A seccomp profile that cannot be used, with the file it was read from.
    #[error("linux/seccomp: {}profile {}: {source}", container_text(container), path.display())]
    Profile { container: Option<String>, path: PathBuf, source: Box<ProfileError> },

    /// Reading this process's own capabilities or limits failed.
    #[error("{isolator}: failed to read {what}: {reason}")]
    Host { isolator: &'static str, what: &'static str, reason: String },
}

fn container_text(container: &Option<String>) -> String {
    container.as_ref().map(|c| format!("container '{c}': ")).unwrap_or_default()
}

/// The crate's result type.
pub type Result<T, E = IsolatorError> = std::result::Result<T, E>;
