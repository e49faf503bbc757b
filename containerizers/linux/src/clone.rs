//! Creating the helper process: `clone3` with the container's namespace flags, then nothing but
//! `dup2`, `close_range` and `execve` in the child.
//!
//! The host is a multi-threaded tokio process, so after the clone the child is (or shares the
//! memory of) one thread of it, with every lock (malloc's, stdio's, the tokio runtime's) frozen in whatever state
//! the other threads held it. Like runc, crun and Mesos, the child therefore does only
//! async-signal-safe system calls on memory prepared before the clone (C strings, pointer arrays,
//! the fd plan) and execs the helper at once; everything else happens in the helper, a fresh
//! single-threaded process.
//!
//! Two ways to clone, both returning a pidfd (`CLONE_PIDFD`) atomically with the pid, so there is
//! no window in which the pid could be recycled before we hold a pidfd:
//! - Where the helper is migrated into its cgroups afterwards (cgroup v1, or a kernel without
//!   `CLONE_INTO_CGROUP`), glibc's `clone` with `CLONE_VM | CLONE_VFORK`, as `posix_spawn` does:
//!   the child runs on a small stack of its own in the host's memory until its `execve`, and the
//!   calling thread waits for that. Nothing of the host's address space is copied (no page tables
//!   for the loaded modules and the heap, and no copy-on-write faults in the host afterwards), so
//!   the clone costs the same however big the host has grown.
//! - With a v2 cgroup to start in, `clone3` with `CLONE_INTO_CGROUP` (glibc has no public wrapper
//!   of `clone3` that takes a function and a stack), without a stack: the child runs on a
//!   copy-on-write copy of the calling thread's stack and returns from the system call like a
//!   fork. Starting in the cgroup saves the migration, which costs more than the copy.
//!
//! Either way the child does the same few async-signal-safe calls ([`exec_child`]), on memory
//! prepared before the clone.

use std::ffi::{CString, c_char, c_int};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// The fd the helper reads its release byte from (`--pipe_read=3`).
pub const CONTROL_FD: RawFd = 3;

/// Descriptors at or above this never collide with the targets 0..=3 of the child's `dup2`s.
const FIRST_SOURCE_FD: RawFd = 10;

/// What the helper is executed with, as C data prepared before the clone.
#[derive(Debug)]
pub struct HelperExec {
    path: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
}

impl HelperExec {
    /// `path` run with `argv` and the environment `env` (`NAME=value`).
    pub fn new(path: &std::path::Path, argv: &[String], env: &[String]) -> Result<HelperExec> {
        let c = |s: &[u8]| {
            CString::new(s).map_err(|_| Error::Launch {
                container: String::new(),
                reason: format!("'{}' holds a NUL byte", String::from_utf8_lossy(s)),
            })
        };
        Ok(HelperExec {
            path: c(path.as_os_str().as_encoded_bytes())?,
            argv: argv.iter().map(|a| c(a.as_bytes())).collect::<Result<_>>()?,
            env: env.iter().map(|e| c(e.as_bytes())).collect::<Result<_>>()?,
        })
    }
}

/// The descriptors the child gets: 0 stdin, 1 stdout, 2 stderr, 3 the control pipe's read end.
/// Every one is given: the helper never inherits one of the host's own streams.
#[derive(Debug)]
pub struct ChildFds {
    plan: Vec<(OwnedFd, RawFd)>,
}

impl ChildFds {
    pub fn new(
        stdin: impl AsFd,
        stdout: impl AsFd,
        stderr: impl AsFd,
        control: impl AsFd,
    ) -> Result<ChildFds> {
        let plan = vec![
            (raise(stdin.as_fd())?, 0),
            (raise(stdout.as_fd())?, 1),
            (raise(stderr.as_fd())?, 2),
            (raise(control.as_fd())?, CONTROL_FD),
        ];
        Ok(ChildFds { plan })
    }
}

/// A close-on-exec duplicate at or above [`FIRST_SOURCE_FD`], so that no `dup2` of the child
/// overwrites a descriptor a later `dup2` still reads (a host started with 0-2 closed would
/// otherwise hand out low numbers).
fn raise(fd: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd> {
    raise_to(fd, FIRST_SOURCE_FD)
}

/// A close-on-exec duplicate of `fd` at the lowest free number at or above `lowest`.
fn raise_to(fd: std::os::fd::BorrowedFd<'_>, lowest: RawFd) -> Result<OwnedFd> {
    let raw = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(lowest)).map_err(Error::sys("duplicate a descriptor"))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The helper process as the host sees it.
#[derive(Debug)]
pub struct Cloned {
    pub pid: Pid,
    /// Readable when the helper has exited (from `CLONE_PIDFD`).
    pub pidfd: OwnedFd,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7, cgroup v2 only): the child starts in the cgroup whose directory
/// `clone_args.cgroup` refers to. Spelled out because libc's constant is a (deprecated, overflowing)
/// `c_int`.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Clones the helper with the namespace flags `namespaces` and execs it. With `cgroup` (an open
/// cgroup v2 directory), the helper starts in that cgroup (`CLONE_INTO_CGROUP`): it is never in
/// the host's cgroup and no migration through `cgroup.procs` follows. A kernel without the flag
/// fails the clone with `EINVAL`, `E2BIG` or `ENOSYS`, and [`Error::Sys`] carries that errno so the
/// caller can clone again without it. With `pid_namespace` (an open namespace file), the helper
/// starts in that pid namespace: this thread joins it for the clone only (`setns` of a pid
/// namespace sets the namespace of the calling thread's children, never its own, nor other
/// threads') and returns to its own right after.
pub fn clone_helper(
    namespaces: u64,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
    pid_namespace: Option<(&std::fs::File, &std::path::Path)>,
    exec: &HelperExec,
    fds: &ChildFds,
) -> Result<Cloned> {
    let Some((target, target_path)) = pid_namespace else {
        return clone_in_place(namespaces, cgroup, exec, fds);
    };
    // This thread's own pid namespace, to come back to (the active one: always joinable).
    let own_path = "/proc/thread-self/ns/pid";
    let own = std::fs::File::open(own_path).map_err(Error::io("open", own_path))?;
    // Reported as I/O on the path, not as a clone errno: EINVAL here is a namespace that cannot
    // be joined (not below this one), not a kernel without CLONE_INTO_CGROUP.
    nix::sched::setns(target, nix::sched::CloneFlags::CLONE_NEWPID)
        .map_err(|e| Error::io("join the pid namespace", target_path)(e.into()))?;
    let cloned = clone_in_place(namespaces, cgroup, exec, fds);
    if let Err(e) = nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWPID) {
        if let Ok(cloned) = &cloned {
            let _ = nix::sys::signal::kill(cloned.pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(cloned.pid, None);
        }
        return Err(Error::io("return to the pid namespace", own_path)(e.into()));
    }
    cloned
}

/// [`clone_helper`] in this thread's namespace for children.
fn clone_in_place(
    namespaces: u64,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
    exec: &HelperExec,
    fds: &ChildFds,
) -> Result<Cloned> {
    // All of this is built before the clone: the child must not allocate.
    let argv: Vec<*const c_char> = exec.argv.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let envp: Vec<*const c_char> = exec.env.iter().map(|e| e.as_ptr()).chain([std::ptr::null()]).collect();
    let dups: Vec<(c_int, c_int)> = fds.plan.iter().map(|(fd, target)| (fd.as_raw_fd(), *target)).collect();
    let fd_limit = close_fallback_bound();
    // A time namespace cannot be created with CLONE_VM (the kernel refuses it).
    if cgroup.is_none() && namespaces & libc::CLONE_NEWTIME as u64 == 0 {
        // Where close_range works, through the low slots: the child then copies a few descriptors
        // rather than every one the host holds.
        let slots = (fd_limit == 0).then(low_slots).flatten();
        let mut slots = slots.map(|slots| slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let (planned, unshare_below, files) = match slots.as_mut() {
            Some(slots) => (slots.hold(&dups)?, slots.end(), libc::CLONE_FILES as u64),
            None => (dups, 0, 0),
        };
        let child = ChildArgs {
            dups: &planned,
            unshare_below,
            fd_limit,
            path: exec.path.as_ptr(),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
        };
        let cloned = clone_vfork(namespaces | files, &child);
        if let Some(slots) = slots.as_mut() {
            slots.release();
        }
        return cloned;
    }

    // SAFETY: clone_args is plain integers; all-zero is its documented "no option" value.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = namespaces | libc::CLONE_PIDFD as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    if let Some(cgroup) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cgroup.as_raw_fd() as u64;
    }
    // stack = 0 and stack_size = 0: the child runs on a copy of this thread's stack, as after fork.
    with_signals_blocked("clone3 the launch helper", |pidfd| {
        args.pidfd = pidfd as u64;
        // SAFETY: `args` is a valid clone_args of the size passed, `pidfd` outlives the call.
        // Without CLONE_VM the child gets a private copy of memory, so nothing it does touches the
        // host; it only runs `exec_child`, which is restricted to async-signal-safe calls.
        let ret = unsafe {
            libc::syscall(libc::SYS_clone3, &raw mut args, std::mem::size_of::<libc::clone_args>())
        };
        if ret == 0 {
            // SAFETY: we are the freshly cloned child; the pointers point into memory prepared
            // above, which the child's copy of the address space still holds.
            unsafe { exec_child(&dups, fd_limit, exec.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) }
        }
        ret
    })
}

/// Runs `clone` (given where the kernel stores the pidfd; it returns the child's pid, or -1 with
/// errno set) with every signal blocked, as glibc's posix_spawn does: until the child has reset
/// the dispositions, a signal must not run one of the host's handlers in it (tokio's handler
/// writes to a pipe the host reads). The child unblocks once it has reset them.
fn with_signals_blocked(op: &'static str, clone: impl FnOnce(*mut c_int) -> libc::c_long) -> Result<Cloned> {
    let mut pidfd: c_int = -1;
    let all = nix::sys::signal::SigSet::all();
    let previous = all
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_SETMASK)
        .map_err(Error::sys("block signals around the clone"))?;
    let ret = clone(&raw mut pidfd);
    let errno = Errno::last();
    let restored = previous.thread_set_mask();
    if ret < 0 {
        return Err(Error::Sys { op, source: errno });
    }
    restored.map_err(Error::sys("restore the signal mask after the clone"))?;
    // SAFETY: CLONE_PIDFD stored a new pidfd that only we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Cloned { pid: Pid::from_raw(ret as i32), pidfd })
}

/// Four descriptors at low numbers, reserved for the life of the process (`/dev/null` while no
/// launch holds them): for each launch the descriptors the helper gets are put in them, and the
/// child, which shares the host's descriptor table (`CLONE_FILES`), takes a private copy of only
/// the descriptors below them (`close_range(end, ~0, CLOSE_RANGE_UNSHARE)`) before its `dup2`s.
/// Without them the child copies the host's whole table and closes it again before `execve`: with
/// a thousand containers live the host holds thousands of descriptors (pidfds, OOM eventfds), and
/// that copy and those closes were a tenth of each launch.
struct LowSlots {
    null: OwnedFd,
    slots: [OwnedFd; 4],
}

impl LowSlots {
    fn open() -> Option<LowSlots> {
        let null = std::fs::File::open("/dev/null").ok()?;
        // At 4 or above, so no slot is one of the child's targets 0..=3.
        let slot = || raise_to(null.as_fd(), CONTROL_FD + 1).ok();
        Some(LowSlots { slots: [slot()?, slot()?, slot()?, slot()?], null: null.into() })
    }

    /// One past the highest slot: the child copies the descriptors below it.
    fn end(&self) -> c_int {
        self.slots.iter().map(|fd| fd.as_raw_fd()).max().unwrap_or(0) + 1
    }

    /// Puts the planned sources into the slots; the plan, from the slots.
    fn hold(&mut self, dups: &[(c_int, c_int)]) -> Result<Vec<(c_int, c_int)>> {
        let mut planned = Vec::with_capacity(dups.len());
        for (&(source, target), slot) in dups.iter().zip(&self.slots) {
            // dup3 replaces the placeholder atomically; the slot stays close-on-exec.
            // SAFETY: both are open descriptors; the slot is this struct's own.
            if unsafe { libc::dup3(source, slot.as_raw_fd(), libc::O_CLOEXEC) } < 0 {
                self.release();
                return Err(Error::Sys { op: "duplicate a descriptor", source: Errno::last() });
            }
            planned.push((slot.as_raw_fd(), target));
        }
        Ok(planned)
    }

    /// `/dev/null` back in every slot, so the host holds no extra reference to a launch's
    /// descriptors (the helper's end of the control socket must close with the helper).
    fn release(&mut self) {
        for slot in &self.slots {
            // SAFETY: both are this struct's own open descriptors.
            unsafe { libc::dup3(self.null.as_raw_fd(), slot.as_raw_fd(), libc::O_CLOEXEC) };
        }
    }
}

/// The process's [`LowSlots`], opened at the first launch (while the table is still small);
/// `None` where they cannot be opened.
fn low_slots() -> Option<&'static std::sync::Mutex<LowSlots>> {
    static SLOTS: std::sync::OnceLock<Option<std::sync::Mutex<LowSlots>>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| LowSlots::open().map(std::sync::Mutex::new)).as_ref()
}

/// What the child of [`clone_vfork`] runs with, on the calling thread's stack (which the child
/// shares, and which stays put while the calling thread waits for the child's `execve`).
struct ChildArgs<'a> {
    dups: &'a [(c_int, c_int)],
    /// Non-zero with `CLONE_FILES`: the child first takes a private copy of the descriptors below
    /// this ([`LowSlots`]).
    unshare_below: c_int,
    fd_limit: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

/// The bytes of the child's own stack in [`clone_vfork`]: [`exec_child`] and the few libc calls it
/// makes need a few hundred bytes; the rest is margin.
const VFORK_STACK_BYTES: usize = 64 * 1024;

/// `clone(CLONE_VM | CLONE_VFORK | namespaces)`: the child shares this process's memory, runs
/// [`exec_child`] on a stack of its own and execs; this thread resumes once it has.
fn clone_vfork(namespaces: u64, child: &ChildArgs<'_>) -> Result<Cloned> {
    extern "C" fn run(arg: *mut libc::c_void) -> c_int {
        // SAFETY: `arg` is the `ChildArgs` of `clone_vfork`, alive until this child has exec'd or
        // exited: the parent waits for that (CLONE_VFORK) before its frame can go.
        let child = unsafe { &*arg.cast::<ChildArgs<'_>>() };
        // SAFETY: this is the cloned child, and the pointers point into memory prepared before the
        // clone, which it shares.
        unsafe {
            if child.unshare_below > 0
                && close_range(child.unshare_below as u32, u32::MAX, libc::CLOSE_RANGE_UNSHARE as c_int) != 0
            {
                // Still sharing the host's table: no dup2 may happen in it.
                fail(b"mesos-containerizer: close_range failed before the launch helper ran\n", 126);
            }
            exec_child(child.dups, child.fd_limit, child.path, child.argv, child.envp)
        }
    }
    let mut stack = vec![0u8; VFORK_STACK_BYTES];
    // The stack grows down from its end, which x86-64 and aarch64 want 16-byte aligned.
    let top = stack.as_mut_ptr().wrapping_add(VFORK_STACK_BYTES);
    let top = top.wrapping_sub(top as usize % 16);
    let flags = namespaces as c_int | libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
    let cloned = with_signals_blocked("clone the launch helper", |pidfd| {
        // SAFETY: `run` never returns into the host (it execs or `_exit`s) and touches only
        // `child` and its own stack; `stack` and `child` outlive the child's use of them, because
        // CLONE_VFORK holds this thread until the child has exec'd or exited; CLONE_PIDFD stores
        // the pidfd at `pidfd` (the parent_tid argument). Without CLONE_SIGHAND the child's signal
        // dispositions are its own; its descriptor table is its own too, or, with CLONE_FILES (the
        // low slots), made its own by its first call (`unshare_below`) before any dup2.
        libc::c_long::from(unsafe {
            libc::clone(run, top.cast(), flags, std::ptr::from_ref(child).cast_mut().cast(), pidfd)
        })
    });
    drop(stack);
    cloned
}

/// Where close_range is missing (kernels before 5.9), one past the highest descriptor the host has
/// open, for the child to close one by one (computed here: the child may not allocate); 0 where
/// close_range works, which is asked once.
fn close_fallback_bound() -> c_int {
    static CLOSE_RANGE_WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: closing a range in which no descriptor can be open closes nothing; only the return
    // value (0, or -1 with ENOSYS on old kernels) is of interest.
    let works = *CLOSE_RANGE_WORKS.get_or_init(|| unsafe { close_range(u32::MAX - 1, u32::MAX, 0) } == 0);
    if works {
        return 0;
    }
    std::fs::read_dir("/proc/self/fd")
        .map(|entries| {
            entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<c_int>().ok()).max().unwrap_or(2) + 1
        })
        .unwrap_or(1024)
}

/// The child between `clone3` and `execve`.
///
/// # Safety
/// Only in the child of [`clone_helper`]. It calls only async-signal-safe functions (signal(7)):
/// `sigaction` (through `signal`), `sigprocmask`, `dup2`, `close_range` (or `close`), `execve`,
/// `write`, `_exit`, and touches no lock or allocator (after [`clone_vfork`] it shares the host's
/// memory, of which it writes nothing but its own stack).
unsafe fn exec_child(
    dups: &[(c_int, c_int)],
    fd_limit: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> ! {
    // SAFETY: see the function's contract.
    unsafe {
        // Handlers are reset by execve, but ignored signals stay ignored and the mask stays: give
        // the standard signals (1-31; glibc keeps 32 and 33 for itself) default dispositions, and
        // only then unblock everything (the parent blocked all signals around the clone), so no
        // host handler ever runs here.
        for signal in 1..32 {
            libc::signal(signal, libc::SIG_DFL);
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        for &(fd, target) in dups {
            // dup2 clears close-on-exec on the target.
            if libc::dup2(fd, target) < 0 {
                fail(b"mesos-containerizer: dup2 failed before the launch helper ran\n", 126);
            }
        }
        // Whatever else the host had open without close-on-exec stays out of the container.
        if close_range((CONTROL_FD + 1) as u32, u32::MAX, 0) != 0 {
            // No close_range (before Linux 5.9): close one by one up to the host's highest.
            for fd in (CONTROL_FD + 1)..fd_limit {
                libc::close(fd);
            }
        }
        libc::execve(path, argv, envp);
        fail(b"mesos-containerizer: execve of the launch helper failed\n", 127);
    }
}

/// `close_range(2)` (Linux 5.9) as the raw system call: musl, which the launch helper is built
/// with, has no wrapper for it. -1 with `errno` set on failure, as the libc call.
///
/// # Safety
/// As `close_range(2)`: it closes descriptors others may own. Async-signal-safe.
unsafe fn close_range(first: u32, last: u32, flags: c_int) -> c_int {
    // SAFETY: the caller's contract; the system call takes three integers and touches no memory.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            libc::c_long::from(first),
            libc::c_long::from(last),
            libc::c_long::from(flags),
        ) as c_int
    }
}

/// Writes `message` to stderr and exits with `code`, without touching the host's state.
///
/// # Safety
/// Async-signal-safe; meant for the cloned child.
unsafe fn fail(message: &[u8], code: c_int) -> ! {
    // SAFETY: write and _exit are async-signal-safe; `message` is a valid buffer.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(code)
    }
}
