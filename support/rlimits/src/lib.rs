//! POSIX resource limits by Mesos's names, one table and one set of rules for the two places
//! that read them: the `posix/rlimits` isolator, which checks a container's `rlimit_info` at
//! `prepare`, and the Linux containerizer, which validates the launch info on the host and sets
//! the limits in its helper right before the command's `execve`.
//!
//! The names are Mesos's `RLimitInfo.RLimit.Type` (`RLMT_AS` ... `RLMT_STACK`, see [`TYPES`]);
//! as module-abi's `RLimit` documents, the kernel's spellings (`NOFILE`, `RLIMIT_NOFILE`, in any
//! case) name the same limits. Values are the kernel's units: bytes, seconds (`RLMT_CPU`),
//! microseconds (`RLMT_RTTIME`), counts.
//!
//! The rules:
//! - [`parse`], the launch info's meaning (module-abi's `RLimit`): an absent soft or hard limit is
//!   unlimited (`RLIM_INFINITY`), and the soft limit may not be above the hard one (Mesos leaves
//!   that to `setrlimit`'s `EINVAL` in the container; here it is refused before anything runs);
//! - [`check_both_or_neither`], Mesos's rule for a container's `RLimitInfo` (`src/posix/rlimits.cpp`,
//!   `rlimits::set`, and `docs/isolators/posix-rlimits.md`): a limit gives both `soft` and `hard`,
//!   or neither, which means unlimited; only one of them is Mesos's "Invalid rlimit values". The
//!   isolator applies it to what a container asks for; the launch info keeps module-abi's meaning,
//!   which a field's meaning never changes under;
//! - raising a hard limit above its current value needs `CAP_SYS_RESOURCE` ([`RAISE_NEEDS`]).
//!
//! One rule is this suite's own: the same limit twice in one list is refused rather than letting
//! the later `setrlimit` silently win.

use module_abi::RLimit;
pub use nix::sys::resource::{RLIM_INFINITY, Resource};

/// Mesos's `RLimitInfo.RLimit.Type` names and the kernel's resources.
pub const TYPES: &[(&str, Resource)] = &[
    ("RLMT_AS", Resource::RLIMIT_AS),
    ("RLMT_CORE", Resource::RLIMIT_CORE),
    ("RLMT_CPU", Resource::RLIMIT_CPU),
    ("RLMT_DATA", Resource::RLIMIT_DATA),
    ("RLMT_FSIZE", Resource::RLIMIT_FSIZE),
    ("RLMT_LOCKS", Resource::RLIMIT_LOCKS),
    ("RLMT_MEMLOCK", Resource::RLIMIT_MEMLOCK),
    ("RLMT_MSGQUEUE", Resource::RLIMIT_MSGQUEUE),
    ("RLMT_NICE", Resource::RLIMIT_NICE),
    ("RLMT_NOFILE", Resource::RLIMIT_NOFILE),
    ("RLMT_NPROC", Resource::RLIMIT_NPROC),
    ("RLMT_RSS", Resource::RLIMIT_RSS),
    ("RLMT_RTPRIO", Resource::RLIMIT_RTPRIO),
    ("RLMT_RTTIME", Resource::RLIMIT_RTTIME),
    ("RLMT_SIGPENDING", Resource::RLIMIT_SIGPENDING),
    ("RLMT_STACK", Resource::RLIMIT_STACK),
];

/// What needs saying whenever a hard limit cannot be raised.
pub const RAISE_NEEDS: &str = "raising a hard limit above its current value needs CAP_SYS_RESOURCE";

/// One checked limit, ready for `setrlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Mesos's name of the limit (`RLMT_NOFILE`), whatever spelling the request used.
    pub name: &'static str,
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

/// Why a list of limits cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RLimitError {
    /// A type that is none of [`TYPES`].
    #[error("unknown rlimit type '{name}' (known types: {})", known_types())]
    UnknownType { name: String },

    /// Mesos's "Invalid rlimit values": a soft limit without a hard one, or the reverse.
    #[error(
        "invalid rlimit values for {name}: only the {given} limit is set; set both soft and hard, \
         or neither for unlimited"
    )]
    OnlyOne { name: &'static str, given: &'static str },

    /// A soft limit above the hard one, which `setrlimit` refuses.
    #[error("invalid rlimit values for {name}: the soft limit {soft} is above the hard limit {hard}")]
    SoftAboveHard { name: &'static str, soft: u64, hard: u64 },

    /// The same limit twice in one list.
    #[error("rlimit {name} is given more than once")]
    Duplicate { name: &'static str },
}

/// The resource `name` stands for: a Mesos name, or the kernel's with or without `RLIMIT_`.
pub fn resource(name: &str) -> Result<(&'static str, Resource), RLimitError> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("RLMT_").or_else(|| upper.strip_prefix("RLIMIT_")).unwrap_or(&upper);
    TYPES
        .iter()
        .find(|(mesos, _)| mesos.strip_prefix("RLMT_") == Some(bare))
        .copied()
        .ok_or_else(|| RLimitError::UnknownType { name: name.to_owned() })
}

/// Mesos's rule for a container's `RLimitInfo`: both soft and hard, or neither.
pub fn check_both_or_neither(limit: &RLimit) -> Result<(), RLimitError> {
    let (name, _) = resource(&limit.kind)?;
    match (limit.soft, limit.hard) {
        (Some(_), None) => Err(RLimitError::OnlyOne { name, given: "soft" }),
        (None, Some(_)) => Err(RLimitError::OnlyOne { name, given: "hard" }),
        _ => Ok(()),
    }
}

/// Checks one limit of a launch info: an absent soft or hard limit is unlimited.
pub fn parse(limit: &RLimit) -> Result<Limit, RLimitError> {
    let (name, resource) = resource(&limit.kind)?;
    let soft = limit.soft.unwrap_or(RLIM_INFINITY);
    let hard = limit.hard.unwrap_or(RLIM_INFINITY);
    if soft > hard {
        return Err(RLimitError::SoftAboveHard { name, soft, hard });
    }
    Ok(Limit { name, resource, soft, hard })
}

/// Checks a list of limits, in order; a limit given twice is an error.
pub fn parse_all(limits: &[RLimit]) -> Result<Vec<Limit>, RLimitError> {
    let mut parsed: Vec<Limit> = Vec::with_capacity(limits.len());
    for limit in limits {
        let limit = parse(limit)?;
        if parsed.iter().any(|earlier| earlier.resource == limit.resource) {
            return Err(RLimitError::Duplicate { name: limit.name });
        }
        parsed.push(limit);
    }
    Ok(parsed)
}

/// A limit's value as `ulimit` prints it: a number, or `unlimited`.
pub fn display(value: u64) -> String {
    if value == RLIM_INFINITY { "unlimited".to_owned() } else { value.to_string() }
}

fn known_types() -> String {
    TYPES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(kind: &str, soft: Option<u64>, hard: Option<u64>) -> RLimit {
        RLimit { kind: kind.into(), soft, hard }
    }

    #[test]
    fn every_mesos_name_and_its_kernel_spellings() {
        assert_eq!(TYPES.len(), 16);
        for (name, resource) in TYPES {
            let bare = name.trim_start_matches("RLMT_");
            for spelling in
                [name.to_string(), bare.to_string(), format!("RLIMIT_{bare}"), bare.to_lowercase()]
            {
                assert_eq!(super::resource(&spelling), Ok((*name, *resource)), "{spelling}");
            }
        }
    }

    #[test]
    fn unknown_names_are_named() {
        let err = parse(&limit("RLMT_BOGUS", None, None)).unwrap_err();
        assert_eq!(err, RLimitError::UnknownType { name: "RLMT_BOGUS".into() });
        assert!(err.to_string().starts_with("unknown rlimit type 'RLMT_BOGUS' (known types: RLMT_AS, "));
        assert!(parse(&limit("", None, None)).is_err());
        assert!(parse(&limit("RLMT_", None, None)).is_err());
    }

    #[test]
    fn absent_values_are_unlimited_in_a_launch_info() {
        assert_eq!(
            parse(&limit("RLMT_NOFILE", Some(10), Some(20))),
            Ok(Limit { name: "RLMT_NOFILE", resource: Resource::RLIMIT_NOFILE, soft: 10, hard: 20 })
        );
        assert_eq!(
            parse(&limit("RLMT_CORE", None, None)),
            Ok(Limit {
                name: "RLMT_CORE",
                resource: Resource::RLIMIT_CORE,
                soft: RLIM_INFINITY,
                hard: RLIM_INFINITY
            })
        );
        assert_eq!(
            parse(&limit("RLMT_CORE", Some(1), None)),
            Ok(Limit { name: "RLMT_CORE", resource: Resource::RLIMIT_CORE, soft: 1, hard: RLIM_INFINITY })
        );
        assert_eq!(
            parse(&limit("RLMT_CORE", None, Some(1))),
            Err(RLimitError::SoftAboveHard { name: "RLMT_CORE", soft: RLIM_INFINITY, hard: 1 })
        );
    }

    #[test]
    fn mesos_wants_both_or_neither() {
        assert_eq!(check_both_or_neither(&limit("RLMT_CORE", Some(1), Some(2))), Ok(()));
        assert_eq!(check_both_or_neither(&limit("RLMT_CORE", None, None)), Ok(()));
        let err = check_both_or_neither(&limit("RLMT_CORE", Some(1), None)).unwrap_err();
        assert_eq!(err, RLimitError::OnlyOne { name: "RLMT_CORE", given: "soft" });
        assert_eq!(
            err.to_string(),
            "invalid rlimit values for RLMT_CORE: only the soft limit is set; set both soft and hard, or \
             neither for unlimited"
        );
        assert_eq!(
            check_both_or_neither(&limit("core", None, Some(1))),
            Err(RLimitError::OnlyOne { name: "RLMT_CORE", given: "hard" })
        );
        assert!(matches!(
            check_both_or_neither(&limit("x", None, None)),
            Err(RLimitError::UnknownType { .. })
        ));
    }

    #[test]
    fn soft_above_hard_is_refused() {
        let err = parse(&limit("RLMT_CPU", Some(100), Some(1))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid rlimit values for RLMT_CPU: the soft limit 100 is above the hard limit 1"
        );
        assert!(parse(&limit("RLMT_CPU", Some(1), Some(1))).is_ok());
    }

    #[test]
    fn a_list_in_order_without_repeats() {
        let list = [limit("RLMT_CPU", Some(1), Some(2)), limit("NOFILE", Some(3), Some(4))];
        let parsed = parse_all(&list).unwrap();
        assert_eq!(parsed.iter().map(|l| l.name).collect::<Vec<_>>(), ["RLMT_CPU", "RLMT_NOFILE"]);
        let twice = [limit("RLMT_NOFILE", Some(1), Some(2)), limit("RLIMIT_NOFILE", None, None)];
        assert_eq!(parse_all(&twice), Err(RLimitError::Duplicate { name: "RLMT_NOFILE" }));
        assert_eq!(parse_all(&[]), Ok(vec![]));
    }

    #[test]
    fn values_display_as_ulimit_does() {
        assert_eq!(display(RLIM_INFINITY), "unlimited");
        assert_eq!(display(1024), "1024");
    }
}
