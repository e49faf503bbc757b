//! The `Isolator` kind: Mesos's isolator interface (`include/mesos/slave/isolator.hpp`), every
//! method with a default, as a Rust trait and as a C table of JSON calls.
//!
//! `watch` differs from Mesos in shape, not meaning: instead of a future, a module returns a file
//! descriptor the host can wait on (an OOM eventfd, an inotify fd, a pipe it signals). When it
//! becomes readable the host calls `limitation` to learn what happened. One event loop waits on
//! every container; no module keeps a thread per container.

use std::os::fd::RawFd;

use serde::{Deserialize, Serialize};

use crate::descriptor::{CallFn, TableHeader};
use crate::error::Result;
use crate::messages::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerState, ContainerStatus,
    ResourceStatistics, Resources,
};
use crate::module::{Module, json_slots};

/// An isolator. Implement what you isolate; the defaults do nothing, as in Mesos.
pub trait Isolator: Module {
    /// Whether nested containers (with a parent) are given to this isolator.
    fn supports_nesting(&self) -> bool {
        false
    }
    /// Whether standalone containers are given to this isolator.
    fn supports_standalone(&self) -> bool {
        false
    }
    /// Rebuilds state after a harness restart. `orphans` are containers found on the machine that
    /// the harness did not checkpoint; it will destroy and clean them up.
    fn recover(&self, states: Vec<ContainerState>, orphans: Vec<ContainerId>) -> Result<()> {
        let _ = (states, orphans);
        Ok(())
    }
    /// Called before the container's process exists. May ask for namespaces, mounts, environment.
    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let _ = (container_id, config);
        Ok(None)
    }
    /// Called with the container's first process, still blocked before exec.
    fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
        let _ = (container_id, pid);
        Ok(())
    }
    /// A descriptor that becomes readable when the container may have hit a limit, or `None` when
    /// this isolator never limits. The module keeps owning it and must keep it open until this
    /// container's `cleanup`; the host duplicates it during this call and never calls `watch`
    /// concurrently with `cleanup` for the same container.
    fn watch(&self, container_id: &ContainerId) -> Result<Option<RawFd>> {
        let _ = container_id;
        Ok(None)
    }
    /// Asked after the watch descriptor became readable, and once more when the container's first
    /// process has ended (a limitation may be what ended it): the limitation, or `None`. Must not
    /// block.
    fn limitation(&self, container_id: &ContainerId) -> Result<Option<ContainerLimitation>> {
        let _ = container_id;
        Ok(None)
    }
    /// New resource requests and limits for a running container.
    fn update(&self, container_id: &ContainerId, resources: &Resources, limits: &Resources) -> Result<()> {
        let _ = (container_id, resources, limits);
        Ok(())
    }
    /// Resource usage; fill in what this isolator measures.
    fn usage(&self, container_id: &ContainerId) -> Result<ResourceStatistics> {
        let _ = container_id;
        Ok(ResourceStatistics::default())
    }
    /// Run-time status this isolator adds.
    fn status(&self, container_id: &ContainerId) -> Result<ContainerStatus> {
        let _ = container_id;
        Ok(ContainerStatus::default())
    }
    /// Called once after every process of the container is gone. Unknown containers are not errors.
    fn cleanup(&self, container_id: &ContainerId) -> Result<()> {
        let _ = container_id;
        Ok(())
    }
}

/// Request of `recover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoverRequest {
    pub states: Vec<ContainerState>,
    #[serde(default)]
    pub orphans: Vec<ContainerId>,
}

/// Request of `prepare`. The result is a `ContainerLaunchInfo` or `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepareRequest {
    pub container_id: ContainerId,
    pub container_config: ContainerConfig,
}

/// Request of `isolate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolateRequest {
    pub container_id: ContainerId,
    pub pid: i32,
}

/// Request of `watch`, `limitation`, `usage`, `status`, `cleanup` (and several containerizer calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRequest {
    pub container_id: ContainerId,
}

/// Result of `watch`: a descriptor to wait on, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WatchResponse {
    #[serde(default)]
    pub fd: Option<RawFd>,
}

/// Request of `update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRequest {
    pub container_id: ContainerId,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub limits: Resources,
}

/// `struct mm_isolator_table`. Slots only ever grow at the end.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IsolatorTable {
    pub header: TableHeader,
    pub recover: Option<CallFn>,
    pub prepare: Option<CallFn>,
    pub isolate: Option<CallFn>,
    pub watch: Option<CallFn>,
    pub limitation: Option<CallFn>,
    pub update: Option<CallFn>,
    pub usage: Option<CallFn>,
    pub status: Option<CallFn>,
    pub cleanup: Option<CallFn>,
    pub supports_nesting: Option<CallFn>,
    pub supports_standalone: Option<CallFn>,
}

impl IsolatorTable {
    /// The table whose slots call `T`'s trait methods.
    pub const fn of<T: Isolator>() -> IsolatorTable {
        IsolatorTable {
            header: TableHeader::of::<IsolatorTable>(),
            recover: Some(recover::<T>),
            prepare: Some(prepare::<T>),
            isolate: Some(isolate::<T>),
            watch: Some(watch::<T>),
            limitation: Some(limitation::<T>),
            update: Some(update::<T>),
            usage: Some(usage::<T>),
            status: Some(status::<T>),
            cleanup: Some(cleanup::<T>),
            supports_nesting: Some(supports_nesting::<T>),
            supports_standalone: Some(supports_standalone::<T>),
        }
    }
}

json_slots! {
    Isolator;
    recover(RecoverRequest) => |this, r| this.recover(r.states, r.orphans);
    prepare(PrepareRequest) => |this, r| this.prepare(&r.container_id, &r.container_config);
    isolate(IsolateRequest) => |this, r| this.isolate(&r.container_id, r.pid);
    watch(ContainerRequest) => |this, r| this.watch(&r.container_id).map(|fd| WatchResponse { fd });
    limitation(ContainerRequest) => |this, r| this.limitation(&r.container_id);
    update(UpdateRequest) => |this, r| this.update(&r.container_id, &r.resources, &r.limits);
    usage(ContainerRequest) => |this, r| this.usage(&r.container_id);
    status(ContainerRequest) => |this, r| this.status(&r.container_id);
    cleanup(ContainerRequest) => |this, r| this.cleanup(&r.container_id);
    supports_nesting(()) => |this, _r| Ok(this.supports_nesting());
    supports_standalone(()) => |this, _r| Ok(this.supports_standalone());
}
