//! What the harness hides from every container, added to the merged launch info: the cgroup file
//! systems become read-only in the container (a recursive read-only remount of the directory that
//! holds them, `/sys/fs/cgroup`, in the container's own mount namespace: one `mount_setattr` for
//! every hierarchy, where binding each one onto itself took two mounts apiece), so its processes
//! cannot raise the limits that contain them, and the checkpoint directory
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
    // A remount with MS_REC: every mount at and below the target (see the helper's
    // `remount_read_only_recursively`).
    let read_only_tree = libc::MS_REMOUNT
        | libc::MS_BIND
        | libc::MS_REC
        | libc::MS_RDONLY
        | libc::MS_NOSUID
        | libc::MS_NODEV
        | libc::MS_NOEXEC;
    for point in read_only_roots(&cgroup_mounts()) {
        info.mounts.push(ContainerMountInfo {
            target: point.display().to_string(),
            source: None,
            fs_type: None,
            flags: read_only_tree,
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

/// The mount points to make read-only, recursively, so that every cgroup mount is covered: the
/// directory holding them all when it is a mount of its own (the v1 and hybrid layouts: a tmpfs at
/// `/sys/fs/cgroup` with a hierarchy in each directory), else each cgroup mount that is not below
/// another (a pure v2 host: the one cgroup2 mount).
fn read_only_roots(mounts: &[Mount]) -> Vec<PathBuf> {
    let cgroups: Vec<&Path> = mounts.iter().filter(|m| m.cgroup).map(|m| m.point.as_path()).collect();
    let parent = cgroups.first().and_then(|first| first.parent());
    if let Some(parent) = parent {
        let shared = cgroups.iter().all(|point| point.parent() == Some(parent));
        if shared && cgroups.len() > 1 && mounts.iter().any(|m| m.point == parent) {
            return vec![parent.to_path_buf()];
        }
    }
    cgroups
        .iter()
        .filter(|point| !cgroups.iter().any(|other| other != *point && point.starts_with(other)))
        .map(|point| point.to_path_buf())
        .collect()
}

/// One line of the mount table: where, and whether it is a cgroup (v1) or cgroup2 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    point: PathBuf,
    cgroup: bool,
}

/// The harness's mount table, in table order.
fn cgroup_mounts() -> Vec<Mount> {
    let Ok(mounts) = procfs::process::Process::myself().and_then(|me| me.mountinfo()) else {
        return Vec::new();
    };
    mounts
        .into_iter()
        .map(|mount| Mount {
            point: PathBuf::from(cgroupfs::mounts::unescape(&mount.mount_point.to_string_lossy())),
            cgroup: matches!(mount.fs_type.as_str(), "cgroup" | "cgroup2"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str, cgroup: bool) -> Mount {
        Mount { point: PathBuf::from(point), cgroup }
    }

    /// v1 and hybrid: the tmpfs holding every hierarchy, once; pure v2: the cgroup2 mount; a
    /// cgroup mount elsewhere is covered on its own.
    #[test]
    fn the_read_only_roots_cover_every_cgroup_mount() {
        let hybrid = [
            mount("/", false),
            mount("/sys/fs/cgroup", false),
            mount("/sys/fs/cgroup/cpu", true),
            mount("/sys/fs/cgroup/memory", true),
            mount("/sys/fs/cgroup/unified", true),
        ];
        assert_eq!(read_only_roots(&hybrid), [PathBuf::from("/sys/fs/cgroup")]);
        let v2 = [mount("/", false), mount("/sys/fs/cgroup", true)];
        assert_eq!(read_only_roots(&v2), [PathBuf::from("/sys/fs/cgroup")]);
        let scattered = [
            mount("/", false),
            mount("/sys/fs/cgroup", true),
            mount("/sys/fs/cgroup/nested", true),
            mount("/mnt/cg", true),
        ];
        assert_eq!(read_only_roots(&scattered), [PathBuf::from("/sys/fs/cgroup"), PathBuf::from("/mnt/cg")]);
        // Hierarchies side by side in a directory that is no mount of its own: each on its own.
        let unmounted_parent = [mount("/", false), mount("/cg/cpu", true), mount("/cg/memory", true)];
        assert_eq!(
            read_only_roots(&unmounted_parent),
            [PathBuf::from("/cg/cpu"), PathBuf::from("/cg/memory")]
        );
        assert!(read_only_roots(&[mount("/", false)]).is_empty());
    }

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
        assert!(info.mounts[..info.mounts.len() - 1].iter().all(|m| m.source.is_none()));
        add(&mut info, dir.path());
        assert_eq!(info.clone_namespaces, [libc::CLONE_NEWNS], "asked for once");
    }
}
