//! The messages that cross the ABI as JSON. Each is a plain serde type; both sides encode and decode
//! them with serde_json, so a module written in C reads and writes the same JSON.
//!
//! # How messages evolve
//! A module and a host may be built against different module-abi 1.x versions, so every message
//! must be read by both older and newer code:
//! - **New fields are optional** (`#[serde(default)]`), and their absence means what the older
//!   version did. A required field is never added.
//! - **Nothing is renamed or removed**, and a field's type and meaning never change. A field that
//!   is no longer used is still accepted.
//! - **Unknown fields are ignored** by every decoder (no `deny_unknown_fields`), on both sides.
//! - **Unknown enum values are kept, not fatal**: [`Reason::Other`] holds a limitation reason this
//!   version does not know, and encodes back to the same name.
//! - The golden files under `module-abi/tests/golden/` hold every message as module-abi 1.0 wrote
//!   it; the tests read them with the current types and check that the current encoding still
//!   says everything they say.

mod container;
mod container_info;
mod host;
mod resources;
mod statistics;

pub use container::{
    CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerMountInfo,
    ContainerState, ContainerStatus, ContainerTermination, EnvironmentVariable, NamespacePath, Parameter,
    Parameters, RLimit, Reason, SeccompProgram, SockFilter, parameter,
};
pub use container_info::{CapabilityInfo, ContainerInfo, LinuxInfo, RLimitInfo, SeccompInfo, Volume};
pub use host::HostInfo;
pub use resources::{Resources, ResourcesParseError};
pub use statistics::ResourceStatistics;
