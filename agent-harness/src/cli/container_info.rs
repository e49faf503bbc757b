//! `--container_info` and `--rootfs`: a container's settings the Mesos way.
//!
//! `--container_info` is Mesos's `ContainerInfo` JSON (protobuf field names), inline or
//! `file://<path>`. The module ABI's decoders ignore unknown fields by design (a newer agent may
//! send more); at the command line an unknown field is a typo, so it is an error here, as is an
//! unknown capability (Linux's names without `CAP_`), rlimit type (`RLMT_*`), volume `mode`
//! (`RW`, `RO`) or `ipc_mode` (`PRIVATE`, `SHARE_PARENT`). Each error is one line naming the
//! flag, the field's path and the bad value.

use std::path::Path;

use module_abi::{CapabilityInfo, ContainerInfo};

/// The Linux capabilities, Mesos's `CapabilityInfo.Capability` names (without `CAP_`).
pub const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Mesos's `RLimitInfo.RLimit.Type` names.
pub const RLIMITS: &[&str] = &[
    "RLMT_AS",
    "RLMT_CORE",
    "RLMT_CPU",
    "RLMT_DATA",
    "RLMT_FSIZE",
    "RLMT_LOCKS",
    "RLMT_MEMLOCK",
    "RLMT_MSGQUEUE",
    "RLMT_NICE",
    "RLMT_NOFILE",
    "RLMT_NPROC",
    "RLMT_RSS",
    "RLMT_RTPRIO",
    "RLMT_RTTIME",
    "RLMT_SIGPENDING",
    "RLMT_STACK",
];

const FLAG: &str = "--container_info";

/// Parses a `--container_info` value (inline JSON or `file://<path>`), strictly.
pub fn parse(value: &str) -> Result<ContainerInfo, String> {
    let text = match value.strip_prefix("file://") {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("{FLAG}: cannot read '{path}': {e}"))?
        }
        None => value.to_string(),
    };
    if !text.trim_start().starts_with('{') {
        return Err(format!("{FLAG}: invalid ContainerInfo JSON: expected a JSON object"));
    }
    let mut unknown = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let info: ContainerInfo =
        serde_ignored::deserialize(&mut deserializer, |path| unknown.push(field_path(&path)))
            .map_err(|e| format!("{FLAG}: invalid ContainerInfo JSON: {e}"))?;
    deserializer.end().map_err(|e| format!("{FLAG}: invalid ContainerInfo JSON: {e}"))?;
    if let Some(path) = unknown.first() {
        return Err(format!("{FLAG}: unknown field '{path}'"));
    }
    validate(&info).map_err(|e| format!("{FLAG}: {e}"))?;
    Ok(info)
}

/// A field's path as the errors write it: `linux_info.share_pid_namespace`, `volumes[0].mode`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            prefix if prefix.is_empty() => key.clone(),
            prefix => format!("{prefix}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            field_path(parent)
        }
    }
}

/// The enum-like values of `info`, checked; an error names the field's path.
fn validate(info: &ContainerInfo) -> Result<(), String> {
    if let Some(kind) = info.kind.as_deref().filter(|k| *k != "MESOS") {
        return Err(format!("type: unsupported container type '{kind}' (only MESOS)"));
    }
    for (i, volume) in info.volumes.iter().enumerate() {
        if let Some(mode) = volume.mode.as_deref().filter(|m| !matches!(*m, "RW" | "RO")) {
            return Err(format!("volumes[{i}].mode: unknown mode '{mode}' (RW or RO)"));
        }
        if volume.container_path.is_empty() {
            return Err(format!("volumes[{i}].container_path: must not be empty"));
        }
    }
    if let Some(linux) = &info.linux_info {
        let capabilities = |set: &Option<CapabilityInfo>, field: &str| -> Result<(), String> {
            for (i, name) in set.iter().flat_map(|s| s.capabilities.iter()).enumerate() {
                if !CAPABILITIES.contains(&name.as_str()) {
                    return Err(format!("linux_info.{field}.capabilities[{i}]: unknown capability '{name}'"));
                }
            }
            Ok(())
        };
        capabilities(&linux.effective_capabilities, "effective_capabilities")?;
        capabilities(&linux.bounding_capabilities, "bounding_capabilities")?;
        if let Some(mode) = linux.ipc_mode.as_deref().filter(|m| !matches!(*m, "PRIVATE" | "SHARE_PARENT")) {
            return Err(format!("linux_info.ipc_mode: unknown IPC mode '{mode}' (PRIVATE or SHARE_PARENT)"));
        }
    }
    for (i, limit) in info.rlimit_info.iter().flat_map(|r| r.rlimits.iter()).enumerate() {
        if !RLIMITS.contains(&limit.kind.as_str()) {
            return Err(format!("rlimit_info.rlimits[{i}].type: unknown rlimit type '{}'", limit.kind));
        }
        if let (Some(soft), Some(hard)) = (limit.soft, limit.hard) {
            if soft <= hard {
                continue;
            }
            return Err(format!(
                "rlimit_info.rlimits[{i}]: soft limit {soft} is above the hard limit {hard}"
            ));
        }
    }
    Ok(())
}

/// Checks `--rootfs`: an existing directory, made absolute.
pub fn rootfs(dir: &Path) -> Result<String, String> {
    let absolute = std::fs::canonicalize(dir).map_err(|e| format!("--rootfs: '{}': {e}", dir.display()))?;
    if !absolute.is_dir() {
        return Err(format!("--rootfs: '{}' is not a directory", dir.display()));
    }
    Ok(absolute.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesos_container_info_parses() {
        let info = parse(
            r#"{"type":"MESOS",
                "linux_info":{"effective_capabilities":{"capabilities":["CHOWN","NET_RAW"]},
                              "bounding_capabilities":{"capabilities":["CHOWN"]},
                              "share_pid_namespace":false,"ipc_mode":"PRIVATE","shm_size":64},
                "rlimit_info":{"rlimits":[{"type":"RLMT_NOFILE","soft":256,"hard":512}]},
                "volumes":[{"container_path":"/data","host_path":"/tmp","mode":"RO"}]}"#,
        )
        .unwrap();
        let linux = info.linux_info.unwrap();
        assert_eq!(linux.effective_capabilities.unwrap().capabilities, ["CHOWN", "NET_RAW"]);
        assert_eq!(linux.shm_size, Some(64));
        assert_eq!(info.rlimit_info.unwrap().rlimits[0].soft, Some(256));
        assert_eq!(info.volumes[0].mode.as_deref(), Some("RO"));
    }

    #[test]
    fn bad_values_are_one_line_naming_the_field() {
        for (json, error) in [
            (
                r#"{"linux_info":{"effective_capabilities":{"capabilities":["CHOWN","CHWON"]}}}"#,
                "--container_info: linux_info.effective_capabilities.capabilities[1]: unknown capability 'CHWON'",
            ),
            (
                r#"{"linux_info":{"bounding_capabilities":{"capabilities":["CAP_CHOWN"]}}}"#,
                "--container_info: linux_info.bounding_capabilities.capabilities[0]: unknown capability 'CAP_CHOWN'",
            ),
            (
                r#"{"rlimit_info":{"rlimits":[{"type":"NOFILE","soft":1}]}}"#,
                "--container_info: rlimit_info.rlimits[0].type: unknown rlimit type 'NOFILE'",
            ),
            (
                r#"{"linux_info":{"share_pid_namspace":true}}"#,
                "--container_info: unknown field 'linux_info.share_pid_namspace'",
            ),
            (
                r#"{"volumes":[{"container_path":"/a","hostpath":"/b"}]}"#,
                "--container_info: unknown field 'volumes[0].hostpath'",
            ),
            (
                r#"{"volumes":[{"container_path":"/a","mode":"rw"}]}"#,
                "--container_info: volumes[0].mode: unknown mode 'rw' (RW or RO)",
            ),
            (
                r#"{"linux_info":{"ipc_mode":"SHARED"}}"#,
                "--container_info: linux_info.ipc_mode: unknown IPC mode 'SHARED' (PRIVATE or SHARE_PARENT)",
            ),
            (
                r#"{"type":"DOCKER"}"#,
                "--container_info: type: unsupported container type 'DOCKER' (only MESOS)",
            ),
        ] {
            assert_eq!(parse(json).unwrap_err(), error, "{json}");
        }
        for bad in ["{", "[]", r#"{"linux_info":{"shm_size":"big"}}"#, "{} x"] {
            let err = parse(bad).unwrap_err();
            assert!(err.starts_with("--container_info: invalid ContainerInfo JSON: "), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn files_are_read_and_rootfs_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("info.json");
        std::fs::write(&file, r#"{"linux_info":{"share_pid_namespace":true}}"#).unwrap();
        let info = parse(&format!("file://{}", file.display())).unwrap();
        assert_eq!(info.linux_info.unwrap().share_pid_namespace, Some(true));
        assert!(
            parse("file:///nonexistent/x.json").unwrap_err().starts_with("--container_info: cannot read")
        );
        assert_eq!(
            rootfs(dir.path()).unwrap(),
            std::fs::canonicalize(dir.path()).unwrap().display().to_string()
        );
        assert!(rootfs(&file).unwrap_err().ends_with("is not a directory"));
        assert!(rootfs(Path::new("/nonexistent")).is_err());
    }
}
