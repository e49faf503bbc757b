//! The stable C ABI between the agent harness and isolation modules.
//!
//! A module library is a `cdylib` that exports one symbol per module, named after the module
//! (`org_apache_mesos_CgroupsCpuIsolator`), as Mesos does. The symbol is a [`ModuleDescriptor`]:
//! a magic value and its own size first, then the ABI version, the kind, the module-abi version it
//! was built against, its author and description, an optional `compatible()`, `create`/`destroy`,
//! and the kind's function table. Tables start with their own size and only grow at the end, so a
//! module built against an older module-abi loads into a newer host without a rebuild.
//!
//! Only plain data crosses the boundary: JSON bytes for the [`messages`], integers and file
//! descriptors. Results and errors come back through an [`Output`] writer, so memory never changes
//! owner. Every shim runs the module's code under `catch_unwind`: a panicking module fails the call
//! with its message and never the host.
//!
//! Writing a module in Rust is a type, a trait impl and one macro:
//!
//! ```
//! use module_abi::{ContainerId, Isolator, Module, Parameters, Result};
//!
//! pub struct NoopIsolator;
//!
//! impl Module for NoopIsolator {
//!     fn create(_parameters: Parameters) -> Result<Self> {
//!         Ok(NoopIsolator)
//!     }
//! }
//!
//! impl Isolator for NoopIsolator {
//!     fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
//!         eprintln!("{container_id} runs as {pid}");
//!         Ok(())
//!     }
//! }
//!
//! module_abi::declare_module! {
//!     name: org_example_NoopIsolator,
//!     kind: Isolator,
//!     module: NoopIsolator,
//!     author_name: "Example",
//!     author_email: "dev@example.org",
//!     description: "Isolates nothing.",
//!     compatible: || true,
//! }
//! # fn main() {}
//! ```
//!
//! `include/mesos_module.h` describes the same ABI for modules written in C or C++.

mod anonymous;
mod containerizer;
mod declare;
mod descriptor;
mod error;
pub mod guard;
mod isolator;
mod kind;
pub mod messages;
pub mod module;
mod output;
mod test_module;

pub use anonymous::{Anonymous, AnonymousTable};
pub use containerizer::{
    Containerizer, ContainerizerRecoverRequest, ContainerizerRecoverResponse, ContainerizerTable,
    LaunchRequest, LaunchResponse,
};
pub use descriptor::{
    ABI_VERSION, BUILT_AGAINST, CallFn, CompatibleFn, CreateFn, DESCRIPTOR_HEADER_SIZE, DESCRIPTOR_SIZE,
    DestroyFn, MODULE_ABI_VERSION, MODULE_MAGIC, ModuleDescriptor, STATUS_ERROR, STATUS_OK, TableHeader,
};
pub use error::{Error, Result};
pub use isolator::{
    ContainerRequest, IsolateRequest, Isolator, IsolatorTable, PrepareRequest, RecoverRequest, UpdateRequest,
    WatchResponse,
};
pub use kind::Kind;
pub use messages::*;
pub use module::Module;
pub use output::Output;
pub use test_module::{BarFn, BazFn, FooFn, TestModule, TestModuleTable};
