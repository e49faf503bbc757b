//! The modules a container runs with: the isolators named by `--isolation`, in order, and one
//! containerizer, created from the registry with Mesos's checks and messages.
//!
//! The suite's own modules (cgroups, namespaces, the Linux containerizer) play the part of Mesos's
//! built-in isolators: they are loaded whenever their libraries are found next to the harness
//! binary (a build) or in the installed location, with their default parameters, unless a user's
//! manifest loads a module of the same name (then the user's entry wins).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use module_abi::Kind;

use crate::engine::checkpoint::ModuleSet;
use crate::manifest::{LibraryEntry, Manifest, ManifestSource, ModuleEntry, SourcedManifest};
use crate::module_manager::ModuleManager;
use crate::trust::PathPolicy;
use crate::{AnonymousHandle, ContainerizerHandle, IsolatorHandle};

/// `--isolation` when none is given.
pub const DEFAULT_ISOLATION: &str = "org_apache_mesos_CgroupsCpuIsolator,org_apache_mesos_CgroupsMemIsolator,org_apache_mesos_NamespacesPidIsolator";

/// `--containerizer` when none is given.
pub const DEFAULT_CONTAINERIZER: &str = "org_apache_mesos_LinuxContainerizer";

/// Where an installed suite keeps its module libraries.
pub const INSTALLED_MODULES_DIR: &str = "/usr/lib/agent-harness/modules";

/// The suite's libraries and their modules.
const SUITE: &[(&str, &[&str])] = &[
    ("cgroups_isolator", &["org_apache_mesos_CgroupsCpuIsolator", "org_apache_mesos_CgroupsMemIsolator"]),
    (
        "namespaces_isolator",
        &[
            "org_apache_mesos_NamespacesPidIsolator",
            "org_apache_mesos_NamespacesIpcIsolator",
            "org_apache_mesos_NamespacesUtsIsolator",
            "org_apache_mesos_NamespacesNetIsolator",
        ],
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
];

/// The directory holding the suite's libraries: next to this binary, else the installed location.
pub fn suite_dir() -> Option<PathBuf> {
    let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    beside_binary
        .into_iter()
        .chain(std::iter::once(PathBuf::from(INSTALLED_MODULES_DIR)))
        .find(|dir| dir.join("liblinux_containerizer.so").exists())
}

/// The suite's manifest for the libraries in `dir`, leaving out modules named in `skip`.
pub fn suite_manifest(dir: &Path, skip: &HashSet<String>) -> SourcedManifest {
    let libraries = SUITE
        .iter()
        .filter(|(library, _)| dir.join(format!("lib{library}.so")).exists())
        .map(|(library, modules)| LibraryEntry {
            file: Some(dir.join(format!("lib{library}.so")).display().to_string()),
            name: None,
            modules: modules
                .iter()
                .filter(|m| !skip.contains(**m))
                .map(|m| ModuleEntry { name: Some(m.to_string()), parameters: Vec::new() })
                .collect(),
        })
        .filter(|library| !library.modules.is_empty())
        .collect();
    SourcedManifest {
        source: ManifestSource::File(dir.join("(the suite's built-in modules)")),
        manifest: Manifest { libraries },
    }
}

/// Loads the user's manifests, then the suite's modules they do not replace, checking library
/// paths under `policy`.
pub fn load_with_suite(user: &[SourcedManifest], policy: PathPolicy) -> Result<ModuleManager, String> {
    let mut manager = ModuleManager::with_policy(policy);
    manager.load_all(user).map_err(|e| format!("Error loading modules: {e}"))?;
    if let Some(dir) = suite_dir() {
        let loaded: HashSet<String> = manager.modules().iter().map(|m| m.name.clone()).collect();
        manager.load(&suite_manifest(&dir, &loaded)).map_err(|e| format!("Error loading modules: {e}"))?;
    }
    Ok(manager)
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

/// Splits an `--isolation` value; duplicates are Mesos's error.
pub fn parse_isolation(flag: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> =
        flag.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
    let mut seen = HashSet::new();
    if names.iter().any(|n| !seen.insert(n)) {
        return Err(format!("Duplicate entries found in --isolation flag '{flag}'"));
    }
    Ok(names)
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
    pub fn create(manager: &ModuleManager, set: ModuleSet) -> Result<ModuleInstances, String> {
        // A suite module that is missing because the suite's libraries are: say where they were sought.
        let hint = |name: &str| match suite_dir() {
            None if SUITE.iter().any(|(_, modules)| modules.contains(&name)) => format!(
                " (the suite's module libraries are neither next to the agent-harness binary nor in {INSTALLED_MODULES_DIR})"
            ),
            _ => String::new(),
        };
        for name in &set.isolation {
            if !manager.contains(name, Kind::Isolator) {
                return Err(format!("Unknown or unsupported isolator '{name}'{}", hint(name)));
            }
        }
        if !manager.contains(&set.containerizer, Kind::Containerizer) {
            return Err(format!(
                "Unknown or unsupported containerizer '{}'{}",
                set.containerizer,
                hint(&set.containerizer)
            ));
        }
        let anonymous = manager
            .find(Kind::Anonymous)
            .iter()
            .map(|name| {
                manager
                    .create::<AnonymousHandle>(name, None)
                    .map_err(|e| format!("Failed to create anonymous module named '{name}': {e}"))
            })
            .collect::<Result<_, _>>()?;
        let isolators = set
            .isolation
            .iter()
            .map(|name| {
                manager
                    .create::<IsolatorHandle>(name, None)
                    .map_err(|e| format!("Failed to create isolator '{name}': {e}"))
            })
            .collect::<Result<_, _>>()?;
        let containerizer = manager
            .create::<ContainerizerHandle>(&set.containerizer, None)
            .map_err(|e| format!("Failed to create containerizer '{}': {e}", set.containerizer))?;
        Ok(ModuleInstances { set, isolators, containerizer, anonymous })
    }

    /// Loads the manifest a checkpoint recorded and creates its modules again.
    pub fn recreate(set: &ModuleSet) -> Result<ModuleInstances, String> {
        let manifest = crate::manifest::parse(&set.manifest)
            .map_err(|e| format!("corrupt module set in a checkpoint: {e}"))?;
        let mut manager = ModuleManager::with_policy(set.policy());
        manager
            .load(&SourcedManifest { source: ManifestSource::Inline, manifest })
            .map_err(|e| format!("Error loading modules: {e}"))?;
        ModuleInstances::create(&manager, set.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_is_split_and_duplicates_refused() {
        assert_eq!(parse_isolation("a, b,,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            parse_isolation("a,b,a").unwrap_err(),
            "Duplicate entries found in --isolation flag 'a,b,a'"
        );
        assert!(parse_isolation("").unwrap().is_empty());
    }

    #[test]
    fn the_suite_manifest_skips_replaced_modules_and_missing_libraries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libcgroups_isolator.so"), b"").unwrap();
        let skip: HashSet<String> = ["org_apache_mesos_CgroupsMemIsolator".to_string()].into();
        let m = suite_manifest(dir.path(), &skip).manifest;
        assert_eq!(m.libraries.len(), 1);
        let names: Vec<_> = m.libraries[0].modules.iter().map(|m| m.name.clone().unwrap()).collect();
        assert_eq!(names, ["org_apache_mesos_CgroupsCpuIsolator"]);
    }
}
