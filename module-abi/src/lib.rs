//! The stable C ABI between the agent harness and isolation modules.
//!
//! A module library is a `cdylib` that exports one symbol per module, named after the module
//! (`org_apache_mesos_CgroupsCpuIsolator`), as Mesos does. The symbol is a [`ModuleDescriptor`]:
//! a magic value and its own size first, then the ABI version, the kind, the module-abi version it
//! was built against, its author and description, an optional `compatible()`, `create`/`destroy`,
//! and the kind's function table. Tables start with their own size and only grow at the end, so a
//! module built against an older module-abi loads into a newer host without a rebuild.
//!
//! # The version rule, in a few lines
//! - The **ABI version** is 1, frozen: a host loads only ABI 1. Growth comes through sizes
//!   ([`descriptor`](ModuleDescriptor)'s growth rules: a shorter descriptor or table is
//!   zero-extended, a longer one loads when its unknown tail is zero, required slots are checked
//!   before `create`).
//! - **module-abi** has a semver of its own ([`MODULE_ABI_VERSION`], 1.0.0 now) that moves only
//!   when the surface grows, never with the suite's releases. A module loads when
//!   `kind minimum <= built_against <= host's module-abi` ([`Kind::minimum_version`]).
//! - **`compatible()`** is an optional veto: it is told the host's versions ([`HostInfo`]) and may
//!   say no. A module without it loads on the version rule alone (unlike Mesos, where it then
//!   needed an exact match and so a rebuild for every release).
//! - **Messages** only gain optional fields; unknown fields are ignored and unknown enum values
//!   kept ([`messages`] says how).
//!
//! # Threading
//! - `compatible`, `create` and `destroy` run on one host thread at a time, never concurrently
//!   with another call on the same instance.
//! - Calls on one instance for *different* containers may run concurrently, on any host thread,
//!   so instances must be thread-safe (the [`Module`] trait requires `Send + Sync`).
//! - Calls for the *same* container never overlap and come in lifecycle order.
//! - No call may rely on the thread it runs on (no thread-locals kept between calls).
//! - agent-harness keeps to this strictly: `compatible`, `create` and `destroy` are made from its
//!   main thread, every other call from one call thread at a time (the main thread waits for it
//!   up to `--module_call_timeout`); after a call overran its deadline, a fresh call thread takes
//!   the next calls, and the overrunning module gets no more calls for that container.
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
    DestroyFn, KNOWN_FEATURES, MODULE_ABI_VERSION, MODULE_MAGIC, ModuleDescriptor, STATUS_ERROR, STATUS_OK,
    TABLE_HEADER_SIZE, TableHeader,
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
