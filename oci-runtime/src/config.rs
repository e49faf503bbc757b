//! The runtime's own configuration, `/etc/isolation-runc/config.json` (or the file named by
//! `ISOLATION_RUNC_CONFIG`): which modules serve bundles. Absent, the suite's modules serve them
//! (next to the binary, or installed), as for `agent-harness run`.
//!
//! ```json
//! {
//!   "modules": "/etc/isolation-runc/modules.json",
//!   "isolation": ["disk/du", "org_example_MyIsolator"]
//! }
//! ```
//!
//! - `modules`: a Mesos `--modules` value (a manifest file's path, or the manifest JSON itself);
//!   its modules load before the suite's, and one named like a suite module replaces it;
//! - `isolation`: isolators (Mesos names or module names) added to those a bundle needs;
//! - `allow_writable_modules`: `agent-harness`'s `--dangerously_allow_writable_modules`.
//!
//! Unknown keys are errors: a misspelt key must not silently leave a module out.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// The configuration file read when `ISOLATION_RUNC_CONFIG` is not set.
pub const DEFAULT_CONFIG: &str = "/etc/isolation-runc/config.json";

/// The variable naming another configuration file.
pub const CONFIG_ENV: &str = "ISOLATION_RUNC_CONFIG";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the runtime configuration {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid runtime configuration {}: {source}", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// A Mesos `--modules` value.
    pub modules: Option<String>,
    /// Isolators added to every container's.
    #[serde(default)]
    pub isolation: Vec<String>,
    #[serde(default)]
    pub allow_writable_modules: bool,
}

impl RuntimeConfig {
    /// The configuration in effect: `ISOLATION_RUNC_CONFIG`'s file (which must exist), else
    /// [`DEFAULT_CONFIG`] if it exists, else the defaults.
    pub fn load() -> Result<RuntimeConfig, ConfigError> {
        match std::env::var_os(CONFIG_ENV) {
            Some(path) => RuntimeConfig::read(Path::new(&path)),
            None if Path::new(DEFAULT_CONFIG).exists() => RuntimeConfig::read(Path::new(DEFAULT_CONFIG)),
            None => Ok(RuntimeConfig::default()),
        }
    }

    pub fn read(path: &Path) -> Result<RuntimeConfig, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        serde_json::from_slice(&bytes).map_err(|source| ConfigError::Parse { path: path.into(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_keys_and_refuses_unknown_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"modules":"/m.json","isolation":["disk/du"]}"#).unwrap();
        let config = RuntimeConfig::read(&path).unwrap();
        assert_eq!(config.modules.as_deref(), Some("/m.json"));
        assert_eq!(config.isolation, ["disk/du"]);
        std::fs::write(&path, r#"{"isolaton":[]}"#).unwrap();
        let err = RuntimeConfig::read(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field `isolaton`"), "{err}");
        assert!(RuntimeConfig::read(&dir.path().join("absent")).is_err());
    }
}
