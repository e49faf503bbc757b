//! The host side of an `Isolator`.

use std::os::fd::OwnedFd;

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerRequest, ContainerState,
    ContainerStatus, IsolateRequest, IsolatorTable, Kind, PrepareRequest, RecoverRequest, ResourceStatistics,
    Resources, UpdateRequest, WatchResponse,
};

use super::dup_module_fd;
use crate::instance::{Batch, BatchCall, CallError, CreateError, Instance, KindHandle, call_batch};
use crate::table::KindTable;

/// An isolator instance.
#[derive(Debug)]
pub struct IsolatorHandle {
    instance: Instance,
    table: IsolatorTable,
}

impl KindHandle for IsolatorHandle {
    const KIND: Kind = Kind::Isolator;
    fn wrap(instance: Instance) -> Result<Self, CreateError> {
        let KindTable::Isolator(table) = instance.table() else {
            return Err(instance.wrong_kind(Self::KIND));
        };
        Ok(IsolatorHandle { instance, table })
    }
}

fn request(container_id: &ContainerId) -> ContainerRequest {
    ContainerRequest { container_id: container_id.clone() }
}

impl IsolatorHandle {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.instance.module().name
    }

    pub fn supports_nesting(&self) -> Result<bool, CallError> {
        Ok(self.instance.call("supports_nesting", self.table.supports_nesting, &())?.unwrap_or(false))
    }

    pub fn supports_standalone(&self) -> Result<bool, CallError> {
        Ok(self.instance.call("supports_standalone", self.table.supports_standalone, &())?.unwrap_or(false))
    }

    pub fn recover(&self, states: Vec<ContainerState>, orphans: Vec<ContainerId>) -> Result<(), CallError> {
        let req = RecoverRequest { states, orphans };
        self.instance.call::<_, ()>("recover", self.table.recover, &req).map(drop)
    }

    pub fn prepare(
        &self,
        container_id: &ContainerId,
        container_config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, CallError> {
        let req =
            PrepareRequest { container_id: container_id.clone(), container_config: container_config.clone() };
        Ok(self
            .instance
            .call_for::<_, Option<ContainerLaunchInfo>>(
                Some(container_id),
                "prepare",
                self.table.prepare,
                &req,
            )?
            .flatten())
    }

    pub fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<(), CallError> {
        let req = IsolateRequest { container_id: container_id.clone(), pid };
        self.instance.call_for::<_, ()>(Some(container_id), "isolate", self.table.isolate, &req).map(drop)
    }

    /// The host's own copy of the module's watch descriptor, if it has one.
    pub fn watch(&self, container_id: &ContainerId) -> Result<Option<OwnedFd>, CallError> {
        let response: Option<WatchResponse> =
            self.instance.call_for(Some(container_id), "watch", self.table.watch, &request(container_id))?;
        match response.and_then(|r| r.fd) {
            Some(fd) => dup_module_fd(fd, self.name(), "watch").map(Some),
            None => Ok(None),
        }
    }

    pub fn limitation(&self, container_id: &ContainerId) -> Result<Option<ContainerLimitation>, CallError> {
        Ok(self
            .instance
            .call_for::<_, Option<ContainerLimitation>>(
                Some(container_id),
                "limitation",
                self.table.limitation,
                &request(container_id),
            )?
            .flatten())
    }

    pub fn update(
        &self,
        container_id: &ContainerId,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<(), CallError> {
        let req = UpdateRequest {
            container_id: container_id.clone(),
            resources: resources.clone(),
            limits: limits.clone(),
        };
        self.instance.call_for::<_, ()>(Some(container_id), "update", self.table.update, &req).map(drop)
    }

    pub fn usage(&self, container_id: &ContainerId) -> Result<ResourceStatistics, CallError> {
        Ok(self
            .instance
            .call_for(Some(container_id), "usage", self.table.usage, &request(container_id))?
            .unwrap_or_default())
    }

    /// The usage of each of `containers` from each of `isolators`, all as one batch on the call
    /// thread: per isolator, the answers in the order of `containers`.
    pub fn usage_each<'a>(
        isolators: impl IntoIterator<Item = &'a IsolatorHandle>,
        containers: &[ContainerId],
    ) -> Vec<Vec<Result<ResourceStatistics, CallError>>> {
        let isolators: Vec<&IsolatorHandle> = isolators.into_iter().collect();
        let calls: Vec<BatchCall<'_, ContainerRequest>> = isolators
            .iter()
            .flat_map(|isolator| {
                containers.iter().map(|id| isolator.batch_call(isolator.table.usage, id, request(id)))
            })
            .collect();
        let mut answers = call_batch::<_, ResourceStatistics>("usage", &calls, Batch::Every).into_iter();
        isolators
            .iter()
            .map(|_| {
                answers
                    .by_ref()
                    .take(containers.len())
                    .map(|a| a.unwrap_or(Ok(None)).map(Option::unwrap_or_default))
                    .collect()
            })
            .collect()
    }

    /// Every one of `isolators`' `prepare` of a container, as one batch that ends at the first
    /// failure: an answer for each call made, in order (see [`call_batch`]).
    pub fn prepare_each<'a>(
        isolators: impl IntoIterator<Item = &'a IsolatorHandle>,
        container_id: &ContainerId,
        container_config: &ContainerConfig,
    ) -> Vec<Result<Option<ContainerLaunchInfo>, CallError>> {
        let req =
            PrepareRequest { container_id: container_id.clone(), container_config: container_config.clone() };
        let calls: Vec<_> =
            isolators.into_iter().map(|i| i.batch_call(i.table.prepare, container_id, req.clone())).collect();
        call_batch::<_, Option<ContainerLaunchInfo>>("prepare", &calls, Batch::UntilFailure)
            .into_iter()
            .map_while(|answer| answer.map(|a| a.map(Option::flatten)))
            .collect()
    }

    /// Every one of `isolators`' `isolate` of a container's process, as one batch that ends at the
    /// first failure: an answer for each call made, in order.
    pub fn isolate_each<'a>(
        isolators: impl IntoIterator<Item = &'a IsolatorHandle>,
        container_id: &ContainerId,
        pid: i32,
    ) -> Vec<Result<(), CallError>> {
        let req = IsolateRequest { container_id: container_id.clone(), pid };
        let calls: Vec<_> =
            isolators.into_iter().map(|i| i.batch_call(i.table.isolate, container_id, req.clone())).collect();
        call_batch::<_, ()>("isolate", &calls, Batch::UntilFailure)
            .into_iter()
            .map_while(|answer| answer.map(|a| a.map(drop)))
            .collect()
    }

    /// Every one of `isolators`' watch descriptor of a container (the host's own copies), as one
    /// batch that ends at the first failure: an answer for each call made, in order.
    pub fn watch_each<'a>(
        isolators: impl IntoIterator<Item = &'a IsolatorHandle>,
        container_id: &ContainerId,
    ) -> Vec<Result<Option<OwnedFd>, CallError>> {
        let isolators: Vec<&IsolatorHandle> = isolators.into_iter().collect();
        let calls: Vec<_> = isolators
            .iter()
            .map(|i| i.batch_call(i.table.watch, container_id, request(container_id)))
            .collect();
        call_batch::<_, WatchResponse>("watch", &calls, Batch::UntilFailure)
            .into_iter()
            .zip(&isolators)
            .map_while(|(answer, isolator)| {
                answer.map(|a| match a?.and_then(|r| r.fd) {
                    Some(fd) => dup_module_fd(fd, isolator.name(), "watch").map(Some),
                    None => Ok(None),
                })
            })
            .collect()
    }

    /// Every one of `isolators`' `cleanup` of a container, as one batch: every call is made, in
    /// order, whatever the others answer.
    pub fn cleanup_each<'a>(
        isolators: impl IntoIterator<Item = &'a IsolatorHandle>,
        container_id: &ContainerId,
    ) -> Vec<Result<(), CallError>> {
        let calls: Vec<_> = isolators
            .into_iter()
            .map(|i| i.batch_call(i.table.cleanup, container_id, request(container_id)))
            .collect();
        call_batch::<_, ()>("cleanup", &calls, Batch::Every)
            .into_iter()
            .map(|answer| answer.unwrap_or(Ok(None)).map(drop))
            .collect()
    }

    fn batch_call<'a, Req>(
        &'a self,
        slot: Option<module_abi::CallFn>,
        container: &'a ContainerId,
        request: Req,
    ) -> BatchCall<'a, Req> {
        BatchCall { instance: &self.instance, slot, container, request }
    }

    pub fn status(&self, container_id: &ContainerId) -> Result<ContainerStatus, CallError> {
        Ok(self
            .instance
            .call_for(Some(container_id), "status", self.table.status, &request(container_id))?
            .unwrap_or_default())
    }

    pub fn cleanup(&self, container_id: &ContainerId) -> Result<(), CallError> {
        self.instance
            .call_for::<_, ()>(Some(container_id), "cleanup", self.table.cleanup, &request(container_id))
            .map(drop)
    }
}
