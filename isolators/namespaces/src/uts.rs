//! `namespaces/uts`: a UTS namespace whose hostname is the parameter `hostname`, else the
//! container id, cut to the kernel's 64 bytes (at a character boundary).

use module_abi::{ContainerConfig, ContainerId, ContainerLaunchInfo, Error, Result};
use module_params::{Params, ValueError};

use crate::namespace::{Namespace, NamespaceIsolator};

/// The kernel's `HOST_NAME_MAX`.
const HOSTNAME_MAX: usize = 64;

/// The parameter naming every container's hostname.
const HOSTNAME: &str = "hostname";

/// The UTS namespace and the hostname it gets.
#[derive(Debug)]
pub struct Uts {
    hostname: Option<String>,
}

/// The module type of `org_apache_mesos_NamespacesUtsIsolator`.
pub type NamespacesUtsIsolator = NamespaceIsolator<Uts>;

/// `name` cut to at most 64 bytes without splitting a character.
pub fn truncate_hostname(name: &str) -> &str {
    let mut end = name.len().min(HOSTNAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

impl Namespace for Uts {
    const NAME: &'static str = "namespaces/uts";
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWUTS];
    const PARAMETERS: &'static [&'static str] = &[HOSTNAME];

    fn new(params: &Params<'_>) -> Result<Uts> {
        let hostname = params.parse(HOSTNAME, |name| {
            if name.is_empty() || name.len() > HOSTNAME_MAX {
                return Err(ValueError::Other(format!(
                    "must be 1 to {HOSTNAME_MAX} bytes, got {}",
                    name.len()
                )));
            }
            Ok(name.to_owned())
        })?;
        Ok(Uts { hostname })
    }

    fn launch_info(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
        info: &mut ContainerLaunchInfo,
    ) -> Result<()> {
        let hostname = match &self.hostname {
            Some(name) => name.clone(),
            None => truncate_hostname(&container_id.value).to_owned(),
        };
        if hostname.is_empty() {
            return Err(Error::msg(format!(
                "{}: container '{container_id}' gives an empty hostname",
                Self::NAME
            )));
        }
        info.hostname = Some(hostname);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{Isolator, Module};

    use super::*;

    fn hostname(isolator: &NamespacesUtsIsolator, id: &str) -> String {
        let info = isolator.prepare(&ContainerId::new(id), &ContainerConfig::default()).unwrap().unwrap();
        assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWUTS]);
        info.hostname.unwrap()
    }

    #[test]
    fn hostname_is_the_container_id_truncated() {
        let isolator = NamespacesUtsIsolator::create(vec![]).unwrap();
        assert_eq!(hostname(&isolator, "c1"), "c1");
        let long = "a".repeat(100);
        assert_eq!(hostname(&isolator, &long), "a".repeat(64));
        let err = isolator.prepare(&ContainerId::new(""), &ContainerConfig::default()).unwrap_err();
        assert!(err.message().contains("empty hostname"), "{err}");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let name = format!("{}é", "a".repeat(63)); // 'é' is 2 bytes and would straddle byte 64
        assert_eq!(truncate_hostname(&name), "a".repeat(63));
        assert_eq!(truncate_hostname("short"), "short");
    }

    #[test]
    fn hostname_parameter_wins_and_is_checked() {
        let p = |v: &str| vec![module_abi::Parameter { key: "hostname".into(), value: v.into() }];
        let isolator = NamespacesUtsIsolator::create(p("box")).unwrap();
        assert_eq!(hostname(&isolator, "c1"), "box");
        let err = NamespacesUtsIsolator::create(p(&"x".repeat(65))).unwrap_err();
        assert!(err.message().ends_with("for parameter 'hostname': must be 1 to 64 bytes, got 65"), "{err}");
        assert!(NamespacesUtsIsolator::create(p("")).is_err());
    }
}
