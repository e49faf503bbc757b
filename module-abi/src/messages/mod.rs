//! The messages that cross the ABI as JSON. Each is a plain serde type; both sides encode and decode
//! them with serde_json, so a module written in C reads and writes the same JSON.

mod container;
mod resources;
mod statistics;

pub use container::{
    CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerMountInfo,
    ContainerState, ContainerStatus, ContainerTermination, EnvironmentVariable, Parameter, Parameters,
    RLimit, Reason, parameter,
};
pub use resources::{Resources, ResourcesParseError};
pub use statistics::ResourceStatistics;
