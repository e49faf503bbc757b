//! `posix/rlimits`: the container's `rlimit_info` becomes the launch info's rlimits
//! (`src/slave/containerizer/mesos/isolators/posix/rlimits.cpp`, which copies it), checked here
//! with Mesos's rules (the `rlimits` support crate: known types, both soft and hard or neither,
//! soft not above hard) so that a bad request fails at `prepare` instead of in the container.
//!
//! The limits are set in the command's process, which the containerizer's helper forks from
//! itself, and the helper is cloned from this process: it starts with exactly this process's
//! limits. Raising a hard limit above its current value needs `CAP_SYS_RESOURCE`; without it
//! (the development hosts' bounding set lacks it) such a request could only fail at `setrlimit`,
//! so it is refused here, naming the limit, both values and the missing capability. The same goes
//! for `RLMT_NOFILE` above the kernel's `fs.nr_open`, which no capability lifts.

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameter, Parameters,
};
use module_params::Params;
use rlimits::{Limit, RAISE_NEEDS, RLIM_INFINITY, Resource, display};

use crate::error::{IsolatorError, Result};
use crate::host::Host;

/// Mesos's name of the isolator.
pub const NAME: &str = "posix/rlimits";

/// Where the kernel keeps the most open files a process may be allowed.
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// What the container's limits are checked against: this process's own.
pub trait CurrentLimits: Send + Sync {
    /// The current (soft, hard) limit of `resource`.
    fn get(&self, resource: Resource) -> Result<(u64, u64), String>;
    /// `fs.nr_open`, if known.
    fn nr_open(&self) -> Option<u64>;
}

/// This process's limits, through `getrlimit`.
#[derive(Debug, Clone, Copy)]
pub struct ProcessLimits;

impl CurrentLimits for ProcessLimits {
    fn get(&self, resource: Resource) -> Result<(u64, u64), String> {
        nix::sys::resource::getrlimit(resource).map_err(|e| e.to_string())
    }

    fn nr_open(&self) -> Option<u64> {
        std::fs::read_to_string(NR_OPEN).ok()?.trim().parse().ok()
    }
}

/// The `posix/rlimits` isolator. It takes no parameters.
pub struct PosixRLimitsIsolator {
    host: Host,
    current: Box<dyn CurrentLimits>,
}

impl std::fmt::Debug for PosixRLimitsIsolator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PosixRLimitsIsolator").field("host", &self.host).finish_non_exhaustive()
    }
}

impl PosixRLimitsIsolator {
    /// The isolator checking requests against `host`'s capabilities and the `current` limits.
    pub fn with_host(parameters: &[Parameter], host: Host, current: Box<dyn CurrentLimits>) -> Result<Self> {
        Params::new(NAME, parameters, &[])?;
        Ok(PosixRLimitsIsolator { host, current })
    }

    /// The rlimits of the launch info for a container asking for `config`.
    pub fn launch_info(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let refused =
            |reason: String| IsolatorError::Refused { isolator: NAME, container: id.to_string(), reason };
        let Some(rlimit_info) = config.container_info.as_ref().and_then(|info| info.rlimit_info.as_ref())
        else {
            return Ok(None);
        };
        for limit in &rlimit_info.rlimits {
            rlimits::check_both_or_neither(limit).map_err(|e| refused(e.to_string()))?;
        }
        let parsed = rlimits::parse_all(&rlimit_info.rlimits).map_err(|e| refused(e.to_string()))?;
        for limit in &parsed {
            self.check_raise(limit).map_err(refused)?;
        }
        Ok(Some(ContainerLaunchInfo { rlimits: rlimit_info.rlimits.clone(), ..Default::default() }))
    }

    /// Refuses a limit this process could not set on itself.
    fn check_raise(&self, limit: &Limit) -> Result<(), String> {
        if limit.resource == Resource::RLIMIT_NOFILE
            && let Some(nr_open) = self.current.nr_open().filter(|max| limit.hard > *max)
        {
            return Err(format!(
                "{} asks for a hard limit of {}, above the kernel's maximum of open files \
                 ({NR_OPEN}: {nr_open}), which no capability lifts",
                limit.name,
                display(limit.hard)
            ));
        }
        let (_, hard) =
            self.current.get(limit.resource).map_err(|e| format!("failed to read {}: {e}", limit.name))?;
        if limit.hard <= hard || hard == RLIM_INFINITY {
            return Ok(());
        }
        match self.host.raise_rlimit_refusal() {
            None => Ok(()),
            Some(why) => Err(format!(
                "{} asks for a hard limit of {}, above the current hard limit {}; {RAISE_NEEDS}, and {why}",
                limit.name,
                display(limit.hard),
                display(hard)
            )),
        }
    }
}

impl Module for PosixRLimitsIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        Ok(PosixRLimitsIsolator::with_host(&parameters, Host::current(NAME)?, Box::new(ProcessLimits))?)
    }
}

impl Isolator for PosixRLimitsIsolator {
    fn supports_nesting(&self) -> bool {
        true
    }

    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        Ok(self.launch_info(container_id, config)?)
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerInfo, RLimit, RLimitInfo};

    use super::*;
    use crate::capabilities::CapabilitySet;

    /// Limits of a pretend process: everything unlimited but open files (20000, as on the
    /// development hosts) and processes (5000).
    struct Fake;

    impl CurrentLimits for Fake {
        fn get(&self, resource: Resource) -> Result<(u64, u64), String> {
            Ok(match resource {
                Resource::RLIMIT_NOFILE => (1024, 20000),
                Resource::RLIMIT_NPROC => (1000, 5000),
                _ => (RLIM_INFINITY, RLIM_INFINITY),
            })
        }
        fn nr_open(&self) -> Option<u64> {
            Some(1 << 20)
        }
    }

    fn isolator(sys_resource: bool) -> PosixRLimitsIsolator {
        let all = CapabilitySet::all();
        let caps = if sys_resource { all } else { all.without(caps::Capability::CAP_SYS_RESOURCE) };
        let host = Host { root: true, effective: caps, bounding: caps };
        PosixRLimitsIsolator::with_host(&[], host, Box::new(Fake)).unwrap()
    }

    fn config(limits: &[(&str, Option<u64>, Option<u64>)]) -> ContainerConfig {
        let rlimits =
            limits.iter().map(|(k, s, h)| RLimit { kind: (*k).into(), soft: *s, hard: *h }).collect();
        ContainerConfig {
            container_info: Some(ContainerInfo {
                rlimit_info: Some(RLimitInfo { rlimits }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn prepare(
        isolator: &PosixRLimitsIsolator,
        config: &ContainerConfig,
    ) -> Result<Option<Vec<RLimit>>, String> {
        isolator
            .launch_info(&ContainerId::new("c1"), config)
            .map(|info| info.map(|i| i.rlimits))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_rlimit_info_no_rlimits() {
        assert_eq!(prepare(&isolator(false), &ContainerConfig::default()), Ok(None));
        assert_eq!(prepare(&isolator(false), &config(&[])), Ok(Some(vec![])));
    }

    #[test]
    fn limits_are_copied_as_asked() {
        let asked = config(&[
            ("RLMT_CPU", Some(1), Some(1)),
            ("RLMT_CORE", None, None),
            ("RLMT_NOFILE", Some(10), Some(20)),
        ]);
        let expected = asked.container_info.clone().unwrap().rlimit_info.unwrap().rlimits;
        assert_eq!(prepare(&isolator(false), &asked), Ok(Some(expected)));
    }

    /// Mesos's `InvalidLimits` and `BothSoftAndHardLimitSet`, refused at prepare.
    #[test]
    fn invalid_limits_are_refused() {
        let err = prepare(&isolator(true), &config(&[("RLMT_CPU", Some(100), Some(1))])).unwrap_err();
        assert_eq!(
            err,
            "posix/rlimits: container 'c1': invalid rlimit values for RLMT_CPU: the soft limit 100 is above the hard limit 1"
        );
        let err = prepare(&isolator(true), &config(&[("RLMT_CORE", Some(1), None)])).unwrap_err();
        assert_eq!(
            err,
            "posix/rlimits: container 'c1': invalid rlimit values for RLMT_CORE: only the soft limit is set; set both \
             soft and hard, or neither for unlimited"
        );
        let err = prepare(&isolator(true), &config(&[("RLMT_BOGUS", None, None)])).unwrap_err();
        assert!(err.starts_with("posix/rlimits: container 'c1': unknown rlimit type 'RLMT_BOGUS'"), "{err}");
        let err =
            prepare(&isolator(true), &config(&[("RLMT_CPU", None, None), ("RLMT_CPU", Some(1), Some(1))]));
        assert_eq!(
            err.unwrap_err(),
            "posix/rlimits: container 'c1': rlimit RLMT_CPU is given more than once"
        );
    }

    #[test]
    fn raising_a_hard_limit_needs_cap_sys_resource() {
        let above = config(&[("RLMT_NOFILE", Some(1024), Some(30000))]);
        let err = prepare(&isolator(false), &above).unwrap_err();
        assert_eq!(
            err,
            "posix/rlimits: container 'c1': RLMT_NOFILE asks for a hard limit of 30000, above the current hard limit \
             20000; raising a hard limit above its current value needs CAP_SYS_RESOURCE, and this agent lacks \
             CAP_SYS_RESOURCE: it is not in its bounding set (CapBnd 000001fffeffffff), so no process on this \
             machine started from it can raise a hard limit"
        );
        assert!(prepare(&isolator(true), &above).is_ok());
        // At or below the current hard limit needs nothing; unlimited ones stay unlimited.
        assert!(prepare(&isolator(false), &config(&[("RLMT_NOFILE", Some(20000), Some(20000))])).is_ok());
        assert!(prepare(&isolator(false), &config(&[("RLMT_CORE", None, None)])).is_ok());
        // Unset means unlimited, which is above a finite hard limit.
        let err = prepare(&isolator(false), &config(&[("RLMT_NPROC", None, None)])).unwrap_err();
        assert!(
            err.contains("RLMT_NPROC asks for a hard limit of unlimited, above the current hard limit 5000"),
            "{err}"
        );
        assert!(prepare(&isolator(true), &config(&[("RLMT_NPROC", None, None)])).is_ok());
    }

    #[test]
    fn open_files_stop_at_nr_open() {
        let err = prepare(&isolator(true), &config(&[("RLMT_NOFILE", None, None)])).unwrap_err();
        assert_eq!(
            err,
            "posix/rlimits: container 'c1': RLMT_NOFILE asks for a hard limit of unlimited, above the kernel's \
             maximum of open files (/proc/sys/fs/nr_open: 1048576), which no capability lifts"
        );
    }

    #[test]
    fn it_takes_no_parameters() {
        let host = Host { root: true, effective: CapabilitySet::all(), bounding: CapabilitySet::all() };
        let params = vec![module_abi::Parameter { key: "rlimits".into(), value: "x".into() }];
        let err = PosixRLimitsIsolator::with_host(&params, host, Box::new(Fake)).unwrap_err();
        assert_eq!(err.to_string(), "posix/rlimits: unknown parameter 'rlimits' (it takes no parameters)");
    }
}
