//! The input of `run-many`: its lines, from a regular file read at once or from a pipe, socket or
//! terminal read as lines arrive (without blocking the event loop), and what each line is: a
//! command, a directive, or nothing (blank or a `#` comment).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use thiserror::Error;
use tokio::io::unix::AsyncFd;

/// The input cannot be opened or read; `name` is the `--file` value (`-` for stdin).
#[derive(Debug, Error)]
pub(super) enum InputError {
    #[error("cannot read stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("cannot open --file '{name}': {source}")]
    Open { name: String, source: std::io::Error },
    #[error("cannot read --file '{name}': {source}")]
    Read { name: String, source: std::io::Error },
    #[error("cannot make --file '{name}' non-blocking: {source}")]
    NonBlocking { name: String, source: std::io::Error },
    #[error("cannot wait on --file '{name}': {source}")]
    Register { name: String, source: std::io::Error },
    /// Reading a pipe, socket or terminal failed after it was opened.
    #[error("cannot read the input: {0}")]
    Stream(#[source] std::io::Error),
}

/// A line that starts with `@` but names no directive.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: unknown directive '{directive}' (known: @usage, @destroy, @wait)")]
pub(super) struct UnknownDirective {
    pub(super) line: usize,
    pub(super) directive: String,
}

/// One input line, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    Command(Vec<String>),
    Usage,
    Destroy,
    Wait,
}

pub(super) fn parse_line(text: &str, number: usize) -> Result<Option<Line>, UnknownDirective> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    Ok(Some(match text {
        "@usage" => Line::Usage,
        "@destroy" => Line::Destroy,
        "@wait" => Line::Wait,
        directive if directive.starts_with('@') => {
            return Err(UnknownDirective { line: number, directive: directive.to_string() });
        }
        command => Line::Command(command.split_whitespace().map(str::to_owned).collect()),
    }))
}

/// The input: a regular file read at once, or a pipe, socket or terminal read as lines arrive
/// without blocking the event loop.
pub(super) enum Input {
    Ready(std::vec::IntoIter<String>),
    Stream { fd: AsyncFd<OwnedFd>, pending: Vec<u8>, eof: bool },
}

impl Input {
    pub(super) fn open(file: &std::path::Path) -> Result<Input, InputError> {
        let name = file.display().to_string();
        let fd: OwnedFd = if name == "-" {
            std::io::stdin().as_fd().try_clone_to_owned().map_err(InputError::Stdin)?
        } else {
            std::fs::File::open(file)
                .map_err(|source| InputError::Open { name: name.clone(), source })?
                .into()
        };
        let mut file = std::fs::File::from(fd);
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text)
                .map_err(|source| InputError::Read { name: name.clone(), source })?;
            return Ok(Input::Ready(text.lines().map(str::to_owned).collect::<Vec<_>>().into_iter()));
        }
        let fd = OwnedFd::from(file);
        // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL touch only its status flags.
        let nonblocking = unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
        };
        if !nonblocking {
            return Err(InputError::NonBlocking { name, source: std::io::Error::last_os_error() });
        }
        // SAFETY: the OwnedFd is open and stays the same descriptor until the AsyncFd owning it is
        // dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| InputError::Register { name, source: e.into_parts().1 })?;
        Ok(Input::Stream { fd, pending: Vec::new(), eof: false })
    }

    pub(super) async fn next_line(&mut self) -> Result<Option<String>, InputError> {
        let (fd, pending, eof) = match self {
            Input::Ready(lines) => return Ok(lines.next()),
            Input::Stream { fd, pending, eof } => (fd, pending, eof),
        };
        loop {
            if let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                return Ok(Some(String::from_utf8_lossy(&line[..end]).into_owned()));
            }
            if *eof {
                if pending.is_empty() {
                    return Ok(None);
                }
                let line = String::from_utf8_lossy(pending).into_owned();
                pending.clear();
                return Ok(Some(line));
            }
            let mut guard = fd.readable().await.map_err(InputError::Stream)?;
            let mut buffer = [0u8; 8192];
            match guard.try_io(|fd| {
                // SAFETY: reads at most `buffer.len()` bytes into the buffer from an open descriptor.
                let n = unsafe { libc::read(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
                if n < 0 { Err(std::io::Error::last_os_error()) } else { Ok(n as usize) }
            }) {
                Ok(Ok(0)) => *eof = true,
                Ok(Ok(n)) => pending.extend_from_slice(&buffer[..n]),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(InputError::Stream(e)),
                Err(_would_block) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_commands_directives_or_skipped() {
        assert_eq!(
            parse_line("  /bin/sleep  10 ", 1),
            Ok(Some(Line::Command(vec!["/bin/sleep".into(), "10".into()])))
        );
        assert_eq!(parse_line("", 1), Ok(None));
        assert_eq!(parse_line("# a comment", 1), Ok(None));
        assert_eq!(parse_line("@usage", 1), Ok(Some(Line::Usage)));
        assert_eq!(parse_line("@destroy", 1), Ok(Some(Line::Destroy)));
        assert_eq!(parse_line("@wait", 1), Ok(Some(Line::Wait)));
        let err = parse_line("@bogus", 7).unwrap_err();
        assert_eq!(err, UnknownDirective { line: 7, directive: "@bogus".into() });
        assert_eq!(err.to_string(), "line 7: unknown directive '@bogus' (known: @usage, @destroy, @wait)");
    }
}
