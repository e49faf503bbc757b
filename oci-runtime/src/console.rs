//! `process.terminal` with `--console-socket`: `create` opens a pseudo-terminal, sends its master
//! to the caller's socket (`SCM_RIGHTS`, as runc does; containerd's shim copies it to the
//! container's streams) and makes the slave its own descriptors 0, 1 and 2, which the
//! containerizer hands to the container (`LaunchRequest::inherit_stdio`). The helper makes the
//! terminal the command's controlling terminal.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, bail};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use serde_json::Value;

/// Opens the terminal, sends the master to `socket`, puts the slave on 0, 1 and 2.
pub fn attach(socket: &Path, size: Option<&Value>) -> anyhow::Result<()> {
    let winsize = match size {
        None => None,
        Some(size) => {
            let dim = |key: &str| size.get(key).and_then(Value::as_u64).and_then(|v| u16::try_from(v).ok());
            let (Some(rows), Some(cols)) = (dim("height"), dim("width")) else {
                bail!("process.consoleSize: needs height and width (0 to 65535)");
            };
            Some(nix::pty::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 })
        }
    };
    let pty = nix::pty::openpty(winsize.as_ref(), None).context("cannot open a pseudo-terminal")?;
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("cannot connect to the console socket {}", socket.display()))?;
    send_fd(&stream, &pty.master)?;
    for target in 0..=2 {
        // SAFETY: dup2 takes two descriptor numbers; the slave stays open until it is dropped.
        if unsafe { libc::dup2(pty.slave.as_raw_fd(), target) } < 0 {
            bail!("cannot put the terminal on descriptor {target}: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Sends `fd` with the name runc sends (the master's path), as containerd's console receiver
/// expects: the name in the data, the descriptor in the control message.
fn send_fd(stream: &UnixStream, fd: &OwnedFd) -> anyhow::Result<()> {
    let name = b"/dev/ptmx";
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("cannot send the terminal to the console socket")?;
    Ok(())
}
