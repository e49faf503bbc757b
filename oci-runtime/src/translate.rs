//! `config.json` to the suite's lifecycle: which isolator modules serve the container and with
//! which parameters, and the `ContainerConfig` and launch info they are given.
//!
//! Each property goes where the suite already has it:
//! - namespaces: `pid`, `ipc`, `uts` and `network` to the namespaces isolators, `mount` to the
//!   launch (the containerizer clones it); one with a `path` (`ipc`, `uts`, `network`, `cgroup`,
//!   `pid`) is joined by the containerizer instead (a pod's namespaces under CRI);
//! - `process.capabilities` to `linux/capabilities` (through `ContainerInfo.linux_info`),
//!   `process.rlimits` to `posix/rlimits` (`ContainerInfo.rlimit_info`), `noNewPrivileges` to
//!   `linux/nnp`;
//! - `linux.resources` to `cgroups/cpu`, `cgroups/mem`, `cgroups/pids` (as Mesos requests and
//!   limits, [`resources`]) and `cgroups/devices`;
//! - `root` (`readonly` included), `mounts`, `maskedPaths`, `readonlyPaths`, `process.cwd` and
//!   `process.user` (`uid:gid` and `additionalGids`) have no
//!   Mesos `ContainerInfo` form: they are the container's own launch info, which the engine merges
//!   after the isolators' ([`mounts`]).
//!
//! Whatever the spec asks that none of this implements is a [`TranslateError`] naming the
//! property: never run without it.

use std::collections::BTreeMap;
use std::path::Path;

use module_abi::{
    CapabilityInfo, CommandInfo, ContainerInfo, ContainerLaunchInfo, EnvironmentVariable, LinuxInfo,
    NamespacePath, RLimit, RLimitInfo, Resources,
};
use thiserror::Error;

use crate::bundle::{Capabilities, DeviceRule, Spec};
use crate::mounts;
use crate::resources;

/// A property of `config.json` that this runtime cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("config.json: {field}: {reason}")]
pub struct TranslateError {
    pub field: String,
    pub reason: String,
}

impl TranslateError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> TranslateError {
        TranslateError { field: field.into(), reason: reason.into() }
    }

    fn unsupported(field: impl Into<String>) -> TranslateError {
        TranslateError::new(field, "not supported by this runtime")
    }
}

/// Module names of the suite's isolators.
pub mod module {
    pub const CPU: &str = "org_apache_mesos_CgroupsCpuIsolator";
    pub const MEM: &str = "org_apache_mesos_CgroupsMemIsolator";
    pub const PIDS: &str = "org_apache_mesos_CgroupsPidsIsolator";
    pub const DEVICES: &str = "org_apache_mesos_CgroupsDevicesIsolator";
    pub const PID_NS: &str = "org_apache_mesos_NamespacesPidIsolator";
    pub const IPC_NS: &str = "org_apache_mesos_NamespacesIpcIsolator";
    pub const UTS_NS: &str = "org_apache_mesos_NamespacesUtsIsolator";
    pub const NET_NS: &str = "org_apache_mesos_NamespacesNetIsolator";
    pub const CAPABILITIES: &str = "org_apache_mesos_LinuxCapabilitiesIsolator";
    pub const NNP: &str = "org_apache_mesos_LinuxNnpIsolator";
    pub const RLIMITS: &str = "org_apache_mesos_PosixRLimitsIsolator";
}

/// The cgroups root of containers whose spec has no `linux.cgroupsPath`.
pub const DEFAULT_CGROUPS_ROOT: &str = "isolation-runc";

/// Everything `create` needs, decided before any module is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The engine's container id: the last component of `linux.cgroupsPath` (so the container's
    /// cgroups are exactly there), else the OCI id.
    pub container_id: String,
    /// The cgroups root of every cgroups module and the containerizer: `cgroupsPath` without its
    /// last component.
    pub cgroups_root: String,
    /// `v1 memory.memsw` limited to the memory limit (`memory.swap` equal to `memory.limit`).
    pub limit_swap: bool,
    pub command: CommandInfo,
    pub resources: Resources,
    pub limits: Resources,
    pub container_info: ContainerInfo,
    pub launch_info: ContainerLaunchInfo,
    /// Isolator module names, in creation order.
    pub isolation: Vec<String>,
    /// Per-module parameters beyond the cgroups root (the UTS isolator's `hostname`).
    pub params: BTreeMap<String, Vec<(String, String)>>,
    /// `process.oomScoreAdj`, written for the init at create.
    pub oom_score_adj: Option<i32>,
}

/// What a host offers that the translation depends on (the real one in [`HostView::real`]).
pub struct HostView<'a> {
    /// Whether a path of the host's `/proc` or `/sys` exists and is a directory (`Some(true)`),
    /// a file (`Some(false)`), or is absent: masked paths that do not exist are skipped, as runc
    /// does, and the kernel's `/proc` and `/sys` are the container's too.
    pub kind_of: &'a dyn Fn(&str) -> Option<bool>,
    /// The host's cgroup hierarchies: mount point and controllers (`None` for cgroup2).
    pub cgroup_mounts: &'a dyn Fn() -> Vec<(String, Option<Vec<String>>)>,
}

impl HostView<'_> {
    pub fn real() -> HostView<'static> {
        HostView {
            kind_of: &|path: &str| std::fs::symlink_metadata(path).ok().map(|m| m.is_dir()),
            cgroup_mounts: &crate::cgroups::host_hierarchies,
        }
    }
}

/// Translates the spec of the container `id` whose bundle is `bundle`.
pub fn plan(id: &str, bundle: &Path, spec: &Spec, host: &HostView<'_>) -> Result<Plan, TranslateError> {
    refuse_present(&[
        ("hooks", spec.hooks.is_some()),
        ("solaris", spec.solaris.is_some()),
        ("windows", spec.windows.is_some()),
        ("vm", spec.vm.is_some()),
        ("zos", spec.zos.is_some()),
        ("domainname", spec.domainname.as_deref().is_some_and(|d| !d.is_empty())),
    ])?;
    let process = spec.process.as_ref().ok_or_else(|| TranslateError::new("process", "missing"))?;
    let linux = spec.linux.clone().unwrap_or_default();
    refuse_present(&[
        ("process.commandLine", process.command_line.is_some()),
        ("process.apparmorProfile", process.apparmor_profile.as_deref().is_some_and(|p| !p.is_empty())),
        ("process.selinuxLabel", process.selinux_label.as_deref().is_some_and(|p| !p.is_empty())),
        ("process.ioPriority", process.io_priority.is_some()),
        ("process.scheduler", process.scheduler.is_some()),
        ("process.execCPUAffinity", process.exec_cpu_affinity.is_some()),
        ("process.user.umask", process.user.umask.is_some()),
        ("linux.uidMappings", linux.uid_mappings.is_some()),
        ("linux.gidMappings", linux.gid_mappings.is_some()),
        ("linux.timeOffsets", linux.time_offsets.is_some()),
        ("linux.devices", !linux.devices.is_empty()),
        ("linux.intelRdt", linux.intel_rdt.is_some()),
        ("linux.sysctl", !linux.sysctl.is_empty()),
        ("linux.seccomp", linux.seccomp.is_some()),
        ("linux.mountLabel", linux.mount_label.as_deref().is_some_and(|l| !l.is_empty())),
        ("linux.personality", linux.personality.is_some()),
    ])?;
    let (cgroups_root, container_id) = cgroups_path(id, linux.cgroups_path.as_deref())?;

    let mut isolation = Vec::new();
    let mut params = BTreeMap::new();
    let mut launch_info = ContainerLaunchInfo::default();
    let mut mount_namespace = false;
    for (index, namespace) in linux.namespaces.iter().enumerate() {
        let field = format!("linux.namespaces[{index}]");
        if let Some(path) = namespace.path.as_ref().filter(|p| !p.is_empty()) {
            // Joined by the containerizer's helper (setns), instead of an isolator's new one.
            let kind = match namespace.kind.as_str() {
                "ipc" => "ipc",
                "uts" => "uts",
                "network" => "net",
                "cgroup" => "cgroup",
                // Entered by the containerizer around its clone: the helper starts inside it.
                "pid" => "pid",
                other => {
                    return Err(TranslateError::new(
                        format!("{field}.path"),
                        format!("joining a '{other}' namespace is not supported by this runtime"),
                    ));
                }
            };
            if kind == "uts" && spec.hostname.as_ref().is_some_and(|h| !h.is_empty()) {
                return Err(TranslateError::new(
                    "hostname",
                    "needs a uts namespace of its own, not a joined one",
                ));
            }
            launch_info.join_namespaces.push(NamespacePath { kind: kind.to_owned(), path: path.clone() });
            continue;
        }
        match namespace.kind.as_str() {
            "pid" => isolation.push(module::PID_NS),
            "ipc" => isolation.push(module::IPC_NS),
            "uts" => {
                isolation.push(module::UTS_NS);
                if let Some(hostname) = spec.hostname.as_ref().filter(|h| !h.is_empty()) {
                    params.insert(module::UTS_NS.to_owned(), vec![("hostname".to_owned(), hostname.clone())]);
                }
            }
            "network" => isolation.push(module::NET_NS),
            "mount" => mount_namespace = true,
            other => {
                return Err(TranslateError::new(
                    format!("{field}.type"),
                    format!("a '{other}' namespace is not supported by this runtime"),
                ));
            }
        }
    }
    if spec.hostname.as_ref().is_some_and(|h| !h.is_empty()) && !isolation.contains(&module::UTS_NS) {
        return Err(TranslateError::new("hostname", "needs a uts namespace"));
    }
    if !mount_namespace {
        return Err(TranslateError::new("linux.namespaces", "a mount namespace is required by this runtime"));
    }
    launch_info.clone_namespaces.push(libc::CLONE_NEWNS);
    match linux.rootfs_propagation.as_deref() {
        None | Some("" | "slave" | "rslave") => {}
        Some(other) => {
            return Err(TranslateError::new(
                "linux.rootfsPropagation",
                format!("'{other}' is not supported (the container's mounts are always rslave)"),
            ));
        }
    }

    let root = spec.root.as_ref().ok_or_else(|| TranslateError::new("root", "missing"))?;
    let rootfs = bundle.join(&root.path);
    launch_info.rootfs = Some(rootfs.display().to_string());
    launch_info.read_only_rootfs = root.readonly.then_some(true);
    launch_info.mounts = mounts::translate(
        &spec.mounts,
        &rootfs,
        &linux.masked_paths,
        &linux.readonly_paths,
        host,
        &format!("{cgroups_root}/{container_id}"),
    )?;

    // The process.
    if process.args.is_empty() {
        return Err(TranslateError::new("process.args", "missing"));
    }
    let command = CommandInfo {
        shell: false,
        value: process.args[0].clone(),
        arguments: process.args.clone(),
        environment: environment(&process.env)?,
    };
    if !process.cwd.starts_with('/') {
        return Err(TranslateError::new("process.cwd", format!("'{}' is not an absolute path", process.cwd)));
    }
    launch_info.working_directory = Some(process.cwd.clone());
    // Numeric, as the engine resolved it from the image: `uid:gid`, so the group is the spec's and
    // not the passwd entry's; `additionalGids` become supplementary groups.
    let user = &process.user;
    launch_info.user = Some(format!("{}:{}", user.uid, user.gid));
    launch_info.supplementary_groups = user.additional_gids.clone();
    let mut container_info = ContainerInfo { kind: Some("MESOS".to_owned()), ..ContainerInfo::default() };
    if let Some(capabilities) = &process.capabilities {
        let (effective, bounding) = capability_sets(capabilities)?;
        container_info.linux_info = Some(LinuxInfo {
            effective_capabilities: Some(CapabilityInfo { capabilities: effective }),
            bounding_capabilities: Some(CapabilityInfo { capabilities: bounding }),
            ..LinuxInfo::default()
        });
        isolation.push(module::CAPABILITIES);
    }
    if process.no_new_privileges {
        isolation.push(module::NNP);
    }
    if !process.rlimits.is_empty() {
        let rlimits = process
            .rlimits
            .iter()
            .map(|r| RLimit { kind: r.kind.clone(), soft: finite(r.soft), hard: finite(r.hard) })
            .collect();
        container_info.rlimit_info = Some(RLimitInfo { rlimits });
        isolation.push(module::RLIMITS);
    }

    // Resources: cpu, memory and pids always, so the init sits in those cgroups (the shim reads
    // its statistics and OOM events there), limited or not.
    let wanted = linux.resources.clone().unwrap_or_default();
    let translated = resources::translate(&wanted, "linux.resources")?;
    isolation.extend([module::CPU, module::MEM, module::PIDS]);
    if !wanted.devices.is_empty() {
        check_devices(&wanted.devices)?;
        isolation.push(module::DEVICES);
    }
    // Mesos's creation order: cgroups first, then namespaces, then the linux isolators.
    let order = [
        module::CPU,
        module::MEM,
        module::PIDS,
        module::DEVICES,
        module::CAPABILITIES,
        module::NNP,
        module::RLIMITS,
        module::PID_NS,
        module::IPC_NS,
        module::UTS_NS,
        module::NET_NS,
    ];
    let isolation =
        order.iter().filter(|name| isolation.contains(name)).map(|name| (*name).to_owned()).collect();

    Ok(Plan {
        container_id,
        cgroups_root,
        limit_swap: translated.limit_swap,
        command,
        resources: translated.resources,
        limits: translated.limits,
        container_info,
        launch_info,
        isolation,
        params,
        oom_score_adj: process.oom_score_adj.filter(|adj| *adj != 0),
    })
}

fn refuse_present(fields: &[(&str, bool)]) -> Result<(), TranslateError> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(TranslateError::unsupported(*field)),
        None => Ok(()),
    }
}

/// `(cgroups root, container id)` from `linux.cgroupsPath` (cgroupfs form: `/a/b/leaf`).
pub fn cgroups_path(id: &str, path: Option<&str>) -> Result<(String, String), TranslateError> {
    let field = "linux.cgroupsPath";
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Ok((DEFAULT_CGROUPS_ROOT.to_owned(), id.to_owned()));
    };
    if path.contains(':') && !path.starts_with('/') {
        return Err(TranslateError::new(
            field,
            format!("'{path}' is systemd's form; only cgroupfs paths are supported"),
        ));
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if components.iter().any(|c| matches!(*c, "." | "..")) {
        return Err(TranslateError::new(field, format!("'{path}' must not contain '.' or '..'")));
    }
    match components.split_last() {
        // One component: the container's own cgroup right under the hierarchy's root. The suite
        // needs a root of its own, so the container id is the leaf below that one component.
        Some((leaf, [])) => Ok(((*leaf).to_owned(), id.to_owned())),
        Some((leaf, parents)) => Ok((parents.join("/"), (*leaf).to_owned())),
        None => Err(TranslateError::new(field, format!("'{path}' names no cgroup"))),
    }
}

/// `NAME=value` strings as environment variables.
fn environment(env: &[String]) -> Result<Vec<EnvironmentVariable>, TranslateError> {
    env.iter()
        .enumerate()
        .map(|(index, entry)| match entry.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                Ok(EnvironmentVariable { name: name.to_owned(), value: value.to_owned() })
            }
            _ => Err(TranslateError::new(
                format!("process.env[{index}]"),
                format!("'{entry}' is not NAME=value"),
            )),
        })
        .collect()
}

/// An rlimit value; the kernel's `RLIM_INFINITY` is module-abi's "none".
fn finite(value: u64) -> Option<u64> {
    (value != u64::MAX).then_some(value)
}

/// The suite's two sets (effective, which the command gets as permitted, inheritable and ambient
/// too; and bounding), by Mesos's names (no `CAP_`), from the spec's five. The spec's permitted
/// set must equal the effective set, and the inheritable and ambient sets be empty or equal to it.
fn capability_sets(caps: &Capabilities) -> Result<(Vec<String>, Vec<String>), TranslateError> {
    let names = |field: &str, set: &Option<Vec<String>>| -> Result<Vec<String>, TranslateError> {
        let mut names = Vec::new();
        for name in set.iter().flatten() {
            let Some(bare) = name.strip_prefix("CAP_") else {
                return Err(TranslateError::new(
                    format!("process.capabilities.{field}"),
                    format!("'{name}' is not a capability name (CAP_...)"),
                ));
            };
            names.push(bare.to_owned());
        }
        names.sort();
        names.dedup();
        Ok(names)
    };
    let effective = names("effective", &caps.effective)?;
    let bounding = names("bounding", &caps.bounding)?;
    let permitted = names("permitted", &caps.permitted)?;
    if permitted != effective {
        return Err(TranslateError::new(
            "process.capabilities.permitted",
            "must equal the effective set (the suite gives the command one set as effective and permitted)",
        ));
    }
    for (field, set) in [("inheritable", &caps.inheritable), ("ambient", &caps.ambient)] {
        let set = names(field, set)?;
        if !set.is_empty() && set != effective {
            return Err(TranslateError::new(
                format!("process.capabilities.{field}"),
                "must be empty or equal the effective set",
            ));
        }
    }
    Ok((effective, bounding))
}

/// The spec's device rules must be "deny everything", then allows within the suite's whitelist
/// (Mesos's, which `cgroups/devices` applies): containerd's default rules are that list without
/// `/dev/tty0` and `/dev/tty1`.
fn check_devices(rules: &[DeviceRule]) -> Result<(), TranslateError> {
    let field = "linux.resources.devices";
    let deny_all = |rule: &DeviceRule| {
        !rule.allow
            && rule.kind.as_deref().is_none_or(|k| k == "a")
            && rule.major.is_none()
            && rule.minor.is_none()
            && access(rule.access.as_deref()) == "rwm"
    };
    let Some(first) = rules.first().filter(|rule| deny_all(rule)) else {
        return Err(TranslateError::new(
            format!("{field}[0]"),
            "must deny every device (allow false, access rwm)",
        ));
    };
    let _ = first;
    let whitelist: Vec<String> = cgroupfs::DEFAULT_WHITELIST.iter().map(ToString::to_string).collect();
    for (index, rule) in rules.iter().enumerate().skip(1) {
        let number = |n: Option<i64>| n.filter(|n| *n >= 0).map_or("*".to_owned(), |n| n.to_string());
        let text = format!(
            "{} {}:{} {}",
            rule.kind.as_deref().unwrap_or("a"),
            number(rule.major),
            number(rule.minor),
            access(rule.access.as_deref())
        );
        if !rule.allow || !whitelist.contains(&text) {
            return Err(TranslateError::new(
                format!("{field}[{index}]"),
                format!(
                    "'{}{text}' is outside the device whitelist of cgroups/devices ({})",
                    if rule.allow { "allow " } else { "deny " },
                    whitelist.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The device rules of an `update` (containerd sends the container's whole `linux.resources`,
/// rules included): `cgroups/devices` applied its whitelist at create and has nothing to update,
/// so rules it already enforces (those [`plan`] accepts) are kept as they are, in a container it
/// serves (`isolation`, module or Mesos names); any other rules would be a change, refused.
pub fn check_devices_update(rules: &[DeviceRule], isolation: &[String]) -> Result<(), TranslateError> {
    if rules.is_empty() {
        return Ok(());
    }
    if !isolation.iter().any(|m| m == module::DEVICES || m == "cgroups/devices") {
        return Err(TranslateError::new(
            "resources.devices",
            "the container was created without device rules: adding them is not supported by this runtime",
        ));
    }
    check_devices(rules)
        .map_err(|e| TranslateError::new(e.field.replacen("linux.resources", "resources", 1), e.reason))
}

/// A device access string in `rwm` order; absent means all.
fn access(access: Option<&str>) -> String {
    let access = access.unwrap_or("rwm");
    "rwm".chars().filter(|c| access.contains(*c)).collect()
}

#[cfg(test)]
mod tests;
