//! The launch helper, `mesos-containerizer launch --runtime_directory=DIR --pipe_read=FD`.
//!
//! It starts as the first process of the container (pid 1 when a pid namespace was asked for),
//! exec'ed straight from the host's clone, so it is single-threaded and free to do anything. In
//! order: read the spec, wait for the host's release byte (the host isolates us meanwhile), apply
//! the launch info ([`setup`]), then stay as the container's init ([`init`]) until the command ends,
//! write its termination to the status file, and exit with the shell's convention. The command's
//! own process attributes (rlimits, user, capabilities, no_new_privs, seccomp) are set in its
//! process, right before its `execve` ([`process`]).
//!
//! With a release FIFO (`LaunchRequest::release_fifo`, an OCI runtime's `exec.fifo`) the helper,
//! once set up, blocks opening it for writing and runs the command only once a reader (`start`)
//! took its byte.
//!
//! Output: the command's stdout and stderr are the sandbox's `stdout` and `stderr` files (opened
//! for appending), attached or not, and the helper's own messages ([`report`]) go to its stderr,
//! which the containerizer made the sandbox's `stderr` too. Nothing in the container holds one of
//! the host's streams, so a caller that stops reading can never block the container's init; an
//! attached host shows the output by following the files (`LaunchRequest::attach_output`). With
//! `LaunchRequest::inherit_stdio` (an OCI runtime's caller) the command's streams are the
//! helper's own 0, 1 and 2 instead, which the containerizer took from its caller.

mod init;
mod process;
mod setup;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use module_abi::LaunchRequest;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::runtime::RuntimeDir;

/// The helper's command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    runtime_directory: PathBuf,
    pipe_read: RawFd,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let usage = "usage: mesos-containerizer launch --runtime_directory=DIR --pipe_read=FD";
    match args.get(1).map(String::as_str) {
        Some("launch") => {}
        Some(other) => return Err(format!("unknown subcommand '{other}'; {usage}")),
        None => return Err(usage.to_owned()),
    }
    let (mut runtime_directory, mut pipe_read) = (None, None);
    for arg in &args[2..] {
        if let Some(dir) = arg.strip_prefix("--runtime_directory=") {
            runtime_directory = Some(PathBuf::from(dir));
        } else if let Some(fd) = arg.strip_prefix("--pipe_read=") {
            pipe_read =
                Some(fd.parse::<RawFd>().map_err(|_| format!("--pipe_read: '{fd}' is not a descriptor"))?);
        } else {
            return Err(format!("unknown flag '{arg}'; {usage}"));
        }
    }
    match (runtime_directory, pipe_read) {
        (Some(runtime_directory), Some(pipe_read)) => Ok(Args { runtime_directory, pipe_read }),
        _ => Err(usage.to_owned()),
    }
}

/// Writes one of the helper's own messages, as one line, to its stderr: the sandbox's `stderr`
/// file (the containerizer gives it no other), so it never blocks on a reader and an attached
/// host shows it with the command's output.
pub(crate) fn report(message: &str) {
    let line = format!("mesos-containerizer: {message}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The helper's `main`: its exit status.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let args = match parse_args(&args) {
        Ok(args) => args,
        Err(message) => {
            report(&message);
            return 1;
        }
    };
    match launch(&args) {
        Ok(status) => status,
        Err(message) => {
            report(&message);
            1
        }
    }
}

fn launch(args: &Args) -> Result<i32, String> {
    // A session of its own, as Mesos's launcher does: the host's terminal signals stay the host's.
    let _ = nix::unistd::setsid();
    let runtime = RuntimeDir::at(args.runtime_directory.clone());
    let spec = runtime.spec();
    let bytes =
        std::fs::read(&spec).map_err(|e| format!("failed to read the spec {}: {e}", spec.display()))?;
    let request: LaunchRequest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("failed to parse the spec {}: {e}", spec.display()))?;

    if !wait_for_release(args.pipe_read)? {
        // The host gave the container up before releasing it (a failed launch, or a killed
        // harness): nothing ran, and the host reports why, so this exits without a word.
        return Ok(1);
    }

    let sandbox = Path::new(&request.container_config.directory);
    let (stdout, stderr) = if request.inherit_stdio {
        (own_stream(std::io::stdout().as_fd())?, own_stream(std::io::stderr().as_fd())?)
    } else {
        (open_output(&sandbox.join("stdout"))?, open_output(&sandbox.join("stderr"))?)
    };
    // Opened before the mounts: after a pivot into a rootfs its path is out of reach.
    let status = runtime.open_for_status().map_err(|e| e.to_string())?;
    let release = request.release_fifo.as_deref().map(open_release_fifo).transpose()?;
    crate::join::apply(&request.launch_info)?;
    setup::apply(&request)?;
    if let Some(fifo) = &release {
        wait_for_start(fifo)?;
    }

    let termination = init::run(&request, stdout, stderr)?;
    status.write(&termination).map_err(|e| e.to_string())?;
    Ok(termination.exit_status())
}

/// Blocks until the host sends the release byte (`true`); end of file means the host gave the
/// container up (`false`).
fn wait_for_release(fd: RawFd) -> Result<bool, String> {
    // SAFETY: the host's clone child placed the control socket at this descriptor for us and
    // nothing else in this process uses it; the File closes it once read.
    let mut control = unsafe { File::from_raw_fd(fd) };
    let mut byte = [0u8; 1];
    loop {
        return match control.read(&mut byte) {
            Ok(1) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Err(format!("failed to read the control socket (fd {fd}): {e}")),
        };
    }
}

/// The release FIFO, held by an `O_PATH` descriptor: after a pivot into a rootfs its path is out
/// of reach, and an `O_PATH` open neither blocks nor counts as a writer.
fn open_release_fifo(path: &str) -> Result<OwnedFd, String> {
    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("failed to open the release FIFO {path}: {e}"))
}

/// Blocks until a reader opens the release FIFO (an OCI runtime's `start`), then writes it the
/// byte it waits for. The FIFO is reopened for writing through `/proc/self/fd`, as runc's init
/// does: the open blocks until there is a reader.
fn wait_for_start(fifo: &OwnedFd) -> Result<(), String> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let mut writer = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| format!("failed to open the release FIFO for writing ({path}): {e}"))?;
    writer.write_all(&[0]).map_err(|e| format!("failed to write to the release FIFO: {e}"))
}

/// A duplicate of one of the helper's own streams, for the command.
fn own_stream(fd: BorrowedFd<'_>) -> Result<File, String> {
    fd.try_clone_to_owned().map(File::from).map_err(|e| format!("failed to duplicate a standard stream: {e}"))
}

fn open_output(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("failed to open {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_launch_flags() {
        let parsed = parse_args(&args(&[
            "mesos-containerizer",
            "launch",
            "--runtime_directory=/r/c1",
            "--pipe_read=3",
        ]));
        assert_eq!(parsed, Ok(Args { runtime_directory: "/r/c1".into(), pipe_read: 3 }));
    }

    #[test]
    fn refuses_bad_command_lines() {
        for bad in [
            &["mesos-containerizer"][..],
            &["mesos-containerizer", "destroy"],
            &["mesos-containerizer", "launch", "--pipe_read=3"],
            &["mesos-containerizer", "launch", "--runtime_directory=/r", "--pipe_read=x"],
            &["mesos-containerizer", "launch", "--runtime_directory=/r", "--pipe_read=3", "--bogus"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
