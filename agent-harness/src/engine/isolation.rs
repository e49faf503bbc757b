//! Mesos's `--isolation` names and agent flags, mapped onto the suite's modules.
//!
//! `--isolation` takes Mesos's built-in isolator names (the [`BUILTINS`] table) as well as module
//! names, parsed as `MesosContainerizer::create` parses the flag:
//! * the value is split on `,` (empty items dropped); an item given twice is Mesos's error
//!   `Duplicate entries found in --isolation flag '<flag>'`;
//! * the deprecated aliases warn and expand: `cgroups` → `cgroups/cpu,cgroups/mem`, `process` →
//!   `posix/cpu,posix/mem`, `posix/disk` → `disk/du`;
//! * at most one `filesystem/*` (`Using multiple filesystem isolators simultaneously is
//!   disallowed`); with none, `filesystem/posix` is added when its module is loaded (Mesos always
//!   adds it; the suite skips it silently while that module is not there);
//! * `cgroups/all` is every `cgroups/*` of the table whose controller the host has enabled and
//!   whose module is loaded;
//! * the built-in isolators are created in Mesos's creation order (the table's order), then the
//!   module isolators in flag order; any other name is `Unknown or unsupported isolator '<name>'`.
//!
//! The agent flags of the shipped isolators ([`AGENT_FLAGS`]) become parameters of the suite's
//! modules that take them ([`AgentParams`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::modules::ModulesError;

/// Mesos's built-in isolator names the suite ships, and their modules, in Mesos's creation order
/// (`MesosContainerizer::create`'s table; `cgroups/all` stands for the `cgroups/*` rows).
pub const BUILTINS: &[(&str, &str)] = &[
    ("filesystem/posix", "org_apache_mesos_PosixFilesystemIsolator"),
    ("filesystem/linux", "org_apache_mesos_LinuxFilesystemIsolator"),
    ("posix/cpu", "org_apache_mesos_PosixCpuIsolator"),
    ("posix/mem", "org_apache_mesos_PosixMemIsolator"),
    ("posix/rlimits", "org_apache_mesos_PosixRLimitsIsolator"),
    ("cgroups/cpu", "org_apache_mesos_CgroupsCpuIsolator"),
    ("cgroups/devices", "org_apache_mesos_CgroupsDevicesIsolator"),
    ("cgroups/mem", "org_apache_mesos_CgroupsMemIsolator"),
    ("cgroups/pids", "org_apache_mesos_CgroupsPidsIsolator"),
    ("linux/capabilities", "org_apache_mesos_LinuxCapabilitiesIsolator"),
    ("linux/nnp", "org_apache_mesos_LinuxNnpIsolator"),
    ("namespaces/ipc", "org_apache_mesos_NamespacesIpcIsolator"),
    ("namespaces/pid", "org_apache_mesos_NamespacesPidIsolator"),
    ("disk/du", "org_apache_mesos_DiskDuIsolator"),
    ("disk/xfs", "org_apache_mesos_XfsDiskIsolator"),
    ("linux/seccomp", "org_apache_mesos_LinuxSeccompIsolator"),
];

/// The kernel controller of each `cgroups/*` name (for `cgroups/all`).
const CGROUPS_CONTROLLERS: &[(&str, &str)] = &[
    ("cgroups/cpu", "cpu"),
    ("cgroups/devices", "devices"),
    ("cgroups/mem", "memory"),
    ("cgroups/pids", "pids"),
];

/// `--isolation` when none is given: the harness's default (Mesos's is `posix/cpu,posix/mem`).
pub const DEFAULT_ISOLATION: &str = "cgroups/cpu,cgroups/mem,namespaces/pid";

/// The module of a Mesos built-in name.
pub fn builtin_module(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The Mesos name of a suite module, if it has one.
pub fn builtin_name(module: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(_, m)| *m == module).map(|(n, _)| *n)
}

/// An `--isolation` value after Mesos's checks that need no modules: the items, aliases expanded,
/// in flag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    pub items: Vec<String>,
    /// Mesos's deprecation warnings, to print.
    pub warnings: Vec<String>,
}

impl Isolation {
    /// The module names these isolators can resolve to, plus `containerizer`: what a harness
    /// must load of the suite's libraries to launch with them (see [`resolve`]; `cgroups/all`
    /// stands for every cgroups isolator, and `filesystem/posix` is wanted when no
    /// `filesystem/*` is named, as Mesos always adds one).
    pub fn wanted_modules(&self, containerizer: &str) -> HashSet<String> {
        let mut wanted: HashSet<String> = HashSet::new();
        for item in &self.items {
            if item == "cgroups/all" {
                wanted.extend(
                    CGROUPS_CONTROLLERS.iter().filter_map(|(name, _)| builtin_module(name)).map(String::from),
                );
            } else {
                wanted.insert(builtin_module(item).unwrap_or(item).to_owned());
            }
        }
        let has_filesystem =
            wanted.iter().any(|m| builtin_name(m).is_some_and(|n| n.starts_with("filesystem/")));
        if !has_filesystem {
            wanted.extend(builtin_module("filesystem/posix").map(String::from));
        }
        wanted.insert(containerizer.to_owned());
        wanted
    }
}

/// Splits and checks an `--isolation` value (see the module docs).
pub fn parse(flag: &str) -> Result<Isolation, ModulesError> {
    let tokens: Vec<&str> = flag.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    let duplicate = || ModulesError::DuplicateIsolation { flag: flag.to_string() };
    let mut seen = HashSet::new();
    if tokens.iter().any(|n| !seen.insert(*n)) {
        return Err(duplicate());
    }
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for token in tokens {
        match token {
            "cgroups" | "process" => {
                let expanded =
                    if token == "cgroups" { "cgroups/cpu,cgroups/mem" } else { "posix/cpu,posix/mem" };
                warnings.push(format!(
                    "The '{token}' isolation flag is deprecated, please update your flags to '--isolation={expanded}'."
                ));
                items.extend(expanded.split(',').map(str::to_string));
            }
            "posix/disk" => {
                warnings.push(
                    "'posix/disk' has been renamed as 'disk/du', please update your --isolation flag to use 'disk/du'"
                        .to_string(),
                );
                items.push("disk/du".to_string());
            }
            _ => items.push(token.to_string()),
        }
    }
    let mut seen = HashSet::new();
    if items.iter().any(|n| !seen.insert(n.as_str())) {
        return Err(duplicate());
    }
    if items.iter().filter(|n| n.starts_with("filesystem/")).count() > 1 {
        return Err(ModulesError::MultipleFilesystems);
    }
    Ok(Isolation { items, warnings })
}

/// The controllers the host has enabled: `/proc/cgroups` (v1 and v2) and the v2 root's
/// `cgroup.controllers` under `hierarchy`.
pub fn host_controllers(hierarchy: &Path) -> HashSet<String> {
    let mut found = HashSet::new();
    if let Ok(text) = std::fs::read_to_string("/proc/cgroups") {
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() >= 4 && fields[3] == "1" {
                found.insert(fields[0].to_string());
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(hierarchy.join("cgroup.controllers")) {
        found.extend(text.split_whitespace().map(str::to_string));
    }
    found
}

/// A name of `--isolation` whose module is not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// As the user wrote it (`cgroups/pids`, or a module name).
    pub name: String,
    /// The suite module it stands for, for a built-in name.
    pub module: Option<&'static str>,
}

/// The isolator modules of `isolation`, in creation order: the built-in ones in Mesos's order,
/// then the modules in flag order. `loaded` says whether an isolator module is loaded;
/// `controllers` are the host's enabled cgroup controllers (for `cgroups/all`).
pub fn resolve(
    isolation: &Isolation,
    loaded: impl Fn(&str) -> bool,
    controllers: &HashSet<String>,
) -> Result<Vec<String>, Missing> {
    let mut builtins: HashSet<&str> = HashSet::new();
    let mut modules: Vec<String> = Vec::new();
    for item in &isolation.items {
        if item == "cgroups/all" {
            let all: Vec<&str> = CGROUPS_CONTROLLERS
                .iter()
                .filter(|(name, controller)| {
                    controllers.contains(*controller) && builtin_module(name).is_some_and(&loaded)
                })
                .map(|(name, _)| *name)
                .collect();
            if all.is_empty() {
                return Err(Missing { name: item.clone(), module: None });
            }
            builtins.extend(all);
        } else if let Some(module) = builtin_module(item) {
            if !loaded(module) {
                return Err(Missing { name: item.clone(), module: Some(module) });
            }
            builtins.insert(builtin_name(module).unwrap_or_default());
        } else if loaded(item) {
            modules.push(item.clone());
        } else {
            return Err(Missing { name: item.clone(), module: None });
        }
    }
    let has_filesystem = isolation.items.iter().any(|n| n.starts_with("filesystem/"))
        || modules.iter().any(|m| builtin_name(m).is_some_and(|n| n.starts_with("filesystem/")));
    if !has_filesystem && builtin_module("filesystem/posix").is_some_and(&loaded) {
        builtins.insert("filesystem/posix");
    }
    let mut resolved: Vec<String> = BUILTINS
        .iter()
        .filter(|(name, _)| builtins.contains(name))
        .map(|(_, module)| module.to_string())
        .collect();
    // A module named both ways (`cgroups/cpu` and its module name) is created once, in Mesos's order.
    resolved.extend(modules.into_iter().filter(|m| builtin_name(m).is_none_or(|n| !builtins.contains(n))));
    Ok(resolved)
}

/// How an agent flag's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `--flag`, `--flag=true`, `--flag=false`.
    Bool,
    /// Anything; the modules check it.
    Value,
}

/// A Mesos agent flag of the shipped modules: its name, Mesos's default (as documentation), its
/// kind and the suite modules that take it as a parameter of the same key.
#[derive(Debug, Clone, Copy)]
pub struct AgentFlag {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: FlagKind,
    pub modules: &'static [&'static str],
    pub help: &'static str,
}

const CGROUPS_ISOLATORS: &[&str] = &[
    "org_apache_mesos_CgroupsCpuIsolator",
    "org_apache_mesos_CgroupsMemIsolator",
    "org_apache_mesos_CgroupsPidsIsolator",
    "org_apache_mesos_CgroupsDevicesIsolator",
];
const CGROUPS_MODULES: &[&str] = &[
    "org_apache_mesos_CgroupsCpuIsolator",
    "org_apache_mesos_CgroupsMemIsolator",
    "org_apache_mesos_CgroupsPidsIsolator",
    "org_apache_mesos_CgroupsDevicesIsolator",
    "org_apache_mesos_LinuxContainerizer",
];
const CONTAINERIZER: &[&str] = &["org_apache_mesos_LinuxContainerizer"];
const CAPABILITIES: &[&str] = &["org_apache_mesos_LinuxCapabilitiesIsolator"];
const SECCOMP: &[&str] = &["org_apache_mesos_LinuxSeccompIsolator"];
const DISK: &[&str] = &["org_apache_mesos_DiskDuIsolator", "org_apache_mesos_XfsDiskIsolator"];
const XFS: &[&str] = &["org_apache_mesos_XfsDiskIsolator"];
const CGROUPS_DEVICES: &[&str] = &["org_apache_mesos_CgroupsDevicesIsolator"];
const NAMESPACES_PID: &[&str] = &["org_apache_mesos_NamespacesPidIsolator"];
const NAMESPACES_IPC: &[&str] = &["org_apache_mesos_NamespacesIpcIsolator"];

/// The agent flags, Mesos's names and defaults.
pub const AGENT_FLAGS: &[AgentFlag] = &[
    AgentFlag {
        name: "cgroups_root",
        default: "mesos",
        kind: FlagKind::Value,
        modules: CGROUPS_MODULES,
        help: "The cgroup under which the containers' cgroups are made (relative)",
    },
    AgentFlag {
        name: "cgroups_hierarchy",
        default: "/sys/fs/cgroup",
        kind: FlagKind::Value,
        modules: CGROUPS_MODULES,
        help: "Where the cgroup hierarchies are mounted",
    },
    AgentFlag {
        name: "cgroups_destroy_timeout",
        default: "60secs",
        kind: FlagKind::Value,
        modules: CGROUPS_MODULES,
        help: "How long destroying a container's cgroups may take (a Mesos duration)",
    },
    AgentFlag {
        name: "cgroups_enable_cfs",
        default: "false",
        kind: FlagKind::Bool,
        modules: CGROUPS_ISOLATORS,
        help: "Enforce the cpus request as a CFS quota",
    },
    AgentFlag {
        name: "cgroups_limit_swap",
        default: "false",
        kind: FlagKind::Bool,
        modules: CGROUPS_ISOLATORS,
        help: "Limit memory plus swap (cgroup v1)",
    },
    AgentFlag {
        name: "launcher_dir",
        default: "(the modules' directory)",
        kind: FlagKind::Value,
        modules: CONTAINERIZER,
        help: "The directory of the mesos-containerizer helper",
    },
    AgentFlag {
        name: "runtime_dir",
        default: "/run/agent-harness/containerizer",
        kind: FlagKind::Value,
        modules: CONTAINERIZER,
        help: "The containerizer's runtime directory",
    },
    AgentFlag {
        name: "effective_capabilities",
        default: "(none)",
        kind: FlagKind::Value,
        modules: CAPABILITIES,
        help: "The containers' effective capabilities: JSON {\"capabilities\":[...]} or a list",
    },
    AgentFlag {
        name: "bounding_capabilities",
        default: "(none)",
        kind: FlagKind::Value,
        modules: CAPABILITIES,
        help: "The containers' bounding capabilities: JSON {\"capabilities\":[...]} or a list",
    },
    AgentFlag {
        name: "seccomp_config_dir",
        default: "(none)",
        kind: FlagKind::Value,
        modules: SECCOMP,
        help: "The directory of seccomp profiles",
    },
    AgentFlag {
        name: "seccomp_profile_name",
        default: "(none)",
        kind: FlagKind::Value,
        modules: SECCOMP,
        help: "The default seccomp profile, under --seccomp_config_dir",
    },
    // The disk isolators' flags (disk/du, disk/xfs).
    AgentFlag {
        name: "container_disk_watch_interval",
        default: "15secs",
        kind: FlagKind::Value,
        modules: DISK,
        help: "How often sandbox disk use is checked against the quota (a Mesos duration)",
    },
    AgentFlag {
        name: "enforce_container_disk_quota",
        default: "false",
        kind: FlagKind::Bool,
        modules: DISK,
        help: "Enforce the disk resource (otherwise it is only accounted)",
    },
    AgentFlag {
        name: "xfs_project_range",
        default: "[5000-10000]",
        kind: FlagKind::Value,
        modules: XFS,
        help: "The XFS project ids disk/xfs hands out (Mesos's ranges)",
    },
    AgentFlag {
        name: "xfs_kill_containers",
        default: "false",
        kind: FlagKind::Bool,
        modules: XFS,
        help: "With enforcement, kill a container over its disk quota (disk/xfs)",
    },
    AgentFlag {
        name: "xfs_quota_headroom",
        default: "10MB",
        kind: FlagKind::Value,
        modules: XFS,
        help: "The hard limit's headroom above the quota in kill mode (disk/xfs, Mesos bytes)",
    },
    // Not a flag of its own: the harness's `--work_dir`, which disk/xfs checks is XFS.
    AgentFlag {
        name: "work_dir",
        default: "/var/lib/agent-harness",
        kind: FlagKind::Value,
        modules: XFS,
        help: "The harness's --work_dir",
    },
    AgentFlag {
        name: "allowed_devices",
        default: "(none)",
        kind: FlagKind::Value,
        modules: CGROUPS_DEVICES,
        help: "Devices every container may use besides the default whitelist (DeviceWhitelist JSON)",
    },
    // namespaces/pid and namespaces/ipc.
    AgentFlag {
        name: "default_container_shm_size",
        default: "(none)",
        kind: FlagKind::Value,
        modules: NAMESPACES_IPC,
        help: "The size of a PRIVATE /dev/shm whose LinuxInfo gives no shm_size (64MB)",
    },
    AgentFlag {
        name: "disallow_sharing_agent_ipc_namespace",
        default: "false",
        kind: FlagKind::Bool,
        modules: NAMESPACES_IPC,
        help: "Refuse ipc_mode SHARE_PARENT for top-level containers",
    },
    AgentFlag {
        name: "disallow_sharing_agent_pid_namespace",
        default: "false",
        kind: FlagKind::Bool,
        modules: NAMESPACES_PID,
        help: "Refuse share_pid_namespace for top-level containers",
    },
];

/// The agent flags given (on the command line or as `MESOS_<FLAG>`), as module parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentParams {
    /// Flag name → value, for the flags given.
    pub values: BTreeMap<String, String>,
}

impl AgentParams {
    /// The flags' values: `given` (the command line) first, else the `MESOS_<FLAG>` variable of
    /// `env`, as Mesos reads its flags. A bool flag's value must be `true` or `false`.
    pub fn collect(
        given: &BTreeMap<&'static str, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AgentParams, String> {
        let mut values = BTreeMap::new();
        for flag in AGENT_FLAGS.iter().filter(|flag| flag.name != "work_dir") {
            let variable = format!("MESOS_{}", flag.name.to_ascii_uppercase());
            let (value, origin) = match given.get(flag.name) {
                Some(value) => (value.clone(), format!("--{}", flag.name)),
                None => match env(&variable) {
                    Some(value) => (value, variable),
                    None => continue,
                },
            };
            if flag.kind == FlagKind::Bool && !matches!(value.as_str(), "true" | "false") {
                return Err(format!("Invalid value '{value}' for {origin}: expected 'true' or 'false'"));
            }
            values.insert(flag.name.to_string(), value);
        }
        Ok(AgentParams { values })
    }

    /// The parameters `module` takes from the flags, in the table's order.
    pub fn for_module(&self, module: &str) -> Vec<(String, String)> {
        AGENT_FLAGS
            .iter()
            .filter(|flag| flag.modules.contains(&module))
            .filter_map(|flag| self.values.get(flag.name).map(|v| (flag.name.to_string(), v.clone())))
            .collect()
    }

    /// Sets the `work_dir` parameter (made absolute) to the harness's `--work_dir`: it is the
    /// harness's own flag, not an agent flag given by the user, so it always wins.
    pub fn set_work_dir(&mut self, work_dir: &Path) {
        let absolute = std::path::absolute(work_dir).unwrap_or_else(|_| work_dir.to_path_buf());
        self.values.insert("work_dir".to_string(), absolute.display().to_string());
    }

    /// The `cgroups_hierarchy` in effect (for `cgroups/all`).
    pub fn hierarchy(&self) -> &Path {
        Path::new(self.values.get("cgroups_hierarchy").map_or("/sys/fs/cgroup", String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(flag: &str) -> Vec<String> {
        parse(flag).unwrap().items
    }

    fn wanted(flag: &str) -> Vec<String> {
        let mut names: Vec<String> =
            parse(flag).unwrap().wanted_modules("org_apache_mesos_LinuxContainerizer").into_iter().collect();
        names.sort();
        names
    }

    #[test]
    fn a_launch_wants_the_named_modules_the_containerizer_and_a_filesystem_isolator() {
        assert_eq!(
            wanted("cgroups/cpu,namespaces/pid,my_module"),
            [
                "my_module",
                "org_apache_mesos_CgroupsCpuIsolator",
                "org_apache_mesos_LinuxContainerizer",
                "org_apache_mesos_NamespacesPidIsolator",
                "org_apache_mesos_PosixFilesystemIsolator",
            ]
        );
        // A filesystem isolator named either way replaces filesystem/posix.
        assert!(!wanted("filesystem/linux").contains(&"org_apache_mesos_PosixFilesystemIsolator".to_owned()));
        assert!(
            !wanted("org_apache_mesos_LinuxFilesystemIsolator")
                .contains(&"org_apache_mesos_PosixFilesystemIsolator".to_owned())
        );
        // cgroups/all may resolve to any cgroups isolator.
        let all = wanted("cgroups/all");
        for name in ["cgroups/cpu", "cgroups/mem", "cgroups/pids", "cgroups/devices"] {
            assert!(all.contains(&builtin_module(name).unwrap().to_owned()), "{name}");
        }
    }

    #[test]
    fn items_are_split_and_duplicates_refused_in_mesos_words() {
        assert_eq!(items("a, b,,c"), ["a", "b", "c"]);
        assert!(items("").is_empty());
        for flag in ["a,b,a", "cgroups/cpu,cgroups/cpu", "cgroups,cgroups/cpu", "posix/disk,disk/du"] {
            assert_eq!(
                parse(flag).unwrap_err().to_string(),
                format!("Duplicate entries found in --isolation flag '{flag}'")
            );
        }
    }

    #[test]
    fn deprecated_aliases_warn_and_expand() {
        let parsed = parse("cgroups,namespaces/pid").unwrap();
        assert_eq!(parsed.items, ["cgroups/cpu", "cgroups/mem", "namespaces/pid"]);
        assert_eq!(
            parsed.warnings,
            [
                "The 'cgroups' isolation flag is deprecated, please update your flags to '--isolation=cgroups/cpu,cgroups/mem'."
            ]
        );
        let parsed = parse("process").unwrap();
        assert_eq!(parsed.items, ["posix/cpu", "posix/mem"]);
        assert!(parsed.warnings[0].starts_with("The 'process' isolation flag is deprecated"));
        let parsed = parse("posix/disk").unwrap();
        assert_eq!(parsed.items, ["disk/du"]);
        assert_eq!(
            parsed.warnings,
            [
                "'posix/disk' has been renamed as 'disk/du', please update your --isolation flag to use 'disk/du'"
            ]
        );
    }

    #[test]
    fn one_filesystem_isolator_at_most() {
        assert_eq!(
            parse("filesystem/posix,filesystem/linux").unwrap_err().to_string(),
            "Using multiple filesystem isolators simultaneously is disallowed"
        );
        assert_eq!(items("filesystem/linux"), ["filesystem/linux"]);
    }

    fn all_loaded(_: &str) -> bool {
        true
    }

    fn controllers(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn builtins_come_in_mesos_order_then_modules_in_flag_order() {
        let parsed =
            parse("my_module_b,namespaces/pid,filesystem/linux,cgroups/mem,my_module_a,cgroups/cpu").unwrap();
        let resolved = resolve(&parsed, all_loaded, &HashSet::new()).unwrap();
        assert_eq!(
            resolved,
            [
                "org_apache_mesos_LinuxFilesystemIsolator",
                "org_apache_mesos_CgroupsCpuIsolator",
                "org_apache_mesos_CgroupsMemIsolator",
                "org_apache_mesos_NamespacesPidIsolator",
                "my_module_b",
                "my_module_a",
            ]
        );
    }

    #[test]
    fn filesystem_posix_is_added_only_when_loaded() {
        let parsed = parse("cgroups/cpu").unwrap();
        let resolved = resolve(&parsed, all_loaded, &HashSet::new()).unwrap();
        assert_eq!(
            resolved,
            ["org_apache_mesos_PosixFilesystemIsolator", "org_apache_mesos_CgroupsCpuIsolator"]
        );
        let without_fs = |m: &str| m != "org_apache_mesos_PosixFilesystemIsolator";
        assert_eq!(
            resolve(&parsed, without_fs, &HashSet::new()).unwrap(),
            ["org_apache_mesos_CgroupsCpuIsolator"]
        );
    }

    #[test]
    fn module_names_still_work_and_a_module_named_twice_is_created_once() {
        let only_suite = |m: &str| {
            m.starts_with("org_apache_mesos_Cgroups") || m.starts_with("org_apache_mesos_Namespaces")
        };
        let parsed =
            parse("org_apache_mesos_NamespacesUtsIsolator,cgroups/cpu,org_apache_mesos_CgroupsCpuIsolator")
                .unwrap();
        assert_eq!(
            resolve(&parsed, only_suite, &HashSet::new()).unwrap(),
            ["org_apache_mesos_CgroupsCpuIsolator", "org_apache_mesos_NamespacesUtsIsolator"]
        );
    }

    #[test]
    fn unknown_names_and_missing_modules_are_named() {
        let loaded = |m: &str| m == "org_apache_mesos_CgroupsCpuIsolator";
        let missing =
            resolve(&parse("cgroups/cpu,cgroups/pids").unwrap(), loaded, &HashSet::new()).unwrap_err();
        assert_eq!(
            missing,
            Missing { name: "cgroups/pids".into(), module: Some("org_apache_mesos_CgroupsPidsIsolator") }
        );
        let missing = resolve(&parse("network/cni").unwrap(), loaded, &HashSet::new()).unwrap_err();
        assert_eq!(missing, Missing { name: "network/cni".into(), module: None });
    }

    #[test]
    fn cgroups_all_is_every_enabled_and_loaded_controller() {
        let loaded = |m: &str| m != "org_apache_mesos_CgroupsDevicesIsolator";
        let parsed = parse("cgroups/all,cgroups/cpu").unwrap();
        let resolved =
            resolve(&parsed, loaded, &controllers(&["cpu", "memory", "devices", "blkio"])).unwrap();
        assert_eq!(
            resolved,
            [
                "org_apache_mesos_PosixFilesystemIsolator",
                "org_apache_mesos_CgroupsCpuIsolator",
                "org_apache_mesos_CgroupsMemIsolator",
            ]
        );
        let missing = resolve(&parse("cgroups/all").unwrap(), loaded, &controllers(&["blkio"])).unwrap_err();
        assert_eq!(missing.name, "cgroups/all");
    }

    #[test]
    fn every_builtin_name_is_mesos_and_maps_to_one_module() {
        let names: HashSet<&str> = BUILTINS.iter().map(|(n, _)| *n).collect();
        let modules: HashSet<&str> = BUILTINS.iter().map(|(_, m)| *m).collect();
        assert_eq!(names.len(), BUILTINS.len());
        assert_eq!(modules.len(), BUILTINS.len());
        assert_eq!(builtin_module("namespaces/ipc"), Some("org_apache_mesos_NamespacesIpcIsolator"));
        assert_eq!(builtin_name("org_apache_mesos_CgroupsMemIsolator"), Some("cgroups/mem"));
        // The default is Mesos names only, all of today's suite.
        for name in DEFAULT_ISOLATION.split(',') {
            assert!(names.contains(name), "{name}");
        }
    }

    #[test]
    fn flags_come_from_the_command_line_then_the_environment() {
        let given: BTreeMap<&'static str, String> = [("cgroups_root", "cli".to_string())].into();
        let env = |name: &str| match name {
            "MESOS_CGROUPS_ROOT" => Some("env".to_string()),
            "MESOS_CGROUPS_ENABLE_CFS" => Some("true".to_string()),
            _ => None,
        };
        let params = AgentParams::collect(&given, env).unwrap();
        assert_eq!(params.values["cgroups_root"], "cli");
        assert_eq!(params.values["cgroups_enable_cfs"], "true");
        assert_eq!(params.values.len(), 2);
        assert_eq!(
            params.for_module("org_apache_mesos_CgroupsCpuIsolator"),
            [("cgroups_root".to_string(), "cli".to_string()), ("cgroups_enable_cfs".into(), "true".into())]
        );
        // The containerizer takes the cgroups root, not the isolators' own flags.
        assert_eq!(
            params.for_module("org_apache_mesos_LinuxContainerizer"),
            [("cgroups_root".into(), "cli".into())]
        );
        assert!(params.for_module("org_apache_mesos_NamespacesPidIsolator").is_empty());
        let env = |name: &str| (name == "MESOS_CGROUPS_LIMIT_SWAP").then(|| "yes".to_string());
        assert_eq!(
            AgentParams::collect(&BTreeMap::new(), env).unwrap_err(),
            "Invalid value 'yes' for MESOS_CGROUPS_LIMIT_SWAP: expected 'true' or 'false'"
        );
    }

    #[test]
    fn disk_flags_reach_the_disk_modules_and_work_dir_only_disk_xfs() {
        let given: BTreeMap<&'static str, String> = [
            ("enforce_container_disk_quota", "true".to_string()),
            ("xfs_project_range", "[1-2]".to_string()),
        ]
        .into();
        // MESOS_WORK_DIR is not read: the work dir is the harness's own --work_dir.
        let env = |name: &str| (name == "MESOS_WORK_DIR").then(|| "/elsewhere".to_string());
        let mut params = AgentParams::collect(&given, env).unwrap();
        assert!(!params.values.contains_key("work_dir"));
        params.set_work_dir(Path::new("/srv/work"));
        assert_eq!(
            params.for_module("org_apache_mesos_DiskDuIsolator"),
            [("enforce_container_disk_quota".to_string(), "true".to_string())]
        );
        assert_eq!(
            params.for_module("org_apache_mesos_XfsDiskIsolator"),
            [
                ("enforce_container_disk_quota".to_string(), "true".to_string()),
                ("xfs_project_range".into(), "[1-2]".into()),
                ("work_dir".into(), "/srv/work".into()),
            ]
        );
        assert!(params.for_module("org_apache_mesos_CgroupsCpuIsolator").is_empty());
    }
}
