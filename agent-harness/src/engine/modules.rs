//! The modules a container runs with: the isolators named by `--isolation`, in order, and one
//! containerizer, created from the registry with Mesos's checks and messages.
//!
//! The suite's own modules (cgroups, namespaces, the Linux containerizer) play the part of Mesos's
//! built-in isolators. They are always loaded, unless a user's manifest loads a module of the same
//! name (then the user's entry wins), from the first of ([`suite_modules`]):
//! 1. the suite's library ([`SUITE_LIBRARY`]) next to the harness binary (a `cargo build`), with
//!    the modules' default parameters;
//! 2. the installed manifest [`INSTALLED_MANIFEST`] (the Debian package's conffile), as the
//!    administrator edited it: a module taken out there is not loaded, its parameters apply;
//! 3. the suite's library in [`INSTALLED_MODULES_DIR`], with the modules' default parameters (an
//!    installed harness whose manifest was deleted).
//!
//! A set that cannot be loaded or created fails with a [`ModulesError`], in Mesos's words.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use module_abi::Kind;
use thiserror::Error;

use crate::engine::checkpoint::ModuleSet;
use crate::engine::isolation::{self, AgentParams, Isolation};
use crate::instance::CreateError;
use crate::manifest::{LibraryEntry, Manifest, ManifestSource, ModuleEntry, ParseError, SourcedManifest};
use crate::module_manager::{LoadError, ModuleManager};
use crate::trust::PathPolicy;
use crate::{AnonymousHandle, ContainerizerHandle, IsolatorHandle};

/// Why the modules of a container set cannot be loaded or created.
#[derive(Debug, Error)]
pub enum ModulesError {
    #[error("Duplicate entries found in --isolation flag '{flag}'")]
    DuplicateIsolation { flag: String },
    #[error("Using multiple filesystem isolators simultaneously is disallowed")]
    MultipleFilesystems,
    #[error("Error loading modules: {0}")]
    Load(#[source] LoadError),
    /// `role` is `isolator` or `containerizer`; `hint` says where the suite's libraries were
    /// sought when the module is one of the suite's.
    #[error("Unknown or unsupported {role} '{name}'{hint}")]
    Unknown { role: &'static str, name: String, hint: String },
    /// `role` is `isolator`, `containerizer` or `anonymous module named`, as Mesos words it.
    #[error("Failed to create {role} '{name}': {source}")]
    Create { role: &'static str, name: String, source: CreateError },
    #[error("corrupt module set in a checkpoint: {0}")]
    CorruptSet(#[source] ParseError),
    #[error("Error loading modules: {0}")]
    Untrusted(#[source] crate::trust::TrustError),
    #[error("Error loading modules: {0}")]
    Manifest(#[source] crate::manifest::ManifestError),
}

/// `--isolation` when none is given (Mesos's names, [`super::isolation`]).
pub use super::isolation::DEFAULT_ISOLATION;

/// `--containerizer` when none is given.
pub const DEFAULT_CONTAINERIZER: &str = "org_apache_mesos_LinuxContainerizer";

/// Debian's multiarch triplet of this build (`x86_64-linux-gnu`), from build.rs.
pub const MULTIARCH: &str = env!("AGENT_HARNESS_MULTIARCH");

/// Where the Debian packages install the suite's module libraries, and the containerizer's helper
/// `mesos-containerizer` beside them (where the containerizer looks by default): a multiarch
/// library folder of the suite's own.
pub const INSTALLED_MODULES_DIR: &str =
    concat!("/usr/lib/", env!("AGENT_HARNESS_MULTIARCH"), "/agent-harness/modules");

/// The installed default manifest (a conffile of the Debian package): names every module of
/// [`SUITE`] in [`SUITE_LIBRARY`] in [`INSTALLED_MODULES_DIR`], by absolute path. An installed harness loads it in place
/// of the built-in list, so an administrator's edits there take effect.
pub const INSTALLED_MANIFEST: &str = "/etc/agent-harness/modules.json";

/// The one library that holds every module of [`SUITE`] (the `suite` crate links each family into
/// it): what the built-in list and the installed manifest load, so a harness maps one library and
/// one copy of std however many of the suite's modules it uses.
pub const SUITE_LIBRARY: &str = "isolation_suite";

/// The suite's module families (each its own crate and its own library, `lib<family>.so`) and their
/// modules: every module here is also in [`SUITE_LIBRARY`], which the built-in list loads. The
/// Debian package installs [`SUITE_LIBRARY`] and each family's file name as a link to it, and
/// `packaging/` generates [`INSTALLED_MANIFEST`] from this list. Adding a family to the suite is one
/// line here and one dependency of the `suite` crate.
pub const SUITE: &[(&str, &[&str])] = &[
    (
        "cgroups_isolator",
        &[
            "org_apache_mesos_CgroupsCpuIsolator",
            "org_apache_mesos_CgroupsMemIsolator",
            "org_apache_mesos_CgroupsPidsIsolator",
            "org_apache_mesos_CgroupsDevicesIsolator",
        ],
    ),
    ("posix_isolator", &["org_apache_mesos_PosixCpuIsolator", "org_apache_mesos_PosixMemIsolator"]),
    (
        "namespaces_isolator",
        &[
            "org_apache_mesos_NamespacesPidIsolator",
            "org_apache_mesos_NamespacesIpcIsolator",
            "org_apache_mesos_NamespacesUtsIsolator",
            "org_apache_mesos_NamespacesNetIsolator",
        ],
    ),
    (
        "filesystem_isolator",
        &["org_apache_mesos_LinuxFilesystemIsolator", "org_apache_mesos_PosixFilesystemIsolator"],
    ),
    ("linux_containerizer", &["org_apache_mesos_LinuxContainerizer"]),
    (
        "linux_isolators",
        &[
            "org_apache_mesos_LinuxCapabilitiesIsolator",
            "org_apache_mesos_LinuxNnpIsolator",
            "org_apache_mesos_PosixRLimitsIsolator",
            "org_apache_mesos_LinuxSeccompIsolator",
        ],
    ),
    ("disk_isolator", &["org_apache_mesos_DiskDuIsolator", "org_apache_mesos_XfsDiskIsolator"]),
];

/// The directory holding the suite's libraries: next to this binary, else the installed location.
pub fn suite_dir() -> Option<PathBuf> {
    build_dir().or_else(|| Some(PathBuf::from(INSTALLED_MODULES_DIR)).filter(|dir| has_suite(dir)))
}

/// The binary's own directory when the suite's libraries are there (a `cargo build`).
fn build_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.parent().map(Path::to_path_buf).filter(|dir| has_suite(dir))
}

fn has_suite(dir: &Path) -> bool {
    dir.join(suite_library_file()).exists()
}

/// The file name of [`SUITE_LIBRARY`].
pub fn suite_library_file() -> String {
    format!("lib{SUITE_LIBRARY}.so")
}

/// Every module of [`SUITE`], in the list's order.
pub fn suite_module_names() -> impl Iterator<Item = &'static str> {
    SUITE.iter().flat_map(|(_, modules)| modules.iter().copied())
}

/// Where the suite's own modules come from (see the module docs for the order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteSource {
    /// A directory of the suite's libraries, loaded with the built-in list.
    Libraries(PathBuf),
    /// The installed manifest, loaded as it is.
    Manifest(PathBuf),
}

/// This harness's [`SuiteSource`], if it has one.
pub fn suite_source() -> Option<SuiteSource> {
    if let Some(dir) = build_dir() {
        return Some(SuiteSource::Libraries(dir));
    }
    // A dangling symlink counts: its error beats silently loading other modules.
    if std::fs::symlink_metadata(INSTALLED_MANIFEST).is_ok() {
        return Some(SuiteSource::Manifest(PathBuf::from(INSTALLED_MANIFEST)));
    }
    suite_dir().map(SuiteSource::Libraries)
}

/// The suite's modules this harness loads, leaving out modules named in `skip`, with the agent
/// flags' parameters (`params`); the installed manifest must pass `policy`.
pub fn suite_modules(
    skip: &HashSet<String>,
    policy: PathPolicy,
    params: &AgentParams,
) -> Result<Option<SourcedManifest>, ModulesError> {
    match suite_source() {
        None => Ok(None),
        Some(SuiteSource::Libraries(dir)) => Ok(Some(with_agent_params(suite_manifest(&dir, skip), params))),
        Some(SuiteSource::Manifest(path)) => {
            policy.check(&path, "module manifest").map_err(ModulesError::Untrusted)?;
            let sourced = crate::manifest::from_flag_value(&format!("file://{}", path.display()), |_| {})
                .map_err(ModulesError::Manifest)?;
            Ok(Some(with_agent_params(without(sourced, skip), params)))
        }
    }
}

/// `sourced` with the agent flags' parameters on every module that takes them; a flag replaces a
/// parameter of the same key (the installed manifest's, say).
pub fn with_agent_params(mut sourced: SourcedManifest, params: &AgentParams) -> SourcedManifest {
    for library in &mut sourced.manifest.libraries {
        for module in &mut library.modules {
            let Some(name) = module.name.clone() else { continue };
            for (key, value) in params.for_module(&name) {
                module.parameters.retain(|p| p.key != key);
                module.parameters.push(module_abi::Parameter { key, value });
            }
        }
    }
    sourced
}

/// `sourced` without the modules named in `skip`, and without libraries left with no module.
fn without(mut sourced: SourcedManifest, skip: &HashSet<String>) -> SourcedManifest {
    for library in &mut sourced.manifest.libraries {
        library.modules.retain(|m| !m.name.as_ref().is_some_and(|n| skip.contains(n)));
    }
    sourced.manifest.libraries.retain(|library| !library.modules.is_empty());
    sourced
}

/// The suite's manifest for [`SUITE_LIBRARY`] in `dir`, leaving out modules named in `skip`.
pub fn suite_manifest(dir: &Path, skip: &HashSet<String>) -> SourcedManifest {
    let library = LibraryEntry {
        file: Some(dir.join(suite_library_file()).display().to_string()),
        name: None,
        modules: suite_module_names()
            .filter(|m| !skip.contains(*m))
            .map(|m| ModuleEntry { name: Some(m.to_string()), parameters: Vec::new() })
            .collect(),
    };
    let libraries = if library.modules.is_empty() { Vec::new() } else { vec![library] };
    SourcedManifest {
        source: ManifestSource::File(dir.join("(the suite's built-in modules)")),
        manifest: Manifest { libraries },
    }
}

/// Loads the user's manifests, then the suite's modules they do not replace (with the agent
/// flags' `params`), checking library paths under `policy`. With `wanted`, only those of the
/// suite's modules are loaded ([`Isolation::wanted_modules`]), and only the libraries holding them.
pub fn load_with_suite(
    user: &[SourcedManifest],
    policy: PathPolicy,
    params: &AgentParams,
    wanted: Option<&HashSet<String>>,
) -> Result<ModuleManager, ModulesError> {
    let mut manager = ModuleManager::with_policy(policy);
    manager.load_all(user).map_err(ModulesError::Load)?;
    for (flag, module) in flags_not_applied(&manager, params) {
        tracing::warn!(
            "the agent flag --{flag} is not applied to {module}: it comes from a --modules manifest, \
             whose parameters it keeps (set '{flag}' there)"
        );
    }
    let loaded: HashSet<String> = manager.modules().iter().map(|m| m.name.clone()).collect();
    match suite_modules(&loaded, policy, params)? {
        Some(mut suite) => {
            // Each library costs a dlopen and its relocations, each module its checks: a launch
            // loads only the modules it can use, and the libraries holding them.
            if let Some(wanted) = wanted {
                for library in &mut suite.manifest.libraries {
                    library.modules.retain(|m| m.name.as_ref().is_some_and(|n| wanted.contains(n)));
                }
                suite.manifest.libraries.retain(|library| !library.modules.is_empty());
            }
            tracing::debug!(source = %suite.source, "loading the suite's modules");
            manager.load(&suite).map_err(ModulesError::Load)?;
        }
        None => tracing::debug!(
            installed = INSTALLED_MODULES_DIR,
            "the suite's module libraries are neither next to the binary nor installed"
        ),
    }
    Ok(manager)
}

/// The agent flags given that a module of the user's manifests (all `manager` holds before the
/// suite's) would take as a suite module, but whose value it does not have: a flag applies to the
/// suite's modules only, and a user's module keeps its manifest's parameters. `(flag, module)`.
fn flags_not_applied(manager: &ModuleManager, params: &AgentParams) -> Vec<(String, String)> {
    let mut ignored = Vec::new();
    for module in manager.modules() {
        for (key, value) in params.for_module(&module.name) {
            // `work_dir` is the harness's own flag, set for every module that takes it.
            let has = module.parameters.iter().any(|p| p.key == key && p.value == value);
            if key != "work_dir" && !has {
                ignored.push((key, module.name.clone()));
            }
        }
    }
    ignored
}

/// The registry as a manifest with every library resolved to its file, for checkpoints.
pub fn resolved_manifest(manager: &ModuleManager) -> Manifest {
    let mut libraries: Vec<LibraryEntry> = Vec::new();
    for module in manager.modules() {
        let file = module.path.display().to_string();
        let entry = ModuleEntry { name: Some(module.name.clone()), parameters: module.parameters.clone() };
        match libraries.iter_mut().find(|l| l.file.as_deref() == Some(file.as_str())) {
            Some(library) => library.modules.push(entry),
            None => libraries.push(LibraryEntry { file: Some(file), name: None, modules: vec![entry] }),
        }
    }
    Manifest { libraries }
}

/// The isolator modules of a parsed `--isolation` (Mesos's names resolved, in Mesos's creation
/// order, [`isolation::resolve`]), given what `manager` loaded; an unknown name is Mesos's error.
pub fn resolve_isolation(
    manager: &ModuleManager,
    parsed: &Isolation,
    params: &AgentParams,
) -> Result<Vec<String>, ModulesError> {
    let controllers = if parsed.items.iter().any(|n| n == "cgroups/all") {
        isolation::host_controllers(params.hierarchy())
    } else {
        HashSet::new()
    };
    isolation::resolve(parsed, |name| manager.contains(name, Kind::Isolator), &controllers).map_err(|missing| {
        let hint = match missing.module {
            Some(module) => format!(" (its module {module} is not loaded{})", suite_hint(module)),
            None if missing.name == "cgroups/all" => {
                " (no cgroups controller of the suite's cgroups/* isolators is both enabled on this host and loaded)"
                    .to_string()
            }
            None => suite_hint(&missing.name),
        };
        ModulesError::Unknown { role: "isolator", name: missing.name, hint }
    })
}

/// Where the suite's modules were sought, when `name` is one of the suite's modules and missing.
fn suite_hint(name: &str) -> String {
    match suite_source() {
        None if SUITE.iter().any(|(_, modules)| modules.contains(&name))
            || isolation::builtin_name(name).is_some() =>
        {
            format!(
                " (the suite's module libraries are neither next to the agent-harness binary nor in {INSTALLED_MODULES_DIR})"
            )
        }
        Some(SuiteSource::Manifest(path)) => format!(" (not in '{}')", path.display()),
        _ => String::new(),
    }
}

/// The instances a container runs with.
#[derive(Debug)]
pub struct ModuleInstances {
    pub set: ModuleSet,
    pub isolators: Vec<IsolatorHandle>,
    pub containerizer: ContainerizerHandle,
    /// Anonymous modules live as long as the instances (Mesos creates them at start-up).
    pub anonymous: Vec<AnonymousHandle>,
}

impl ModuleInstances {
    /// Creates every module of `set` from `manager`, checking names first so nothing is created
    /// when one is wrong.
    pub fn create(manager: &ModuleManager, set: ModuleSet) -> Result<ModuleInstances, ModulesError> {
        // A suite module that is missing because the suite's libraries are: say where they were sought.
        let hint = suite_hint;
        let unknown =
            |role, name: &str| ModulesError::Unknown { role, name: name.to_string(), hint: hint(name) };
        for name in &set.isolation {
            if !manager.contains(name, Kind::Isolator) {
                return Err(unknown("isolator", name));
            }
        }
        if !manager.contains(&set.containerizer, Kind::Containerizer) {
            return Err(unknown("containerizer", &set.containerizer));
        }
        let failed = |role, name: &str| {
            let name = name.to_string();
            move |source| ModulesError::Create { role, name, source }
        };
        let anonymous = manager
            .find(Kind::Anonymous)
            .iter()
            .map(|name| {
                manager.create::<AnonymousHandle>(name, None).map_err(failed("anonymous module named", name))
            })
            .collect::<Result<_, _>>()?;
        let isolators = set
            .isolation
            .iter()
            .map(|name| manager.create::<IsolatorHandle>(name, None).map_err(failed("isolator", name)))
            .collect::<Result<_, _>>()?;
        let containerizer = manager
            .create::<ContainerizerHandle>(&set.containerizer, None)
            .map_err(failed("containerizer", &set.containerizer))?;
        tracing::debug!(
            isolation = ?set.isolation,
            containerizer = %set.containerizer,
            anonymous = manager.find(Kind::Anonymous).len(),
            "created the container modules"
        );
        Ok(ModuleInstances { set, isolators, containerizer, anonymous })
    }

    /// Loads the manifest a checkpoint recorded and creates its modules again.
    pub fn recreate(set: &ModuleSet) -> Result<ModuleInstances, ModulesError> {
        let manifest = crate::manifest::parse(&set.manifest).map_err(ModulesError::CorruptSet)?;
        let mut manager = ModuleManager::with_policy(set.policy());
        manager
            .load(&SourcedManifest { source: ManifestSource::Inline, manifest })
            .map_err(ModulesError::Load)?;
        ModuleInstances::create(&manager, set.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_params_go_to_the_modules_that_take_them_and_replace_the_same_key() {
        let manifest = crate::manifest::parse(
            r#"{"libraries": [
                {"file": "/x/libc.so", "modules": [
                    {"name": "org_apache_mesos_CgroupsCpuIsolator", "parameters": [{"key": "cgroups_root", "value": "old"}]},
                    {"name": "org_apache_mesos_NamespacesPidIsolator"}
                ]}
            ]}"#,
        )
        .unwrap();
        let sourced = SourcedManifest { source: ManifestSource::Inline, manifest };
        let params = AgentParams { values: [("cgroups_root".to_string(), "new".to_string())].into() };
        let m = with_agent_params(sourced, &params).manifest;
        let cpu = &m.libraries[0].modules[0].parameters;
        assert_eq!(cpu.len(), 1);
        assert_eq!((cpu[0].key.as_str(), cpu[0].value.as_str()), ("cgroups_root", "new"));
        assert!(m.libraries[0].modules[1].parameters.is_empty());
    }

    #[test]
    fn the_installed_manifest_loses_only_the_replaced_modules() {
        let manifest = crate::manifest::parse(
            r#"{"libraries": [
                {"file": "/x/liba.so", "modules": [{"name": "A1"}, {"name": "A2", "parameters": [{"key": "k", "value": "v"}]}]},
                {"name": "b", "modules": [{"name": "B"}]}
            ]}"#,
        )
        .unwrap();
        let sourced = SourcedManifest { source: ManifestSource::File(INSTALLED_MANIFEST.into()), manifest };
        let skip: HashSet<String> = ["A1".to_string(), "B".to_string()].into();
        let left = without(sourced, &skip).manifest;
        assert_eq!(left.libraries.len(), 1);
        assert_eq!(left.libraries[0].modules.len(), 1);
        assert_eq!(left.libraries[0].modules[0].name.as_deref(), Some("A2"));
        assert_eq!(left.libraries[0].modules[0].parameters[0].value, "v");
    }

    #[test]
    fn the_installed_modules_dir_is_multiarch() {
        assert_eq!(INSTALLED_MODULES_DIR, format!("/usr/lib/{MULTIARCH}/agent-harness/modules"));
        if cfg!(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")) {
            assert_eq!(MULTIARCH, "x86_64-linux-gnu");
        }
    }

    #[test]
    fn the_suite_manifest_names_every_module_of_the_one_library_but_the_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let skip: HashSet<String> = ["org_apache_mesos_CgroupsMemIsolator".to_string()].into();
        let m = suite_manifest(dir.path(), &skip).manifest;
        assert_eq!(m.libraries.len(), 1);
        let file = dir.path().join("libisolation_suite.so").display().to_string();
        assert_eq!(m.libraries[0].file.as_deref(), Some(file.as_str()));
        let names: Vec<_> = m.libraries[0].modules.iter().map(|m| m.name.clone().unwrap()).collect();
        assert_eq!(names.len(), suite_module_names().count() - 1);
        assert!(names.starts_with(&[
            "org_apache_mesos_CgroupsCpuIsolator".to_string(),
            "org_apache_mesos_CgroupsPidsIsolator".to_string(),
        ]));
        assert!(names.contains(&"org_apache_mesos_LinuxContainerizer".to_string()));
        assert!(!names.contains(&"org_apache_mesos_CgroupsMemIsolator".to_string()));

        let everything: HashSet<String> = suite_module_names().map(String::from).collect();
        assert_eq!(everything.len(), suite_module_names().count(), "a module is in two families");
        assert!(suite_manifest(dir.path(), &everything).manifest.libraries.is_empty());
    }
}
