//! Attached output (`agent-harness run` without `--json`): the harness's own copy of a container's
//! output to its caller.
//!
//! The container writes its stdout and stderr only to the sandbox's `stdout` and `stderr` files
//! (what Mesos's default sandbox container logger does). Nothing in the container holds one of the
//! harness's streams, so a caller that reads slowly, or not at all, can never block the container's
//! init. The harness follows those files, as `tail -f` does, from where they ended when the
//! container was created, and writes what appears to its own fd 1 and fd 2:
//! - on a thread of its own ([`Follower`]), so a blocked caller never stalls the event loop that
//!   watches the container (its exit, OOM events);
//! - with ordinary blocking writes on duplicates of fd 1 and fd 2, which share the caller's open
//!   file descriptions: `O_APPEND`, an offset shared with the caller's shell, pipes, terminals and
//!   sockets all behave as the caller set them up. A slow reader slows the copy and loses nothing:
//!   the files keep every byte until it is copied;
//! - first by looking at the files after short, growing pauses ([`EARLY_LOOKS`], about 30 ms in
//!   all), then, for a container that runs longer, woken by inotify (`IN_MODIFY`) whenever a file
//!   grows, so interactive output shows at once (where inotify is refused, say past
//!   `fs.inotify.max_user_instances`, it looks every [`POLL_WITHOUT_INOTIFY`] instead). Short
//!   containers never make an inotify instance: closing one waits for an SRCU grace period
//!   (`fsnotify_destroy_group`), measured at about 6 ms here, which a `/bin/true` container
//!   would otherwise pay on every `run`.
//!
//! When every process of the container is gone the files are complete: [`Follower::complete`] has
//! the thread copy each file to its end and stop, and [`Follower::delivered`] (or
//! [`Follower::wait`]) waits for that, so the harness exits only after the output was delivered.
//! A caller that closed its end (`EPIPE`; the harness ignores SIGPIPE, as every Rust program does)
//! ends the copy of that one stream: never the container, never the sandbox's files.
//!
//! The files are the "files" output of a container logger: a later `ContainerLogger` kind (Mesos's
//! sandbox and logrotate loggers) decides what goes into them, and the follower only reads them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use thiserror::Error;

/// How much is read from a file before it is written to the caller.
const CHUNK: usize = 128 * 1024;

/// How often the files are looked at when inotify cannot be had.
pub const POLL_WITHOUT_INOTIFY: std::time::Duration = std::time::Duration::from_millis(50);

/// The pauses, in milliseconds, after which the files are looked at before inotify is set up.
pub const EARLY_LOOKS: [u16; 5] = [1, 2, 4, 8, 16];

/// Why the output of a container cannot be followed: the file, or the pipe or thread of the copy.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("cannot follow '{}': {source}", path.display())]
    Follow { path: PathBuf, source: std::io::Error },
    #[error("cannot follow the container's output: pipe: {0}")]
    Pipe(#[source] Errno),
    #[error("cannot follow the container's output: {0}")]
    Thread(#[source] std::io::Error),
}

/// One file to follow and where its bytes go.
#[derive(Debug)]
pub struct Stream {
    /// `stdout` or `stderr`, for messages.
    pub name: &'static str,
    pub path: PathBuf,
    /// The caller's descriptor: a duplicate, so the same open file description. `None` when the
    /// harness has no such stream (it was started with it closed): nothing is copied.
    pub sink: Option<OwnedFd>,
}

impl Stream {
    /// `path` copied to a duplicate of `fd`.
    pub fn to(name: &'static str, path: PathBuf, fd: BorrowedFd<'_>) -> Stream {
        Stream { name, path, sink: fd.try_clone_to_owned().ok() }
    }
}

/// A file being followed, on the copying thread.
#[derive(Debug)]
struct Source {
    name: &'static str,
    path: PathBuf,
    file: File,
    sink: Option<OwnedFd>,
}

/// The thread that copies the followed files to the caller.
#[derive(Debug)]
pub struct Follower {
    /// The write end of a pipe the thread polls; dropping it says the files are complete.
    complete: Option<OwnedFd>,
    /// Resolves (with an error: its sender is dropped) when the thread has finished.
    finished: tokio::sync::oneshot::Receiver<()>,
    /// The thread; it returns the problems it met (never `EPIPE`).
    thread: JoinHandle<Vec<String>>,
}

impl Follower {
    /// Follows `<sandbox>/stdout` to the harness's fd 1 and `<sandbox>/stderr` to its fd 2.
    pub fn start(sandbox: &Path) -> Result<Follower, OutputError> {
        Follower::follow(vec![
            Stream::to("stdout", sandbox.join("stdout"), std::io::stdout().as_fd()),
            Stream::to("stderr", sandbox.join("stderr"), std::io::stderr().as_fd()),
        ])
    }

    /// Follows each stream's file from its current end (creating it, empty, when it is missing).
    pub fn follow(streams: Vec<Stream>) -> Result<Follower, OutputError> {
        Follower::follow_with(streams, Wake::Inotify, &EARLY_LOOKS)
    }

    /// [`Self::follow`], looking at the files after each pause of `early` (ms), then woken as
    /// `wake` says.
    fn follow_with(streams: Vec<Stream>, wake: Wake, early: &'static [u16]) -> Result<Follower, OutputError> {
        let mut sources = Vec::new();
        for stream in streams {
            let Stream { name, path, sink } = stream;
            let failed = |source| OutputError::Follow { path: path.clone(), source };
            // Created here as the containerizer creates it (appended to, never truncated), so it
            // can be watched before anything in the container exists.
            OpenOptions::new().append(true).create(true).mode(0o644).open(&path).map_err(failed)?;
            let mut file = File::open(&path).map_err(failed)?;
            file.seek(SeekFrom::End(0)).map_err(failed)?;
            sources.push(Source { name, path, file, sink });
        }
        let (complete_read, complete_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(OutputError::Pipe)?;
        let (finished_tx, finished) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("output".to_owned())
            .spawn(move || {
                let problems = copy_until_complete(sources, wake, early, &complete_read);
                drop(finished_tx);
                problems
            })
            .map_err(OutputError::Thread)?;
        Ok(Follower { complete: Some(complete_write), finished, thread })
    }

    /// Says that the files are complete (every process that could write them is gone): the thread
    /// copies each to its end, then stops.
    pub fn complete(&mut self) {
        self.complete = None;
    }

    /// [`Self::complete`], then waits until everything was copied: the problems met, if any.
    pub async fn delivered(mut self) -> Vec<String> {
        self.complete();
        // An error only says the sender is gone, which is how the thread says it has finished.
        let _ = (&mut self.finished).await;
        self.join()
    }

    /// [`Self::delivered`], blocking the calling thread.
    pub fn wait(mut self) -> Vec<String> {
        self.complete();
        self.join()
    }

    fn join(self) -> Vec<String> {
        self.thread.join().unwrap_or_else(|_| vec!["the output copy panicked".to_owned()])
    }
}

/// How the copying thread is woken after the early looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// By inotify, or by polling where inotify is refused.
    Inotify,
    /// By polling every [`POLL_WITHOUT_INOTIFY`] (tests of the fallback).
    #[cfg_attr(not(test), allow(dead_code))]
    Poll,
}

/// Watches every source's file for growth; `None` (polling then) where inotify is refused.
fn watch(sources: &[Source]) -> Option<Inotify> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
        .inspect_err(
            |e| tracing::info!(error = %e, "no inotify for the container's output: polling its files"),
        )
        .ok()?;
    for source in sources {
        if let Err(e) = inotify.add_watch(&source.path, AddWatchFlags::IN_MODIFY) {
            tracing::info!(path = %source.path.display(), error = %e, "cannot watch the output file: polling it");
            return None;
        }
    }
    Some(inotify)
}

/// The copying thread: copies whatever the files hold, then sleeps until one grows (or a moment
/// passed, while the early looks last or without inotify) or `complete` is hung up; after the
/// hang-up, one last copy to the ends of the files. Every watch is made before the copy that
/// follows it, so a write after the watch always wakes the thread.
fn copy_until_complete(
    mut sources: Vec<Source>,
    wake: Wake,
    early: &'static [u16],
    complete: &OwnedFd,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut ending = false;
    let mut early = early.iter();
    let mut inotify: Option<Inotify> = None;
    let mut watch_tried = wake == Wake::Poll;
    loop {
        for source in &mut sources {
            source.copy_available(&mut buffer, &mut problems);
        }
        if ending {
            return problems;
        }
        let mut fds = vec![PollFd::new(complete.as_fd(), PollFlags::POLLIN)];
        let timeout = match (early.next(), &inotify) {
            (Some(&ms), _) => PollTimeout::from(ms),
            (None, Some(inotify)) => {
                fds.push(PollFd::new(inotify.as_fd(), PollFlags::POLLIN));
                PollTimeout::NONE
            }
            (None, None) => PollTimeout::try_from(POLL_WITHOUT_INOTIFY).unwrap_or(PollTimeout::NONE),
        };
        match poll(&mut fds, timeout) {
            Ok(_) => ending = fds[0].revents().is_some_and(|r| !r.is_empty()),
            Err(Errno::EINTR) => {}
            // Cannot happen with valid descriptors; looking at the files again is still correct.
            Err(_) => std::thread::sleep(POLL_WITHOUT_INOTIFY),
        }
        // Which file grew does not matter: both are read to their ends at the top of the loop.
        // One read of the queue: what a busy writer adds meanwhile just wakes the next poll.
        if let Some(inotify) = &inotify {
            let _ = inotify.read_events();
        }
        // The early looks are over and the container still runs: from now on, be woken (once
        // tried, never again: where inotify is refused, polling stays).
        if !ending && early.len() == 0 && !watch_tried {
            watch_tried = true;
            inotify = watch(&sources);
        }
    }
}

impl Source {
    /// Copies from the read offset to the current end of the file. A failed write ends this
    /// stream's copy: silently for `EPIPE` (the caller closed its end), with a problem otherwise.
    fn copy_available(&mut self, buffer: &mut [u8], problems: &mut Vec<String>) {
        let Some(sink) = &self.sink else { return };
        loop {
            let n = match self.file.read(buffer) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    problems.push(format!("cannot read '{}': {e}", self.path.display()));
                    self.sink = None;
                    return;
                }
            };
            match write_all(sink.as_fd(), &buffer[..n]) {
                Ok(()) => {}
                Err(Errno::EPIPE) => {
                    self.sink = None;
                    return;
                }
                Err(e) => {
                    problems.push(format!(
                        "cannot copy the container's {} to the harness's {}: {e} (it is all in '{}')",
                        self.name,
                        self.name,
                        self.path.display()
                    ));
                    self.sink = None;
                    return;
                }
            }
        }
    }
}

/// Writes all of `data`, blocking as long as the reader needs. A descriptor the caller made
/// non-blocking is waited on with `poll` rather than given up on.
fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    /// A generous bound that turns a hang into a failure (never a measurement).
    const HANG: Duration = Duration::from_secs(30);

    fn pipe() -> (File, OwnedFd) {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        (File::from(read), write)
    }

    fn appender(path: &Path) -> File {
        OpenOptions::new().append(true).create(true).open(path).unwrap()
    }

    /// Reads `reader` to its end on a thread of its own.
    fn read_all(mut reader: File) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).unwrap();
            bytes
        })
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn copies_what_is_appended_while_it_runs_and_the_rest_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (mut reader, sink) = pipe();
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        let mut writer = appender(&path);
        // Copied while running: woken by inotify, long before `complete`.
        writer.write_all(b"first\n").unwrap();
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::try_from(HANG).unwrap()).unwrap();
        assert_eq!(ready, 1, "nothing was copied before the end");
        let mut got = [0u8; 6];
        reader.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"first\n");
        writer.write_all(b"second\n").unwrap();
        drop(writer);
        assert!(follower.wait().is_empty());
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"second\n", "the last bytes come, then the end (the thread's duplicate is closed)");
    }

    /// How many inotify instances this process holds (nextest runs each test in its own process).
    fn inotify_instances() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .filter(|target| target.to_string_lossy() == "anon_inode:inotify")
            .count()
    }

    #[test]
    fn no_inotify_while_the_early_looks_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (mut reader, sink) = pipe();
        // One long early look: the thread polls the whole time and copies at the end.
        let follower = Follower::follow_with(
            vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }],
            Wake::Inotify,
            &[60_000],
        )
        .unwrap();
        appender(&path).write_all(b"short\n").unwrap();
        assert_eq!(inotify_instances(), 0, "no inotify instance while the early looks last");
        assert!(follower.wait().is_empty());
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"short\n");
    }

    #[test]
    fn after_the_early_looks_the_files_are_watched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (mut reader, sink) = pipe();
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        // After the early looks the thread watches the file; wait for that (no timing asserted).
        let deadline = std::time::Instant::now() + HANG;
        while inotify_instances() == 0 {
            assert!(std::time::Instant::now() < deadline, "the file was never watched");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Woken by the watch: what is appended now is copied before `complete`.
        appender(&path).write_all(b"late\n").unwrap();
        let mut got = [0u8; 5];
        reader.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"late\n");
        assert!(follower.wait().is_empty());
        assert_eq!(inotify_instances(), 0, "the watch ends with the copy");
    }

    #[test]
    fn starts_where_the_file_ended_and_creates_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("stderr");
        std::fs::write(&old, "from before\n").unwrap();
        let missing = dir.path().join("stdout");
        let (out_reader, out_sink) = pipe();
        let (err_reader, err_sink) = pipe();
        let follower = Follower::follow(vec![
            Stream { name: "stdout", path: missing.clone(), sink: Some(out_sink) },
            Stream { name: "stderr", path: old.clone(), sink: Some(err_sink) },
        ])
        .unwrap();
        assert!(missing.exists(), "the missing file is created");
        let (out, err) = (read_all(out_reader), read_all(err_reader));
        appender(&missing).write_all(b"out\n").unwrap();
        appender(&old).write_all(b"err\n").unwrap();
        assert!(follower.wait().is_empty());
        assert_eq!(out.join().unwrap(), b"out\n");
        assert_eq!(err.join().unwrap(), b"err\n", "only what came after the start");
        assert_eq!(std::fs::read(&old).unwrap(), b"from before\nerr\n", "the file is only read");
    }

    /// A reader that does not read for a while holds up the copy, which then goes on: nothing is
    /// dropped, whatever the pipe's size.
    #[test]
    fn a_slow_reader_slows_the_copy_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (reader, sink) = pipe();
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        let data = pattern(5 * 1024 * 1024);
        appender(&path).write_all(&data).unwrap();
        let mut follower = follower;
        follower.complete();
        std::thread::sleep(Duration::from_millis(1500));
        let got = read_all(reader).join().unwrap();
        assert!(follower.wait().is_empty());
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes differ");
    }

    /// A caller who made its descriptor non-blocking still gets everything, in order.
    #[test]
    fn a_non_blocking_sink_is_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (reader, sink) = pipe();
        nix::fcntl::fcntl(&sink, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).unwrap();
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        let data = pattern(3 * 1024 * 1024);
        appender(&path).write_all(&data).unwrap();
        let reading = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            read_all(reader).join().unwrap()
        });
        assert!(follower.wait().is_empty());
        assert!(reading.join().unwrap() == data, "the bytes differ");
    }

    /// The caller's own open file description is written: with `O_APPEND`, after what it holds.
    #[test]
    fn appends_to_an_append_mode_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let log = dir.path().join("log");
        std::fs::write(&log, "kept\n").unwrap();
        let sink = OwnedFd::from(appender(&log));
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        appender(&path).write_all(b"NEW\n").unwrap();
        assert!(follower.wait().is_empty());
        assert_eq!(std::fs::read(&log).unwrap(), b"kept\nNEW\n");
    }

    /// A caller that closed its end stops only that stream's copy, silently; the other stream and
    /// the files are untouched.
    #[test]
    fn a_closed_reader_ends_only_its_own_stream() {
        let dir = tempfile::tempdir().unwrap();
        let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let (out_reader, out_sink) = pipe();
        drop(out_reader);
        let (err_reader, err_sink) = pipe();
        let follower = Follower::follow(vec![
            Stream { name: "stdout", path: out_path.clone(), sink: Some(out_sink) },
            Stream { name: "stderr", path: err_path.clone(), sink: Some(err_sink) },
        ])
        .unwrap();
        let err = read_all(err_reader);
        let data = pattern(1024 * 1024);
        appender(&out_path).write_all(&data).unwrap();
        appender(&err_path).write_all(b"still here\n").unwrap();
        let problems = follower.wait();
        assert!(problems.is_empty(), "EPIPE is no problem: {problems:?}");
        assert_eq!(err.join().unwrap(), b"still here\n");
        assert_eq!(std::fs::read(&out_path).unwrap().len(), data.len());
    }

    /// Without inotify the files are polled: output still comes while the writer runs.
    #[test]
    fn without_inotify_the_files_are_polled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (mut reader, sink) = pipe();
        let stream = Stream { name: "stdout", path: path.clone(), sink: Some(sink) };
        let follower = Follower::follow_with(vec![stream], Wake::Poll, &EARLY_LOOKS).unwrap();
        appender(&path).write_all(b"polled\n").unwrap();
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::try_from(HANG).unwrap()).unwrap(), 1, "nothing came");
        let mut got = [0u8; 7];
        reader.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"polled\n");
        assert!(follower.wait().is_empty());
    }

    #[test]
    fn a_stream_without_a_sink_is_only_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: None }]).unwrap();
        appender(&path).write_all(b"x").unwrap();
        assert!(follower.wait().is_empty());
    }

    #[test]
    fn delivered_resolves_once_everything_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (reader, sink) = pipe();
        let follower =
            Follower::follow(vec![Stream { name: "stdout", path: path.clone(), sink: Some(sink) }]).unwrap();
        let reading = read_all(reader);
        appender(&path).write_all(&pattern(300_000)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let problems = runtime.block_on(follower.delivered());
        assert!(problems.is_empty());
        assert_eq!(reading.join().unwrap(), pattern(300_000));
    }
}
