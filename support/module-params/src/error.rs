//! The errors of parameter checking: [`ParamError`] says which key of which module is wrong, and
//! [`ValueError`] why a value was refused. Messages are one line, lower-case after the module's
//! name, without a trailing period.

use crate::duration::DurationError;
use crate::path::PathError;

/// A parameter list a module cannot be created with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A key the module does not know (a typo must not be ignored silently).
    #[error("{module}: unknown parameter '{key}' ({})", known_text(known))]
    Unknown { module: &'static str, key: String, known: &'static [&'static str] },

    /// The same key twice in one list: which one would win is nobody's guess.
    #[error("{module}: parameter '{key}' is given more than once")]
    Duplicate { module: &'static str, key: String },

    /// A value that does not parse or is not allowed.
    #[error("{module}: invalid value '{value}' for parameter '{key}': {reason}")]
    Invalid { module: &'static str, key: String, value: String, reason: ValueError },
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not `true` or `false`.
    #[error("expected 'true' or 'false'")]
    Bool,
    /// Not a duration in stout's form.
    #[error(transparent)]
    Duration(#[from] DurationError),
    /// Not a usable path component or relative path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A path that must be absolute is not.
    #[error("must be an absolute path")]
    NotAbsolute,
    /// Not one of a fixed set of words.
    #[error("expected one of {}", .0.join(", "))]
    Choice(Vec<&'static str>),
    /// A module's own rule (a length, a range), in its words.
    #[error("{0}")]
    Other(String),
}

fn known_text(known: &[&str]) -> String {
    if known.is_empty() {
        "it takes no parameters".to_owned()
    } else {
        format!("known parameters: {}", known.join(", "))
    }
}
