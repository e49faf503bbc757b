//! `linux/capabilities`: the effective and bounding capability sets of a container's command,
//! from the operator's parameters and the container's `LinuxInfo`, with Mesos's rules
//! (`src/slave/containerizer/mesos/isolators/linux/capabilities.cpp`):
//!
//! - at creation, the operator's effective set must lie within the operator's bounding set
//!   ("Allowed capabilities are not a subset of the bounding capabilites", Mesos's spelling);
//! - the container's `effective_capabilities` win over the operator's `effective_capabilities`;
//! - a container's `bounding_capabilities` must lie within the operator's bounding set
//!   ("Bounding capabilities '...', but only '...' are allowed"), and win over it;
//! - without any bounding set, the effective set is the bounding set too;
//! - the effective set must lie within the bounding set
//!   ("Requested capabilities '...', but only '...' are allowed");
//! - nothing asked for anywhere leaves the launch info without capabilities (the command keeps
//!   what the agent has).
//!
//! One check is this suite's own: an effective set outside this agent's own bounding set
//! (`CapBnd`; on the development hosts it lacks `SYS_RESOURCE`) is refused at `prepare`, since the
//! helper could only fail at `capset` with it. A bounding set beyond the agent's is not an error:
//! a bounding set only ever shrinks, so the command's is the intersection.
//!
//! The parameters take Mesos's flag form, the JSON of a `CapabilityInfo`
//! (`{"capabilities":["NET_RAW","SYS_ADMIN"]}`), or a plain comma-separated list
//! (`NET_RAW,SYS_ADMIN`); an empty value (or list) is the empty set: drop everything. Names are
//! Mesos's `CapabilityInfo.Capability` names, which are the kernel's without `CAP_`.
//!
//! The containerizer's helper applies the sets just before `execve` as Mesos's launcher does
//! (`calculateCapabilities` in `launch.cpp`): the bounding set is dropped to the asked set, and
//! the effective set becomes the effective, permitted, inheritable and ambient sets, so a non-root
//! command keeps them across its `execve`.

use std::fmt;
use std::str::FromStr;

use caps::{Capability, CapsHashSet};
use module_abi::{
    CapabilityInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameter,
    Parameters,
};
use module_params::{Params, ValueError};
use serde::Deserialize;

use crate::error::{IsolatorError, Result};
use crate::host::Host;

/// Mesos's name of the isolator.
pub const NAME: &str = "linux/capabilities";
/// The operator's effective set (Mesos's `--effective_capabilities`).
pub const EFFECTIVE: &str = "effective_capabilities";
/// The operator's bounding set (Mesos's `--bounding_capabilities`).
pub const BOUNDING: &str = "bounding_capabilities";

/// A set of capabilities as the kernel's bit mask: bit `n` is capability `n`, so sets print in
/// the kernel's (and Mesos's) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilitySet(u64);

/// A capability name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability '{name}'{}", hint(name))]
pub struct UnknownCapability {
    pub name: String,
}

fn hint(name: &str) -> &'static str {
    if name.starts_with("CAP_") {
        " (names are Mesos's, without the CAP_ prefix: CHOWN, NET_RAW)"
    } else if name.chars().any(|c| c.is_ascii_lowercase()) {
        " (names are upper case: CHOWN, NET_RAW)"
    } else {
        ""
    }
}

impl CapabilitySet {
    /// The empty set.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// Every capability this suite knows (`CHOWN` ... `CHECKPOINT_RESTORE`).
    pub fn all() -> CapabilitySet {
        CapabilitySet::from_caps(&caps::all())
    }

    /// The set of one capability.
    pub fn single(capability: Capability) -> CapabilitySet {
        CapabilitySet(capability.bitmask())
    }

    /// The set of `caps`.
    pub fn from_caps(caps: &CapsHashSet) -> CapabilitySet {
        CapabilitySet(caps.iter().fold(0, |bits, c| bits | c.bitmask()))
    }

    /// The set of a kernel bit mask, as `/proc/<pid>/status` prints it; bits of capabilities this
    /// suite does not know are dropped.
    pub fn from_bits(bits: u64) -> CapabilitySet {
        CapabilitySet(bits & CapabilitySet::all().0)
    }

    /// The kernel's bit mask.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Parses Mesos's names (`CHOWN`, `NET_RAW`); the first unknown name is the error.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<CapabilitySet, UnknownCapability> {
        names.into_iter().try_fold(CapabilitySet::EMPTY, |set, name| {
            let capability = Capability::from_str(&format!("CAP_{name}"))
                .map_err(|_| UnknownCapability { name: name.to_owned() })?;
            Ok(CapabilitySet(set.0 | capability.bitmask()))
        })
    }

    /// Whether every capability of `self` is in `other`.
    pub fn is_subset(self, other: CapabilitySet) -> bool {
        self.0 & !other.0 == 0
    }

    /// `self` without `capability`.
    pub fn without(self, capability: Capability) -> CapabilitySet {
        CapabilitySet(self.0 & !capability.bitmask())
    }

    /// The capabilities, in the kernel's order.
    pub fn capabilities(self) -> Vec<Capability> {
        let mut all: Vec<Capability> =
            caps::all().into_iter().filter(|c| self.0 & c.bitmask() != 0).collect();
        all.sort_by_key(Capability::index);
        all
    }

    /// Mesos's names, in the kernel's order.
    pub fn names(self) -> Vec<String> {
        self.capabilities().iter().map(|c| c.to_string().trim_start_matches("CAP_").to_owned()).collect()
    }

    /// The mask as `/proc/<pid>/status` prints it (`000001fffeffffff`).
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Mesos prints a set as stout's `stringify(std::set)` does: `{ CHOWN, NET_RAW }`.
impl fmt::Display for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{ {} }}", self.names().join(", "))
    }
}

/// A `CapabilityInfo` in its JSON form, as Mesos's flags take it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityInfoJson {
    #[serde(default)]
    capabilities: Vec<String>,
}

/// Parses a parameter value: a `CapabilityInfo` in JSON, or a comma-separated list of names.
pub fn parse_parameter(value: &str) -> Result<CapabilitySet, ValueError> {
    let names: Vec<String> = if value.trim_start().starts_with('{') {
        serde_json::from_str::<CapabilityInfoJson>(value)
            .map_err(|e| ValueError::Other(format!("not a CapabilityInfo in JSON: {e}")))?
            .capabilities
    } else {
        value.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect()
    };
    CapabilitySet::parse(names.iter().map(String::as_str)).map_err(|e| ValueError::Other(e.to_string()))
}

/// The `linux/capabilities` isolator: the operator's sets and the agent's own bounding set.
#[derive(Debug, Clone)]
pub struct LinuxCapabilitiesIsolator {
    effective: Option<CapabilitySet>,
    bounding: Option<CapabilitySet>,
    host: Host,
}

impl LinuxCapabilitiesIsolator {
    /// The isolator of `parameters` on `host`, with Mesos's creation checks.
    pub fn with_host(parameters: &[Parameter], host: Host) -> Result<LinuxCapabilitiesIsolator> {
        let params = Params::new(NAME, parameters, &[EFFECTIVE, BOUNDING])?;
        if !host.root {
            return Err(create("Linux capabilities isolator requires root permissions"));
        }
        let effective = params.parse(EFFECTIVE, parse_parameter)?;
        let bounding = params.parse(BOUNDING, parse_parameter)?;
        if let (Some(effective), Some(bounding)) = (effective, bounding)
            && !effective.is_subset(bounding)
        {
            // Mesos's text, typo included, so a search for it finds this.
            return Err(create("Allowed capabilities are not a subset of the bounding capabilites"));
        }
        Ok(LinuxCapabilitiesIsolator { effective, bounding, host })
    }

    /// The capability fields of the launch info for a container asking for `config`.
    pub fn launch_info(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let refused =
            |reason: String| IsolatorError::Refused { isolator: NAME, container: id.to_string(), reason };
        let linux_info = config.container_info.as_ref().and_then(|info| info.linux_info.as_ref());
        let requested = |info: Option<&CapabilityInfo>, field: &str| {
            info.map(|info| {
                CapabilitySet::parse(info.capabilities.iter().map(String::as_str))
                    .map_err(|e| refused(format!("linux_info.{field}: {e}")))
            })
            .transpose()
        };
        let mut effective =
            requested(linux_info.and_then(|l| l.effective_capabilities.as_ref()), "effective_capabilities")?;
        let mut bounding =
            requested(linux_info.and_then(|l| l.bounding_capabilities.as_ref()), "bounding_capabilities")?;

        // The container's effective set wins over the operator's.
        if effective.is_none() {
            effective = self.effective;
        }
        // The operator's bounding set is the most the operator allows.
        if let (Some(requested), Some(allowed)) = (bounding, self.bounding)
            && !requested.is_subset(allowed)
        {
            return Err(refused(format!(
                "Bounding capabilities '{requested}', but only '{allowed}' are allowed"
            )));
        }
        if bounding.is_none() {
            bounding = self.bounding;
        }
        if bounding.is_none() {
            bounding = effective;
        }
        let Some(bounding) = bounding else {
            // Neither set is asked for anywhere: the command keeps what the agent has.
            return Ok(None);
        };
        if let Some(effective) = effective {
            if !effective.is_subset(bounding) {
                return Err(refused(format!(
                    "Requested capabilities '{effective}', but only '{bounding}' are allowed"
                )));
            }
            let missing = CapabilitySet(effective.0 & !self.host.bounding.0);
            if missing != CapabilitySet::EMPTY {
                return Err(refused(format!(
                    "requested capabilities '{missing}' are not in this agent's bounding set (CapBnd {}), \
                     so no process it starts can hold them",
                    self.host.bounding.hex()
                )));
            }
        }
        Ok(Some(ContainerLaunchInfo {
            effective_capabilities: effective.map(CapabilitySet::names),
            bounding_capabilities: Some(bounding.names()),
            ..Default::default()
        }))
    }
}

fn create(reason: &str) -> IsolatorError {
    IsolatorError::Create { isolator: NAME, reason: reason.to_owned() }
}

impl Module for LinuxCapabilitiesIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        Ok(LinuxCapabilitiesIsolator::with_host(&parameters, Host::current(NAME)?)?)
    }
}

impl Isolator for LinuxCapabilitiesIsolator {
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
    use module_abi::{ContainerInfo, LinuxInfo};

    use super::*;

    const ALL_BUT_SYS_RESOURCE: u64 = 0x1fffeffffff;

    fn host() -> Host {
        let all = CapabilitySet::all();
        Host { root: true, effective: all, bounding: all }
    }

    fn params(pairs: &[(&str, &str)]) -> Parameters {
        pairs.iter().map(|(k, v)| Parameter { key: (*k).into(), value: (*v).into() }).collect()
    }

    fn isolator(pairs: &[(&str, &str)]) -> LinuxCapabilitiesIsolator {
        LinuxCapabilitiesIsolator::with_host(&params(pairs), host()).unwrap()
    }

    fn info(names: &[&str]) -> Option<CapabilityInfo> {
        Some(CapabilityInfo { capabilities: names.iter().map(|n| n.to_string()).collect() })
    }

    fn config(effective: Option<CapabilityInfo>, bounding: Option<CapabilityInfo>) -> ContainerConfig {
        let linux_info = LinuxInfo {
            effective_capabilities: effective,
            bounding_capabilities: bounding,
            ..Default::default()
        };
        ContainerConfig {
            container_info: Some(ContainerInfo { linux_info: Some(linux_info), ..Default::default() }),
            ..Default::default()
        }
    }

    /// The (effective, bounding) names of a launch info.
    type Sets = (Option<Vec<String>>, Option<Vec<String>>);

    /// (effective, bounding) of the launch info, or the error text.
    fn prepare(
        isolator: &LinuxCapabilitiesIsolator,
        config: &ContainerConfig,
    ) -> Result<Option<Sets>, String> {
        isolator
            .launch_info(&ContainerId::new("c1"), config)
            .map(|info| info.map(|i| (i.effective_capabilities, i.bounding_capabilities)))
            .map_err(|e| e.to_string())
    }

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn names_parse_and_print_in_the_kernels_order() {
        let set = CapabilitySet::parse(["NET_RAW", "CHOWN", "NET_RAW"]).unwrap();
        assert_eq!(set.bits(), 1 << 0 | 1 << 13);
        assert_eq!(set.names(), ["CHOWN", "NET_RAW"]);
        assert_eq!(set.to_string(), "{ CHOWN, NET_RAW }");
        assert_eq!(CapabilitySet::EMPTY.to_string(), "{  }");
        assert_eq!(CapabilitySet::all().names().len(), 41);
        assert_eq!(CapabilitySet::all().names().last().map(String::as_str), Some("CHECKPOINT_RESTORE"));
        assert_eq!(CapabilitySet::from_bits(ALL_BUT_SYS_RESOURCE).hex(), "000001fffeffffff");
        assert!(!CapabilitySet::from_bits(ALL_BUT_SYS_RESOURCE).names().contains(&"SYS_RESOURCE".to_owned()));
    }

    #[test]
    fn unknown_names_are_named() {
        let err = CapabilitySet::parse(["CHOWN", "NET_RAWR"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability 'NET_RAWR'");
        assert!(
            CapabilitySet::parse(["CAP_CHOWN"]).unwrap_err().to_string().contains("without the CAP_ prefix")
        );
        assert!(CapabilitySet::parse(["chown"]).unwrap_err().to_string().contains("upper case"));
    }

    #[test]
    fn parameters_in_json_or_as_a_list() {
        let parse = |v: &str| parse_parameter(v).map(CapabilitySet::names);
        assert_eq!(parse(r#"{"capabilities":["NET_RAW","SYS_ADMIN"]}"#).unwrap(), ["NET_RAW", "SYS_ADMIN"]);
        assert_eq!(parse("NET_RAW, SYS_ADMIN").unwrap(), ["NET_RAW", "SYS_ADMIN"]);
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert_eq!(parse(r#"{"capabilities":[]}"#).unwrap(), Vec::<String>::new());
        assert_eq!(parse(r#"{}"#).unwrap(), Vec::<String>::new());
        let err =
            LinuxCapabilitiesIsolator::with_host(&params(&[(EFFECTIVE, "CHOWN,BOGUS")]), host()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux/capabilities: invalid value 'CHOWN,BOGUS' for parameter 'effective_capabilities': unknown capability 'BOGUS'"
        );
        let err = LinuxCapabilitiesIsolator::with_host(&params(&[(BOUNDING, r#"{"caps":[]}"#)]), host())
            .unwrap_err();
        assert!(err.to_string().contains("not a CapabilityInfo in JSON: unknown field `caps`"), "{err}");
        let err = LinuxCapabilitiesIsolator::with_host(&params(&[("allowed_capabilities", "")]), host())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("linux/capabilities: unknown parameter 'allowed_capabilities'"),
            "{err}"
        );
    }

    /// Mesos's `LinuxCapabilitiesIsolatorFlagsTest.ROOT_IsolatorFlags`.
    #[test]
    fn operator_effective_must_be_within_operator_bounding() {
        let create = |e: Option<&str>, b: Option<&str>| {
            let mut pairs = vec![];
            pairs.extend(e.map(|e| (EFFECTIVE, e)));
            pairs.extend(b.map(|b| (BOUNDING, b)));
            LinuxCapabilitiesIsolator::with_host(&params(&pairs), host()).map(drop).map_err(|e| e.to_string())
        };
        assert_eq!(
            create(Some("NET_RAW,NET_ADMIN"), Some("NET_RAW")),
            Err("linux/capabilities: Allowed capabilities are not a subset of the bounding capabilites"
                .into())
        );
        assert_eq!(create(Some("NET_RAW,NET_ADMIN"), Some("NET_RAW,NET_ADMIN")), Ok(()));
        assert_eq!(create(Some("NET_RAW"), Some("NET_RAW,NET_ADMIN")), Ok(()));
        assert_eq!(create(None, None), Ok(()));
        assert_eq!(create(Some("NET_RAW"), None), Ok(()));
        assert_eq!(create(None, Some("NET_RAW")), Ok(()));
    }

    #[test]
    fn creation_needs_root() {
        let err = LinuxCapabilitiesIsolator::with_host(&[], Host { root: false, ..host() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux/capabilities: Linux capabilities isolator requires root permissions"
        );
    }

    #[test]
    fn nothing_asked_for_leaves_the_launch_info_alone() {
        assert_eq!(prepare(&isolator(&[]), &ContainerConfig::default()), Ok(None));
        assert_eq!(prepare(&isolator(&[]), &config(None, None)), Ok(None));
    }

    #[test]
    fn the_operators_sets_apply_when_the_container_asks_nothing() {
        let both = isolator(&[(EFFECTIVE, "NET_RAW"), (BOUNDING, "NET_RAW,NET_ADMIN")]);
        assert_eq!(
            prepare(&both, &ContainerConfig::default()),
            Ok(Some((names(&["NET_RAW"]), names(&["NET_ADMIN", "NET_RAW"]))))
        );
        // Without a bounding set, the effective set bounds too.
        let effective = isolator(&[(EFFECTIVE, "NET_RAW")]);
        assert_eq!(
            prepare(&effective, &ContainerConfig::default()),
            Ok(Some((names(&["NET_RAW"]), names(&["NET_RAW"]))))
        );
        // Only a bounding set: the effective set is left as it is.
        let bounding = isolator(&[(BOUNDING, "CHOWN")]);
        assert_eq!(prepare(&bounding, &ContainerConfig::default()), Ok(Some((None, names(&["CHOWN"])))));
        // An empty operator set drops everything.
        let empty = isolator(&[(EFFECTIVE, "")]);
        assert_eq!(prepare(&empty, &ContainerConfig::default()), Ok(Some((names(&[]), names(&[])))));
    }

    #[test]
    fn the_containers_sets_win_within_the_operators_bounds() {
        let operator = isolator(&[(EFFECTIVE, "NET_RAW"), (BOUNDING, "NET_RAW,NET_ADMIN,CHOWN")]);
        assert_eq!(
            prepare(&operator, &config(info(&["CHOWN"]), None)),
            Ok(Some((names(&["CHOWN"]), names(&["CHOWN", "NET_ADMIN", "NET_RAW"]))))
        );
        assert_eq!(
            prepare(&operator, &config(info(&["CHOWN"]), info(&["CHOWN", "NET_RAW"]))),
            Ok(Some((names(&["CHOWN"]), names(&["CHOWN", "NET_RAW"]))))
        );
        // No operator sets: the container's effective set is its bounding set too.
        assert_eq!(
            prepare(&isolator(&[]), &config(info(&["KILL"]), None)),
            Ok(Some((names(&["KILL"]), names(&["KILL"]))))
        );
        assert_eq!(prepare(&isolator(&[]), &config(info(&[]), None)), Ok(Some((names(&[]), names(&[])))));
    }

    #[test]
    fn requests_beyond_the_bounds_are_refused_with_mesos_texts() {
        let operator = isolator(&[(BOUNDING, "NET_RAW")]);
        assert_eq!(
            prepare(&operator, &config(None, info(&["NET_RAW", "NET_ADMIN"]))),
            Err("linux/capabilities: container 'c1': Bounding capabilities '{ NET_ADMIN, NET_RAW }', but only \
                 '{ NET_RAW }' are allowed"
                .into())
        );
        assert_eq!(
            prepare(&operator, &config(info(&["NET_ADMIN"]), None)),
            Err("linux/capabilities: container 'c1': Requested capabilities '{ NET_ADMIN }', but only \
                 '{ NET_RAW }' are allowed"
                .into())
        );
        assert_eq!(
            prepare(&isolator(&[]), &config(info(&["CHOWN", "KILL"]), info(&["CHOWN"]))),
            Err("linux/capabilities: container 'c1': Requested capabilities '{ CHOWN, KILL }', but only \
                 '{ CHOWN }' are allowed"
                .into())
        );
    }

    #[test]
    fn unknown_names_in_the_container_info_are_named() {
        let err = prepare(&isolator(&[]), &config(info(&["CHOWN", "FLY"]), None)).unwrap_err();
        assert_eq!(
            err,
            "linux/capabilities: container 'c1': linux_info.effective_capabilities: unknown capability 'FLY'"
        );
        let err = prepare(&isolator(&[]), &config(None, info(&["CAP_KILL"]))).unwrap_err();
        assert!(err.contains("linux_info.bounding_capabilities: unknown capability 'CAP_KILL'"), "{err}");
    }

    #[test]
    fn what_the_agent_cannot_hold_is_refused_at_prepare() {
        let without = CapabilitySet::from_bits(ALL_BUT_SYS_RESOURCE);
        let host = Host { root: true, effective: without, bounding: without };
        let isolator = LinuxCapabilitiesIsolator::with_host(&[], host).unwrap();
        let err = prepare(&isolator, &config(info(&["CHOWN", "SYS_RESOURCE"]), None)).unwrap_err();
        assert_eq!(
            err,
            "linux/capabilities: container 'c1': requested capabilities '{ SYS_RESOURCE }' are not in this agent's \
             bounding set (CapBnd 000001fffeffffff), so no process it starts can hold them"
        );
        // A bounding set beyond the agent's only ever shrinks to it.
        assert!(prepare(&isolator, &config(info(&["CHOWN"]), info(&["CHOWN", "SYS_RESOURCE"]))).is_ok());
    }
}
