//! `exec`: another process in a running container, as containerd's shim asks for one
//! (`exec --process FILE --detach --pid-file F ID`).
//!
//! The runtime forks a child that joins the init's cgroups (writing itself to each
//! `cgroup.procs` its init is in) and namespaces (`setns` on the init's `/proc/<pid>/ns/*`; the
//! mount namespace last, which also puts it at the container's root), then forks the process
//! itself, which is in the container's pid namespace: it sets its user, capabilities and
//! `no_new_privs` and execs. The middle child reports the process's pid and exits, so the process
//! is reparented to the nearest subreaper: the shim with `--detach`; without it, this runtime,
//! which then waits for it and exits with its status.
//!
//! Errors of the process's setup or `execve` come back over a close-on-exec pipe: nothing read
//! means the exec happened.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2};

use crate::bundle::Process;
use crate::state::{self, StateDir, Status};

/// `exec`'s options.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub process: PathBuf,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

/// The namespaces joined, in order: the mount namespace last, since it changes the root.
const NAMESPACES: [(&str, CloneFlags); 5] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// What the process is, decided before any fork.
struct Prepared {
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: CString,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    /// `(effective = permitted = inheritable = ambient, bounding)`, by number.
    caps: Option<(Vec<caps::Capability>, Vec<caps::Capability>)>,
    no_new_privileges: bool,
    rlimits: Vec<rlimits::Limit>,
}

fn cstring(what: &str, s: &str) -> anyhow::Result<CString> {
    CString::new(s).map_err(|_| anyhow!("process.{what}: '{s}' holds a NUL byte"))
}

fn prepare(process: &Process) -> anyhow::Result<Prepared> {
    let refused = [
        ("terminal", process.terminal),
        ("consoleSize", process.console_size.is_some()),
        ("commandLine", process.command_line.is_some()),
        ("apparmorProfile", process.apparmor_profile.as_deref().is_some_and(|p| !p.is_empty())),
        ("selinuxLabel", process.selinux_label.as_deref().is_some_and(|p| !p.is_empty())),
        ("oomScoreAdj", process.oom_score_adj.is_some_and(|a| a != 0)),
        ("ioPriority", process.io_priority.is_some()),
        ("scheduler", process.scheduler.is_some()),
        ("execCPUAffinity", process.exec_cpu_affinity.is_some()),
        ("user.umask", process.user.umask.is_some()),
    ];
    if let Some((field, _)) = refused.iter().find(|(_, present)| *present) {
        bail!("process.{field}: not supported by this runtime's exec");
    }
    if process.args.is_empty() {
        bail!("process.args: missing");
    }
    let caps = match &process.capabilities {
        None => None,
        Some(sets) => {
            let parse = |field: &str, names: &Option<Vec<String>>| -> anyhow::Result<Vec<caps::Capability>> {
                names
                    .iter()
                    .flatten()
                    .map(|n| {
                        n.parse()
                            .map_err(|_| anyhow!("process.capabilities.{field}: unknown capability '{n}'"))
                    })
                    .collect()
            };
            let effective = parse("effective", &sets.effective)?;
            let permitted = parse("permitted", &sets.permitted)?;
            let as_set = |v: &[caps::Capability]| v.iter().copied().collect::<caps::CapsHashSet>();
            if as_set(&permitted) != as_set(&effective) {
                bail!("process.capabilities.permitted: must equal the effective set");
            }
            Some((effective, parse("bounding", &sets.bounding)?))
        }
    };
    let limits: Vec<module_abi::RLimit> = process
        .rlimits
        .iter()
        .map(|r| module_abi::RLimit {
            kind: r.kind.clone(),
            soft: (r.soft != u64::MAX).then_some(r.soft),
            hard: (r.hard != u64::MAX).then_some(r.hard),
        })
        .collect();
    let cwd = if process.cwd.is_empty() { "/" } else { process.cwd.as_str() };
    Ok(Prepared {
        argv: process.args.iter().map(|a| cstring("args", a)).collect::<Result<_, _>>()?,
        env: process.env.iter().map(|e| cstring("env", e)).collect::<Result<_, _>>()?,
        cwd: cstring("cwd", cwd)?,
        uid: process.user.uid,
        gid: process.user.gid,
        groups: process.user.additional_gids.clone(),
        caps,
        no_new_privileges: process.no_new_privileges,
        rlimits: rlimits::parse_all(&limits).map_err(|e| anyhow!("process.rlimits: {e}"))?,
    })
}

/// The `cgroup.procs` files of every cgroup `pid` is in, through this host's cgroup mounts.
fn cgroup_procs(pid: i32) -> anyhow::Result<Vec<PathBuf>> {
    let cgroups =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).context("cannot read the init's cgroups")?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").context("cannot read the mount table")?;
    // (mount point, root, controllers or None for cgroup2).
    let mut mounts: Vec<(String, String, Option<Vec<String>>)> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype), Some(options)) =
            (left.get(3), left.get(4), right.first(), right.get(2))
        else {
            continue;
        };
        match *fstype {
            "cgroup2" => mounts.push((point.to_string(), root.to_string(), None)),
            "cgroup" => {
                let controllers =
                    options.split(',').filter(|o| *o != "rw" && *o != "ro").map(str::to_owned).collect();
                mounts.push((point.to_string(), root.to_string(), Some(controllers)));
            }
            _ => {}
        }
    }
    let mut files = Vec::new();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let mount = if controllers.is_empty() {
            mounts.iter().find(|(_, _, c)| c.is_none())
        } else {
            let wanted: Vec<&str> = controllers.split(',').collect();
            mounts.iter().find(|(_, _, c)| {
                c.as_ref().is_some_and(|c| wanted.iter().all(|w| c.iter().any(|have| have == w)))
            })
        };
        if let Some((point, root, _)) = mount {
            let relative = path.strip_prefix(root.as_str()).unwrap_or(path).trim_start_matches('/');
            files.push(Path::new(point).join(relative).join("cgroup.procs"));
        }
    }
    Ok(files)
}

/// `exec ID`: the exit status to return (0 with `--detach`).
pub fn exec(root: &Path, id: &str, options: &ExecOptions) -> anyhow::Result<i32> {
    let state_dir = StateDir::existing(root, id)?;
    let saved = state_dir.load()?;
    if state::status(&state_dir, &saved) != Status::Running {
        bail!("cannot exec in a container that is not running: container not running");
    }
    if options.console_socket.is_some() {
        bail!("--console-socket: a terminal is not supported by this runtime");
    }
    let text = std::fs::read(&options.process)
        .with_context(|| format!("cannot read the process {}", options.process.display()))?;
    let process: Process = serde_json::from_slice(&text)
        .with_context(|| format!("invalid process {}", options.process.display()))?;
    let prepared = prepare(&process)?;
    let procs = cgroup_procs(saved.pid)?;
    let mut namespaces = Vec::new();
    for (name, flag) in NAMESPACES {
        let path = format!("/proc/{}/ns/{name}", saved.pid);
        let own = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        let theirs = std::fs::read_link(&path).with_context(|| format!("cannot read {path}"))?;
        if own.as_ref() != Some(&theirs) {
            let file = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
            namespaces.push((OwnedFd::from(file), flag));
        }
    }
    if !options.detach {
        nix::sys::prctl::set_child_subreaper(true).context("cannot become a child subreaper")?;
    }
    let (pid_read, pid_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (err_read, err_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    // SAFETY: this process is single-threaded (no event loop was started for exec), so the child
    // is a whole copy of it and may allocate.
    match unsafe { fork() }.context("cannot fork")? {
        ForkResult::Child => {
            drop((pid_read, err_read));
            let code = match middle(&procs, &namespaces, &prepared, &err_write) {
                Ok(pid) => {
                    let _ = std::fs::File::from(pid_write).write_all(pid.to_string().as_bytes());
                    0
                }
                Err(e) => {
                    let _ = std::fs::File::from(err_write).write_all(format!("{e:#}").as_bytes());
                    1
                }
            };
            // SAFETY: _exit ends the forked child without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop((pid_write, err_write));
            let _ = waitpid(child, None);
            let mut error = String::new();
            let _ = std::fs::File::from(err_read).read_to_string(&mut error);
            let mut pid = String::new();
            let _ = std::fs::File::from(pid_read).read_to_string(&mut pid);
            if !error.is_empty() {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    let _ = waitpid(Pid::from_raw(pid), None);
                }
                bail!("exec failed: {error}");
            }
            let pid: i32 =
                pid.trim().parse().map_err(|_| anyhow!("exec failed: the process did not start"))?;
            if let Some(pid_file) = &options.pid_file {
                crate::lifecycle::write_pid_file(pid_file, pid)?;
            }
            if options.detach {
                return Ok(0);
            }
            loop {
                match waitpid(Pid::from_raw(pid), None) {
                    Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                    Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(128 + signal as i32),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => bail!("cannot wait for the process: {e}"),
                }
            }
        }
    }
}

/// The middle child: joins the cgroups and namespaces, forks the process; its pid.
fn middle(
    procs: &[PathBuf],
    namespaces: &[(OwnedFd, CloneFlags)],
    prepared: &Prepared,
    err_write: &OwnedFd,
) -> anyhow::Result<i32> {
    for file in procs {
        std::fs::write(file, "0").with_context(|| format!("cannot join the cgroup {}", file.display()))?;
    }
    for (fd, flag) in namespaces {
        nix::sched::setns(fd, *flag)
            .with_context(|| format!("cannot join the container's namespace {flag:?}"))?;
    }
    // SAFETY: still single-threaded: the forked process is a whole copy.
    match unsafe { fork() }.context("cannot fork into the pid namespace")? {
        ForkResult::Parent { child } => Ok(child.as_raw()),
        ForkResult::Child => {
            let error = run(prepared);
            let _ = nix::unistd::write(err_write, format!("{error:#}").as_bytes());
            // SAFETY: as above.
            unsafe { libc::_exit(127) }
        }
    }
}

/// The process's own setup and its `execve`; returns only with what failed.
fn run(p: &Prepared) -> anyhow::Error {
    let result = (|| -> anyhow::Result<std::convert::Infallible> {
        nix::unistd::chdir(p.cwd.as_c_str())
            .with_context(|| format!("cannot enter the working directory {:?}", p.cwd))?;
        for limit in &p.rlimits {
            nix::sys::resource::setrlimit(limit.resource, limit.soft, limit.hard)
                .with_context(|| format!("cannot set {}", limit.name))?;
        }
        if let Some((_, bounding)) = &p.caps {
            for cap in caps::all() {
                if !bounding.contains(&cap) {
                    let _ = caps::drop(None, caps::CapSet::Bounding, cap);
                }
            }
        }
        if p.uid != 0 || p.gid != 0 || !p.groups.is_empty() {
            let groups: Vec<nix::unistd::Gid> =
                p.groups.iter().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
            nix::unistd::setgroups(&groups).context("cannot set the supplementary groups")?;
            nix::unistd::setgid(nix::unistd::Gid::from_raw(p.gid)).context("cannot set the group id")?;
            // Keep the permitted set across the uid change, to set the asked sets after it.
            nix::sys::prctl::set_keepcaps(true).context("cannot keep capabilities")?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(p.uid)).context("cannot set the user id")?;
        }
        if let Some((effective, _)) = &p.caps {
            let set: caps::CapsHashSet = effective.iter().copied().collect();
            // Effective first: a capset whose effective set is outside its permitted set fails.
            for which in [caps::CapSet::Effective, caps::CapSet::Permitted, caps::CapSet::Inheritable] {
                caps::set(None, which, &set).map_err(|e| anyhow!("cannot set the capabilities: {e}"))?;
            }
            caps::set(None, caps::CapSet::Ambient, &set)
                .map_err(|e| anyhow!("cannot set the ambient capabilities: {e}"))?;
        }
        if p.no_new_privileges {
            nix::sys::prctl::set_no_new_privs().context("cannot set no_new_privs")?;
        }
        let program = resolve(&p.argv[0], &p.env);
        nix::unistd::execve(&program, &p.argv, &p.env)
            .with_context(|| format!("cannot execute {:?}", p.argv[0]))
    })();
    match result {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

/// `argv[0]` looked up in the process's `PATH` when it has no slash.
fn resolve(program: &CString, env: &[CString]) -> CString {
    let name = program.to_string_lossy();
    if name.contains('/') {
        return program.clone();
    }
    let path = env
        .iter()
        .find_map(|e| e.to_str().ok()?.strip_prefix("PATH=").map(str::to_owned))
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned());
    for dir in path.split(':') {
        let candidate = Path::new(dir).join(name.as_ref());
        if candidate.is_file()
            && let Ok(c) = CString::new(candidate.as_os_str().as_encoded_bytes())
        {
            return c;
        }
    }
    program.clone()
}
