//! The one shape of every namespace isolator: [`NamespaceIsolator`] over a [`Namespace`]. The
//! isolator checks the module's parameters, asks in `prepare` for the namespace's `CLONE_NEW*`
//! flags (the containerizer clones the container's first process with the union of every
//! isolator's flags), and supports standalone but not nested containers. A [`Namespace`] writes
//! only what makes its namespace usable: pid's `/proc`, uts's hostname, net's loopback.

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameters, Result};
use module_params::Params;

/// What differs between the namespace isolators.
pub trait Namespace: Sized + Send + Sync + 'static {
    /// Mesos's isolator name (`namespaces/pid`), which its errors start with.
    const NAME: &'static str;
    /// The `CLONE_NEW*` flags `prepare` asks for.
    const CLONE_FLAGS: &'static [i32];
    /// The parameter keys the module takes.
    const PARAMETERS: &'static [&'static str] = &[];

    /// Builds the namespace's settings from its (key-checked) parameters.
    fn new(params: &Params<'_>) -> Result<Self>;

    /// The `CLONE_NEW*` flags `prepare` asks for the container `config` (a namespace shared
    /// with the agent asks for none).
    fn clone_flags(&self, config: &ContainerConfig) -> Result<Vec<i32>> {
        let _ = config;
        Ok(Self::CLONE_FLAGS.to_vec())
    }

    /// Adds what `prepare` needs besides the namespaces (a mount, a hostname) to `info`.
    fn launch_info(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
        info: &mut ContainerLaunchInfo,
    ) -> Result<()> {
        let _ = (container_id, config, info);
        Ok(())
    }

    /// Sets up the namespace of the blocked first process `pid` before it execs.
    fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
        let _ = (container_id, pid);
        Ok(())
    }
}

/// A namespace isolator module: Mesos's `namespaces/<N>`.
#[derive(Debug)]
pub struct NamespaceIsolator<N>(N);

impl<N: Namespace> NamespaceIsolator<N> {
    /// The namespace's settings.
    pub fn namespace(&self) -> &N {
        &self.0
    }
}

impl<N: Namespace> Module for NamespaceIsolator<N> {
    fn create(parameters: Parameters) -> Result<Self> {
        let params = Params::new(N::NAME, &parameters, N::PARAMETERS)?;
        Ok(NamespaceIsolator(N::new(&params)?))
    }
}

impl<N: Namespace> Isolator for NamespaceIsolator<N> {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let mut info =
            ContainerLaunchInfo { clone_namespaces: self.0.clone_flags(config)?, ..Default::default() };
        self.0.launch_info(container_id, config, &mut info)?;
        Ok(Some(info))
    }

    fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
        self.0.isolate(container_id, pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NamespacesIpcIsolator, NamespacesNetIsolator, NamespacesPidIsolator, NamespacesUtsIsolator};

    fn prepare<N: Namespace>(isolator: &NamespaceIsolator<N>) -> ContainerLaunchInfo {
        isolator.prepare(&ContainerId::new("c1"), &ContainerConfig::default()).unwrap().unwrap()
    }

    #[test]
    fn each_asks_for_its_namespaces() {
        let pid = NamespacesPidIsolator::create(vec![]).unwrap();
        assert_eq!(prepare(&pid).clone_namespaces, vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS]);
        let ipc = NamespacesIpcIsolator::create(vec![]).unwrap();
        assert_eq!(
            prepare(&ipc),
            ContainerLaunchInfo { clone_namespaces: vec![libc::CLONE_NEWIPC], ..Default::default() }
        );
        let uts = NamespacesUtsIsolator::create(vec![]).unwrap();
        assert_eq!(prepare(&uts).clone_namespaces, vec![libc::CLONE_NEWUTS]);
        let net = NamespacesNetIsolator::create(vec![]).unwrap();
        assert_eq!(prepare(&net).clone_namespaces, vec![libc::CLONE_NEWNET]);
    }

    #[test]
    fn standalone_yes_nested_no() {
        let ipc = NamespacesIpcIsolator::create(vec![]).unwrap();
        assert!(ipc.supports_standalone());
        assert!(!ipc.supports_nesting());
        let net = NamespacesNetIsolator::create(vec![]).unwrap();
        assert!(net.supports_standalone() && !net.supports_nesting());
    }

    #[test]
    fn unknown_parameters_name_the_module() {
        let p = |k: &str| vec![module_abi::Parameter { key: k.into(), value: "x".into() }];
        let err = NamespacesPidIsolator::create(p("x")).unwrap_err();
        assert_eq!(
            err.message(),
            "namespaces/pid: unknown parameter 'x' (known parameters: disallow_sharing_agent_pid_namespace)"
        );
        let err = NamespacesNetIsolator::create(p("hostname")).unwrap_err();
        assert_eq!(err.message(), "namespaces/net: unknown parameter 'hostname' (it takes no parameters)");
        let err = NamespacesUtsIsolator::create(p("host_name")).unwrap_err();
        assert_eq!(
            err.message(),
            "namespaces/uts: unknown parameter 'host_name' (known parameters: hostname)"
        );
    }
}
