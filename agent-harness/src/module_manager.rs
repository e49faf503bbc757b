//! The module manager: loads manifests into a registry of verified modules and creates instances.
//!
//! Mesos's rules (`src/module/manager.cpp`) are kept: `file` wins over `name`, a library is opened
//! once per library string with `RTLD_NOW` and never closed, verification runs before the duplicate
//! check, an identical re-load is skipped and a different one is an error, explicit parameters at
//! creation replace the manifest's. Unlike Mesos, loading is all-or-nothing: a manifest (or a set of
//! them) that fails anywhere leaves no module of it registered, and every error names the module,
//! the library, the file it resolved to and the manifest ([`LoadError`]: a [`LoadFailure`] with
//! its place). Creating an instance fails with a [`CreateError`].

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use module_abi::{Kind, Parameters};
use serde::Serialize;
use thiserror::Error;

use crate::descriptor::{DescriptorError, DescriptorView, read_descriptor};
use crate::dynlib::{DlError, Library};
use crate::instance::{CreateError, Instance, KindHandle};
use crate::manifest::{LibraryEntry, ManifestSource, SourcedManifest};
use crate::table::KindTable;
use crate::trust::{PathPolicy, TrustError};
use crate::verify::{VerifyError, verify};

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
    fn identical_to(&self, other: &LoadedModule) -> Result<(), LoadFailure> {
        let duplicate = |conflict| LoadFailure::Duplicate { name: self.name.clone(), conflict };
        if self.library_file != other.library_file {
            return Err(duplicate(Duplicate::TwoLibraries {
                loaded: other.library_file.clone(),
                new: self.library_file.clone(),
            }));
        }
        if self.parameters != other.parameters {
            return Err(duplicate(Duplicate::Parameters));
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
            return Err(duplicate(Duplicate::Manifest));
        }
        Ok(())
    }
}

/// What failed while loading a library or a module of a manifest, in Mesos's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadFailure {
    #[error("Library name or path not provided")]
    NoLibrary,
    /// The library (or a directory above it) may have been replaced by anyone: not opened.
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("Error opening library: '{file}': Could not load library '{file}': {source}")]
    Open { file: String, source: DlError },
    #[error("Error: module name not provided with library '{file}'")]
    NoModuleName { file: String },
    #[error("Error loading module '{name}': Error looking up symbol '{name}' in '{}' : {source}", path.display())]
    Symbol { name: String, path: PathBuf, source: DlError },
    #[error("Error loading module '{name}': {source}")]
    Descriptor { name: String, source: DescriptorError },
    #[error("Error verifying module '{name}': {source}")]
    Verify { name: String, source: VerifyError },
    /// A module of this name is already loaded (or staged) and this one is not identical to it.
    #[error("Error loading module '{name}'; this is potentially due to duplicate module names; {conflict}")]
    Duplicate { name: String, conflict: Duplicate },
}

/// How a module differs from the one of the same name already loaded (Mesos's
/// `verifyIdenticalModule`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Duplicate {
    #[error("The same module appears in two different module libraries - '{loaded}' and '{new}'")]
    TwoLibraries { loaded: String, new: String },
    #[error("A module with same name but different parameters already exists")]
    Parameters,
    #[error("A module with same name but different module manifest already exists")]
    Manifest,
}

/// A load error with everything it is about: what failed, the library as the manifest wrote it,
/// the file it resolved to, and the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Boxed: a load error travels up through every `Result` of a load, so it is kept small.
    pub reason: Box<LoadFailure>,
    pub library: Option<String>,
    pub path: Option<PathBuf>,
    pub manifest: ManifestSource,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.reason)?;
        if let Some(library) = &self.library {
            write!(f, "library '{library}'")?;
            if let Some(path) = &self.path {
                write!(f, " at '{}'", path.display())?;
            }
            f.write_str(", ")?;
        }
        write!(f, "manifest {}]", self.manifest)
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.reason.as_ref())
    }
}

/// `unload` of a module that is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Error unloading module '{name}': module not loaded")]
pub struct UnloadError {
    pub name: String,
}

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
            tracing::info!(
                module = %module.name,
                kind = %module.kind,
                library = %module.path.display(),
                "loaded module"
            );
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
        let error = |reason: LoadFailure, library: Option<&str>, path: Option<PathBuf>| LoadError {
            reason: Box::new(reason),
            library: library.map(str::to_string),
            path,
            manifest: source.clone(),
        };
        let library_file = entry.library_file().ok_or_else(|| error(LoadFailure::NoLibrary, None, None))?;
        let written = entry.file.clone().or_else(|| entry.name.clone()).unwrap_or_default();
        let library = match self.libraries.get(&library_file) {
            Some(library) => *library,
            None => {
                // A path is checked before it is opened (opening runs the library's initialisers);
                // a name the loader searches for is checked once it has resolved it, below.
                if library_file.contains('/') {
                    self.policy
                        .check(std::path::Path::new(&library_file), "module library")
                        .map_err(|e| error(e.into(), Some(&written), None))?;
                }
                let library = Library::open(&library_file).map_err(|e| {
                    error(LoadFailure::Open { file: library_file.clone(), source: e }, Some(&written), None)
                })?;
                tracing::debug!(library = %library_file, "opened module library");
                self.libraries.insert(library_file.clone(), library);
                library
            }
        };
        let path = library.path().unwrap_or_else(|| PathBuf::from(&library_file));
        self.policy
            .check(&path, "module library")
            .map_err(|e| error(e.into(), Some(&written), Some(path.clone())))?;
        for module in &entry.modules {
            let name = module.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| {
                error(
                    LoadFailure::NoModuleName { file: library_file.clone() },
                    Some(&written),
                    Some(path.clone()),
                )
            })?;
            let at = |reason: LoadFailure| error(reason, Some(&written), Some(path.clone()));
            let address = library.symbol(name).map_err(|e| {
                at(LoadFailure::Symbol { name: name.to_string(), path: path.clone(), source: e })
            })?;
            let descriptor = read_descriptor(address)
                .map_err(|e| at(LoadFailure::Descriptor { name: name.to_string(), source: e }))?;
            let verified = verify(name, &descriptor)
                .map_err(|e| at(LoadFailure::Verify { name: name.to_string(), source: e }))?;
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
                Some(existing) => {
                    loaded.identical_to(&existing).map_err(at)?;
                    tracing::debug!(module = %name, "module already loaded from an identical entry");
                }
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
    pub fn unload(&mut self, name: &str) -> Result<(), UnloadError> {
        let Some(position) = self.index.remove(name) else {
            return Err(UnloadError { name: name.to_string() });
        };
        self.modules.remove(position);
        for (i, module) in self.modules.iter().enumerate() {
            self.index.insert(module.name.clone(), i);
        }
        Ok(())
    }

    /// Creates an instance of `name`, of whatever kind, with `parameters` or else the manifest's.
    pub fn create_instance(
        &self,
        name: &str,
        parameters: Option<Parameters>,
    ) -> Result<Instance, CreateError> {
        let module = self.get(name).ok_or_else(|| CreateError::Unknown { name: name.to_string() })?;
        Instance::create(module, parameters)
    }

    /// Creates an instance of `name` as the kind `H` handles (Mesos `create<T>`).
    pub fn create<H: KindHandle>(
        &self,
        name: &str,
        parameters: Option<Parameters>,
    ) -> Result<H, CreateError> {
        let module = self.get(name).ok_or_else(|| CreateError::Unknown { name: name.to_string() })?;
        if module.kind != H::KIND {
            return Err(CreateError::WrongKind {
                name: name.to_string(),
                kind: module.kind,
                requested: H::KIND,
            });
        }
        H::wrap(Instance::create(module, parameters)?)
    }
}
