//! `linux/nnp`: every container's command runs with `no_new_privs` set
//! (`src/slave/containerizer/mesos/isolators/linux/nnp.cpp`), so neither it nor anything it
//! starts can gain privileges through `execve` (set-user-ID and set-group-ID programs, file
//! capabilities). The helper sets it with `prctl(PR_SET_NO_NEW_PRIVS)` right before `execve`.
//!
//! Mesos refuses kernels older than 3.5; this module asks the kernel instead
//! (`PR_GET_NO_NEW_PRIVS`, which exists exactly where the flag does).

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameters};
use module_params::Params;

use crate::error::IsolatorError;

/// Mesos's name of the isolator.
pub const NAME: &str = "linux/nnp";

/// The `linux/nnp` isolator. It takes no parameters.
#[derive(Debug, Clone, Copy)]
pub struct LinuxNnpIsolator;

impl LinuxNnpIsolator {
    /// The launch info of every container.
    pub fn launch_info() -> ContainerLaunchInfo {
        ContainerLaunchInfo { no_new_privileges: Some(true), ..Default::default() }
    }
}

impl Module for LinuxNnpIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        Params::new(NAME, &parameters, &[])?;
        // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointer and only reads the calling thread's flag.
        if unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } < 0 {
            return Err(IsolatorError::Create {
                isolator: NAME,
                reason: format!(
                    "the kernel does not support no_new_privs (Linux 3.5 or later): {}",
                    std::io::Error::last_os_error()
                ),
            }
            .into());
        }
        Ok(LinuxNnpIsolator)
    }
}

impl Isolator for LinuxNnpIsolator {
    fn supports_nesting(&self) -> bool {
        true
    }

    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        Ok(Some(LinuxNnpIsolator::launch_info()))
    }
}

#[cfg(test)]
mod tests {
    use module_abi::Parameter;

    use super::*;

    #[test]
    fn every_container_gets_no_new_privs() {
        let isolator = LinuxNnpIsolator::create(vec![]).unwrap();
        let info = isolator.prepare(&ContainerId::new("c1"), &ContainerConfig::default()).unwrap();
        assert_eq!(info, Some(ContainerLaunchInfo { no_new_privileges: Some(true), ..Default::default() }));
        assert!(isolator.supports_nesting() && isolator.supports_standalone());
    }

    #[test]
    fn it_takes_no_parameters() {
        let err =
            LinuxNnpIsolator::create(vec![Parameter { key: "x".into(), value: "y".into() }]).unwrap_err();
        assert_eq!(err.message(), "linux/nnp: unknown parameter 'x' (it takes no parameters)");
    }
}
