//! The module parameters, named after the Mesos agent flags they stand for, and their parsing.
//!
//! Both modules accept the same keys, as Mesos's flags are agent-wide and one manifest commonly
//! gives both modules the same list; a key that only concerns the other module is validated and
//! otherwise ignored. An unknown key or a value that does not parse fails module creation with
//! the key (and value) named.

use std::path::PathBuf;
use std::time::Duration;

use module_abi::Parameter;

use crate::error::{IsolatorError, Result};

/// `--cgroups_root`: the cgroup under which container cgroups are made.
pub const CGROUPS_ROOT: &str = "cgroups_root";
/// `--cgroups_hierarchy`: v2 when cgroup2 is mounted exactly here, else v1 (as Mesos decides). On
/// v1 the controllers' mount points come from `/proc/self/mountinfo` rather than being assumed at
/// `<hierarchy>/<controller>`: `cpu` and `cpuacct` are separate mounts on some hosts and
/// co-mounted as `cpu,cpuacct` on others.
pub const CGROUPS_HIERARCHY: &str = "cgroups_hierarchy";
/// `--cgroups_enable_cfs`: enforce the cpus request as a CFS quota.
pub const CGROUPS_ENABLE_CFS: &str = "cgroups_enable_cfs";
/// `--cgroups_limit_swap`: limit memory plus swap as well (v1 `memory.memsw.limit_in_bytes`).
pub const CGROUPS_LIMIT_SWAP: &str = "cgroups_limit_swap";
/// `--cgroups_destroy_timeout`: how long `cleanup` waits for the processes to die.
pub const CGROUPS_DESTROY_TIMEOUT: &str = "cgroups_destroy_timeout";

const KNOWN: [&str; 5] =
    [CGROUPS_ROOT, CGROUPS_HIERARCHY, CGROUPS_ENABLE_CFS, CGROUPS_LIMIT_SWAP, CGROUPS_DESTROY_TIMEOUT];

/// The parsed parameters, with Mesos's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub cgroups_root: String,
    pub cgroups_hierarchy: PathBuf,
    pub enable_cfs: bool,
    pub limit_swap: bool,
    pub destroy_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            cgroups_root: "mesos".to_owned(),
            cgroups_hierarchy: PathBuf::from(cgroupfs::mounts::DEFAULT_HIERARCHY),
            enable_cfs: false,
            limit_swap: false,
            destroy_timeout: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Parses a module's parameters; see the module docs for the keys.
    pub fn parse(parameters: &[Parameter]) -> Result<Config> {
        let mut config = Config::default();
        let mut seen: Vec<&str> = Vec::new();
        for Parameter { key, value } in parameters {
            if seen.contains(&key.as_str()) {
                return Err(IsolatorError::DuplicateParameter { key: key.clone() });
            }
            seen.push(key);
            let invalid = |reason: &str| IsolatorError::InvalidParameter {
                key: key.clone(),
                value: value.clone(),
                reason: reason.to_owned(),
            };
            match key.as_str() {
                CGROUPS_ROOT => {
                    // Checked as cgroupfs checks container names, so it cannot escape the hierarchy.
                    if value.is_empty() || value.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
                        return Err(invalid("must be a relative path without empty, '.' or '..' parts"));
                    }
                    config.cgroups_root = value.clone();
                }
                CGROUPS_HIERARCHY => {
                    if !value.starts_with('/') {
                        return Err(invalid("must be an absolute path"));
                    }
                    config.cgroups_hierarchy = PathBuf::from(value);
                }
                CGROUPS_ENABLE_CFS => config.enable_cfs = parse_bool(value).ok_or_else(|| invalid(BOOL))?,
                CGROUPS_LIMIT_SWAP => config.limit_swap = parse_bool(value).ok_or_else(|| invalid(BOOL))?,
                CGROUPS_DESTROY_TIMEOUT => {
                    config.destroy_timeout = parse_duration(value).ok_or_else(|| invalid(DURATION))?
                }
                _ => {
                    return Err(IsolatorError::UnknownParameter {
                        key: key.clone(),
                        known: KNOWN.join(", "),
                    });
                }
            }
        }
        Ok(config)
    }
}

const BOOL: &str = "expected 'true' or 'false'";
const DURATION: &str =
    "expected a number with a unit (ns, us, ms, secs, mins, hrs, days, weeks), e.g. '60secs'";

/// stout's flag booleans.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// stout's `Duration` text (`100ms`, `60secs`, `1.5mins`), plus the common short forms `s`, `m`,
/// `h`, `d`. A bare number has no unit and is refused, as stout refuses it.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let seconds = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "secs" | "sec" | "s" => 1.0,
        "mins" | "min" | "m" => 60.0,
        "hrs" | "hr" | "h" => 3600.0,
        "days" | "day" | "d" => 86_400.0,
        "weeks" | "week" => 604_800.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(number * seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs.iter().map(|(k, v)| Parameter { key: (*k).to_owned(), value: (*v).to_owned() }).collect()
    }

    #[test]
    fn defaults_are_mesos_flag_defaults() {
        let config = Config::parse(&[]).unwrap();
        assert_eq!(config.cgroups_root, "mesos");
        assert_eq!(config.cgroups_hierarchy, PathBuf::from("/sys/fs/cgroup"));
        assert!(!config.enable_cfs);
        assert!(!config.limit_swap);
        assert_eq!(config.destroy_timeout, Duration::from_secs(60));
    }

    #[test]
    fn every_key_parses() {
        let config = Config::parse(&params(&[
            ("cgroups_root", "mesos/test"),
            ("cgroups_hierarchy", "/tmp/cg"),
            ("cgroups_enable_cfs", "true"),
            ("cgroups_limit_swap", "true"),
            ("cgroups_destroy_timeout", "1.5mins"),
        ]))
        .unwrap();
        assert_eq!(config.cgroups_root, "mesos/test");
        assert_eq!(config.cgroups_hierarchy, PathBuf::from("/tmp/cg"));
        assert!(config.enable_cfs && config.limit_swap);
        assert_eq!(config.destroy_timeout, Duration::from_secs(90));
    }

    #[test]
    fn bad_values_name_key_and_value() {
        for (key, value) in [
            ("cgroups_enable_cfs", "maybe"),
            ("cgroups_limit_swap", "yes"),
            ("cgroups_destroy_timeout", "60"),
            ("cgroups_destroy_timeout", "-1secs"),
            ("cgroups_destroy_timeout", "10parsecs"),
            ("cgroups_root", "../escape"),
            ("cgroups_root", "/abs"),
            ("cgroups_root", ""),
            ("cgroups_hierarchy", "relative"),
        ] {
            let err = Config::parse(&params(&[(key, value)])).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid value '{value}' for parameter '{key}'")), "{err}");
        }
    }

    #[test]
    fn unknown_and_duplicate_keys_are_refused() {
        let err = Config::parse(&params(&[("cgroups_enable_cf", "true")])).unwrap_err().to_string();
        assert!(err.starts_with("unknown parameter 'cgroups_enable_cf'"), "{err}");
        assert!(err.contains("cgroups_enable_cfs"), "{err}");
        let err = Config::parse(&params(&[("cgroups_root", "a"), ("cgroups_root", "b")])).unwrap_err();
        assert_eq!(err.to_string(), "parameter 'cgroups_root' is given more than once");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60secs"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("2mins"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1hrs"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("secs"), None);
        assert_eq!(parse_duration(""), None);
    }
}
