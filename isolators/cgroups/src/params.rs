//! The module parameters, named after the Mesos agent flags they stand for, and their parsing.
//!
//! Every module of the crate accepts the same keys, as Mesos's flags are agent-wide and one
//! manifest commonly gives all the cgroups isolators the same list; a key that only concerns
//! another module is validated and otherwise ignored. `cgroups_root`, `cgroups_hierarchy` and
//! `cgroups_destroy_timeout` are the flags every cgroups module shares ([`cgroupfs::flags`]); the
//! others are this crate's own: `cgroups_enable_cfs` (cpu), `cgroups_limit_swap` (mem),
//! `allowed_devices` (devices: Mesos's `--allowed_devices`, [`crate::allowed_devices`]) and `pids`
//! (pids: the `pids.max` of a container whose limits have no `pids`; Mesos has no such flag).
//! An unknown key, a key given twice or a value that does not parse fails module creation with
//! the module, the key and the value named ([`module_params`]).

use cgroupfs::flags::{CGROUPS_DESTROY_TIMEOUT, CGROUPS_HIERARCHY, CGROUPS_ROOT};
use cgroupfs::pids::PID_MAX_LIMIT;
use cgroupfs::{CgroupsFlags, DeviceRule};
use module_abi::Parameter;
use module_params::{ParamError, Params, ValueError};

/// `--cgroups_enable_cfs`: enforce the cpus request as a CFS quota.
pub const CGROUPS_ENABLE_CFS: &str = "cgroups_enable_cfs";
/// `--cgroups_limit_swap`: limit memory plus swap as well (v1 `memory.memsw.limit_in_bytes`).
pub const CGROUPS_LIMIT_SWAP: &str = "cgroups_limit_swap";

/// `--allowed_devices`: devices every container may use besides the default whitelist.
pub const ALLOWED_DEVICES: &str = "allowed_devices";

/// `pids`: the task limit of every container whose limits have no `pids` (cgroups/pids).
pub const PIDS: &str = "pids";

/// Every key the modules take.
const KNOWN: &[&str] = &[
    CGROUPS_ROOT,
    CGROUPS_HIERARCHY,
    CGROUPS_ENABLE_CFS,
    CGROUPS_LIMIT_SWAP,
    CGROUPS_DESTROY_TIMEOUT,
    PIDS,
    ALLOWED_DEVICES,
];

/// The parsed parameters, with Mesos's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `cgroups_root`, `cgroups_hierarchy`, `cgroups_destroy_timeout`.
    pub cgroups: CgroupsFlags,
    pub enable_cfs: bool,
    pub limit_swap: bool,
    /// `pids`: the default `pids.max`, from 1 to the kernel's `PID_MAX_LIMIT`; `None`: unlimited.
    pub pids: Option<u64>,
    /// `allowed_devices`: the rules added to the default whitelist, in the flag's order.
    pub allowed_devices: Vec<DeviceRule>,
}

impl Config {
    /// Parses the parameters of the module `isolator` (`cgroups/cpu`); see the module docs.
    pub fn parse(isolator: &'static str, parameters: &[Parameter]) -> Result<Config, ParamError> {
        let params = Params::new(isolator, parameters, KNOWN)?;
        Ok(Config {
            cgroups: CgroupsFlags::from_params(&params)?,
            enable_cfs: params.bool(CGROUPS_ENABLE_CFS)?.unwrap_or(false),
            limit_swap: params.bool(CGROUPS_LIMIT_SWAP)?.unwrap_or(false),
            pids: params.parse(PIDS, parse_pids)?,
            allowed_devices: params
                .parse(ALLOWED_DEVICES, |v| crate::allowed_devices::parse(v).map_err(ValueError::Other))?
                .unwrap_or_default(),
        })
    }
}

/// A task count from 1 to `PID_MAX_LIMIT`, the range `pids.max` takes.
fn parse_pids(value: &str) -> Result<u64, ValueError> {
    match value.parse::<u64>() {
        Ok(n @ 1..=PID_MAX_LIMIT) => Ok(n),
        _ => Err(ValueError::Other(format!("expected a number of tasks from 1 to {PID_MAX_LIMIT}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs.iter().map(|(k, v)| Parameter { key: (*k).to_owned(), value: (*v).to_owned() }).collect()
    }

    #[test]
    fn defaults_are_mesos_flag_defaults() {
        let config = Config::parse("cgroups/cpu", &[]).unwrap();
        assert_eq!(config.cgroups.root, "mesos");
        assert_eq!(config.cgroups.hierarchy, PathBuf::from("/sys/fs/cgroup"));
        assert!(!config.enable_cfs);
        assert!(!config.limit_swap);
        assert_eq!(config.pids, None);
        assert_eq!(config.cgroups.destroy_timeout, Duration::from_secs(60));
        assert!(config.allowed_devices.is_empty());
    }

    #[test]
    fn allowed_devices_parse_or_name_the_key() {
        let json = r#"{"allowed_devices":[{"device":{"path":"/dev/null"},"access":{"read":true}}]}"#;
        let config = Config::parse("cgroups/devices", &params(&[("allowed_devices", json)])).unwrap();
        assert_eq!(config.allowed_devices.len(), 1);
        let err = Config::parse("cgroups/devices", &params(&[("allowed_devices", "{}")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cgroups/devices: invalid value '{}' for parameter 'allowed_devices': "),
            "{err}"
        );
    }

    #[test]
    fn every_key_parses() {
        let config = Config::parse(
            "cgroups/mem",
            &params(&[
                ("cgroups_root", "mesos/test"),
                ("cgroups_hierarchy", "/tmp/cg"),
                ("cgroups_enable_cfs", "true"),
                ("cgroups_limit_swap", "true"),
                ("cgroups_destroy_timeout", "1.5mins"),
                ("pids", "4194304"),
            ]),
        )
        .unwrap();
        assert_eq!(config.pids, Some(4_194_304));
        assert_eq!(config.cgroups.root, "mesos/test");
        assert_eq!(config.cgroups.hierarchy, PathBuf::from("/tmp/cg"));
        assert!(config.enable_cfs && config.limit_swap);
        assert_eq!(config.cgroups.destroy_timeout, Duration::from_secs(90));
    }

    #[test]
    fn bad_values_name_module_key_and_value() {
        for (key, value) in [
            ("cgroups_enable_cfs", "maybe"),
            ("cgroups_limit_swap", "yes"),
            ("cgroups_destroy_timeout", "60"),
            ("cgroups_destroy_timeout", "60s"),
            ("cgroups_destroy_timeout", "-1secs"),
            ("cgroups_destroy_timeout", "10parsecs"),
            ("cgroups_root", "../escape"),
            ("cgroups_root", "/abs"),
            ("cgroups_root", ""),
            ("cgroups_hierarchy", "relative"),
            ("pids", "0"),
            ("pids", "-1"),
            ("pids", "4194305"),
            ("pids", "max"),
            ("pids", "1.5"),
        ] {
            let err = Config::parse("cgroups/cpu", &params(&[(key, value)])).unwrap_err().to_string();
            let start = format!("cgroups/cpu: invalid value '{value}' for parameter '{key}': ");
            assert!(err.starts_with(&start), "{err}");
        }
    }

    #[test]
    fn unknown_and_duplicate_keys_are_refused() {
        let err = Config::parse("cgroups/cpu", &params(&[("cgroups_enable_cf", "true")])).unwrap_err();
        let err = err.to_string();
        assert!(err.starts_with("cgroups/cpu: unknown parameter 'cgroups_enable_cf'"), "{err}");
        assert!(err.contains("cgroups_enable_cfs"), "{err}");
        let err = Config::parse("cgroups/mem", &params(&[("cgroups_root", "a"), ("cgroups_root", "b")]))
            .unwrap_err();
        assert_eq!(err.to_string(), "cgroups/mem: parameter 'cgroups_root' is given more than once");
    }
}
