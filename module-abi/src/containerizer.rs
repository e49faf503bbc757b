//! The `Containerizer` kind: the launcher that turns a merged launch info into running processes.
//!
//! The host drives it in Mesos's order: `launch` clones the container's first process and leaves
//! it blocked; the host isolates it with every isolator; `exec` releases it to run the command.
//! `watch` gives a descriptor that becomes readable when that process ends (a pidfd), `wait` then
//! reports how it ended, and `destroy` kills every process of the container.

use std::os::fd::RawFd;

use serde::{Deserialize, Serialize};

use crate::descriptor::{CallFn, TableHeader};
use crate::error::Result;
use crate::isolator::{ContainerRequest, WatchResponse};
use crate::messages::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, ContainerStatus, ContainerTermination,
};
use crate::module::{Module, json_slots};

/// A containerizer (Mesos's launcher plus the launch helper).
pub trait Containerizer: Module {
    /// Learns the containers checkpointed by the host; returns the ones it finds on the machine
    /// that are not among them (orphans), which the host will destroy.
    fn recover(&self, states: Vec<ContainerState>) -> Result<Vec<ContainerId>>;
    /// Creates the container's first process with the merged launch info, blocked before exec.
    /// Returns its pid as seen by the host.
    fn launch(&self, request: &LaunchRequest) -> Result<i32>;
    /// Releases the blocked process to exec the command.
    fn exec(&self, container_id: &ContainerId) -> Result<()>;
    /// A descriptor that becomes readable when the container's first process has ended. The module
    /// keeps owning it and must keep it open until this container's `destroy`; the host duplicates
    /// it during this call and never calls `watch` concurrently with `destroy` for the same
    /// container.
    fn watch(&self, container_id: &ContainerId) -> Result<Option<RawFd>>;
    /// How the container's first process ended, or `None` while it runs. Never blocks.
    fn wait(&self, container_id: &ContainerId) -> Result<Option<ContainerTermination>>;
    /// Kills every process of the container and waits until they are gone. Unknown: no error.
    fn destroy(&self, container_id: &ContainerId) -> Result<()>;
    /// Run-time status (the first process's pid).
    fn status(&self, container_id: &ContainerId) -> Result<ContainerStatus> {
        let _ = container_id;
        Ok(ContainerStatus::default())
    }
}

/// Request of a containerizer's `recover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerizerRecoverRequest {
    pub states: Vec<ContainerState>,
}

/// Result of a containerizer's `recover`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerizerRecoverResponse {
    #[serde(default)]
    pub orphans: Vec<ContainerId>,
}

/// Request of `launch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchRequest {
    pub container_id: ContainerId,
    pub container_config: ContainerConfig,
    #[serde(default)]
    pub launch_info: ContainerLaunchInfo,
    /// The host shows the command's output to its caller (`agent-harness run`). The output still
    /// goes only to the `stdout` and `stderr` files of the sandbox: the host follows those files
    /// and copies them to its own streams itself. A containerizer must never give the container
    /// one of the host's streams, so a caller that stops reading cannot block the container.
    #[serde(default)]
    pub attach_output: bool,
    /// The container's standard streams are the host's own descriptors 0, 1 and 2, as an OCI
    /// runtime's caller (containerd's shim) hands them over: the command reads and writes them
    /// instead of `/dev/null` and the sandbox's files. Only for a host that exits once the
    /// container is created, so nothing of its own can block on the container's streams.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inherit_stdio: bool,
    /// A FIFO (a host path) the container's first process opens for writing once its setup is
    /// done, right before it runs the command: it runs the command only when a reader opens the
    /// FIFO and reads the byte it writes (runc's `exec.fifo`). With it, the release survives the
    /// process that launched the container: `exec` lets the setup proceed, another process
    /// starts the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_fifo: Option<String>,
}

/// Result of `launch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchResponse {
    pub pid: i32,
}

/// `struct mm_containerizer_table`. Slots only ever grow at the end.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ContainerizerTable {
    pub header: TableHeader,
    pub recover: Option<CallFn>,
    pub launch: Option<CallFn>,
    pub exec: Option<CallFn>,
    pub watch: Option<CallFn>,
    pub wait: Option<CallFn>,
    pub destroy: Option<CallFn>,
    pub status: Option<CallFn>,
}

impl ContainerizerTable {
    /// The table whose slots call `T`'s trait methods.
    pub const fn of<T: Containerizer>() -> ContainerizerTable {
        ContainerizerTable {
            header: TableHeader::of::<ContainerizerTable>(),
            recover: Some(recover::<T>),
            launch: Some(launch::<T>),
            exec: Some(exec::<T>),
            watch: Some(watch::<T>),
            wait: Some(wait::<T>),
            destroy: Some(destroy::<T>),
            status: Some(status::<T>),
        }
    }
}

json_slots! {
    Containerizer;
    recover(ContainerizerRecoverRequest) =>
        |this, r| this.recover(r.states).map(|orphans| ContainerizerRecoverResponse { orphans });
    launch(LaunchRequest) => |this, r| this.launch(&r).map(|pid| LaunchResponse { pid });
    exec(ContainerRequest) => |this, r| this.exec(&r.container_id);
    watch(ContainerRequest) => |this, r| this.watch(&r.container_id).map(|fd| WatchResponse { fd });
    wait(ContainerRequest) => |this, r| this.wait(&r.container_id);
    destroy(ContainerRequest) => |this, r| this.destroy(&r.container_id);
    status(ContainerRequest) => |this, r| this.status(&r.container_id);
}
