//! The module parameters, named after the Mesos agent flags they stand for. Both modules take the
//! same keys (one manifest commonly gives both the same list); a key that only concerns the other
//! module is checked and otherwise ignored, as in the cgroups isolators:
//!
//! | key | default | used by |
//! |---|---|---|
//! | `container_disk_watch_interval` | `15secs` | both: how often usage is measured (du) or checked against the soft limit (xfs kill mode) |
//! | `enforce_container_disk_quota` | `false` | both: kill (du) / limit (xfs) instead of accounting only |
//! | `xfs_project_range` | `[5000-10000]` | disk/xfs: the project ids handed out ([`crate::range`]) |
//! | `xfs_kill_containers` | `false` | disk/xfs: with enforcement, kill over the soft limit |
//! | `xfs_quota_headroom` | `10MB` | disk/xfs: hard limit = soft limit + this, in kill mode |
//! | `work_dir` | `/var/lib/agent-harness` | disk/xfs: must be XFS with project quota (the harness sets it to its `--work_dir`) |

use std::path::PathBuf;
use std::time::Duration;

use module_abi::Parameter;
use module_params::{ParamError, Params, ValueError};

use crate::bytes::parse_bytes;
use crate::range::{DEFAULT_PROJECT_RANGE, ProjectRange};

pub const CONTAINER_DISK_WATCH_INTERVAL: &str = "container_disk_watch_interval";
pub const ENFORCE_CONTAINER_DISK_QUOTA: &str = "enforce_container_disk_quota";
pub const XFS_PROJECT_RANGE: &str = "xfs_project_range";
pub const XFS_KILL_CONTAINERS: &str = "xfs_kill_containers";
pub const XFS_QUOTA_HEADROOM: &str = "xfs_quota_headroom";
pub const WORK_DIR: &str = "work_dir";

/// The harness's default `--work_dir`.
pub const DEFAULT_WORK_DIR: &str = "/var/lib/agent-harness";

const KNOWN: &[&str] = &[
    CONTAINER_DISK_WATCH_INTERVAL,
    ENFORCE_CONTAINER_DISK_QUOTA,
    XFS_PROJECT_RANGE,
    XFS_KILL_CONTAINERS,
    XFS_QUOTA_HEADROOM,
    WORK_DIR,
];

/// The parsed parameters, with Mesos's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub watch_interval: Duration,
    pub enforce: bool,
    pub project_range: ProjectRange,
    pub kill_containers: bool,
    pub headroom_bytes: u64,
    pub work_dir: PathBuf,
}

impl Config {
    /// Parses the parameters of `isolator` (`disk/du` or `disk/xfs`).
    pub fn parse(isolator: &'static str, parameters: &[Parameter]) -> Result<Config, ParamError> {
        let params = Params::new(isolator, parameters, KNOWN)?;
        let watch_interval =
            params.duration(CONTAINER_DISK_WATCH_INTERVAL)?.unwrap_or(Duration::from_secs(15));
        if watch_interval.is_zero() {
            let value = params.get(CONTAINER_DISK_WATCH_INTERVAL).unwrap_or_default();
            return Err(params.invalid(
                CONTAINER_DISK_WATCH_INTERVAL,
                value,
                ValueError::Other("the interval must be longer than zero".to_owned()),
            ));
        }
        let range = params.get(XFS_PROJECT_RANGE).unwrap_or(DEFAULT_PROJECT_RANGE);
        let project_range =
            ProjectRange::parse(range).map_err(|reason| params.invalid(XFS_PROJECT_RANGE, range, reason))?;
        Ok(Config {
            watch_interval,
            enforce: params.bool(ENFORCE_CONTAINER_DISK_QUOTA)?.unwrap_or(false),
            project_range,
            kill_containers: params.bool(XFS_KILL_CONTAINERS)?.unwrap_or(false),
            headroom_bytes: params.parse(XFS_QUOTA_HEADROOM, parse_bytes)?.unwrap_or(10 * 1024 * 1024),
            work_dir: params
                .absolute_path(WORK_DIR)?
                .map_or_else(|| PathBuf::from(DEFAULT_WORK_DIR), Into::into),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs.iter().map(|(k, v)| Parameter { key: (*k).to_owned(), value: (*v).to_owned() }).collect()
    }

    #[test]
    fn defaults_are_mesos_flag_defaults() {
        let config = Config::parse("disk/xfs", &[]).unwrap();
        assert_eq!(config.watch_interval, Duration::from_secs(15));
        assert!(!config.enforce && !config.kill_containers);
        assert_eq!(config.project_range, ProjectRange::parse("[5000-10000]").unwrap());
        assert_eq!(config.headroom_bytes, 10 << 20);
        assert_eq!(config.work_dir, PathBuf::from("/var/lib/agent-harness"));
    }

    #[test]
    fn every_key_parses() {
        let config = Config::parse(
            "disk/du",
            &params(&[
                ("container_disk_watch_interval", "100ms"),
                ("enforce_container_disk_quota", "true"),
                ("xfs_project_range", "[1-2]"),
                ("xfs_kill_containers", "true"),
                ("xfs_quota_headroom", "20MB"),
                ("work_dir", "/srv/work"),
            ]),
        )
        .unwrap();
        assert_eq!(config.watch_interval, Duration::from_millis(100));
        assert!(config.enforce && config.kill_containers);
        assert_eq!(config.project_range.len(), 2);
        assert_eq!(config.headroom_bytes, 20 << 20);
        assert_eq!(config.work_dir, PathBuf::from("/srv/work"));
    }

    #[test]
    fn bad_values_name_module_key_and_mesos_reason() {
        for (key, value, reason) in [
            ("xfs_project_range", "[0-10]", "XFS project ID range contains illegal 0 value"),
            ("xfs_project_range", "foo", "Invalid XFS project resource type TEXT, expecting RANGES"),
            ("xfs_project_range", "100", "Invalid XFS project resource type SCALAR, expecting RANGES"),
            ("container_disk_watch_interval", "0secs", "the interval must be longer than zero"),
        ] {
            let err = Config::parse("disk/xfs", &params(&[(key, value)])).unwrap_err().to_string();
            assert_eq!(err, format!("disk/xfs: invalid value '{value}' for parameter '{key}': {reason}"));
        }
        for (key, value) in [
            ("container_disk_watch_interval", "15"),
            ("enforce_container_disk_quota", "yes"),
            ("xfs_quota_headroom", "10"),
            ("work_dir", "relative"),
        ] {
            let err = Config::parse("disk/du", &params(&[(key, value)])).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("disk/du: invalid value '{value}' for parameter '{key}': ")),
                "{err}"
            );
        }
        let err = Config::parse("disk/du", &params(&[("xfs_project", "1")])).unwrap_err().to_string();
        assert!(err.starts_with("disk/du: unknown parameter 'xfs_project'"), "{err}");
    }
}
