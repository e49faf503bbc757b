//! The OCI runtime spec's `config.json`, as far as this runtime reads it.
//!
//! The spec says a runtime must ignore properties it does not know (so a newer spec's bundle
//! still loads), so unknown keys are ignored here too. Every property the spec defines is named,
//! though: the ones this runtime does not implement are kept as raw JSON ([`Value`]) so that
//! [`crate::translate`] refuses them by name when a bundle sets them, instead of silently running
//! without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// Why a bundle's `config.json` cannot be read.
#[derive(Debug, Error)]
pub enum BundleError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid {}: {source}", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
}

/// The whole `config.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub oci_version: String,
    pub process: Option<Process>,
    pub root: Option<Root>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    pub hooks: Option<Value>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub linux: Option<Linux>,
    pub solaris: Option<Value>,
    pub windows: Option<Value>,
    pub vm: Option<Value>,
    pub zos: Option<Value>,
}

impl Spec {
    /// Reads `<bundle>/config.json`.
    pub fn load(bundle: &Path) -> Result<Spec, BundleError> {
        let path = bundle.join("config.json");
        let bytes =
            std::fs::read(&path).map_err(|source| BundleError::Read { path: path.clone(), source })?;
        serde_json::from_slice(&bytes).map_err(|source| BundleError::Parse { path, source })
    }
}

/// `process` (also the file `exec --process` reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    pub console_size: Option<Value>,
    #[serde(default)]
    pub user: User,
    #[serde(default)]
    pub args: Vec<String>,
    pub command_line: Option<Value>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    pub apparmor_profile: Option<String>,
    pub oom_score_adj: Option<i32>,
    pub selinux_label: Option<String>,
    pub io_priority: Option<Value>,
    pub scheduler: Option<Value>,
    #[serde(rename = "execCPUAffinity")]
    pub exec_cpu_affinity: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    pub umask: Option<u32>,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
    pub username: Option<String>,
}

/// The five capability sets, by the kernel's names (`CAP_CHOWN`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Capabilities {
    pub bounding: Option<Vec<String>>,
    pub effective: Option<Vec<String>>,
    pub inheritable: Option<Vec<String>>,
    pub permitted: Option<Vec<String>>,
    pub ambient: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub options: Vec<String>,
    pub uid_mappings: Option<Value>,
    pub gid_mappings: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    pub uid_mappings: Option<Value>,
    pub gid_mappings: Option<Value>,
    pub time_offsets: Option<Value>,
    #[serde(default)]
    pub devices: Vec<Value>,
    pub cgroups_path: Option<String>,
    pub rootfs_propagation: Option<String>,
    pub resources: Option<Resources>,
    pub intel_rdt: Option<Value>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    pub seccomp: Option<Value>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    pub mount_label: Option<String>,
    pub personality: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: Option<String>,
}

/// `linux.resources` (also what `update --resources` reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    #[serde(rename = "blockIO")]
    pub block_io: Option<Value>,
    #[serde(default)]
    pub hugepage_limits: Vec<Value>,
    pub network: Option<Value>,
    pub rdma: Option<Value>,
    pub unified: Option<BTreeMap<String, String>>,
}

/// One device cgroup rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    pub swap: Option<i64>,
    pub kernel: Option<i64>,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
    pub use_hierarchy: Option<bool>,
    pub check_before_update: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pids {
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_ignored_and_known_ones_read() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","futureKey":1},
                "root":{"path":"rootfs"},"linux":{"cgroupsPath":"/default/c1",
                "resources":{"memory":{"limit":1048576},"blockIO":{"weight":10}}}}"#,
        )
        .unwrap();
        assert_eq!(spec.process.unwrap().args, ["sh"]);
        let linux = spec.linux.unwrap();
        assert_eq!(linux.cgroups_path.as_deref(), Some("/default/c1"));
        let resources = linux.resources.unwrap();
        assert_eq!(resources.memory.unwrap().limit, Some(1048576));
        assert!(resources.block_io.is_some());
    }
}
