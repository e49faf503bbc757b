//! The Mesos agent flags that every module placing containers in cgroups takes (the cgroups
//! isolators and the Linux containerizer), with one spelling, one default and one check each, so
//! one manifest can give all of them the same values:
//!
//! | key | default | value |
//! |---|---|---|
//! | `cgroups_root` | `mesos` | a relative cgroup path (`mesos`, `parent/mesos`), never leaving the hierarchy |
//! | `cgroups_hierarchy` | `/sys/fs/cgroup` | an absolute path; v2 when cgroup2 is mounted exactly there |
//! | `cgroups_destroy_timeout` | `60secs` | a Mesos duration (`60secs`, `0.5secs`, `10mins`), more than zero |

use std::path::PathBuf;
use std::time::Duration;

use module_params::{ParamError, Params, ValueError};

use crate::mounts::DEFAULT_HIERARCHY;

/// `--cgroups_root`: the cgroup under which container cgroups are made.
pub const CGROUPS_ROOT: &str = "cgroups_root";
/// `--cgroups_hierarchy`: where the hierarchies are. On v1 the controllers' mount points come
/// from `/proc/self/mountinfo` rather than being assumed at `<hierarchy>/<controller>`.
pub const CGROUPS_HIERARCHY: &str = "cgroups_hierarchy";
/// `--cgroups_destroy_timeout`: how long killing a container's processes may take.
pub const CGROUPS_DESTROY_TIMEOUT: &str = "cgroups_destroy_timeout";
/// The three keys, for a module's list of known keys.
pub const KEYS: [&str; 3] = [CGROUPS_ROOT, CGROUPS_HIERARCHY, CGROUPS_DESTROY_TIMEOUT];

/// Mesos's default `--cgroups_root`.
pub const DEFAULT_ROOT: &str = "mesos";
/// Mesos's default `--cgroups_destroy_timeout`.
pub const DEFAULT_DESTROY_TIMEOUT: Duration = Duration::from_secs(60);

/// The parsed flags, with Mesos's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupsFlags {
    pub root: String,
    pub hierarchy: PathBuf,
    pub destroy_timeout: Duration,
}

impl Default for CgroupsFlags {
    fn default() -> CgroupsFlags {
        CgroupsFlags {
            root: DEFAULT_ROOT.to_owned(),
            hierarchy: PathBuf::from(DEFAULT_HIERARCHY),
            destroy_timeout: DEFAULT_DESTROY_TIMEOUT,
        }
    }
}

impl CgroupsFlags {
    /// Reads the three keys from a module's (already key-checked) parameters.
    pub fn from_params(params: &Params<'_>) -> Result<CgroupsFlags, ParamError> {
        let defaults = CgroupsFlags::default();
        let destroy_timeout =
            params.parse(CGROUPS_DESTROY_TIMEOUT, |value| match module_params::parse_duration(value)? {
                Duration::ZERO => Err(ValueError::Other("must be more than zero".to_owned())),
                timeout => Ok(timeout),
            })?;
        Ok(CgroupsFlags {
            root: params.relative_path(CGROUPS_ROOT)?.map_or(defaults.root, str::to_owned),
            hierarchy: params.absolute_path(CGROUPS_HIERARCHY)?.map_or(defaults.hierarchy, PathBuf::from),
            destroy_timeout: destroy_timeout.unwrap_or(defaults.destroy_timeout),
        })
    }
}

#[cfg(test)]
mod tests {
    use module_abi::Parameter;

    use super::*;

    fn flags(pairs: &[(&str, &str)]) -> Result<CgroupsFlags, ParamError> {
        let given: Vec<Parameter> =
            pairs.iter().map(|(k, v)| Parameter { key: (*k).into(), value: (*v).into() }).collect();
        CgroupsFlags::from_params(&Params::new("test", &given, &KEYS)?)
    }

    #[test]
    fn defaults_are_mesos_flag_defaults() {
        let flags = flags(&[]).unwrap();
        assert_eq!(flags.root, "mesos");
        assert_eq!(flags.hierarchy, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(flags.destroy_timeout, Duration::from_secs(60));
    }

    #[test]
    fn every_key_parses() {
        let flags = flags(&[
            ("cgroups_root", "parent/mesos"),
            ("cgroups_hierarchy", "/tmp/cg"),
            ("cgroups_destroy_timeout", "1.5mins"),
        ])
        .unwrap();
        assert_eq!(flags.root, "parent/mesos");
        assert_eq!(flags.hierarchy, PathBuf::from("/tmp/cg"));
        assert_eq!(flags.destroy_timeout, Duration::from_secs(90));
    }

    #[test]
    fn bad_values_name_key_and_value() {
        for (key, value) in [
            ("cgroups_destroy_timeout", "60"),
            ("cgroups_destroy_timeout", "0secs"),
            ("cgroups_destroy_timeout", "-1secs"),
            ("cgroups_root", "../escape"),
            ("cgroups_root", "/abs"),
            ("cgroups_root", ""),
            ("cgroups_hierarchy", "relative"),
        ] {
            let err = flags(&[(key, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("test: invalid value '{value}' for parameter '{key}': ")),
                "{err}"
            );
        }
    }
}
