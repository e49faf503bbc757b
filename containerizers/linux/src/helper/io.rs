//! Copying the command's output when it is attached: each of its stdout and stderr is a pipe the
//! helper reads and writes both to the sandbox file and to the helper's own stdout or stderr (the
//! host's). The sandbox always gets everything; a host that stopped reading loses only its copy.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Which of the helper's own descriptors gets the copy.
#[derive(Debug, Clone, Copy)]
pub enum HostStream {
    Stdout,
    Stderr,
}

/// One output pipe of the command and where its bytes go.
#[derive(Debug)]
pub struct Copier {
    pipe: File,
    file: File,
    host: HostStream,
}

impl Copier {
    pub fn new(pipe: OwnedFd, file: File, host: HostStream) -> Copier {
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
        // The host's copy is best effort: a closed or full host stream must not fail the container.
        let _ = match self.host {
            HostStream::Stdout => std::io::stdout().lock().write_all(&buffer[..n]),
            HostStream::Stderr => std::io::stderr().lock().write_all(&buffer[..n]),
        };
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
