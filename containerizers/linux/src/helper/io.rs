//! Copying the command's output when it is attached: each of its stdout and stderr is a pipe the
//! helper reads and writes both to the sandbox file and to the helper's own stdout or stderr (the
//! host's). The sandbox always gets everything; a host that stopped reading loses only its copy.
//!
//! The helper is the container's init, so it must never block on the host's stream: a reader that
//! stalls (a full pipe nobody reads, a stopped terminal) would stop it reaping and forwarding
//! signals. The host stream is therefore reopened through `/proc/self/fd/N` as a file description
//! of its own, non-blocking (setting `O_NONBLOCK` on the inherited one would change the harness's
//! too); a chunk the reader does not take within a second is dropped from the host's copy.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Which of the helper's own descriptors gets the copy.
#[derive(Debug, Clone, Copy)]
pub enum HostStream {
    Stdout,
    Stderr,
}

/// How long a stalled host reader may hold up one chunk before it is dropped from its copy.
const HOST_STALL_MS: u16 = 1000;

/// One output pipe of the command and where its bytes go.
#[derive(Debug)]
pub struct Copier {
    pipe: File,
    file: File,
    /// The host's stream as a non-blocking file description of its own; `None` when it cannot be
    /// reopened (a socket, or no /proc): then the host gets no copy rather than a blocking one.
    host: Option<File>,
}

impl Copier {
    pub fn new(pipe: OwnedFd, file: File, host: HostStream) -> Copier {
        let fd = match host {
            HostStream::Stdout => 1,
            HostStream::Stderr => 2,
        };
        let host = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(format!("/proc/self/fd/{fd}"))
            .ok();
        Copier { pipe: File::from(pipe), file, host }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }

    /// Copies one chunk; `Ok(true)` at end of file (every writer closed the pipe).
    pub fn pump(&mut self) -> std::io::Result<bool> {
        let mut buffer = [0u8; 64 * 1024];
        let n = loop {
            match self.pipe.read(&mut buffer) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Ok(true);
        }
        self.file.write_all(&buffer[..n])?;
        // The host's copy is best effort: a closed or stalled host stream must not hold up or fail
        // the container.
        if let Some(host) = &mut self.host {
            copy_to_host(host, &buffer[..n]);
        }
        Ok(false)
    }

    /// Copies what is already in the pipe, without waiting for more: after the command exited,
    /// processes it left behind may hold the pipe open forever.
    pub fn drain(&mut self) -> std::io::Result<()> {
        loop {
            let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if self.pump()? {
                return Ok(());
            }
        }
    }
}

/// Writes `data` to the non-blocking host stream, waiting at most [`HOST_STALL_MS`] for room each
/// time it is full; what does not fit by then is dropped (the sandbox file has it).
fn copy_to_host(host: &mut File, mut data: &[u8]) {
    while !data.is_empty() {
        match host.write(data) {
            Ok(0) => return,
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(host.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::from(HOST_STALL_MS)) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host reader that never reads does not hang the copy (a blocking write would never
    /// return here), and the sandbox file still gets everything.
    #[test]
    fn a_stalled_host_reader_does_not_block_the_copy() {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let host = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&write_end)))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = nix::unistd::pipe().unwrap();
        let sandbox = File::create(dir.path().join("stdout")).unwrap();
        let mut copier = Copier { pipe: File::from(cmd_read), file: sandbox, host: Some(host) };
        let chunk = vec![b'x'; 60 * 1024];
        let mut writer = File::from(cmd_write);
        for _ in 0..3 {
            writer.write_all(&chunk).unwrap();
            assert!(!copier.pump().unwrap());
        }
        let copied = std::fs::metadata(dir.path().join("stdout")).unwrap().len();
        assert_eq!(copied, 3 * 60 * 1024, "the sandbox file gets everything");
        drop(read_end);
    }
}
