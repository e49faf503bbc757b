//! The kernel interfaces of `disk/xfs`, called directly (no `xfs_quota` process):
//!
//! - `statfs(2)`: the work dir's file system must be XFS (`f_type == XFS_SUPER_MAGIC`).
//! - `quotactl_fd(2)` (Linux 5.14), else `quotactl(2)` on the block device of the mount (from
//!   `/proc/self/mountinfo`), with the XFS quota commands of `<linux/dqblk_xfs.h>`:
//!   - `Q_XQUOTAON` with `FS_QUOTA_PDQ_ACCT | FS_QUOTA_PDQ_ENFD` turns project quota enforcement on
//!     (`EEXIST`: already on; accounting itself can only be turned on at mount, `-o prjquota`);
//!   - `Q_XGETQSTATV`: whether project quota accounting or enforcement is on;
//!   - `Q_XSETQLIM` / `Q_XGETQUOTA` with `XFS_PROJ_QUOTA` (`PRJQUOTA`): a project's block soft and
//!     hard limits and its block count, all in **512-byte basic blocks** (`d_blk_softlimit`,
//!     `d_blk_hardlimit`, `d_bcount`); a limit of 0 means none. Bytes are rounded up to whole
//!     basic blocks ([`basic_blocks`]), as Mesos's `BasicBlocks` does.
//! - `ioctl(FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR)` on an open file: `struct fsxattr`'s
//!   `fsx_projid` (a 32-bit project id, 0 = none) and, on directories, `FS_XFLAG_PROJINHERIT`,
//!   so that files created below inherit the id.
//!
//! XFS reports a write past a project's hard limit as `ENOSPC` (not `EDQUOT`).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// `XFS_SUPER_MAGIC` ('XFSB').
const XFS_SUPER_MAGIC: i64 = 0x5846_5342;

const fn xqm_cmd(n: u32) -> u32 {
    (b'X' as u32) << 8 | n
}
const Q_XQUOTAON: u32 = xqm_cmd(1);
const Q_XGETQUOTA: u32 = xqm_cmd(3);
const Q_XSETQLIM: u32 = xqm_cmd(4);
const Q_XGETQSTATV: u32 = xqm_cmd(8);
/// `PRJQUOTA`, the quota type of `QCMD`.
const PRJQUOTA: u32 = 2;
/// `QCMD(cmd, type)`: `cmd << SUBCMDSHIFT (8) | type`.
const fn qcmd(cmd: u32, kind: u32) -> libc::c_int {
    ((cmd << 8) | (kind & 0xff)) as libc::c_int
}

const FS_QUOTA_PDQ_ACCT: u32 = 1 << 4;
const FS_QUOTA_PDQ_ENFD: u32 = 1 << 5;
const FS_DQUOT_VERSION: i8 = 1;
const FS_QSTATV_VERSION1: i8 = 1;
/// `XFS_PROJ_QUOTA`, `fs_disk_quota.d_flags`.
const FS_PROJ_QUOTA: i8 = 2;
const FS_DQ_BSOFT: u16 = 1 << 2;
const FS_DQ_BHARD: u16 = 1 << 3;

const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;

/// `struct fs_disk_quota` (`<linux/dqblk_xfs.h>`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsDiskQuota {
    d_version: i8,
    d_flags: i8,
    d_fieldmask: u16,
    d_id: u32,
    d_blk_hardlimit: u64,
    d_blk_softlimit: u64,
    d_ino_hardlimit: u64,
    d_ino_softlimit: u64,
    d_bcount: u64,
    d_icount: u64,
    d_itimer: i32,
    d_btimer: i32,
    d_iwarns: u16,
    d_bwarns: u16,
    d_itimer_hi: i8,
    d_btimer_hi: i8,
    d_rtbtimer_hi: i8,
    d_padding2: i8,
    d_rtb_hardlimit: u64,
    d_rtb_softlimit: u64,
    d_rtbcount: u64,
    d_rtbtimer: i32,
    d_rtbwarns: u16,
    d_padding3: i16,
    d_padding4: [u8; 8],
}
const _: () = assert!(std::mem::size_of::<FsDiskQuota>() == 112);

/// `struct fs_qfilestatv`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsQfilestatv {
    qfs_ino: u64,
    qfs_nblks: u64,
    qfs_nextents: u32,
    qfs_pad: u32,
}

/// `struct fs_quota_statv`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsQuotaStatv {
    qs_version: i8,
    qs_pad1: u8,
    qs_flags: u16,
    qs_incoredqs: u32,
    qs_uquota: FsQfilestatv,
    qs_gquota: FsQfilestatv,
    qs_pquota: FsQfilestatv,
    qs_btimelimit: i32,
    qs_itimelimit: i32,
    qs_rtbtimelimit: i32,
    qs_bwarnlimit: u16,
    qs_iwarnlimit: u16,
    qs_rtbwarnlimit: u16,
    qs_pad3: u16,
    qs_pad4: u32,
    qs_pad2: [u64; 7],
}
const _: () = assert!(std::mem::size_of::<FsQuotaStatv>() == 160);

/// `struct fsxattr` (`<linux/fs.h>`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsXattr {
    fsx_xflags: u32,
    fsx_extsize: u32,
    fsx_nextents: u32,
    fsx_projid: u32,
    fsx_cowextsize: u32,
    fsx_pad: [u8; 8],
}
const _: () = assert!(std::mem::size_of::<FsXattr>() == 28);

/// `_IOC(dir, 'X', nr, size)`: dir in bits 30-31 (1 write, 2 read), size in 16-29, type, number.
const fn ioc(dir: u64, nr: u64, size: usize) -> libc::c_ulong {
    ((dir << 30) | ((size as u64) << 16) | ((b'X' as u64) << 8) | nr) as libc::c_ulong
}
/// `_IOR('X', 31, struct fsxattr)`.
const FS_IOC_FSGETXATTR: libc::c_ulong = ioc(2, 31, std::mem::size_of::<FsXattr>());
/// `_IOW('X', 32, struct fsxattr)`.
const FS_IOC_FSSETXATTR: libc::c_ulong = ioc(1, 32, std::mem::size_of::<FsXattr>());

/// 512-byte basic blocks holding `bytes`, rounded up (Mesos's `BasicBlocks`).
pub fn basic_blocks(bytes: u64) -> u64 {
    bytes.div_ceil(512)
}

/// Whether `path` is on XFS.
pub fn is_xfs(path: &Path) -> nix::Result<bool> {
    let stat = nix::sys::statfs::statfs(path)?;
    Ok(stat.filesystem_type().0 as i64 == XFS_SUPER_MAGIC)
}

/// A project's limits and use, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectQuota {
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub used_bytes: u64,
    /// Inodes carrying the project id, anywhere on the file system (`d_icount`).
    pub inodes: u64,
}

/// The file system quotas are set on: a descriptor of a directory on it, and the block device of
/// its mount for kernels without `quotactl_fd`.
#[derive(Debug)]
pub struct QuotaFs {
    dir: OwnedFd,
    path: PathBuf,
    device: Option<CString>,
}

/// `quotactl_fd(2)`; `ENOSYS` on kernels before 5.14.
fn quotactl_fd(fd: BorrowedFd<'_>, cmd: libc::c_int, id: u32, addr: *mut libc::c_void) -> nix::Result<()> {
    // SAFETY: quotactl_fd(fd, cmd, id, addr) reads or writes the struct the command names at
    // `addr`, which the callers pass as a live, correctly sized struct.
    let rc = unsafe { libc::syscall(libc::SYS_quotactl_fd, fd.as_raw_fd(), cmd as libc::c_uint, id, addr) };
    Errno::result(rc).map(drop)
}

impl QuotaFs {
    /// The file system of `path` (a directory).
    pub fn open(path: &Path) -> nix::Result<QuotaFs> {
        use nix::fcntl::{OFlag, open};
        let dir = open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        let device = device_of(path);
        Ok(QuotaFs { dir, path: path.to_path_buf(), device })
    }

    fn call(&self, cmd: u32, kind: u32, id: u32, addr: *mut libc::c_void) -> nix::Result<()> {
        match quotactl_fd(self.dir.as_fd(), qcmd(cmd, kind), id, addr) {
            Err(Errno::ENOSYS) => {
                let device = self.device.as_ref().ok_or(Errno::ENODEV)?;
                // SAFETY: as in `quotactl_fd`; `device` is a NUL-terminated path.
                let rc = unsafe {
                    libc::quotactl(qcmd(cmd, kind), device.as_ptr(), id as libc::c_int, addr.cast())
                };
                Errno::result(rc).map(drop)
            }
            other => other,
        }
    }

    /// Turns project quota enforcement on (`Q_XQUOTAON`); already on is fine.
    pub fn enable_project_quota(&self) -> nix::Result<()> {
        let mut flags: u32 = FS_QUOTA_PDQ_ACCT | FS_QUOTA_PDQ_ENFD;
        match self.call(Q_XQUOTAON, PRJQUOTA, 0, (&raw mut flags).cast()) {
            Err(Errno::EEXIST) => Ok(()),
            other => other,
        }
    }

    /// Whether project quota accounting or enforcement is on (`Q_XGETQSTATV`).
    pub fn project_quota_enabled(&self) -> nix::Result<bool> {
        let mut statv = FsQuotaStatv { qs_version: FS_QSTATV_VERSION1, ..Default::default() };
        match self.call(Q_XGETQSTATV, 0, 0, (&raw mut statv).cast()) {
            // No quota support at all.
            Err(Errno::ENOSYS) => Ok(false),
            Err(e) => Err(e),
            Ok(()) => Ok(u32::from(statv.qs_flags) & (FS_QUOTA_PDQ_ACCT | FS_QUOTA_PDQ_ENFD) != 0),
        }
    }

    /// Sets project `id`'s block limits (`Q_XSETQLIM`), bytes rounded up to basic blocks; 0 is
    /// no limit.
    pub fn set_project_limits(&self, id: u32, soft_bytes: u64, hard_bytes: u64) -> nix::Result<()> {
        let mut quota = FsDiskQuota {
            d_version: FS_DQUOT_VERSION,
            d_flags: FS_PROJ_QUOTA,
            d_fieldmask: FS_DQ_BSOFT | FS_DQ_BHARD,
            d_id: id,
            d_blk_softlimit: basic_blocks(soft_bytes),
            d_blk_hardlimit: basic_blocks(hard_bytes),
            ..Default::default()
        };
        self.call(Q_XSETQLIM, PRJQUOTA, id, (&raw mut quota).cast())
    }

    /// Project `id`'s limits and use (`Q_XGETQUOTA`); a project the kernel holds nothing for
    /// (`ENOENT`) has none.
    pub fn project_quota(&self, id: u32) -> nix::Result<ProjectQuota> {
        let mut quota = FsDiskQuota::default();
        match self.call(Q_XGETQUOTA, PRJQUOTA, id, (&raw mut quota).cast()) {
            Err(Errno::ENOENT) => Ok(ProjectQuota::default()),
            Err(e) => Err(e),
            Ok(()) => Ok(ProjectQuota {
                soft_bytes: quota.d_blk_softlimit * 512,
                hard_bytes: quota.d_blk_hardlimit * 512,
                used_bytes: quota.d_bcount * 512,
                inodes: quota.d_icount,
            }),
        }
    }

    /// `syncfs(2)`: also makes XFS finish freeing unlinked inodes, so their project ids stop
    /// counting.
    pub fn sync(&self) -> nix::Result<()> {
        // SAFETY: syncfs takes a descriptor that `self.dir` keeps open.
        Errno::result(unsafe { libc::syncfs(self.dir.as_raw_fd()) }).map(drop)
    }

    /// The path it was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The `mount source` of the mount holding `path` (`/dev/loop0`), from `/proc/self/mountinfo`.
fn device_of(path: &Path) -> Option<CString> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.get(2) != Some(&format!("{major}:{minor}").as_str()) {
            return None;
        }
        let sep = fields.iter().position(|f| *f == "-")?;
        CString::new(fields.get(sep + 2)?.as_bytes()).ok()
    })
}

/// The project id of an open file (`FS_IOC_FSGETXATTR`).
pub fn project_id(fd: BorrowedFd<'_>) -> nix::Result<u32> {
    let mut attr = FsXattr::default();
    // SAFETY: FS_IOC_FSGETXATTR writes one `struct fsxattr` to the pointer, which is live.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSGETXATTR, &raw mut attr) })?;
    Ok(attr.fsx_projid)
}

/// Sets the project id of an open file (`FS_IOC_FSSETXATTR`), with `FS_XFLAG_PROJINHERIT` on a
/// directory (and without it when `id` is 0).
pub fn set_project_id(fd: BorrowedFd<'_>, id: u32, directory: bool) -> nix::Result<()> {
    let mut attr = FsXattr::default();
    // SAFETY: as in `project_id`.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSGETXATTR, &raw mut attr) })?;
    attr.fsx_projid = id;
    if directory && id != 0 {
        attr.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    } else {
        attr.fsx_xflags &= !FS_XFLAG_PROJINHERIT;
    }
    // SAFETY: FS_IOC_FSSETXATTR reads one `struct fsxattr` from the pointer, which is live.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSSETXATTR, &raw const attr) })?;
    Ok(())
}

/// `path` as bytes for messages.
pub fn display(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_blocks_round_up_like_mesos() {
        assert_eq!(basic_blocks(0), 0);
        assert_eq!(basic_blocks(128) * 512, 512);
        assert_eq!(basic_blocks(512) * 512, 512);
        assert_eq!(basic_blocks(513) * 512, 1024);
        assert_eq!(basic_blocks(10 << 20), 20480);
    }

    #[test]
    fn command_words_are_the_kernel_headers() {
        // QCMD(Q_XGETQUOTA, PRJQUOTA) as <sys/quota.h> computes it.
        assert_eq!(qcmd(Q_XGETQUOTA, PRJQUOTA), 0x0058_0302);
        assert_eq!(FS_IOC_FSGETXATTR, 0x801c_581f);
        assert_eq!(FS_IOC_FSSETXATTR, 0x401c_5820);
    }

    #[test]
    fn a_tmp_dir_is_not_xfs_here() {
        // The development hosts' /tmp is not XFS; elsewhere this only checks that statfs works.
        let dir = tempfile::tempdir().unwrap();
        let _ = is_xfs(dir.path()).unwrap();
    }
}
