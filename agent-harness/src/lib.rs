//! The agent harness: loads isolation modules from Mesos module manifests and drives containers
//! through them.
//!
//! Data flows one way: a [`manifest`] (Mesos's `--modules` JSON) is loaded by the
//! [`ModuleManager`], which opens each library ([`dynlib`]), reads and checks each module's
//! descriptor ([`descriptor`], [`verify`]) and kind table ([`table`]) and registers it. Instances are created from the registry
//! and used through typed [`handles`] that call the module through its kind table. The harness never
//! links a module crate: it only loads `.so` files.
//!
//! Errors are `thiserror` enums, one per part ([`ManifestError`] and [`ParseError`],
//! [`LoadError`], [`CreateError`], [`CallError`], the [`engine`]'s), composed through their
//! sources. Each one's `Display` is the whole one-line message, its cause included, so the CLI
//! prints exactly that line; Mesos's own texts ("Module API version mismatch...", "Unknown or
//! unsupported isolator ...") are kept word for word. The harness logs through `tracing`
//! (module loads, each container's lifecycle, recovery's decisions); the binary chooses where to
//! ([`cli::logging`]).

pub mod cli;
pub mod deadline;
pub mod descriptor;
pub mod dynlib;
pub mod engine;
pub mod handles;
pub mod instance;
pub mod kit;
pub mod manifest;
pub mod module_manager;
pub mod table;
pub mod trust;
pub mod verify;

pub use handles::{AnonymousHandle, ContainerizerHandle, IsolatorHandle, TestModuleHandle};
pub use instance::{CallError, CreateError, Instance, KindHandle};
pub use manifest::{Manifest, ManifestError, ManifestSource, ParseError, SourcedManifest};
pub use module_manager::{LoadError, LoadFailure, LoadedModule, ModuleManager, UnloadError};
