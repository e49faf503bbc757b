//! Device access on cgroup v2: v2 has no `devices` controller; the kernel asks the
//! `BPF_PROG_TYPE_CGROUP_DEVICE` programs attached to a process's cgroup and its ancestors, and
//! denies (`EPERM`) an `open` or `mknod` of a device node that one of them refuses. This is how
//! runc, crun and youki isolate devices, and Mesos's cgroups2 devices controller.
//!
//! - [`insn`]: the instructions, encoded as `struct bpf_insn`;
//! - [`program`]: the filter for a list of [`DeviceRule`]s;
//! - [`sys`]: the `bpf(2)` commands (load, attach, detach, query, get by id).
//!
//! [`apply_device_filter`] loads the filter and attaches it to a cgroup with `BPF_F_ALLOW_MULTI`
//! (programs of ancestors keep running, and all must allow; systemd attaches its own the same
//! way), then detaches any device program that was there before, so the cgroup ends with exactly
//! one and is never more permissive in between. The program descriptor is closed afterwards:
//! the attachment holds the program, and the kernel detaches and frees it when the cgroup itself
//! is freed, after its `rmdir` (`cgroup_bpf_release`), so nothing needs undoing at cleanup and
//! nothing is left after a crash.
//!
//! Why no crate: the filter is a few dozen instructions of eight opcodes, and five `bpf(2)`
//! commands load and attach it. aya and libbpf-rs are built for ELF objects compiled by clang,
//! with maps and BTF (libbpf-rs also builds the C libbpf), and would dwarf the module libraries
//! this crate is linked into; youki assembles its filter with rbpf's instruction builder, which
//! also brings a userspace VM and JIT. The encoding here is checked byte for byte against the
//! instruction set, and the program is run in the tests' interpreter against the rules.
//!
//! Kernels before 5.11 charge BPF memory to `RLIMIT_MEMLOCK`; a program this small fits the usual
//! 64 KiB (the development hosts cannot raise the limit: no `CAP_SYS_RESOURCE`).

pub mod insn;
pub mod program;
pub mod sys;

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use crate::devices::DeviceRule;
use crate::error::{Error, Result};

pub use program::device_filter;

/// Makes `rules` the only device accesses allowed to the cgroup directory `cgroup_dir` (and its
/// descendants), replacing a device program attached before.
pub fn apply_device_filter(cgroup_dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let sys = |op| move |source| Error::Sys { op, path: cgroup_dir.to_owned(), source };
    let program = sys::load_device_program(&device_filter(rules)).map_err(|e| match e.log {
        Some(log) => Error::Verifier { path: cgroup_dir.to_owned(), errno: e.errno, log },
        None => sys("load the eBPF device filter (bpf BPF_PROG_LOAD)")(e.errno),
    })?;
    let cgroup = open_dir(cgroup_dir)?;
    let before = sys::query(cgroup.as_fd()).map_err(sys("list the device programs (bpf BPF_PROG_QUERY)"))?;
    sys::attach(cgroup.as_fd(), program.as_fd(), sys::BPF_F_ALLOW_MULTI)
        .map_err(sys("attach the eBPF device filter (bpf BPF_PROG_ATTACH)"))?;
    for id in before {
        match sys::program_by_id(id) {
            Ok(old) => sys::detach(cgroup.as_fd(), old.as_fd())
                .map_err(sys("detach the previous device program (bpf BPF_PROG_DETACH)"))?,
            // Freed meanwhile: detached already.
            Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => return Err(sys("open the previous device program (bpf BPF_PROG_GET_FD_BY_ID)")(e)),
        }
    }
    Ok(())
}

/// The ids of the device programs attached to the cgroup directory `cgroup_dir` itself.
pub fn attached_device_programs(cgroup_dir: &Path) -> Result<Vec<u32>> {
    let cgroup = open_dir(cgroup_dir)?;
    sys::query(cgroup.as_fd()).map_err(|source| Error::Sys {
        op: "list the device programs (bpf BPF_PROG_QUERY)",
        path: cgroup_dir.to_owned(),
        source,
    })
}

/// Whether a program with this id is still loaded (its cgroup freed means it is not, soon after).
pub fn program_loaded(id: u32) -> bool {
    sys::program_by_id(id).is_ok()
}

/// The cgroup directory, opened for `target_fd`.
fn open_dir(dir: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map_err(|source| Error::Read { path: dir.to_owned(), source })
}
