//! What this process, the agent, holds: whether it runs as root, and its capability sets. The
//! isolators check a container's request against it at `prepare`, because the containerizer's
//! helper is cloned from this process and inherits exactly these capabilities and limits: a
//! request the agent cannot grant fails there, with the reason, instead of in the container.
//!
//! The sets come from `capget` and `PR_CAPBSET_READ` (the `caps` crate), the same values
//! `/proc/self/status` shows as `CapEff` and `CapBnd`, and are printed in that form.

use caps::CapSet;

use crate::capabilities::CapabilitySet;
use crate::error::{IsolatorError, Result};

/// This process's identity and capabilities, as far as the isolators need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// Whether the effective user is root (Mesos's isolators require it).
    pub root: bool,
    /// The effective set (`CapEff`).
    pub effective: CapabilitySet,
    /// The bounding set (`CapBnd`): no process this one starts can ever hold more.
    pub bounding: CapabilitySet,
}

impl Host {
    /// Reads this process's user and capability sets; `isolator` names the caller in errors.
    pub fn current(isolator: &'static str) -> Result<Host> {
        let read = |set: CapSet, what: &'static str| {
            caps::read(None, set)
                .map(|caps| CapabilitySet::from_caps(&caps))
                .map_err(|e| IsolatorError::Host { isolator, what, reason: e.to_string() })
        };
        Ok(Host {
            root: nix::unistd::geteuid().is_root(),
            effective: read(CapSet::Effective, "the effective capability set")?,
            bounding: read(CapSet::Bounding, "the bounding capability set")?,
        })
    }

    /// Whether this process may raise a hard resource limit, and if not, why not, in words that
    /// name the missing capability and the set it is missing from.
    pub fn raise_rlimit_refusal(&self) -> Option<String> {
        let resource = CapabilitySet::single(caps::Capability::CAP_SYS_RESOURCE);
        if !resource.is_subset(self.bounding) {
            Some(format!(
                "this agent lacks CAP_SYS_RESOURCE: it is not in its bounding set (CapBnd {}), so no \
                 process on this machine started from it can raise a hard limit",
                self.bounding.hex()
            ))
        } else if !resource.is_subset(self.effective) {
            Some(format!(
                "this agent lacks CAP_SYS_RESOURCE: it is not in its effective set (CapEff {})",
                self.effective.hex()
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_resource_is_looked_for_in_both_sets() {
        let all = CapabilitySet::all();
        let without = all.without(caps::Capability::CAP_SYS_RESOURCE);
        let host = Host { root: true, effective: all, bounding: all };
        assert_eq!(host.raise_rlimit_refusal(), None);
        let no_bounding = Host { root: true, effective: without, bounding: without };
        let text = no_bounding.raise_rlimit_refusal().unwrap();
        assert!(text.contains("not in its bounding set (CapBnd 000001fffeffffff)"), "{text}");
        let no_effective = Host { root: true, effective: without, bounding: all };
        assert!(no_effective.raise_rlimit_refusal().unwrap().contains("CapEff 000001fffeffffff"));
    }
}
