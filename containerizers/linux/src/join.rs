//! Joining existing namespaces (`ContainerLaunchInfo::join_namespaces`, an OCI bundle's
//! `linux.namespaces[].path`): checked on the host before the clone, applied by the helper with
//! `setns` right after its release, before any mount, so its setup and the command run in them.
//!
//! `ipc`, `uts`, `net` and `cgroup` are namespaces a process moves its own self into: the helper
//! joins them. A `pid` namespace applies only to children (`setns` sets the calling thread's
//! namespace for its children), so the host joins it around the clone instead, on the cloning
//! thread only ([`crate::clone::clone_helper`]): the helper starts inside it, as runc's init
//! does after its `setns` and fork, and the `/proc` it mounts shows that namespace (a pod's
//! processes under CRI). A mount namespace would take the helper out of the view its setup
//! needs, so it is refused, as is joining a kind that is also cloned new.

use module_abi::ContainerLaunchInfo;
use nix::sched::CloneFlags;

/// The clone flag of a joinable kind.
fn flag(kind: &str) -> Option<CloneFlags> {
    Some(match kind {
        "ipc" => CloneFlags::CLONE_NEWIPC,
        "uts" => CloneFlags::CLONE_NEWUTS,
        "net" => CloneFlags::CLONE_NEWNET,
        "cgroup" => CloneFlags::CLONE_NEWCGROUP,
        "pid" => CloneFlags::CLONE_NEWPID,
        _ => return None,
    })
}

/// Checks the joins against the clone flags.
pub fn validate(info: &ContainerLaunchInfo, clone_flags: u64) -> Result<(), String> {
    for join in &info.join_namespaces {
        let flag = flag(&join.kind).ok_or_else(|| {
            format!(
                "joining a '{}' namespace is not supported (only ipc, uts, net, cgroup and pid)",
                join.kind
            )
        })?;
        if clone_flags & flag.bits() as u64 != 0 {
            return Err(format!(
                "the '{}' namespace is both cloned new and joined ({})",
                join.kind, join.path
            ));
        }
        if !join.path.starts_with('/') {
            return Err(format!("the '{}' namespace path '{}' is not absolute", join.kind, join.path));
        }
        if info.hostname.is_some() && join.kind == "uts" {
            return Err(
                "a hostname needs a UTS namespace of the container's own, not a joined one".to_owned()
            );
        }
    }
    Ok(())
}

/// The pid namespace to join, which the host joins around the clone.
pub fn pid_namespace(info: &ContainerLaunchInfo) -> Option<&str> {
    info.join_namespaces.iter().find(|join| join.kind == "pid").map(|join| join.path.as_str())
}

/// Joins every namespace of the launch info the helper joins itself (all but `pid`).
pub fn apply(info: &ContainerLaunchInfo) -> Result<(), String> {
    for join in info.join_namespaces.iter().filter(|join| join.kind != "pid") {
        let flag = flag(&join.kind).ok_or_else(|| format!("cannot join a '{}' namespace", join.kind))?;
        let file = std::fs::File::open(&join.path)
            .map_err(|e| format!("failed to open the {} namespace {}: {e}", join.kind, join.path))?;
        nix::sched::setns(file, flag)
            .map_err(|e| format!("failed to join the {} namespace {}: {e}", join.kind, join.path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use module_abi::NamespacePath;

    use super::*;

    fn info(kind: &str, path: &str) -> ContainerLaunchInfo {
        ContainerLaunchInfo {
            join_namespaces: vec![NamespacePath { kind: kind.into(), path: path.into() }],
            ..Default::default()
        }
    }

    #[test]
    fn only_self_joinable_kinds_not_cloned_too() {
        assert!(validate(&info("net", "/proc/1/ns/net"), 0).is_ok());
        assert!(validate(&info("pid", "/proc/1/ns/pid"), 0).is_ok());
        let err = validate(&info("pid", "/proc/1/ns/pid"), libc::CLONE_NEWPID as u64).unwrap_err();
        assert!(err.contains("both cloned new and joined"), "{err}");
        assert!(validate(&info("mnt", "/proc/1/ns/mnt"), 0).unwrap_err().contains("'mnt'"));
        assert!(validate(&info("mnt", "/proc/1/ns/mnt"), 0).is_err());
        let err = validate(&info("ipc", "/proc/1/ns/ipc"), libc::CLONE_NEWIPC as u64).unwrap_err();
        assert!(err.contains("both cloned new and joined"), "{err}");
        assert!(validate(&info("uts", "relative"), 0).unwrap_err().contains("not absolute"));
        assert_eq!(pid_namespace(&info("pid", "/proc/1/ns/pid")), Some("/proc/1/ns/pid"));
        assert_eq!(pid_namespace(&info("net", "/proc/1/ns/net")), None);
        let with_hostname =
            ContainerLaunchInfo { hostname: Some("h".into()), ..info("uts", "/proc/1/ns/uts") };
        assert!(validate(&with_hostname, 0).is_err());
    }
}
