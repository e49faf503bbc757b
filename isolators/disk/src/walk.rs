//! A bounded walk of a directory tree that never follows a symbolic link and never leaves the
//! root's file system, shared by `disk/du` (summing usage) and `disk/xfs` (labelling files with a
//! project id).
//!
//! - The root is opened with `O_DIRECTORY | O_NOFOLLOW`: a root that is a symlink, a file or
//!   missing is an error.
//! - Every directory below is opened with `openat2(root, relative path, RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)`, so a container that swaps a directory for a symlink
//!   while the walk runs cannot send it outside the tree.
//! - Entries are `fstatat(AT_SYMLINK_NOFOLLOW)`ed; one on another device (a mount point) is
//!   neither visited nor entered (as `du -x`).
//! - Pending directories are kept on an explicit stack, not in recursion, and the walk stops
//!   after `max_entries` entries ([`Walked::truncated`]): a hostile tree costs bounded time and
//!   memory.
//! - An entry that vanishes while the walk runs is skipped: the container is still writing.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};

/// The default bound on entries per walk.
pub const MAX_ENTRIES: u64 = 1_000_000;

/// What an entry is, from its own `lstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// One entry of the tree: its path relative to the root (`.` for the root) and its `lstat`.
#[derive(Debug)]
pub struct Entry<'a> {
    pub path: &'a Path,
    pub stat: &'a FileStat,
    pub kind: Kind,
}

/// What a walk saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walked {
    /// Entries visited, the root included.
    pub entries: u64,
    /// The walk stopped at its bound: what was summed is a lower bound.
    pub truncated: bool,
}

/// A walk that could not be done.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} '{}': {errno}", path.display())]
pub struct WalkError {
    pub action: &'static str,
    pub path: PathBuf,
    pub errno: Errno,
}

fn kind_of(stat: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => Kind::Directory,
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// The `openat2` resolution of every path below the root.
pub fn beneath() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_XDEV
}

/// Opens `path` below `root` without following any symlink or leaving the file system.
pub fn open_beneath(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new().flags(flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).resolve(beneath());
    openat2(root, path, how)
}

/// Opens a tree's root: a directory, not through a symlink.
pub fn open_root(root: &Path) -> Result<OwnedFd, WalkError> {
    open(root, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|errno| WalkError { action: "open the directory", path: root.to_path_buf(), errno })
}

/// Walks the tree at `root`, calling `visit` with the root's descriptor and each entry (the root
/// first), at most `max_entries` of them.
pub fn walk(
    root: &Path,
    max_entries: u64,
    mut visit: impl FnMut(BorrowedFd<'_>, &Entry<'_>) -> Result<(), WalkError>,
) -> Result<Walked, WalkError> {
    let root_fd = open_root(root)?;
    let failed = |action: &'static str, rel: &Path, errno| WalkError { action, path: root.join(rel), errno };
    let root_stat = fstat(&root_fd).map_err(|e| failed("stat", Path::new("."), e))?;
    let mut walked = Walked { entries: 1, truncated: false };
    visit(root_fd.as_fd(), &Entry { path: Path::new("."), stat: &root_stat, kind: Kind::Directory })?;
    let mut pending = vec![PathBuf::from(".")];
    while let Some(dir) = pending.pop() {
        let fd = match open_beneath(root_fd.as_fd(), &dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(fd) => fd,
            // Removed, or replaced by a symlink or a mount, since it was listed.
            Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::EXDEV) => continue,
            // Deeper than a path can name: what is below is not counted.
            Err(Errno::ENAMETOOLONG) => {
                walked.truncated = true;
                continue;
            }
            Err(e) => return Err(failed("open the directory", &dir, e)),
        };
        // The open directory is listed through its /proc magic link, which names the very
        // directory opened (no path is walked again).
        let listing = std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| failed("list", &dir, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
        for item in listing {
            let item = match item {
                Ok(item) => item,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
                Err(e) => {
                    return Err(failed("list", &dir, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))));
                }
            };
            let name = item.file_name();
            if walked.entries >= max_entries {
                walked.truncated = true;
                return Ok(walked);
            }
            let rel = if dir == Path::new(".") { PathBuf::from(&name) } else { dir.join(&name) };
            let stat = match fstatat(&fd, name.as_os_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(failed("stat", &rel, e)),
            };
            if stat.st_dev != root_stat.st_dev {
                continue;
            }
            walked.entries += 1;
            let kind = kind_of(&stat);
            visit(root_fd.as_fd(), &Entry { path: &rel, stat: &stat, kind })?;
            if kind == Kind::Directory {
                pending.push(rel);
            }
        }
    }
    Ok(walked)
}

/// Disk usage of a tree as `du -s -x` counts it: allocated blocks (`st_blocks`, 512 bytes each)
/// of every entry, a file with several hard links once. Symlinks count their own inode only.
pub fn disk_usage(root: &Path, max_entries: u64) -> Result<(u64, Walked), WalkError> {
    let mut bytes: u64 = 0;
    let mut linked = std::collections::HashSet::new();
    let walked = walk(root, max_entries, |_, entry| {
        if entry.kind != Kind::Directory && entry.stat.st_nlink > 1 && !linked.insert(entry.stat.st_ino) {
            return Ok(());
        }
        bytes = bytes.saturating_add((entry.stat.st_blocks as u64).saturating_mul(512));
        Ok(())
    })?;
    Ok((bytes, walked))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;

    use super::*;

    fn write(path: &Path, bytes: usize) {
        fs::write(path, vec![7u8; bytes]).unwrap();
    }

    #[test]
    fn counts_files_and_directories_once_and_not_through_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("big"), 4 << 20);
        let tree = tempfile::tempdir().unwrap();
        let root = tree.path();
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        write(&root.join("a/one"), 64 << 10);
        write(&root.join("a/b/c/two"), 64 << 10);
        fs::hard_link(root.join("a/one"), root.join("a/b/one-again")).unwrap();
        symlink(outside.path(), root.join("a/outside")).unwrap();
        symlink(outside.path().join("big"), root.join("big-link")).unwrap();
        let (bytes, walked) = disk_usage(root, MAX_ENTRIES).unwrap();
        assert!(!walked.truncated);
        // root, a, a/b, a/b/c, one, two, one-again, outside, big-link
        assert_eq!(walked.entries, 9);
        assert!(bytes >= 128 << 10, "{bytes}");
        assert!(bytes < 1 << 20, "the symlinked 4MB were counted: {bytes}");
    }

    #[test]
    fn the_walk_is_bounded() {
        let tree = tempfile::tempdir().unwrap();
        for i in 0..50 {
            write(&tree.path().join(format!("f{i}")), 10);
        }
        let (_, walked) = disk_usage(tree.path(), 10).unwrap();
        assert!(walked.truncated);
        assert_eq!(walked.entries, 10);
    }

    #[test]
    fn a_root_that_is_not_a_directory_is_an_error() {
        let tree = tempfile::tempdir().unwrap();
        write(&tree.path().join("file"), 1);
        symlink(tree.path(), tree.path().join("link")).unwrap();
        for (name, errno) in [("file", Errno::ENOTDIR), ("link", Errno::ENOTDIR), ("missing", Errno::ENOENT)]
        {
            let err = disk_usage(&tree.path().join(name), MAX_ENTRIES).unwrap_err();
            assert_eq!(err.errno, errno, "{name}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn deep_trees_need_no_recursion() {
        let tree = tempfile::tempdir().unwrap();
        let mut path = tree.path().to_path_buf();
        for _ in 0..200 {
            path.push("d");
        }
        fs::create_dir_all(&path).unwrap();
        let (_, walked) = disk_usage(tree.path(), MAX_ENTRIES).unwrap();
        assert_eq!(walked.entries, 201);
    }
}
