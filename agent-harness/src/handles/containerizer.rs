//! The host side of a `Containerizer`. Every slot but `status` is required, which the loader
//! checks before the module is created.

use std::os::fd::OwnedFd;

use module_abi::{
    CallFn, ContainerId, ContainerRequest, ContainerState, ContainerStatus, ContainerTermination,
    ContainerizerRecoverRequest, ContainerizerRecoverResponse, ContainerizerTable, Kind, LaunchRequest,
    LaunchResponse, WatchResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::dup_module_fd;
use crate::instance::{CallError, CreateError, Instance, KindHandle};
use crate::table::KindTable;

/// A containerizer instance.
#[derive(Debug)]
pub struct ContainerizerHandle {
    instance: Instance,
    table: ContainerizerTable,
}

impl KindHandle for ContainerizerHandle {
    const KIND: Kind = Kind::Containerizer;
    fn wrap(instance: Instance) -> Result<Self, CreateError> {
        // Its required slots were checked at load (crate::table).
        let KindTable::Containerizer(table) = instance.table() else {
            return Err(instance.wrong_kind(Self::KIND));
        };
        Ok(ContainerizerHandle { instance, table })
    }
}

impl ContainerizerHandle {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.instance.module().name
    }

    fn required<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        container: Option<&ContainerId>,
        method: &'static str,
        slot: Option<CallFn>,
        request: &Req,
    ) -> Result<Resp, CallError> {
        self.instance.call_for(container, method, slot, request)?.ok_or_else(|| CallError {
            module: self.name().to_string(),
            method,
            message: "not implemented".to_string(),
        })
    }

    /// Returns the orphans: containers on the machine not among `states`.
    pub fn recover(&self, states: Vec<ContainerState>) -> Result<Vec<ContainerId>, CallError> {
        let response: ContainerizerRecoverResponse =
            self.required(None, "recover", self.table.recover, &ContainerizerRecoverRequest { states })?;
        Ok(response.orphans)
    }

    /// Creates the container's first process, blocked before exec; returns its pid.
    pub fn launch(&self, request: &LaunchRequest) -> Result<i32, CallError> {
        let response: LaunchResponse =
            self.required(Some(&request.container_id), "launch", self.table.launch, request)?;
        Ok(response.pid)
    }

    pub fn exec(&self, container_id: &ContainerId) -> Result<(), CallError> {
        self.required::<_, ()>(
            Some(container_id),
            "exec",
            self.table.exec,
            &ContainerRequest { container_id: container_id.clone() },
        )
    }

    /// The host's own copy of a descriptor that becomes readable when the first process ends.
    pub fn watch(&self, container_id: &ContainerId) -> Result<Option<OwnedFd>, CallError> {
        let response: WatchResponse = self.required(
            Some(container_id),
            "watch",
            self.table.watch,
            &ContainerRequest { container_id: container_id.clone() },
        )?;
        response.fd.map(|fd| dup_module_fd(fd, self.name(), "watch")).transpose()
    }

    pub fn wait(&self, container_id: &ContainerId) -> Result<Option<ContainerTermination>, CallError> {
        self.required(
            Some(container_id),
            "wait",
            self.table.wait,
            &ContainerRequest { container_id: container_id.clone() },
        )
    }

    pub fn destroy(&self, container_id: &ContainerId) -> Result<(), CallError> {
        self.required::<_, ()>(
            Some(container_id),
            "destroy",
            self.table.destroy,
            &ContainerRequest { container_id: container_id.clone() },
        )
    }

    pub fn status(&self, container_id: &ContainerId) -> Result<ContainerStatus, CallError> {
        let req = ContainerRequest { container_id: container_id.clone() };
        Ok(self.instance.call_for(Some(container_id), "status", self.table.status, &req)?.unwrap_or_default())
    }
}
