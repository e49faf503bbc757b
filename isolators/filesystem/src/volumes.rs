//! Host-path volumes: `ContainerInfo.volumes` entries with an absolute `host_path`, bound at their
//! `container_path` in the container's mount namespace. This is Mesos's `volume/host_path`
//! isolator, which Mesos adds whenever `filesystem/linux` is used; here `filesystem/linux` does it
//! itself.
//!
//! Where a volume lands, as in Mesos:
//! - a relative `container_path` is under the sandbox. Its mount point is created in the sandbox
//!   on the host (a directory, or an empty file for a file volume) in `prepare`, so that with a
//!   rootfs it shows through the sandbox's bind mount; the target is then
//!   `<sandbox_directory>/<container_path>` in the container, or `<sandbox>/<container_path>`
//!   without a rootfs;
//! - an absolute `container_path` with a rootfs is a path in the container: the launch helper
//!   creates it in the rootfs if needed (never outside it);
//! - an absolute `container_path` without a rootfs is a host path, which must exist (Mesos never
//!   creates mount points outside the sandbox on the host).
//!
//! The bind is `MS_BIND | MS_REC`, plus `MS_RDONLY` for mode `RO` (the helper remounts it so the
//! flag holds, as Mesos's `fs::mount` does). Mode defaults to `RW` when absent. A `..` component
//! in a container path is refused, and so is a mount point under the sandbox reached through a
//! symlink: either could put the mount outside the sandbox.
//!
//! Mesos's other volume kinds (image, secret, sandbox path: a relative `host_path`) are refused
//! rather than ignored, since no other isolator of the suite would mount them.

use std::fs::{self, OpenOptions};
use std::path::{Component, Path, PathBuf};

use module_abi::{ContainerMountInfo, Volume};

use crate::error::VolumeError;

/// `MS_*` values are `c_ulong`, `u32` on 32-bit targets: the casts are not no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
const BIND: u64 = (libc::MS_BIND | libc::MS_REC) as u64;
#[allow(clippy::unnecessary_cast)]
const READ_ONLY: u64 = libc::MS_RDONLY as u64;

/// Where the container's volumes are interpreted.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// The sandbox on the host (`ContainerConfig.directory`).
    pub sandbox: &'a Path,
    /// With a rootfs, where the sandbox is in the container (`sandbox_directory`).
    pub sandbox_in_rootfs: Option<&'a str>,
}

/// The mounts of `volumes`, in order, creating the mount points of relative container paths.
pub fn mounts(volumes: &[Volume], layout: Layout<'_>) -> Result<Vec<ContainerMountInfo>, VolumeError> {
    let mut mounts = Vec::new();
    for volume in volumes {
        if let Some(mount) = mount(volume, layout)? {
            mounts.push(mount);
        }
    }
    Ok(mounts)
}

/// The mount of one volume; `None` when the host path already is the mount point (a container
/// sharing the host's file system), as Mesos skips it.
fn mount(volume: &Volume, layout: Layout<'_>) -> Result<Option<ContainerMountInfo>, VolumeError> {
    let read_only = match volume.mode.as_deref() {
        None | Some("RW") => false,
        Some("RO") => true,
        Some(other) => {
            return Err(VolumeError::Invalid(format!("unknown mode '{other}' (expected RW or RO)")));
        }
    };
    let host_path = match volume.host_path.as_deref() {
        None => {
            return Err(VolumeError::Invalid(format!(
                "volume '{}' has no host_path: only host-path volumes are supported",
                volume.container_path
            )));
        }
        Some(path) if !path.starts_with('/') => {
            return Err(VolumeError::Invalid(format!(
                "host_path '{path}' is relative: sandbox-path volumes are not supported"
            )));
        }
        Some(path) => path,
    };
    let is_dir = match fs::metadata(host_path) {
        Ok(metadata) => metadata.is_dir(),
        Err(_) => return Err(VolumeError::HostPathMissing(host_path.to_owned())),
    };
    let parts = container_path_parts(&volume.container_path)?;
    let target = if volume.container_path.starts_with('/') {
        let target = format!("/{}", parts.join("/"));
        if layout.sandbox_in_rootfs.is_none() && !Path::new(&target).exists() {
            return Err(VolumeError::MountPointMissing(volume.container_path.clone()));
        }
        target
    } else {
        create_beneath(layout.sandbox, &parts, !is_dir)?;
        match layout.sandbox_in_rootfs {
            Some(in_rootfs) => format!("{}/{}", in_rootfs.trim_end_matches('/'), parts.join("/")),
            None => layout.sandbox.join(parts.join("/")).display().to_string(),
        }
    };
    if layout.sandbox_in_rootfs.is_none() && Path::new(&target) == Path::new(host_path) {
        return Ok(None);
    }
    Ok(Some(ContainerMountInfo {
        target,
        source: Some(host_path.to_owned()),
        fs_type: None,
        flags: BIND | if read_only { READ_ONLY } else { 0 },
        options: None,
    }))
}

/// The normal components of a container path; empty and `..`-holding paths are refused.
fn container_path_parts(path: &str) -> Result<Vec<&str>, VolumeError> {
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().unwrap_or_default()),
            Component::ParentDir => {
                return Err(VolumeError::Invalid(format!("container_path '{path}' has a '..' component")));
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    if parts.is_empty() {
        return Err(VolumeError::Invalid(format!(
            "container_path '{path}' names no path (it must not be empty or '/')"
        )));
    }
    Ok(parts)
}

/// Creates `sandbox/<parts>` (directories, and the last one a file when `file`), refusing to walk
/// through a symlink: what the sandbox holds was written by someone else (fetched files, an
/// earlier run), and a symlink there could point anywhere on the host.
fn create_beneath(sandbox: &Path, parts: &[&str], file: bool) -> Result<(), VolumeError> {
    let mut path = PathBuf::from(sandbox);
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        let last = index + 1 == parts.len();
        let failed = |path: &Path| {
            let path = path.to_owned();
            move |source| VolumeError::MountPoint { path, source }
        };
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(VolumeError::Symlink {
                    mount_point: sandbox.join(parts.join("/")),
                    symlink: path,
                });
            }
            Ok(metadata) if !last && !metadata.is_dir() => {
                return Err(VolumeError::MountPoint {
                    path,
                    source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if last && file {
                    OpenOptions::new().write(true).create_new(true).open(&path).map(drop)
                } else {
                    fs::create_dir(&path)
                }
                .map_err(failed(&path))?;
            }
            Err(e) => return Err(failed(&path)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(container_path: &str, host_path: Option<&Path>, mode: Option<&str>) -> Volume {
        Volume {
            mode: mode.map(str::to_owned),
            container_path: container_path.to_owned(),
            host_path: host_path.map(|p| p.display().to_string()),
        }
    }

    struct Dirs {
        _tmp: tempfile::TempDir,
        sandbox: PathBuf,
        host_dir: PathBuf,
        host_file: PathBuf,
    }

    fn dirs() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let sandbox = tmp.path().join("sandbox");
        let host_dir = tmp.path().join("data");
        let host_file = tmp.path().join("file.txt");
        fs::create_dir(&sandbox).unwrap();
        fs::create_dir(&host_dir).unwrap();
        fs::write(&host_file, "x").unwrap();
        Dirs { _tmp: tmp, sandbox, host_dir, host_file }
    }

    #[test]
    fn relative_container_paths_are_under_the_sandbox_and_created_there() {
        let d = dirs();
        let layout = Layout { sandbox: &d.sandbox, sandbox_in_rootfs: None };
        let vols = [
            volume("data/rw", Some(&d.host_dir), Some("RW")),
            volume("./conf.txt", Some(&d.host_file), Some("RO")),
        ];
        let mounts = mounts(&vols, layout).unwrap();
        assert_eq!(mounts[0].target, d.sandbox.join("data/rw").display().to_string());
        assert_eq!(mounts[0].source.as_deref(), Some(d.host_dir.to_str().unwrap()));
        assert_eq!(mounts[0].flags, BIND);
        assert!(d.sandbox.join("data/rw").is_dir());
        assert_eq!(mounts[1].target, d.sandbox.join("conf.txt").display().to_string());
        assert_eq!(mounts[1].flags, BIND | READ_ONLY);
        assert!(d.sandbox.join("conf.txt").is_file(), "a file volume gets a file mount point");
    }

    #[test]
    fn with_a_rootfs_targets_are_container_paths() {
        let d = dirs();
        let layout = Layout { sandbox: &d.sandbox, sandbox_in_rootfs: Some("/mnt/mesos/sandbox") };
        let vols = [volume("/data//x/", Some(&d.host_dir), None), volume("rel", Some(&d.host_dir), None)];
        let mounts = mounts(&vols, layout).unwrap();
        assert_eq!(
            mounts[0].target, "/data/x",
            "an absolute path is normalised and never checked on the host"
        );
        assert_eq!(mounts[1].target, "/mnt/mesos/sandbox/rel");
        assert!(d.sandbox.join("rel").is_dir(), "created in the host's sandbox, seen through its bind");
    }

    #[test]
    fn without_a_rootfs_an_absolute_mount_point_must_exist() {
        let d = dirs();
        let layout = Layout { sandbox: &d.sandbox, sandbox_in_rootfs: None };
        let err = mounts(&[volume("/nonexistent/mount/point", Some(&d.host_dir), None)], layout).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Mount point '/nonexistent/mount/point' is an absolute path. It must exist if the container shares the host filesystem"
        );
        let target = d.sandbox.display().to_string();
        let ok = mounts(&[volume(&target, Some(&d.host_dir), Some("RO"))], layout).unwrap();
        assert_eq!(ok[0].target, target);
        // The host path is its own mount point: nothing to do.
        let same = d.host_dir.display().to_string();
        assert!(mounts(&[volume(&same, Some(&d.host_dir), None)], layout).unwrap().is_empty());
    }

    #[test]
    fn refusals_in_mesos_words() {
        let d = dirs();
        let layout = Layout { sandbox: &d.sandbox, sandbox_in_rootfs: Some("/mnt/mesos/sandbox") };
        let refused = |v: Volume| mounts(&[v], layout).unwrap_err().to_string();
        assert_eq!(
            refused(volume("/x", Some(Path::new("/nonexistent/host")), None)),
            "Path '/nonexistent/host' in HOST_PATH volume does not exist"
        );
        assert!(refused(volume("/x", Some(&d.host_dir), Some("RWX"))).contains("unknown mode 'RWX'"));
        assert!(refused(volume("/x", None, None)).contains("only host-path volumes"));
        assert!(refused(volume("/x", Some(Path::new("relative")), None)).contains("sandbox-path volumes"));
        assert!(refused(volume("../escape", Some(&d.host_dir), None)).contains("'..' component"));
        assert!(refused(volume("/a/../../b", Some(&d.host_dir), None)).contains("'..' component"));
        assert!(refused(volume("", Some(&d.host_dir), None)).contains("names no path"));
        assert!(refused(volume("/", Some(&d.host_dir), None)).contains("names no path"));
        assert!(refused(volume("/x", None, None)).starts_with("Invalid volume: "));
    }

    #[test]
    fn a_symlink_in_the_sandbox_is_not_followed() {
        let d = dirs();
        std::os::unix::fs::symlink(&d.host_dir, d.sandbox.join("link")).unwrap();
        let layout = Layout { sandbox: &d.sandbox, sandbox_in_rootfs: None };
        let err = mounts(&[volume("link/inner", Some(&d.host_dir), None)], layout).unwrap_err();
        assert!(matches!(err, VolumeError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("goes through the symlink"), "{err}");
        assert!(!d.host_dir.join("inner").exists(), "nothing was created through the symlink");
    }
}
