//! The helper as the container's init: it runs the command, reaps every process that ends up as
//! its child (it is pid 1 in a new pid namespace, and a child subreaper otherwise, so orphans of
//! the container come to it), forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to the command, and
//! returns how the command ended.
//!
//! The command (and every pre-exec command) writes its stdout and stderr straight to the
//! sandbox's files: the init copies nothing, so nothing it does waits on a reader.
//!
//! Signals are taken through a signalfd, so the loop is one blocking read of the signalfd, with no
//! signal handler and no race between a SIGCHLD and the wait for it.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use module_abi::{CommandInfo, ContainerTermination, LaunchRequest};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, User};

use super::process::Attributes;
use super::report;
use crate::spec;

/// The signals forwarded to the command, as Mesos's launcher forwards them.
const FORWARDED: [Signal; 4] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT];

/// How everything the container runs is started.
struct Launcher {
    env: Vec<(String, String)>,
    cwd: std::path::PathBuf,
    user: Option<User>,
    /// The helper's own stdin is the command's (`LaunchRequest::inherit_stdio`).
    inherit_stdin: bool,
}

impl Launcher {
    /// The command of `info`, switched to `user` by std (the container's command is switched by
    /// its process attributes instead, which need to act on both sides of the switch).
    fn command(&self, info: &CommandInfo, user: Option<&User>) -> Result<(String, Command), String> {
        let (program, argv) = spec::argv(info)?;
        let mut command = Command::new(&program);
        command.arg0(&argv[0]).args(&argv[1..]).env_clear().envs(self.env.iter().cloned());
        command.current_dir(&self.cwd).stdin(if self.inherit_stdin {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        if let Some(user) = user {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        // std keeps the parent's signal mask across exec, and the init loop blocks the signals it
        // takes through its signalfd: without this the command would start with SIGTERM, SIGINT,
        // SIGHUP, SIGQUIT and SIGCHLD blocked and never see a forwarded signal.
        // SAFETY: the helper is single-threaded, so the forked child is a full copy of it, and the
        // closure only calls pthread_sigmask, which is async-signal-safe.
        unsafe {
            command.pre_exec(|| SigSet::empty().thread_set_mask().map_err(std::io::Error::from));
        }
        if self.inherit_stdin {
            // A terminal as stdin (an OCI runtime's `process.terminal`) becomes the command's
            // controlling terminal, in a session of its own, as runc's init does.
            // SAFETY: isatty, setsid and ioctl(TIOCSCTTY) are async-signal-safe system calls on
            // the child's own descriptor 0.
            unsafe {
                command.pre_exec(|| {
                    if libc::isatty(0) == 1 && (libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0)
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        Ok((program, command))
    }
}

/// The shell's status for a program that could not be executed: 127 not found, 126 otherwise.
fn exec_failure(error: &std::io::Error) -> ContainerTermination {
    let code = if error.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
    ContainerTermination { exit_code: Some(code), signal: None }
}

fn duplicate(file: &File) -> Result<File, String> {
    file.try_clone().map_err(|e| format!("failed to duplicate an output file: {e}"))
}

/// Runs the pre-exec commands and the command, their output going to `stdout` and `stderr` (the
/// sandbox's files); returns how the command ended.
pub fn run(request: &LaunchRequest, stdout: File, stderr: File) -> Result<ContainerTermination, String> {
    let cwd = spec::working_directory(request);
    if !cwd.is_dir() {
        return Err(format!("the working directory {} is not a directory", cwd.display()));
    }
    let user = match &request.container_config.user {
        None => None,
        Some(name) => Some(
            User::from_name(name)
                .map_err(|e| format!("failed to look up user '{name}': {e}"))?
                .ok_or_else(|| format!("unknown user '{name}'"))?,
        ),
    };
    let launcher =
        Launcher { env: spec::environment(request), cwd, user, inherit_stdin: request.inherit_stdio };
    // Decided before anything runs; applied in the command's process, right before its execve.
    let attributes = Attributes::new(request, launcher.user.as_ref()).map_err(|e| e.to_string())?;

    for pre in &request.launch_info.pre_exec_commands {
        let (program, mut command) = launcher.command(pre, launcher.user.as_ref())?;
        command.stdout(duplicate(&stdout)?).stderr(duplicate(&stderr)?);
        let status =
            command.status().map_err(|e| format!("failed to execute pre-exec command '{program}': {e}"))?;
        if !status.success() {
            return Err(format!("pre-exec command '{}' failed: {status}", pre.value));
        }
    }

    let mut signals = SigSet::empty();
    signals.add(Signal::SIGCHLD);
    FORWARDED.iter().for_each(|s| signals.add(*s));
    // Blocked before the command exists so none is lost; the command gets an empty mask back.
    signals.thread_block().map_err(|e| format!("failed to block signals: {e}"))?;
    let signal_fd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("failed to create a signalfd: {e}"))?;
    // Without a pid namespace, orphans of the command come to us instead of the host's init.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| format!("failed to become a child subreaper: {e}"))?;

    let (program, mut command) = launcher.command(&request.container_config.command, None)?;
    attributes.install(&mut command);
    command.stdout(stdout).stderr(stderr);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            report(&format!("failed to execute '{program}': {e}"));
            return Ok(exec_failure(&e));
        }
    };
    let command_pid = Pid::from_raw(child.id() as i32);
    // `child` is reaped below through waitpid(-1); std's Child is never waited on.
    drop(child);

    supervise(command_pid, &signal_fd)
}

/// The init loop: until the command has ended, reap and forward.
fn supervise(command: Pid, signal_fd: &SignalFd) -> Result<ContainerTermination, String> {
    loop {
        let info = match signal_fd.read_signal() {
            Ok(Some(info)) => info,
            // `None` is only for a non-blocking signalfd; this one blocks.
            Ok(None) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("failed to read the signalfd: {e}")),
        };
        let signal = Signal::try_from(info.ssi_signo as i32).ok();
        if signal == Some(Signal::SIGCHLD) {
            if let Some(termination) = reap_all(command) {
                return Ok(termination);
            }
        } else if let Some(signal) = signal {
            match kill(command, signal) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => return Err(format!("failed to forward {signal} to the command: {e}")),
            }
        }
    }
}

/// Reaps every child that has ended; how the command ended if it was among them.
fn reap_all(command: Pid) -> Option<ContainerTermination> {
    let mut ended = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => {
                ended = Some(ContainerTermination { exit_code: Some(code), signal: None });
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command => {
                ended = Some(ContainerTermination { exit_code: None, signal: Some(signal as i32) });
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return ended,
            Ok(_) => {}
        }
    }
}
