//! What the harness hides from every container, added to the merged launch info: the cgroup file
//! systems become read-only in the container (each cgroup mount bound onto itself read-only), so
//! its processes cannot raise the limits that contain them, and the checkpoint directory
//! (`<work_dir>/meta`) is covered by an empty read-only tmpfs, so they cannot read what the harness
//! keeps about every container. The container always gets a mount namespace of its own for these.
//!
//! With a rootfs there is nothing to add: the host's cgroup mounts and work dir are not in it (its
//! `/sys` is a fresh read-only sysfs), and a mount there would create directories in the rootfs.
//!
//! The limit of this: a container that keeps `CAP_SYS_ADMIN` (root without `linux/capabilities`)
//! can unmount or remount these in its own mount namespace and see what is below. Dropping
//! `SYS_ADMIN` (`--effective_capabilities`, `--bounding_capabilities`) makes them hold.

use std::path::{Path, PathBuf};

use module_abi::{ContainerLaunchInfo, ContainerMountInfo};

/// Adds the masks to `info` for a container of the harness with work dir `work_dir`.
pub fn add(info: &mut ContainerLaunchInfo, work_dir: &Path) {
    if info.rootfs.is_some() {
        return;
    }
    if !info.clone_namespaces.contains(&libc::CLONE_NEWNS) {
        info.clone_namespaces.push(libc::CLONE_NEWNS);
    }
    // `MS_*` are `c_ulong`, the launch info's `u64` on the 64-bit targets the suite builds for.
    let read_only_bind = libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    for point in cgroup_mounts() {
        let point = point.display().to_string();
        info.mounts.push(ContainerMountInfo {
            target: point.clone(),
            source: Some(point),
            fs_type: None,
            flags: read_only_bind,
            options: None,
        });
    }
    let meta = work_dir.join("meta");
    if meta.is_dir() {
        info.mounts.push(ContainerMountInfo {
            target: meta.display().to_string(),
            source: Some("tmpfs".to_owned()),
            fs_type: Some("tmpfs".to_owned()),
            flags: libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            options: Some("size=4k,mode=0000".to_owned()),
        });
    }
}

/// Every cgroup (v1) and cgroup2 mount point of the harness's mount table, in table order.
fn cgroup_mounts() -> Vec<PathBuf> {
    let Ok(mounts) = procfs::process::Process::myself().and_then(|me| me.mountinfo()) else {
        return Vec::new();
    };
    mounts
        .into_iter()
        .filter(|mount| matches!(mount.fs_type.as_str(), "cgroup" | "cgroup2"))
        .map(|mount| PathBuf::from(cgroupfs::mounts::unescape(&mount.mount_point.to_string_lossy())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rootfs_needs_no_masks() {
        let mut info = ContainerLaunchInfo { rootfs: Some("/r".into()), ..Default::default() };
        add(&mut info, Path::new("/nonexistent"));
        assert!(info.mounts.is_empty() && info.clone_namespaces.is_empty());
    }

    #[test]
    fn the_checkpoints_are_covered_and_a_mount_namespace_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("meta/containers")).unwrap();
        let mut info = ContainerLaunchInfo::default();
        add(&mut info, dir.path());
        assert_eq!(info.clone_namespaces, [libc::CLONE_NEWNS]);
        let last = info.mounts.last().unwrap();
        assert_eq!(last.target, dir.path().join("meta").display().to_string());
        assert_eq!(last.fs_type.as_deref(), Some("tmpfs"));
        assert!(info.mounts[..info.mounts.len() - 1].iter().all(|m| m.source.as_ref() == Some(&m.target)));
        add(&mut info, dir.path());
        assert_eq!(info.clone_namespaces, [libc::CLONE_NEWNS], "asked for once");
    }
}
