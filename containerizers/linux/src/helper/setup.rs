//! Applying the launch info inside the new namespaces, before the command runs: mount propagation,
//! the mounts, the rootfs, hostname. Every step was validated on the host
//! ([`crate::spec::validate`]); what fails here is the kernel saying no, reported with the step
//! that failed. (The command's own process attributes, rlimits included, are `process`'s, applied
//! in the command's process.)
//!
//! # Mount targets, and the rootfs
//!
//! A mount's `target` is a path **in the container**; its `source` (for a bind mount) is a path
//! on the host, as the helper sees it before it enters the rootfs. Without a rootfs the two are
//! the same file system. With one (`launch_info.rootfs`), in order:
//!
//! 1. the mounts of `/` are made slave, recursively (as without a rootfs): nothing mounted below
//!    propagates to the host, so every mount dies with the container's mount namespace;
//! 2. the rootfs is bind-mounted onto itself (`MS_BIND | MS_REC`): `pivot_root` needs its new
//!    root to be a mount point (Mesos and runc do the same);
//! 3. every mount, in launch-info order, goes at `<rootfs><target>`, resolved inside the rootfs
//!    ([`in_root`]: a symlink in the rootfs that points outside is taken inside it, as the
//!    container will see it; missing directories are created there). So `namespaces/pid`'s
//!    `/proc` lands on the container's `/proc`, and a volume at `/data` on the rootfs's `/data`;
//! 4. if a mount put a fresh file system (not a bind) at `/dev`, the symlinks `fd`, `stdin`,
//!    `stdout`, `stderr` and `ptmx -> pts/ptmx` are added to it where free, as runc does for a
//!    `/dev` it sets up (the launch info has no file operations to ask for them);
//! 5. `pivot_root(".", ".")` from inside the rootfs, then the old root (now stacked on `.`) is
//!    made slave and lazily unmounted (runc's sequence, which needs no `put_old` directory in the
//!    rootfs); then the helper moves to the working directory;
//! 6. with `launch_info.read_only_rootfs`, `/` (the rootfs's bind) is remounted read-only, as
//!    runc does for `root.readonly` once the rootfs is final: the mounts on top of it keep their
//!    own flags (a container's `/dev`, `/proc`, volumes stay writable as asked), and the host's
//!    mounts of the same file system are not touched.
//!
//! A read-only bind (`MS_BIND | MS_RDONLY`) is remounted read-only, since the kernel ignores
//! `MS_RDONLY` on the bind itself (Mesos's `fs::mount` does the same); the remount keeps the
//! mount's `nosuid`, `nodev`, `noexec` and atime flags.
//!
//! On an initramfs root (the vm-tests guests), `pivot_root` is impossible (`EINVAL`: the root
//! mount has no parent to move it under). There the helper does what runc's `--no-pivot` and
//! `switch_root` do: `MS_MOVE` the rootfs onto `/` and `chroot` into it.

mod in_root;

use std::path::Path;

use module_abi::{ContainerLaunchInfo, ContainerMountInfo, LaunchRequest};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::sys::statvfs::FsFlags;
use nix::unistd::{chdir, chroot, fchdir, pivot_root, symlinkat};

use self::in_root::{Kind, Root, fd_path};
use crate::spec;

/// The symlinks runc puts in a `/dev` it sets up.
const DEV_SYMLINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Applies the launch info to this process (and so to the command it will run).
pub fn apply(request: &LaunchRequest) -> Result<(), String> {
    let info = &request.launch_info;
    let flags = spec::clone_flags(info)?;
    if spec::has(flags, libc::CLONE_NEWNS) {
        // A new mount namespace starts as a copy whose mounts still share propagation with the
        // host's (systemd makes `/` shared): without this, the mounts below would appear on the
        // host. Slave keeps host mounts flowing in, never out (Mesos does the same).
        mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
            .map_err(|e| format!("failed to make the mounts of '/' slave recursively: {e}"))?;
    }
    let root = match &info.rootfs {
        Some(rootfs) => Some(bind_rootfs(Path::new(rootfs))?),
        None if !info.mounts.is_empty() => Some(Root::at(Path::new("/"))?),
        None => None,
    };
    if let Some(root) = &root {
        for m in &info.mounts {
            mount_one(root, m)?;
        }
    }
    if let (Some(root), Some(_)) = (&root, &info.rootfs) {
        if mounts_fresh_dev(info) {
            dev_symlinks(root)?;
        }
        enter(root)?;
        let cwd = spec::working_directory(request);
        chdir(&cwd).map_err(|e| {
            format!("the working directory {} is not usable in the rootfs: {e}", cwd.display())
        })?;
        if info.read_only_rootfs == Some(true) {
            // By path: the container may have no /proc for a descriptor's name, and "/" is now
            // the root of the rootfs's bind.
            remount_read_only("/").map_err(|e| format!("failed to make the rootfs read-only: {e}"))?;
        }
    }
    if let Some(hostname) = &info.hostname {
        nix::unistd::sethostname(hostname)
            .map_err(|e| format!("failed to set the hostname '{hostname}': {e}"))?;
    }
    Ok(())
}

/// Makes the rootfs a mount point of its own and opens it.
fn bind_rootfs(rootfs: &Path) -> Result<Root, String> {
    Root::at(rootfs)?;
    mount(Some(rootfs), rootfs, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(|e| format!("failed to bind-mount the rootfs {} onto itself: {e}", rootfs.display()))?;
    // Opened again by path: the walk enters the bind just made.
    Root::at(rootfs)
}

/// One mount at its target inside `root`.
fn mount_one(root: &Root, m: &ContainerMountInfo) -> Result<(), String> {
    let flags = MsFlags::from_bits_retain(m.flags as libc::c_ulong);
    let describe = || {
        format!(
            "{} ({}) at {} in {}",
            m.source.as_deref().unwrap_or("none"),
            m.fs_type.as_deref().unwrap_or("no type"),
            m.target,
            root.path().display()
        )
    };
    let recursive_read_only = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_REC;
    if flags.contains(recursive_read_only) && m.source.is_none() {
        let target = root.open(&m.target).map_err(|e| format!("failed to mount {}: {e}", describe()))?;
        return remount_read_only_recursively(&target, flags, &m.target)
            .map_err(|e| format!("failed to make {} and every mount below it read-only: {e}", describe()));
    }
    // A bind of a file or device needs a file to land on; anything else a directory. Targets of
    // mounts without a source (a remount, a propagation change) must exist already.
    let target = if m.source.is_some() && !flags.contains(MsFlags::MS_REMOUNT) {
        let bind_of_file = flags.contains(MsFlags::MS_BIND)
            && m.source.as_deref().is_some_and(|s| std::fs::metadata(s).is_ok_and(|md| !md.is_dir()));
        root.create(&m.target, if bind_of_file { Kind::File } else { Kind::Directory })?
    } else {
        root.open(&m.target).map_err(|e| format!("failed to mount {}: {e}", describe()))?
    };
    mount(m.source.as_deref(), fd_path(&target).as_str(), m.fs_type.as_deref(), flags, m.options.as_deref())
        .map_err(|e| format!("failed to mount {}: {e}", describe()))?;
    let read_only_bind = MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    if flags.contains(read_only_bind) && !flags.contains(MsFlags::MS_REMOUNT) {
        // Resolved again: the walk now ends at the root of the new mount, which is what a
        // remount must name.
        root.open(&m.target)
            .and_then(|top| remount_read_only(&fd_path(&top)))
            .map_err(|e| format!("failed to make {} read-only: {e}", describe()))?;
    }
    Ok(())
}

/// Remounts the mount whose root `path` names read-only, keeping its other per-mount flags (a bind
/// remount sets them all, so any left out would be cleared). A bind remount changes only this
/// mount, never its file system's other mounts (the host's) nor the mounts on top of it.
fn remount_read_only(path: &str) -> nix::Result<()> {
    remount_read_only_with(path, MsFlags::empty())
}

/// [`remount_read_only`], adding `extra` per-mount flags.
fn remount_read_only_with(path: &str, extra: MsFlags) -> nix::Result<()> {
    let current = mount_flags(path)?;
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | extra;
    for (statvfs, mount) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(statvfs) {
            flags |= mount;
        }
    }
    if !current.intersects(FsFlags::ST_NOATIME | ST_RELATIME) {
        flags |= MsFlags::MS_STRICTATIME;
    }
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
}

/// `ST_RELATIME` of statvfs(3)'s flags (Linux's statfs `ST_RELATIME`, 0x1000), which musl's
/// headers, and so the libc and nix crates for the musl target, leave out.
const ST_RELATIME: FsFlags = FsFlags::from_bits_retain(0x1000);

/// The per-mount flags of the mount at `path` (statvfs(3)'s `f_flag`), every bit kept: nix's
/// `Statvfs::flags` drops the bits its `FsFlags` does not name, and on musl that is
/// [`ST_RELATIME`], which would turn every `relatime` mount made read-only into a strictatime one
/// (and fail with EPERM in a user namespace, where the atime flags are locked).
fn mount_flags(path: &str) -> nix::Result<FsFlags> {
    let path = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stats` is writable memory of the struct's size.
    Errno::result(unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) })?;
    // SAFETY: statvfs succeeded, so it filled `stats`.
    Ok(FsFlags::from_bits_retain(unsafe { stats.assume_init() }.f_flag))
}

/// `mount_setattr(2)`'s argument (Linux 5.12), spelled out: not every libc crate version has it.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const AT_RECURSIVE: libc::c_int = 0x8000;

/// A remount of `MS_BIND | MS_RDONLY | MS_REC` (no source): the mount at `target` and every mount
/// below it become read-only (and `nosuid`, `nodev`, `noexec` where asked), in this mount
/// namespace only. `mount(2)` ignores `MS_REC` on a remount; `mount_setattr(2)` with
/// `AT_RECURSIVE` does it in one call (the masks make a whole cgroup tree read-only so). Before
/// Linux 5.12, each mount at or below `path` is remounted one by one.
fn remount_read_only_recursively(
    target: &std::os::fd::OwnedFd,
    flags: MsFlags,
    path: &str,
) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    // The per-mount flags asked for besides read-only, as mount_setattr's attributes.
    let extra = flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    let mut attr_set = MOUNT_ATTR_RDONLY;
    for (ms, attr) in [
        (MsFlags::MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
    ] {
        if extra.contains(ms) {
            attr_set |= attr;
        }
    }
    let attr = MountAttr { attr_set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: a valid descriptor, an empty C string with AT_EMPTY_PATH, and a `mount_attr` of the
    // size passed; the kernel only reads them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            target.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | AT_RECURSIVE,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == 0 {
        return Ok(());
    }
    match Errno::last() {
        Errno::ENOSYS => {}
        errno => return Err(errno.to_string()),
    }
    for point in mounts_at_or_below(path)? {
        remount_read_only_with(&point, extra).map_err(|e| format!("{point}: {e}"))?;
    }
    Ok(())
}

/// The mount points at or below `path`, in this process's mount table's order (which the
/// remounts do not depend on: each changes its own mount only).
fn mounts_at_or_below(path: &str) -> Result<Vec<String>, String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let top = path.trim_end_matches('/');
    let points = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_octal)
        .filter(|point| point == top || point.strip_prefix(top).is_some_and(|rest| rest.starts_with('/')))
        .collect();
    Ok(points)
}

/// mountinfo's `\040`-style escapes of spaces, tabs, newlines and backslashes.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the launch info mounts a fresh file system (not a bind) at `/dev`.
fn mounts_fresh_dev(info: &ContainerLaunchInfo) -> bool {
    info.mounts.iter().any(|m| {
        let bind = MsFlags::from_bits_retain(m.flags as libc::c_ulong).contains(MsFlags::MS_BIND);
        m.target.trim_end_matches('/') == "/dev" && !bind && m.fs_type.is_some()
    })
}

/// runc's `/dev` symlinks, where the mounts left the names free.
fn dev_symlinks(root: &Root) -> Result<(), String> {
    let dev =
        root.open("/dev").map_err(|e| format!("failed to open /dev in {}: {e}", root.path().display()))?;
    for (name, points_to) in DEV_SYMLINKS {
        match symlinkat(points_to, &dev, name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(format!("failed to create the symlink /dev/{name} -> {points_to}: {e}")),
        }
    }
    Ok(())
}

/// Makes `root` this process's root directory (and its mount namespace's), leaving the old one
/// unreachable.
fn enter(root: &Root) -> Result<(), String> {
    let old_root = open("/", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("failed to open the current root: {e}"))?;
    fchdir(root.fd())
        .map_err(|e| format!("failed to change into the rootfs {}: {e}", root.path().display()))?;
    match pivot_root(".", ".") {
        Ok(()) => {
            // The old root is now stacked on top of the new one, at ".". The kernel leaves the
            // working directory there, but says nothing it promises: go there by descriptor.
            fchdir(&old_root).map_err(|e| format!("failed to change into the old root: {e}"))?;
            // Slave before the unmount so it cannot propagate to a peer on the host (already
            // true after the recursive slave above; kept so this step stands on its own).
            mount(None::<&str>, ".", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
                .map_err(|e| format!("failed to make the old root slave: {e}"))?;
            umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("failed to detach the old root: {e}"))?;
        }
        Err(Errno::EINVAL) if root_is_initramfs() => {
            mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>).map_err(|e| {
                format!("failed to move the rootfs {} onto / (initramfs root): {e}", root.path().display())
            })?;
            chroot(".")
                .map_err(|e| format!("failed to chroot into the rootfs {}: {e}", root.path().display()))?;
        }
        Err(e) => return Err(format!("failed to pivot_root into the rootfs {}: {e}", root.path().display())),
    }
    drop(old_root);
    chdir("/").map_err(|e| format!("failed to change into the new root: {e}"))?;
    // The helper keeps a descriptor of its runtime directory on the host (for the status file):
    // not dumpable, its /proc/<pid>/fd is out of reach of the container's processes unless they
    // hold CAP_SYS_PTRACE.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| format!("failed to make the helper non-dumpable: {e}"))?;
    Ok(())
}

/// Whether `/` is the initial ramfs: the namespace's root mount, which has no parent (mountinfo
/// shows it as its own parent). `pivot_root` refuses to move it.
fn root_is_initramfs() -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    // The last mount at "/" is the one on top, the root this process sees.
    let root = table.lines().rev().find(|line| line.split(' ').nth(4) == Some("/"));
    root.is_some_and(|line| {
        let mut fields = line.split(' ');
        let (id, parent) = (fields.next(), fields.next());
        id == parent || line.contains(" - rootfs ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `MS_*` are `c_ulong`, `u32` on 32-bit targets: the cast is not a no-op everywhere.
    #[allow(clippy::unnecessary_cast)]
    const BIND: u64 = libc::MS_BIND as u64;

    fn mount_at(target: &str, flags: u64, fs_type: Option<&str>) -> ContainerMountInfo {
        ContainerMountInfo {
            target: target.into(),
            source: Some("x".into()),
            fs_type: fs_type.map(str::to_owned),
            flags,
            options: None,
        }
    }

    #[test]
    fn dev_symlinks_only_for_a_fresh_dev() {
        let info = |m: ContainerMountInfo| ContainerLaunchInfo { mounts: vec![m], ..Default::default() };
        assert!(mounts_fresh_dev(&info(mount_at("/dev", 0, Some("tmpfs")))));
        assert!(mounts_fresh_dev(&info(mount_at("/dev/", 0, Some("tmpfs")))));
        assert!(!mounts_fresh_dev(&info(mount_at("/dev", BIND, None))));
        assert!(!mounts_fresh_dev(&info(mount_at("/dev/shm", 0, Some("tmpfs")))));
    }

    /// The fallback of the recursive read-only remount (kernels without mount_setattr) finds the
    /// mount points below a target, escapes undone.
    #[test]
    fn mounts_below_a_point_are_found_and_unescaped() {
        assert_eq!(unescape_octal("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_octal("/plain\\0"), "/plain\\0");
        let all = mounts_at_or_below("/").unwrap();
        assert!(all.iter().any(|p| p == "/") && all.iter().any(|p| p == "/proc"), "{all:?}");
        let proc_below = mounts_at_or_below("/proc").unwrap();
        assert!(proc_below.iter().all(|p| p == "/proc" || p.starts_with("/proc/")), "{proc_below:?}");
        assert!(!mounts_at_or_below("/pro").unwrap().iter().any(|p| p.starts_with("/proc")));
    }
}
