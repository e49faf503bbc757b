//! Merging the launch infos of every isolator into the one the containerizer applies, with
//! Mesos's rules (`MesosContainerizerProcess::_launch`): lists are concatenated (namespaces
//! de-duplicated), and a field only one isolator may set is a [`Conflict`] when two set it.

use module_abi::ContainerLaunchInfo;
use thiserror::Error;

/// Two isolators set a field of the launch info that only one may set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Multiple isolators specify {field} (the second is '{isolator}')")]
pub struct Conflict {
    pub field: &'static str,
    /// The second isolator to set it.
    pub isolator: String,
}

/// Takes `next`'s value of a single-valued field into `merged`; two isolators setting it is a
/// conflict.
fn single<T>(
    merged: &mut Option<T>,
    next: Option<T>,
    field: &'static str,
    name: &str,
) -> Result<(), Conflict> {
    if next.is_some() {
        if merged.is_some() {
            return Err(Conflict { field, isolator: name.to_string() });
        }
        *merged = next;
    }
    Ok(())
}

/// Merges `next`, prepared by isolator `name`, into `merged`.
pub fn merge(
    merged: &mut ContainerLaunchInfo,
    next: ContainerLaunchInfo,
    name: &str,
) -> Result<(), Conflict> {
    single(&mut merged.working_directory, next.working_directory, "working directory", name)?;
    single(&mut merged.hostname, next.hostname, "hostname", name)?;
    single(&mut merged.effective_capabilities, next.effective_capabilities, "effective capabilities", name)?;
    single(&mut merged.bounding_capabilities, next.bounding_capabilities, "bounding capabilities", name)?;
    single(&mut merged.rootfs, next.rootfs, "rootfs", name)?;
    single(&mut merged.read_only_rootfs, next.read_only_rootfs, "read_only_rootfs", name)?;
    single(&mut merged.no_new_privileges, next.no_new_privileges, "no_new_privileges", name)?;
    single(&mut merged.seccomp, next.seccomp, "seccomp", name)?;
    single(&mut merged.user, next.user, "user", name)?;
    let mut rlimits = (!merged.rlimits.is_empty()).then(|| std::mem::take(&mut merged.rlimits));
    single(&mut rlimits, (!next.rlimits.is_empty()).then_some(next.rlimits), "rlimits", name)?;
    merged.rlimits = rlimits.unwrap_or_default();
    for flag in next.clone_namespaces {
        if !merged.clone_namespaces.contains(&flag) {
            merged.clone_namespaces.push(flag);
        }
    }
    for group in next.supplementary_groups {
        if !merged.supplementary_groups.contains(&group) {
            merged.supplementary_groups.push(group);
        }
    }
    for join in next.join_namespaces {
        if !merged.join_namespaces.contains(&join) {
            merged.join_namespaces.push(join);
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
        assert_eq!(err, Conflict { field: "working directory", isolator: "b".into() });
        assert_eq!(err.to_string(), "Multiple isolators specify working directory (the second is 'b')");
        let host = || ContainerLaunchInfo { hostname: Some("h".into()), ..Default::default() };
        merge(&mut merged, host(), "a").unwrap();
        assert!(merge(&mut merged, host(), "c").unwrap_err().to_string().contains("hostname"));
        let caps = || ContainerLaunchInfo { effective_capabilities: Some(vec![]), ..Default::default() };
        merge(&mut merged, caps(), "a").unwrap();
        assert!(merge(&mut merged, caps(), "d").unwrap_err().to_string().contains("effective capabilities"));
        let limits = || ContainerLaunchInfo {
            rlimits: vec![module_abi::RLimit { kind: "RLMT_NOFILE".into(), soft: Some(1), hard: Some(2) }],
            ..Default::default()
        };
        merge(&mut merged, limits(), "a").unwrap();
        assert!(merge(&mut merged, limits(), "e").unwrap_err().to_string().contains("rlimits"));
    }
}
