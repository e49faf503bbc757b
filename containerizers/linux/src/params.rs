//! The module parameters, by Mesos's flag names where Mesos has one.
//!
//! | key | default |
//! |---|---|
//! | `launcher_dir` | the directory holding this library (where `cargo build` and an install put the helper) |
//! | `runtime_dir` | `/run/agent-harness/containerizer` |
//! | `cgroups_root` | `mesos` |
//! | `cgroups_hierarchy` | `/sys/fs/cgroup` |
//! | `cgroups_destroy_timeout` | `60secs` (a Mesos duration, as the cgroups isolators take it) |
//!
//! The three `cgroups_*` keys are those every cgroups module shares ([`cgroupfs::flags`]), so one
//! manifest gives the containerizer and the cgroups isolators the same values. An unknown key, a
//! key given twice or a value that does not parse fails creation naming the key
//! ([`module_params`]).

use std::path::PathBuf;

use cgroupfs::CgroupsFlags;
use cgroupfs::flags::{CGROUPS_DESTROY_TIMEOUT, CGROUPS_HIERARCHY, CGROUPS_ROOT};
use module_abi::Parameter;
use module_params::{ParamError, Params};

/// The name of the launch helper binary, as in Mesos.
pub const HELPER_NAME: &str = "mesos-containerizer";

/// The name this module's errors start with.
pub const MODULE: &str = "org_apache_mesos_LinuxContainerizer";

/// Default runtime directory (per container `<runtime_dir>/<cgroups_root>/containers/<id>/`).
pub const DEFAULT_RUNTIME_DIR: &str = "/run/agent-harness/containerizer";

const LAUNCHER_DIR: &str = "launcher_dir";
const RUNTIME_DIR: &str = "runtime_dir";
const KNOWN: &[&str] = &[LAUNCHER_DIR, RUNTIME_DIR, CGROUPS_ROOT, CGROUPS_HIERARCHY, CGROUPS_DESTROY_TIMEOUT];

/// The containerizer's settings, from its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where `mesos-containerizer` is, or `None` for the library's own directory.
    pub launcher_dir: Option<PathBuf>,
    pub runtime_dir: PathBuf,
    /// `cgroups_root`, `cgroups_hierarchy`, `cgroups_destroy_timeout`.
    pub cgroups: CgroupsFlags,
}

impl Settings {
    /// This configuration's part of the runtime directory: `<runtime_dir>/<cgroups_root>`, so
    /// harnesses with different cgroups roots never take each other's containers for orphans.
    pub fn runtime_root(&self) -> PathBuf {
        self.runtime_dir.join(&self.cgroups.root)
    }

    /// Reads the parameters; an unknown key is an error (a typo must not silently change nothing).
    pub fn from_parameters(parameters: &[Parameter]) -> Result<Settings, ParamError> {
        let params = Params::new(MODULE, parameters, KNOWN)?;
        Ok(Settings {
            launcher_dir: params.absolute_path(LAUNCHER_DIR)?.map(PathBuf::from),
            runtime_dir: params
                .absolute_path(RUNTIME_DIR)?
                .map_or(PathBuf::from(DEFAULT_RUNTIME_DIR), PathBuf::from),
            cgroups: CgroupsFlags::from_params(&params)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn p(key: &str, value: &str) -> Parameter {
        Parameter { key: key.into(), value: value.into() }
    }

    #[test]
    fn defaults() {
        let s = Settings::from_parameters(&[]).unwrap();
        assert_eq!(s.launcher_dir, None);
        assert_eq!(s.runtime_dir, PathBuf::from(DEFAULT_RUNTIME_DIR));
        assert_eq!(s.cgroups.root, "mesos");
        assert_eq!(s.cgroups.hierarchy, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(s.cgroups.destroy_timeout, Duration::from_secs(60));
        assert_eq!(s.runtime_root(), PathBuf::from(DEFAULT_RUNTIME_DIR).join("mesos"));
    }

    #[test]
    fn explicit_values() {
        let s = Settings::from_parameters(&[
            p("launcher_dir", "/opt/mesos/libexec"),
            p("runtime_dir", "/tmp/rt"),
            p("cgroups_root", "test/root"),
            p("cgroups_destroy_timeout", "2.5secs"),
        ])
        .unwrap();
        assert_eq!(s.launcher_dir, Some(PathBuf::from("/opt/mesos/libexec")));
        assert_eq!(s.runtime_dir, PathBuf::from("/tmp/rt"));
        assert_eq!(s.cgroups.root, "test/root");
        assert_eq!(s.cgroups.destroy_timeout, Duration::from_millis(2500));
        assert_eq!(s.runtime_root(), PathBuf::from("/tmp/rt/test/root"));
    }

    #[test]
    fn bad_values_name_the_module_and_the_key() {
        for (key, value) in [
            ("launcher_dir", "relative"),
            ("runtime_dir", "relative"),
            ("cgroups_root", "../escape"),
            ("cgroups_root", "/abs"),
            ("cgroups_destroy_timeout", "-1secs"),
            ("cgroups_destroy_timeout", "0secs"),
        ] {
            let err = Settings::from_parameters(&[p(key, value)]).unwrap_err().to_string();
            let start = format!("{MODULE}: invalid value '{value}' for parameter '{key}': ");
            assert!(err.starts_with(&start), "{key}: {err}");
        }
    }

    #[test]
    fn the_old_timeout_spelling_is_an_unknown_key() {
        let err = Settings::from_parameters(&[p("destroy_timeout_secs", "20")]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{MODULE}: unknown parameter 'destroy_timeout_secs'")), "{err}");
        assert!(err.contains("cgroups_destroy_timeout"), "{err}");
    }
}
