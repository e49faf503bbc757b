//! `ContainerInfo`: what a container asks for beyond its resources, in Mesos's protobuf field
//! names (`mesos.proto`: `ContainerInfo`, `Volume`, `LinuxInfo`, `CapabilityInfo`, `RLimitInfo`,
//! `SeccompInfo`), the subset the suite's isolators implement. Values that are enums in Mesos
//! (capability names, `ipc_mode`, a volume's `mode`) are kept as their names, so one this version
//! does not know still decodes; the isolator that uses a field refuses a value it does not know.

use serde::{Deserialize, Serialize};

use super::container::RLimit;

/// Mesos `ContainerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// `"MESOS"` (the only type the suite runs); absent means the same.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<LinuxInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rlimit_info: Option<RLimitInfo>,
}

/// Mesos `Volume`, host-path volumes: `host_path` bound at `container_path`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Volume {
    /// `"RW"` or `"RO"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
}

/// Mesos `LinuxInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinuxInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_capabilities: Option<CapabilityInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_capabilities: Option<CapabilityInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_pid_namespace: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompInfo>,
    /// `"PRIVATE"` or `"SHARE_PARENT"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// The size of a private `/dev/shm`, in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u32>,
}

/// Mesos `CapabilityInfo`: capability names without the `CAP_` prefix (`"CHOWN"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CapabilityInfo {
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// Mesos `RLimitInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RLimitInfo {
    #[serde(default)]
    pub rlimits: Vec<RLimit>,
}

/// Mesos `SeccompInfo`: a profile by name (under the agent's `--seccomp_config_dir`), or none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeccompInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfined: Option<bool>,
}
