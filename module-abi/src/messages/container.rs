//! Container messages, modelled on Mesos's protobufs (`ContainerID`, `ContainerConfig`,
//! `ContainerLaunchInfo`, `ContainerState`, `ContainerStatus`) and named the same where Mesos has them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::container_info::ContainerInfo;
use super::resources::Resources;

/// A container's identity. A nested container names its parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContainerId {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<ContainerId>>,
}

impl ContainerId {
    /// A top-level container id.
    pub fn new(value: impl Into<String>) -> Self {
        Self { value: value.into(), parent: None }
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = &self.parent {
            write!(f, "{parent}.")?;
        }
        f.write_str(&self.value)
    }
}

/// One environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
}

/// What to run (Mesos `CommandInfo`): `value` through `/bin/sh -c` when `shell` is true, or as the
/// program with `arguments` as its argv when false.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommandInfo {
    #[serde(default)]
    pub shell: bool,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default)]
    pub environment: Vec<EnvironmentVariable>,
}

/// Everything an isolator is told about a container before it starts (Mesos `ContainerConfig`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    pub command: CommandInfo,
    /// Requested resources (Mesos `resources`).
    #[serde(default)]
    pub resources: Resources,
    /// Resource limits (Mesos `limits`); may be infinite.
    #[serde(default)]
    pub limits: Resources,
    /// The container's sandbox directory.
    pub directory: String,
    /// The user to run as, when not the harness's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What the container asks for beyond resources: volumes, Linux settings, rlimits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_info: Option<ContainerInfo>,
    /// A directory to use as the container's root file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<String>,
}

/// A mount to perform in the container's mount namespace (Mesos `ContainerMountInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerMountInfo {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
    /// `MS_*` flags, as `mount(2)` takes them. One combination means more than `mount(2)` makes of
    /// it: a remount without a source with `MS_BIND | MS_RDONLY | MS_REC` makes the mount at
    /// `target` and every mount below it read-only (`mount(2)` would ignore `MS_REC` and change
    /// the top one only); the Linux containerizer does it with `mount_setattr(2)`.
    #[serde(default)]
    pub flags: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// A resource limit (`setrlimit`), by Mesos's names (`RLMT_NOFILE`, ...) or the plain kernel name
/// (`NOFILE`). `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RLimit {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub soft: Option<u64>,
    #[serde(default)]
    pub hard: Option<u64>,
}

/// What an isolator asks of the launch (Mesos `ContainerLaunchInfo`). The harness merges the
/// launch infos of every isolator; a field only one isolator may set is a conflict when two do.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerLaunchInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<EnvironmentVariable>,
    /// `CLONE_NEW*` flags, one per entry, as Mesos's `repeated int32 clone_namespaces`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clone_namespaces: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<ContainerMountInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<RLimit>,
    /// The command's effective (and permitted, inheritable, ambient) capabilities, by name without
    /// `CAP_`; `None` leaves them as they are, an empty list drops them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_capabilities: Option<Vec<String>>,
    /// The command's bounding set, by name; `None` leaves it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The container's hostname (needs a UTS namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_exec_commands: Vec<CommandInfo>,
    /// A directory to `pivot_root` into (needs a mount namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<String>,
    /// The rootfs is remounted read-only once the helper is inside it (after every mount and the
    /// pivot, as runc does for an OCI `root.readonly`); needs `rootfs`. `None` and `false` leave
    /// it writable. The mounts on top of it keep their own flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_rootfs: Option<bool>,
    /// `PR_SET_NO_NEW_PRIVS` for the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    /// A seccomp filter installed just before the command runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompProgram>,
    /// The user to run the command as (a name or a numeric uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Supplementary group ids of the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplementary_groups: Vec<u32>,
    /// Existing namespaces the container joins (`setns`) instead of new ones: an OCI bundle's
    /// `linux.namespaces[].path`, such as a pod's network namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_namespaces: Vec<NamespacePath>,
}

/// An existing namespace to join: its kind (`ipc`, `uts`, `net`, `cgroup`) and a path naming it,
/// such as `/proc/<pid>/ns/net` or a bind mount of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacePath {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
}

/// A compiled seccomp filter: classic BPF instructions (`struct sock_filter`), as
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)` takes them. The isolator that builds it owns its
/// meaning; the containerizer installs it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeccompProgram {
    pub filter: Vec<SockFilter>,
    /// `SECCOMP_FILTER_FLAG_*`.
    #[serde(default)]
    pub flags: u32,
}

/// One `struct sock_filter` instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// What the harness checkpointed about a running container, handed back at `recover`
/// (Mesos `ContainerState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    pub container_id: ContainerId,
    pub pid: i32,
    pub directory: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
}

/// Run-time status an isolator adds about a container (Mesos `ContainerStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_pid: Option<i32>,
    /// Free-form facts an isolator reports (cgroup paths, namespace inodes, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub info: std::collections::BTreeMap<String, String>,
}

/// Why a container hit a limit (Mesos `TaskStatus.Reason`, the container-limitation subset).
///
/// A reason this module-abi does not know (one a newer module or Mesos added) is kept as
/// [`Reason::Other`] with its name, and encodes back to the same name: never an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[allow(non_camel_case_types)]
pub enum Reason {
    REASON_CONTAINER_LIMITATION,
    REASON_CONTAINER_LIMITATION_DISK,
    REASON_CONTAINER_LIMITATION_MEMORY,
    REASON_CONTAINER_PREEMPTED,
    /// A reason this module-abi does not know, by its name.
    Other(String),
}

impl Reason {
    /// The reason's Mesos name.
    pub fn name(&self) -> &str {
        match self {
            Reason::REASON_CONTAINER_LIMITATION => "REASON_CONTAINER_LIMITATION",
            Reason::REASON_CONTAINER_LIMITATION_DISK => "REASON_CONTAINER_LIMITATION_DISK",
            Reason::REASON_CONTAINER_LIMITATION_MEMORY => "REASON_CONTAINER_LIMITATION_MEMORY",
            Reason::REASON_CONTAINER_PREEMPTED => "REASON_CONTAINER_PREEMPTED",
            Reason::Other(name) => name,
        }
    }
}

impl From<String> for Reason {
    fn from(name: String) -> Reason {
        match name.as_str() {
            "REASON_CONTAINER_LIMITATION" => Reason::REASON_CONTAINER_LIMITATION,
            "REASON_CONTAINER_LIMITATION_DISK" => Reason::REASON_CONTAINER_LIMITATION_DISK,
            "REASON_CONTAINER_LIMITATION_MEMORY" => Reason::REASON_CONTAINER_LIMITATION_MEMORY,
            "REASON_CONTAINER_PREEMPTED" => Reason::REASON_CONTAINER_PREEMPTED,
            _ => Reason::Other(name),
        }
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> String {
        reason.name().to_string()
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A limit the container ran into (Mesos `ContainerLimitation`). The harness destroys the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerLimitation {
    #[serde(default)]
    pub resources: Resources,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// How a container's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerTermination {
    /// The exit code when the command exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal when the command was killed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl ContainerTermination {
    /// The shell's convention: the exit code, or 128 + the signal.
    pub fn exit_status(&self) -> i32 {
        match (self.exit_code, self.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => 1,
        }
    }
}

/// A module parameter, both parts required (Mesos `Parameter`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Parameter {
    pub key: String,
    pub value: String,
}

/// The parameters a module is created with, in manifest order (Mesos `Parameters`).
pub type Parameters = Vec<Parameter>;

/// The value of the first parameter named `key`.
pub fn parameter<'a>(params: &'a [Parameter], key: &str) -> Option<&'a str> {
    params.iter().find(|p| p.key == key).map(|p| p.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_container_id_displays_with_parent() {
        let id = ContainerId { value: "child".into(), parent: Some(Box::new(ContainerId::new("p"))) };
        assert_eq!(id.to_string(), "p.child");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"value":"child","parent":{"value":"p"}}"#);
    }

    /// module-abi carries any id verbatim (checking one is the host's and the containerizer's:
    /// agent-harness's `--container_id` rule, its checkpoints, the Linux containerizer's); a
    /// `parent` chain is bounded by serde_json's recursion limit (128): one error past it, never a
    /// stack overflow.
    #[test]
    fn odd_container_ids_cross_json_verbatim_and_nesting_is_bounded() {
        let long = "x".repeat(300);
        for value in ["../x", "a/b", "a\0b", &long, "容器-ü 🚀", "\u{202e}rtl", ""] {
            let id = ContainerId::new(value);
            let back: ContainerId = serde_json::from_str(&serde_json::to_string(&id).unwrap()).unwrap();
            assert_eq!(back, id);
        }
        let nested = |depth: usize| {
            let mut json = r#"{"value":"leaf"}"#.to_string();
            for _ in 0..depth {
                json = format!(r#"{{"value":"c","parent":{json}}}"#);
            }
            json
        };
        let id: ContainerId = serde_json::from_str(&nested(100)).unwrap();
        assert_eq!(id.to_string(), format!("leaf{}", ".c".repeat(100)));
        let err = serde_json::from_str::<ContainerId>(&nested(10_000)).unwrap_err();
        assert!(err.to_string().contains("recursion limit exceeded"), "{err}");
    }

    #[test]
    fn exit_status_follows_the_shell() {
        assert_eq!(ContainerTermination { exit_code: Some(3), signal: None }.exit_status(), 3);
        assert_eq!(ContainerTermination { exit_code: None, signal: Some(9) }.exit_status(), 137);
    }

    #[test]
    fn limitation_reason_uses_mesos_names() {
        let l = ContainerLimitation {
            resources: Resources::new().with("mem", 64.0),
            message: "Memory limit exceeded".into(),
            reason: Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY),
        };
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(json["reason"], "REASON_CONTAINER_LIMITATION_MEMORY");
    }

    #[test]
    fn an_unknown_reason_is_kept_by_name() {
        let json = r#"{"message":"m","reason":"REASON_CONTAINER_LIMITATION_GPU"}"#;
        let l: ContainerLimitation = serde_json::from_str(json).unwrap();
        assert_eq!(l.reason, Some(Reason::Other("REASON_CONTAINER_LIMITATION_GPU".into())));
        assert_eq!(serde_json::to_value(&l).unwrap()["reason"], "REASON_CONTAINER_LIMITATION_GPU");
    }
}
