//! Container paths resolved as the container will see them, before it has its root: a [`Root`]
//! is a directory (the rootfs, or `/` without one) opened once, and every mount target is opened
//! under it with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
//!
//! `RESOLVE_IN_ROOT` makes the kernel treat the directory as `/` for the whole walk: an absolute
//! symlink in the rootfs (`/etc -> /host/etc`) is taken inside it, and `..` stops at its top, which
//! is exactly what the symlink will mean once the container runs there. So a symlink pointing
//! outside the rootfs can never carry a mount onto the host's file system: the mount lands at the
//! path it names inside the rootfs, as runc's `securejoin` does. Magic links (`/proc/self/root`
//! and friends) lead out of any root, so they are refused (`ELOOP`).
//!
//! Missing directories on the way are created one component at a time, each with `mkdirat` in
//! the directory the walk resolved, so nothing is ever created outside the root either. The
//! mounts themselves go onto the opened descriptor (through `/proc/self/fd/<n>`, as runc does),
//! never onto the path again, so a symlink swapped in meanwhile changes nothing.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat, openat2};
use nix::sys::stat::{Mode, mkdirat};

/// What to create at a missing mount target: a directory, or an empty file for a bind mount of
/// a file or device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
}

/// A directory that container paths resolve in.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens `path` (a directory) as the root to resolve in.
    pub fn at(path: &Path) -> Result<Root, String> {
        let fd = open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(
            |e| match e {
                Errno::ENOTDIR => format!("the rootfs {} is not a directory", path.display()),
                e => format!("failed to open the rootfs {}: {e}", path.display()),
            },
        )?;
        Ok(Root { fd, path: path.to_owned() })
    }

    /// The root's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens the container path `target` (`O_PATH`), resolved inside the root.
    pub fn open(&self, target: &str) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        openat2(&self.fd, relative(target), how)
    }

    /// Opens `target`, first creating what is missing of it: directories on the way, and the
    /// last component as `kind`.
    pub fn create(&self, target: &str, kind: Kind) -> Result<OwnedFd, String> {
        match self.open(target) {
            Ok(fd) => return Ok(fd),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(self.failed("resolve", target, e)),
        }
        let parts: Vec<&str> = target.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        let mut parent = self.open(".").map_err(|e| self.failed("open", "/", e))?;
        for (index, part) in parts.iter().enumerate() {
            let prefix = format!("/{}", parts[..=index].join("/"));
            match self.open(&prefix) {
                Ok(fd) => {
                    parent = fd;
                    continue;
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(self.failed("resolve", &prefix, e)),
            }
            let created = if kind == Kind::File && index + 1 == parts.len() {
                let flags =
                    OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                openat(&parent, *part, flags, Mode::from_bits_truncate(0o644)).map(drop)
            } else {
                mkdirat(&parent, *part, Mode::from_bits_truncate(0o755))
            };
            match created {
                // EEXIST: made meanwhile, or a symlink whose target is missing (found below).
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(self.failed("create", &prefix, e)),
            }
            parent = self.open(&prefix).map_err(|e| match e {
                Errno::ENOENT => format!(
                    "failed to create {prefix} in {}: it is a symlink to a path that does not exist",
                    self.path.display()
                ),
                e => self.failed("resolve", &prefix, e),
            })?;
        }
        Ok(parent)
    }

    fn failed(&self, op: &str, target: &str, e: Errno) -> String {
        let hint = if e == Errno::ELOOP {
            " (too many symlinks, or a magic link such as /proc/self/root)"
        } else {
            ""
        };
        format!("failed to {op} {target} in {}: {e}{hint}", self.path.display())
    }
}

/// `target` relative to the root (`.` for the root itself).
fn relative(target: &str) -> &str {
    match target.trim_start_matches('/') {
        "" => ".",
        rest => rest,
    }
}

/// A path naming what `fd` refers to, for calls that take paths (`mount`, `umount`).
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn root() -> (tempfile::TempDir, PathBuf, Root) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("rootfs");
        std::fs::create_dir(&path).unwrap();
        let root = Root::at(&path).unwrap();
        (tmp, path, root)
    }

    fn real(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd)).unwrap()
    }

    #[test]
    fn creates_directories_and_files_inside() {
        let (_tmp, path, root) = root();
        let dir = root.create("/mnt/mesos/sandbox", Kind::Directory).unwrap();
        assert_eq!(real(&dir), path.join("mnt/mesos/sandbox"));
        let file = root.create("/dev/null", Kind::File).unwrap();
        assert!(path.join("dev/null").is_file());
        assert_eq!(real(&file), path.join("dev/null"));
        // Present already: opened, not created again.
        assert_eq!(
            real(&root.create("/mnt/mesos/sandbox", Kind::Directory).unwrap()),
            path.join("mnt/mesos/sandbox")
        );
        assert_eq!(real(&root.open("/").unwrap()), path);
    }

    #[test]
    fn symlinks_pointing_outside_stay_inside() {
        let (tmp, path, root) = root();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        // Absolute: taken as a path inside the rootfs, whether or not it exists there.
        symlink(&outside, path.join("absolute")).unwrap();
        let err = root.create("/absolute/volume", Kind::Directory).unwrap_err();
        assert!(err.contains("symlink to a path that does not exist"), "{err}");
        let inside = path.join(outside.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside).unwrap();
        let fd = root.create("/absolute/volume", Kind::Directory).unwrap();
        assert_eq!(real(&fd), inside.join("volume"));
        assert!(!outside.join("volume").exists(), "created outside the rootfs");
        // Relative, climbing far above the rootfs: `..` stops at its top.
        symlink("../../../../../../..", path.join("up")).unwrap();
        let fd = root.create("/up/escaped", Kind::File).unwrap();
        assert_eq!(real(&fd), path.join("escaped"));
        assert!(!tmp.path().join("escaped").exists());
    }

    #[test]
    fn a_symlink_to_nothing_is_an_error() {
        let (_tmp, path, root) = root();
        symlink("/nowhere", path.join("dangling")).unwrap();
        let err = root.create("/dangling/x", Kind::Directory).unwrap_err();
        assert!(err.contains("/dangling") && err.contains("symlink to a path that does not exist"), "{err}");
        let file = std::fs::File::create(path.join("file")).unwrap();
        drop(file);
        let err = root.create("/file/x", Kind::Directory).unwrap_err();
        assert!(err.contains("Not a directory"), "{err}");
    }

    #[test]
    fn a_rootfs_that_is_not_a_directory() {
        let (tmp, _path, _root) = root();
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(Root::at(&file).unwrap_err().ends_with("is not a directory"));
        assert!(Root::at(&tmp.path().join("missing")).unwrap_err().contains("No such file"));
    }
}
