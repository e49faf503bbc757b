//! The containerizer engine: drives containers through the isolator and containerizer modules in
//! Mesos's order, waits on every container from one event loop, checkpoints each container so a
//! killed harness can be recovered without leaving anything behind.

pub mod checkpoint;
pub mod container;
pub mod launch_info;
pub mod modules;
pub mod output;
pub mod recover;

pub use checkpoint::{Checkpoint, CheckpointDir, ModuleSet};
pub use container::{ContainerSpec, Ending, Engine, Launched, Outcome};
pub use modules::{DEFAULT_CONTAINERIZER, DEFAULT_ISOLATION, ModuleInstances};
pub use output::Follower;
