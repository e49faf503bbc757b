//! `namespaces/ipc`: an IPC namespace (System V IPC objects and POSIX message queues of its own).

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameters, Result};

/// The IPC namespace isolator.
#[derive(Debug)]
pub struct NamespacesIpcIsolator;

impl Module for NamespacesIpcIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        crate::params::only("namespaces/ipc", &parameters, &[])?;
        Ok(NamespacesIpcIsolator)
    }
}

impl Isolator for NamespacesIpcIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        Ok(Some(ContainerLaunchInfo { clone_namespaces: vec![libc::CLONE_NEWIPC], ..Default::default() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_an_ipc_namespace() {
        let info = NamespacesIpcIsolator
            .prepare(&ContainerId::new("c"), &ContainerConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            info,
            ContainerLaunchInfo { clone_namespaces: vec![libc::CLONE_NEWIPC], ..Default::default() }
        );
        assert!(!NamespacesIpcIsolator.supports_nesting());
    }
}
