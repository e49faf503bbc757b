//! `namespaces/uts`: a UTS namespace whose hostname is the parameter `hostname`, else the
//! container id, cut to the kernel's 64 bytes (at a character boundary).

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, Error, Isolator, Module, Parameters, Result, parameter,
};

/// The kernel's `HOST_NAME_MAX`.
const HOSTNAME_MAX: usize = 64;

/// The UTS namespace isolator.
#[derive(Debug)]
pub struct NamespacesUtsIsolator {
    hostname: Option<String>,
}

/// `name` cut to at most 64 bytes without splitting a character.
pub fn truncate_hostname(name: &str) -> &str {
    let mut end = name.len().min(HOSTNAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

impl Module for NamespacesUtsIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        crate::params::only("namespaces/uts", &parameters, &["hostname"])?;
        let hostname = parameter(&parameters, "hostname").map(str::to_owned);
        if let Some(name) = &hostname
            && (name.is_empty() || name.len() > HOSTNAME_MAX)
        {
            return Err(Error::msg(format!(
                "namespaces/uts: parameter 'hostname' must be 1 to {HOSTNAME_MAX} bytes, got {} bytes",
                name.len()
            )));
        }
        Ok(NamespacesUtsIsolator { hostname })
    }
}

impl Isolator for NamespacesUtsIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let hostname = match &self.hostname {
            Some(name) => name.clone(),
            None => truncate_hostname(&container_id.value).to_owned(),
        };
        if hostname.is_empty() {
            return Err(Error::msg(format!(
                "namespaces/uts: container '{container_id}' gives an empty hostname"
            )));
        }
        Ok(Some(ContainerLaunchInfo {
            clone_namespaces: vec![libc::CLONE_NEWUTS],
            hostname: Some(hostname),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
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
        assert!(NamespacesUtsIsolator::create(p(&"x".repeat(65))).is_err());
        assert!(NamespacesUtsIsolator::create(p("")).is_err());
    }
}
