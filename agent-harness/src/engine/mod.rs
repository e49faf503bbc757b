//! The containerizer engine: drives containers through the isolator and containerizer modules in
//! Mesos's order, waits on every container from one event loop, checkpoints each container so a
//! killed harness can be recovered without leaving anything behind.
//!
//! Errors are typed per part: [`ModulesError`] (loading and creating a container's modules),
//! [`EngineError`] (a container's lifecycle), [`CheckpointError`], [`OutputError`] and
//! [`RecoverError`]. What a finished container reports (its teardown errors, its warnings, a
//! recovered container's errors) stays text: it is part of the JSON the harness prints.

pub mod checkpoint;
pub mod container;
pub mod fault;
pub mod isolation;
pub mod launch_info;
pub mod masks;
pub mod modules;
pub mod output;
pub mod recover;

pub use checkpoint::{Checkpoint, CheckpointDir, CheckpointError, ModuleSet};
pub use container::{ContainerSpec, Ending, Engine, EngineError, Launched, Outcome};
pub use fault::KillPoint;
pub use modules::{DEFAULT_CONTAINERIZER, DEFAULT_ISOLATION, ModuleInstances, ModulesError};
pub use output::{Follower, OutputError};
pub use recover::RecoverError;
