//! The module manager: loads manifests into a registry of verified modules and creates instances.
//!
//! Mesos's rules (`src/module/manager.cpp`) are kept: `file` wins over `name`, a library is opened
//! once per library string with `RTLD_NOW` and never closed, verification runs before the duplicate
//! check, an identical re-load is skipped and a different one is an error, explicit parameters at
//! creation replace the manifest's. Unlike Mesos, loading is all-or-nothing: a manifest (or a set of
//! them) that fails anywhere leaves no module of it registered, and every error names the module,
//! the library, the file it resolved to and the manifest.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use module_abi::{Kind, Parameters};
use serde::Serialize;

use crate::descriptor::{DescriptorView, read_descriptor};
use crate::dynlib::Library;
use crate::instance::{Instance, KindHandle};
use crate::manifest::{LibraryEntry, ManifestSource, SourcedManifest};
use crate::table::KindTable;
use crate::trust::PathPolicy;
use crate::verify::verify;

/// A verified module in the registry.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub name: String,
    pub kind: Kind,
    /// The library as written in the manifest (`file`, else `name`).
    pub library: String,
    /// What was handed to `dlopen` (`file`, else `lib<name>.so`).
    pub library_file: String,
    /// The file the loader resolved it to.
    pub path: PathBuf,
    pub abi_version: u32,
    pub built_against: String,
    pub author_name: String,
    pub author_email: String,
    pub description: String,
    pub parameters: Parameters,
    pub(crate) descriptor: DescriptorView,
    /// The kind table, read and checked at load.
    pub(crate) table: KindTable,
}

/// How `agent-harness modules` prints a module.
#[derive(Debug, Serialize)]
pub struct ModuleSummary<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub library: &'a str,
    pub path: String,
    pub abi_version: u32,
    pub built_against: &'a str,
    pub author_name: &'a str,
    pub author_email: &'a str,
    pub description: &'a str,
    pub parameters: &'a Parameters,
}

impl LoadedModule {
    /// The summary printed by `agent-harness modules`.
    pub fn summary(&self) -> ModuleSummary<'_> {
        ModuleSummary {
            name: &self.name,
            kind: self.kind.name(),
            library: &self.library,
            path: self.path.display().to_string(),
            abi_version: self.abi_version,
            built_against: &self.built_against,
            author_name: &self.author_name,
            author_email: &self.author_email,
            description: &self.description,
            parameters: &self.parameters,
        }
    }

    /// Whether `other` is the same module as far as Mesos's `verifyIdenticalModule` is concerned.
    fn identical_to(&self, other: &LoadedModule) -> Result<(), String> {
        let prefix = format!(
            "Error loading module '{}'; this is potentially due to duplicate module names; ",
            self.name
        );
        if self.library_file != other.library_file {
            return Err(format!(
                "{prefix}The same module appears in two different module libraries - '{}' and '{}'",
                other.library_file, self.library_file
            ));
        }
        if self.parameters != other.parameters {
            return Err(format!("{prefix}A module with same name but different parameters already exists"));
        }
        let same_manifest = self.kind == other.kind
            && self.built_against == other.built_against
            && self.abi_version == other.abi_version
            && self.author_name == other.author_name
            && self.author_email == other.author_email
            && self.description == other.description
            && self.descriptor.compatible.map(|f| f as usize)
                == other.descriptor.compatible.map(|f| f as usize);
        if !same_manifest {
            return Err(format!(
                "{prefix}A module with same name but different module manifest already exists"
            ));
        }
        Ok(())
    }
}

/// A load error with everything it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub message: String,
    pub library: Option<String>,
    pub path: Option<PathBuf>,
    pub source: ManifestSource,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.message)?;
        if let Some(library) = &self.library {
            write!(f, "library '{library}'")?;
            if let Some(path) = &self.path {
                write!(f, " at '{}'", path.display())?;
            }
            f.write_str(", ")?;
        }
        write!(f, "manifest {}]", self.source)
    }
}

impl std::error::Error for LoadError {}

/// The registry of loaded modules.
#[derive(Debug, Default)]
pub struct ModuleManager {
    modules: Vec<Arc<LoadedModule>>,
    index: HashMap<String, usize>,
    libraries: HashMap<String, Library>,
    policy: PathPolicy,
}

impl ModuleManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager that checks library paths under `policy` ([`crate::trust`]).
    pub fn with_policy(policy: PathPolicy) -> Self {
        ModuleManager { policy, ..Self::default() }
    }

    /// Loads one manifest; on error nothing of it is registered.
    pub fn load(&mut self, manifest: &SourcedManifest) -> Result<(), LoadError> {
        self.load_all(std::slice::from_ref(manifest))
    }

    /// Loads manifests in order (a `--modules_dir`); on error nothing of any of them is registered.
    pub fn load_all(&mut self, manifests: &[SourcedManifest]) -> Result<(), LoadError> {
        let mut staged: Vec<Arc<LoadedModule>> = Vec::new();
        for sourced in manifests {
            for library in &sourced.manifest.libraries {
                self.load_library(library, &sourced.source, &mut staged)?;
            }
        }
        for module in staged {
            self.index.insert(module.name.clone(), self.modules.len());
            self.modules.push(module);
        }
        Ok(())
    }

    fn load_library(
        &mut self,
        entry: &LibraryEntry,
        source: &ManifestSource,
        staged: &mut Vec<Arc<LoadedModule>>,
    ) -> Result<(), LoadError> {
        let error = |message: String, library: Option<&str>, path: Option<PathBuf>| LoadError {
            message,
            library: library.map(str::to_string),
            path,
            source: source.clone(),
        };
        let library_file = entry
            .library_file()
            .ok_or_else(|| error("Library name or path not provided".to_string(), None, None))?;
        let written = entry.file.clone().or_else(|| entry.name.clone()).unwrap_or_default();
        let library = match self.libraries.get(&library_file) {
            Some(library) => *library,
            None => {
                // A path is checked before it is opened (opening runs the library's initialisers);
                // a name the loader searches for is checked once it has resolved it, below.
                if library_file.contains('/') {
                    self.policy
                        .check(std::path::Path::new(&library_file), "module library")
                        .map_err(|e| error(e.to_string(), Some(&written), None))?;
                }
                let library = Library::open(&library_file).map_err(|e| {
                    error(
                        format!("Error opening library: '{library_file}': Could not load library '{library_file}': {e}"),
                        Some(&written),
                        None,
                    )
                })?;
                self.libraries.insert(library_file.clone(), library);
                library
            }
        };
        let path = library.path().unwrap_or_else(|| PathBuf::from(&library_file));
        self.policy
            .check(&path, "module library")
            .map_err(|e| error(e.to_string(), Some(&written), Some(path.clone())))?;
        for module in &entry.modules {
            let name = module.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| {
                error(
                    format!("Error: module name not provided with library '{library_file}'"),
                    Some(&written),
                    Some(path.clone()),
                )
            })?;
            let at = |message: String| error(message, Some(&written), Some(path.clone()));
            let address = library.symbol(name).map_err(|e| {
                at(format!(
                    "Error loading module '{name}': Error looking up symbol '{name}' in '{}' : {e}",
                    path.display()
                ))
            })?;
            let descriptor =
                read_descriptor(address).map_err(|e| at(format!("Error loading module '{name}': {e}")))?;
            let verified =
                verify(name, &descriptor).map_err(|e| at(format!("Error verifying module '{name}': {e}")))?;
            let loaded = LoadedModule {
                name: name.to_string(),
                kind: verified.kind,
                library: written.clone(),
                library_file: library_file.clone(),
                path: path.clone(),
                abi_version: descriptor.abi_version,
                built_against: verified.built_against,
                author_name: verified.author_name,
                author_email: verified.author_email,
                description: verified.description,
                parameters: module.parameters.clone(),
                table: verified.table,
                descriptor,
            };
            let existing = self.get(name).or_else(|| staged.iter().find(|m| m.name == name).cloned());
            match existing {
                Some(existing) => loaded.identical_to(&existing).map_err(at)?,
                None => staged.push(Arc::new(loaded)),
            }
        }
        Ok(())
    }

    /// Every loaded module, in load order.
    pub fn modules(&self) -> &[Arc<LoadedModule>] {
        &self.modules
    }

    /// The module named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedModule>> {
        self.index.get(name).map(|&i| self.modules[i].clone())
    }

    /// Whether a module named `name` of `kind` is loaded (Mesos `contains<T>`).
    pub fn contains(&self, name: &str, kind: Kind) -> bool {
        self.get(name).is_some_and(|m| m.kind == kind)
    }

    /// The names of every module of `kind`, in load order (Mesos `find<T>`).
    pub fn find(&self, kind: Kind) -> Vec<String> {
        self.modules.iter().filter(|m| m.kind == kind).map(|m| m.name.clone()).collect()
    }

    /// Forgets a module; its library stays mapped (Mesos `unload`, for tests).
    pub fn unload(&mut self, name: &str) -> Result<(), String> {
        let Some(position) = self.index.remove(name) else {
            return Err(format!("Error unloading module '{name}': module not loaded"));
        };
        self.modules.remove(position);
        for (i, module) in self.modules.iter().enumerate() {
            self.index.insert(module.name.clone(), i);
        }
        Ok(())
    }

    /// Creates an instance of `name`, of whatever kind, with `parameters` or else the manifest's.
    pub fn create_instance(&self, name: &str, parameters: Option<Parameters>) -> Result<Instance, String> {
        let module = self.get(name).ok_or_else(|| format!("Module '{name}' unknown"))?;
        Instance::create(module, parameters)
    }

    /// Creates an instance of `name` as the kind `H` handles (Mesos `create<T>`).
    pub fn create<H: KindHandle>(&self, name: &str, parameters: Option<Parameters>) -> Result<H, String> {
        let module = self.get(name).ok_or_else(|| format!("Module '{name}' unknown"))?;
        if module.kind != H::KIND {
            return Err(format!(
                "Error creating module instance for '{name}': module is of kind '{}', but the requested kind is '{}'",
                module.kind,
                H::KIND
            ));
        }
        H::wrap(Instance::create(module, parameters)?)
    }
}
