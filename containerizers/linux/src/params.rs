//! The module parameters, by Mesos's flag names where Mesos has one.
//!
//! | key | default |
//! |---|---|
//! | `launcher_dir` | the directory holding this library (where `cargo build` and an install put the helper) |
//! | `runtime_dir` | `/run/agent-harness/containerizer` |
//! | `cgroups_root` | `mesos` |
//! | `cgroups_hierarchy` | `/sys/fs/cgroup` |
//! | `destroy_timeout_secs` | `60` (Mesos's `--cgroups_destroy_timeout`) |

use std::path::PathBuf;
use std::time::Duration;

use module_abi::{Parameter, parameter};

use crate::error::{Error, Result};

/// The name of the launch helper binary, as in Mesos.
pub const HELPER_NAME: &str = "mesos-containerizer";

/// Default runtime directory (per container `<runtime_dir>/<cgroups_root>/containers/<id>/`).
pub const DEFAULT_RUNTIME_DIR: &str = "/run/agent-harness/containerizer";

/// Default cgroups root (Mesos's `--cgroups_root`).
pub const DEFAULT_CGROUPS_ROOT: &str = "mesos";

/// Default hierarchy root (Mesos's `--cgroups_hierarchy`).
pub const DEFAULT_CGROUPS_HIERARCHY: &str = "/sys/fs/cgroup";

/// Default bound on killing a container's processes (Mesos's `--cgroups_destroy_timeout`).
pub const DEFAULT_DESTROY_TIMEOUT: Duration = Duration::from_secs(60);

/// The containerizer's settings, from its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where `mesos-containerizer` is, or `None` for the library's own directory.
    pub launcher_dir: Option<PathBuf>,
    pub runtime_dir: PathBuf,
    pub cgroups_root: String,
    pub cgroups_hierarchy: PathBuf,
    pub destroy_timeout: Duration,
}

const KNOWN: &[&str] =
    &["launcher_dir", "runtime_dir", "cgroups_root", "cgroups_hierarchy", "destroy_timeout_secs"];

impl Settings {
    /// This configuration's part of the runtime directory: `<runtime_dir>/<cgroups_root>`, so
    /// harnesses with different cgroups roots never take each other's containers for orphans.
    pub fn runtime_root(&self) -> PathBuf {
        self.runtime_dir.join(&self.cgroups_root)
    }

    /// Reads the parameters; an unknown key is an error (a typo must not silently change nothing).
    pub fn from_parameters(parameters: &[Parameter]) -> Result<Settings> {
        if let Some(unknown) = parameters.iter().find(|p| !KNOWN.contains(&p.key.as_str())) {
            return Err(Error::Parameter {
                key: "parameters",
                reason: format!("unknown key '{}' (known: {})", unknown.key, KNOWN.join(", ")),
            });
        }
        let absolute = |key: &'static str, value: &str| -> Result<PathBuf> {
            let path = PathBuf::from(value);
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(Error::Parameter { key, reason: format!("'{value}' is not an absolute path") })
            }
        };
        let launcher_dir = match parameter(parameters, "launcher_dir") {
            Some(dir) => Some(absolute("launcher_dir", dir)?),
            None => None,
        };
        let runtime_dir =
            absolute("runtime_dir", parameter(parameters, "runtime_dir").unwrap_or(DEFAULT_RUNTIME_DIR))?;
        let cgroups_hierarchy = absolute(
            "cgroups_hierarchy",
            parameter(parameters, "cgroups_hierarchy").unwrap_or(DEFAULT_CGROUPS_HIERARCHY),
        )?;
        let cgroups_root = parameter(parameters, "cgroups_root").unwrap_or(DEFAULT_CGROUPS_ROOT).to_owned();
        if cgroups_root.is_empty()
            || cgroups_root.starts_with('/')
            || cgroups_root.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::Parameter {
                key: "cgroups_root",
                reason: format!("'{cgroups_root}' is not a relative cgroup path"),
            });
        }
        let destroy_timeout = match parameter(parameters, "destroy_timeout_secs") {
            None => DEFAULT_DESTROY_TIMEOUT,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| Error::Parameter {
                    key: "destroy_timeout_secs",
                    reason: format!("'{text}' is not a positive number of seconds"),
                })?,
        };
        Ok(Settings { launcher_dir, runtime_dir, cgroups_root, cgroups_hierarchy, destroy_timeout })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: &str, value: &str) -> Parameter {
        Parameter { key: key.into(), value: value.into() }
    }

    #[test]
    fn defaults() {
        let s = Settings::from_parameters(&[]).unwrap();
        assert_eq!(s.launcher_dir, None);
        assert_eq!(s.runtime_dir, PathBuf::from(DEFAULT_RUNTIME_DIR));
        assert_eq!(s.cgroups_root, "mesos");
        assert_eq!(s.cgroups_hierarchy, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(s.destroy_timeout, DEFAULT_DESTROY_TIMEOUT);
    }

    #[test]
    fn explicit_values() {
        let s = Settings::from_parameters(&[
            p("launcher_dir", "/opt/mesos/libexec"),
            p("runtime_dir", "/tmp/rt"),
            p("cgroups_root", "test/root"),
            p("destroy_timeout_secs", "2.5"),
        ])
        .unwrap();
        assert_eq!(s.launcher_dir, Some(PathBuf::from("/opt/mesos/libexec")));
        assert_eq!(s.runtime_dir, PathBuf::from("/tmp/rt"));
        assert_eq!(s.cgroups_root, "test/root");
        assert_eq!(s.destroy_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("launcher_dir", "relative"),
            ("cgroups_root", "../escape"),
            ("cgroups_root", "/abs"),
            ("destroy_timeout_secs", "-1"),
            ("bogus", "x"),
        ] {
            let err = Settings::from_parameters(&[p(key, value)]).unwrap_err().to_string();
            assert!(err.contains(key) || err.contains("bogus"), "{key}: {err}");
        }
    }
}
