//! The `bpf(2)` commands a device filter needs: `BPF_PROG_LOAD`, `BPF_PROG_ATTACH`,
//! `BPF_PROG_DETACH`, `BPF_PROG_QUERY` and `BPF_PROG_GET_FD_BY_ID`.
//!
//! libc has no wrapper for `bpf(2)`, so it is `syscall(SYS_bpf, cmd, &attr, size)`. Each command
//! reads its own member of `union bpf_attr`; this module passes a `repr(C)` struct of that
//! member's leading fields and its size. The kernel accepts a shorter `attr` and treats the rest
//! as zero (`bpf_check_uarg_tail_zero`), the rule module-abi's descriptors follow too. The values
//! are those of `include/uapi/linux/bpf.h`, stable kernel ABI.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::insn::Insn;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;

/// `enum bpf_prog_type`'s `BPF_PROG_TYPE_CGROUP_DEVICE`.
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`'s `BPF_CGROUP_DEVICE`.
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs of the cgroup and of its ancestors all run, and all must allow (see [`super`]).
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// The program's license string. The kernel only checks it for GPL-only helpers, which the filter
/// does not call.
const LICENSE: &CStr = c"Apache-2.0";
/// Its name in `bpftool prog` (at most 15 bytes).
const NAME: &[u8] = b"mesos_devices";

/// How often a command failing with `EAGAIN` is retried, as libbpf does.
const EAGAIN_ATTEMPTS: u32 = 5;

/// The leading fields of `union bpf_attr` for `BPF_PROG_LOAD`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// The fields of `union bpf_attr` for `BPF_PROG_ATTACH` and `BPF_PROG_DETACH`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The fields of `union bpf_attr` for `BPF_PROG_QUERY`.
#[repr(C)]
#[derive(Default)]
struct ProgQueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The fields of `union bpf_attr` for `BPF_PROG_GET_FD_BY_ID`.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// `bpf(cmd, attr, sizeof(*attr))`, retried on `EAGAIN`; the (non-negative) result.
///
/// # Safety
/// `attr` must be the member of `union bpf_attr` that `cmd` reads, and every pointer in it must be
/// valid for the access the kernel makes through it (reads of the instructions and license,
/// writes of the log or of the id array) for the duration of the call.
unsafe fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> Result<libc::c_long, Errno> {
    let mut attempts = EAGAIN_ATTEMPTS;
    loop {
        // SAFETY: the caller guarantees `attr` is what `cmd` reads and its pointers are valid;
        // the size passed is the size of `*attr`, so the kernel reads (and for some commands
        // writes) only within it.
        let result =
            unsafe { libc::syscall(libc::SYS_bpf, cmd, std::ptr::from_mut(attr), std::mem::size_of::<T>()) };
        if result >= 0 {
            return Ok(result);
        }
        let errno = Errno::last();
        attempts -= 1;
        if errno != Errno::EAGAIN || attempts == 0 {
            return Err(errno);
        }
    }
}

/// Takes ownership of a descriptor a `bpf(2)` command returned.
fn owned_fd(result: libc::c_long) -> Result<OwnedFd, Errno> {
    let fd = i32::try_from(result).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned `fd` as a new descriptor of this process, owned by nobody
    // else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Why a program did not load: the errno, and the verifier's log when it refused the program.
#[derive(Debug)]
pub struct LoadError {
    pub errno: Errno,
    pub log: Option<String>,
}

/// Loads `program` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
pub fn load_device_program(program: &[Insn]) -> Result<OwnedFd, LoadError> {
    let mut name = [0u8; 16];
    name[..NAME.len()].copy_from_slice(NAME);
    let insn_cnt = u32::try_from(program.len()).map_err(|_| LoadError { errno: Errno::E2BIG, log: None })?;
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt,
        insns: program.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    // SAFETY: `attr` is the `BPF_PROG_LOAD` member; `insns` points to `insn_cnt` instructions
    // laid out as `struct bpf_insn` and `license` to a NUL-terminated string, both alive for the
    // call; there is no log buffer.
    let errno = match unsafe { bpf(BPF_PROG_LOAD, &mut attr) } {
        Ok(fd) => return owned_fd(fd).map_err(|errno| LoadError { errno, log: None }),
        Err(errno) => errno,
    };
    // Again with a log buffer, only to say why: the verifier explains a refusal there.
    let mut log = vec![0u8; 16 * 1024];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    // SAFETY: as above, and `log_buf` points to `log_size` writable bytes alive for the call.
    let retry = unsafe { bpf(BPF_PROG_LOAD, &mut attr) };
    if let Ok(fd) = retry {
        // Loaded the second time after all (a transient failure): use it.
        return owned_fd(fd).map_err(|errno| LoadError { errno, log: None });
    }
    let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]).trim().to_owned();
    Err(LoadError { errno, log: (!text.is_empty()).then_some(text) })
}

/// Attaches the device program `program` to the cgroup directory `cgroup` with `flags`.
pub fn attach(cgroup: BorrowedFd<'_>, program: BorrowedFd<'_>, flags: u32) -> Result<(), Errno> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
        ..Default::default()
    };
    // SAFETY: `attr` is the `BPF_PROG_ATTACH` member and holds no pointers; the descriptors are
    // borrowed, so open, for the call.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// Detaches the device program `program` from the cgroup directory `cgroup`.
pub fn detach(cgroup: BorrowedFd<'_>, program: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: `attr` is the `BPF_PROG_DETACH` member (the attach one) and holds no pointers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// The ids of the device programs attached to the cgroup directory `cgroup` itself (not those
/// of its ancestors).
pub fn query(cgroup: BorrowedFd<'_>) -> Result<Vec<u32>, Errno> {
    // A cgroup holds at most 64 programs per attach type (`BPF_CGROUP_MAX_PROGS`).
    let mut ids = vec![0u32; 64];
    let mut attr = ProgQueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    // SAFETY: `attr` is the `BPF_PROG_QUERY` member; `prog_ids` points to `prog_cnt` writable
    // u32s alive for the call, and the kernel writes at most that many.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

/// A descriptor of the loaded program with this id; `ENOENT` once it has been freed.
pub fn program_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut attr = GetFdByIdAttr { prog_id: id, ..Default::default() };
    // SAFETY: `attr` is the `BPF_PROG_GET_FD_BY_ID` member and holds no pointers.
    owned_fd(unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_union_bpf_attr() {
        // Offsets of the last field used, from include/uapi/linux/bpf.h.
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 64);
        assert_eq!(std::mem::offset_of!(ProgAttachAttr, replace_bpf_fd), 16);
        assert_eq!(std::mem::offset_of!(ProgQueryAttr, prog_ids), 16);
        assert_eq!(std::mem::offset_of!(ProgQueryAttr, prog_cnt), 24);
        assert_eq!(std::mem::size_of::<GetFdByIdAttr>(), 12);
        assert!(NAME.len() < 16);
    }
}
