//! Merging the launch infos of every isolator into the one the containerizer applies, with
//! Mesos's rules (`MesosContainerizerProcess::_launch`): lists are concatenated (namespaces
//! de-duplicated), and a field only one isolator may set is a conflict when two set it.

use module_abi::ContainerLaunchInfo;

/// Merges `next`, prepared by isolator `name`, into `merged`.
pub fn merge(merged: &mut ContainerLaunchInfo, next: ContainerLaunchInfo, name: &str) -> Result<(), String> {
    let conflict = |field: &str| format!("Multiple isolators specify {field} (the second is '{name}')");
    if next.working_directory.is_some() {
        if merged.working_directory.is_some() {
            return Err(conflict("working directory"));
        }
        merged.working_directory = next.working_directory;
    }
    if next.hostname.is_some() {
        if merged.hostname.is_some() {
            return Err(conflict("hostname"));
        }
        merged.hostname = next.hostname;
    }
    if !next.rlimits.is_empty() {
        if !merged.rlimits.is_empty() {
            return Err(conflict("rlimits"));
        }
        merged.rlimits = next.rlimits;
    }
    if !next.effective_capabilities.is_empty() {
        if !merged.effective_capabilities.is_empty() {
            return Err(conflict("effective capabilities"));
        }
        merged.effective_capabilities = next.effective_capabilities;
    }
    for flag in next.clone_namespaces {
        if !merged.clone_namespaces.contains(&flag) {
            merged.clone_namespaces.push(flag);
        }
    }
    merged.environment.extend(next.environment);
    merged.mounts.extend(next.mounts);
    merged.pre_exec_commands.extend(next.pre_exec_commands);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_abi::{ContainerMountInfo, EnvironmentVariable};

    #[test]
    fn namespaces_are_unioned_and_lists_concatenated() {
        let mut merged = ContainerLaunchInfo::default();
        let pid = ContainerLaunchInfo {
            clone_namespaces: vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS],
            mounts: vec![ContainerMountInfo {
                target: "/proc".into(),
                source: Some("proc".into()),
                fs_type: Some("proc".into()),
                flags: 0,
                options: None,
            }],
            ..Default::default()
        };
        let ipc = ContainerLaunchInfo {
            clone_namespaces: vec![libc::CLONE_NEWIPC, libc::CLONE_NEWNS],
            environment: vec![EnvironmentVariable { name: "A".into(), value: "1".into() }],
            ..Default::default()
        };
        merge(&mut merged, pid, "pid").unwrap();
        merge(&mut merged, ipc, "ipc").unwrap();
        assert_eq!(merged.clone_namespaces, [libc::CLONE_NEWPID, libc::CLONE_NEWNS, libc::CLONE_NEWIPC]);
        assert_eq!(merged.mounts.len(), 1);
        assert_eq!(merged.environment.len(), 1);
    }

    #[test]
    fn single_valued_fields_conflict() {
        let mut merged = ContainerLaunchInfo::default();
        let wd = || ContainerLaunchInfo { working_directory: Some("/x".into()), ..Default::default() };
        merge(&mut merged, wd(), "a").unwrap();
        let err = merge(&mut merged, wd(), "b").unwrap_err();
        assert_eq!(err, "Multiple isolators specify working directory (the second is 'b')");
        let host = || ContainerLaunchInfo { hostname: Some("h".into()), ..Default::default() };
        merge(&mut merged, host(), "a").unwrap();
        assert!(merge(&mut merged, host(), "c").unwrap_err().contains("hostname"));
    }
}
