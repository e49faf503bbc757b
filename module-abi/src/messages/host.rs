//! `HostInfo`: what a host tells a module's `compatible()` about itself, so the module's veto can
//! rest on facts (the host's module-abi version, the kinds it knows, which harness it is).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::descriptor::{ABI_VERSION, MODULE_ABI_VERSION};
use crate::kind::Kind;

/// The request of `compatible()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The host's [`ABI_VERSION`] (always 1).
    pub abi_version: u32,
    /// The host's module-abi version (`"1.0.0"`).
    pub module_abi_version: String,
    /// Every kind the host knows, with the oldest module-abi version it accepts for it.
    #[serde(default)]
    pub kind_versions: BTreeMap<String, String>,
    /// The host program (`"agent-harness"`).
    #[serde(default)]
    pub harness: String,
    /// The host program's own version (the suite's release).
    #[serde(default)]
    pub harness_version: String,
}

impl HostInfo {
    /// A host of this module-abi, named `harness` at `harness_version`.
    pub fn current(harness: &str, harness_version: &str) -> HostInfo {
        HostInfo {
            abi_version: ABI_VERSION,
            module_abi_version: MODULE_ABI_VERSION.to_string(),
            kind_versions: Kind::ALL
                .into_iter()
                .map(|k| (k.name().to_string(), k.minimum_version().to_string()))
                .collect(),
            harness: harness.to_string(),
            harness_version: harness_version.to_string(),
        }
    }

    /// The host's minimum module-abi version for the kind `name`, if it knows the kind.
    pub fn kind_version(&self, name: &str) -> Option<&str> {
        self.kind_versions.get(name).map(String::as_str)
    }

    /// The host's module-abi version as `(major, minor, patch)`, when it is well-formed.
    pub fn module_abi(&self) -> Option<(u64, u64, u64)> {
        let mut parts = self.module_abi_version.split('.').map(|p| p.parse::<u64>().ok());
        Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_host_lists_every_kind() {
        let host = HostInfo::current("agent-harness", "0.1.0");
        assert_eq!(host.kind_versions.len(), Kind::ALL.len());
        assert_eq!(host.kind_version("Isolator"), Some("1.0.0"));
        assert_eq!(host.module_abi().map(|v| v.0), Some(1));
    }
}
