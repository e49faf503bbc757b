//! `agent-harness run-many`: one harness process that runs many containers, with the modules
//! loaded and created once, every container supervised from one single-threaded event loop.
//!
//! Input (`--file=PATH`, or `--file=-` for stdin, read as it arrives): one container per line, the
//! command and its arguments separated by whitespace (no quoting: put a script in a file and run
//! `/bin/sh FILE` for anything else). Blank lines and lines starting with `#` are skipped. A line
//! waits for a free slot (`--concurrency`) before its container is launched. Lines starting with
//! `@` are directives, carried out once every line before them has been launched:
//!
//! | directive | what it does |
//! |---|---|
//! | `@usage` | prints the usage of every live container and how long that sweep took |
//! | `@destroy` | destroys every live container |
//! | `@wait` | waits until no container is live |
//!
//! Output on stdout, one JSON object per line, as things happen:
//! `{"event":"launched","container_id":..,"pid":..}`, `{"event":"failed","container_id":..,"error":..}`,
//! `{"event":"finished", ..}` (the fields of `run --json`, plus `errors`), and
//! `{"event":"usage","containers":N,"seconds":..,"usage":{ID: ResourceStatistics}}`.
//!
//! At the end of the input it waits for every container to end. SIGINT, SIGTERM or SIGHUP destroy
//! every live container and end the run with 128 + the signal. The exit status is otherwise 0
//! when every container launched and was torn down cleanly (whatever its command returned), 1 if
//! not.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use module_abi::{CommandInfo, ContainerId, ResourceStatistics};
use serde::Serialize;
use tokio::io::unix::AsyncFd;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use super::ContainerFlags;
use super::run::{random_container_id, stop_signal, validate_container_id};
use crate::engine::{ContainerSpec, Ending, Engine, Launched, ModuleInstances, Outcome};

#[derive(Debug, Args)]
pub struct RunManyArgs {
    #[command(flatten)]
    pub container: ContainerFlags,
    /// The commands, one container per line; `-` reads stdin as it arrives.
    #[arg(long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// How many containers may be live at once.
    #[arg(long = "concurrency", value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Container ids are this prefix and the container's number (1, 2, ...); default: random.
    #[arg(long = "container_id_prefix", value_name = "PREFIX")]
    pub container_id_prefix: Option<String>,
}

/// What `run-many` prints, one per line.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event<'a> {
    Launched {
        container_id: &'a str,
        pid: i32,
    },
    Failed {
        container_id: &'a str,
        error: &'a str,
    },
    Finished {
        #[serde(flatten)]
        outcome: &'a Outcome,
        errors: &'a [String],
    },
    Usage {
        containers: usize,
        seconds: f64,
        usage: BTreeMap<&'a str, ResourceStatistics>,
    },
}

fn emit(event: &Event<'_>) {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    // A closed stdout must not stop the containers' teardown.
    let _ = std::io::stdout().lock().write_all(&line);
}

/// One input line, parsed.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Command(Vec<String>),
    Usage,
    Destroy,
    Wait,
}

fn parse_line(text: &str, number: usize) -> Result<Option<Line>, String> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    Ok(Some(match text {
        "@usage" => Line::Usage,
        "@destroy" => Line::Destroy,
        "@wait" => Line::Wait,
        directive if directive.starts_with('@') => {
            return Err(format!(
                "line {number}: unknown directive '{directive}' (known: @usage, @destroy, @wait)"
            ));
        }
        command => Line::Command(command.split_whitespace().map(str::to_owned).collect()),
    }))
}

/// The input: a regular file read at once, or a pipe, socket or terminal read as lines arrive
/// without blocking the event loop.
enum Input {
    Ready(std::vec::IntoIter<String>),
    Stream { fd: AsyncFd<OwnedFd>, pending: Vec<u8>, eof: bool },
}

impl Input {
    fn open(file: &std::path::Path) -> Result<Input, String> {
        let name = file.display().to_string();
        let fd: OwnedFd = if name == "-" {
            std::io::stdin().as_fd().try_clone_to_owned().map_err(|e| format!("cannot read stdin: {e}"))?
        } else {
            std::fs::File::open(file).map_err(|e| format!("cannot open --file '{name}': {e}"))?.into()
        };
        let mut file = std::fs::File::from(fd);
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text)
                .map_err(|e| format!("cannot read --file '{name}': {e}"))?;
            return Ok(Input::Ready(text.lines().map(str::to_owned).collect::<Vec<_>>().into_iter()));
        }
        let fd = OwnedFd::from(file);
        // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL touch only its status flags.
        let nonblocking = unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
        };
        if !nonblocking {
            return Err(format!(
                "cannot make --file '{name}' non-blocking: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the OwnedFd is open and stays the same descriptor until the AsyncFd owning it is
        // dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| format!("cannot wait on --file '{name}': {e}"))?;
        Ok(Input::Stream { fd, pending: Vec::new(), eof: false })
    }

    async fn next_line(&mut self) -> Result<Option<String>, String> {
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
            let mut guard = fd.readable().await.map_err(|e| format!("cannot read the input: {e}"))?;
            let mut buffer = [0u8; 8192];
            match guard.try_io(|fd| {
                // SAFETY: reads at most `buffer.len()` bytes into the buffer from an open descriptor.
                let n = unsafe { libc::read(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
                if n < 0 { Err(std::io::Error::last_os_error()) } else { Ok(n as usize) }
            }) {
                Ok(Ok(0)) => *eof = true,
                Ok(Ok(n)) => pending.extend_from_slice(&buffer[..n]),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(format!("cannot read the input: {e}")),
                Err(_would_block) => {}
            }
        }
    }
}

/// Containers with a thousand live at once hold a few thousand descriptors (pidfds, watch fds):
/// take the whole hard limit, as container runtimes and Mesos's agent do.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid struct pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// What the containers share on the event loop.
struct Shared {
    engine: Engine,
    /// Live containers by id, in launch order of their number.
    live: RefCell<BTreeMap<String, ()>>,
    finished: Notify,
    /// Raised by `@destroy` and by a signal: every container launched before it is destroyed.
    destroy: watch::Sender<u64>,
    failures: Cell<usize>,
}

/// Runs every line of the input; the exit status.
pub fn run_many(args: &RunManyArgs) -> Result<i32, String> {
    let (resources, limits) = args.container.resources_and_limits()?;
    if args.concurrency == 0 {
        return Err("Invalid --concurrency: it must be at least 1".to_owned());
    }
    let prefix = match &args.container_id_prefix {
        Some(prefix) => prefix.clone(),
        None => format!("{}-", &random_container_id()[..8]),
    };
    validate_container_id(&format!("{prefix}1"))
        .map_err(|e| format!("Invalid --container_id_prefix: {e}"))?;
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the event loop: {e}"))?;
    let mut input = {
        // A pipe is registered with the event loop's reactor.
        let _reactor = runtime.enter();
        Input::open(&args.file)?
    };
    let (manager, set) = args.container.modules.module_set()?;
    let instances = ModuleInstances::create(&manager, set)?;
    let shared = Rc::new(Shared {
        engine: Engine::new(instances, &args.container.work_dir),
        live: RefCell::default(),
        finished: Notify::new(),
        destroy: watch::channel(0).0,
        failures: Cell::new(0),
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let slots = Arc::new(Semaphore::new(args.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut stopped = None;
        let mut number = 0usize;
        let mut line_number = 0usize;
        'input: loop {
            let text = tokio::select! {
                text = input.next_line() => text,
                signal = &mut stop => { stopped = Some(signal); break 'input; }
            };
            line_number += 1;
            let text = match text {
                Ok(Some(text)) => text,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("Error: {e}");
                    shared.failures.set(shared.failures.get() + 1);
                    break;
                }
            };
            let line = match parse_line(&text, line_number) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(e) => {
                    eprintln!("Error: {e}");
                    shared.failures.set(shared.failures.get() + 1);
                    continue;
                }
            };
            match line {
                Line::Command(command) => {
                    let permit = tokio::select! {
                        permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                        signal = &mut stop => { stopped = Some(signal); break 'input; }
                    };
                    number += 1;
                    let spec = ContainerSpec {
                        container_id: ContainerId::new(format!("{prefix}{number}")),
                        command: CommandInfo {
                            shell: false,
                            value: command[0].clone(),
                            arguments: command,
                            environment: Vec::new(),
                        },
                        resources: resources.clone(),
                        limits: limits.clone(),
                        attach_output: false,
                    };
                    if let Some(launched) = launch(&shared, &spec) {
                        // The generation is taken now, not when the task first runs: a
                        // `@destroy` read before the event loop gets to the task must reach it.
                        let destroy = shared.destroy.subscribe();
                        let generation = *destroy.borrow();
                        tasks.spawn_local(supervise(shared.clone(), launched, permit, destroy, generation));
                    }
                }
                Line::Usage => sweep(&shared),
                Line::Destroy => destroy_all(&shared),
                Line::Wait => {
                    while !shared.live.borrow().is_empty() {
                        tokio::select! {
                            () = shared.finished.notified() => {}
                            signal = &mut stop => { stopped = Some(signal); break 'input; }
                        }
                    }
                }
            }
        }
        if stopped.is_some() {
            destroy_all(&shared);
        }
        loop {
            tokio::select! {
                joined = tasks.join_next() => if joined.is_none() { break },
                signal = &mut stop, if stopped.is_none() => {
                    stopped = Some(signal);
                    destroy_all(&shared);
                }
            }
        }
        Ok(match stopped {
            Some(signal) => 128 + signal,
            None if shared.failures.get() > 0 => 1,
            None => 0,
        })
    })
}

fn launch(shared: &Shared, spec: &ContainerSpec) -> Option<Launched> {
    match shared.engine.launch(spec) {
        Ok(launched) => {
            emit(&Event::Launched { container_id: &launched.container_id.value, pid: launched.pid });
            shared.live.borrow_mut().insert(launched.container_id.value.clone(), ());
            Some(launched)
        }
        Err(error) => {
            emit(&Event::Failed { container_id: &spec.container_id.value, error: &error });
            shared.failures.set(shared.failures.get() + 1);
            None
        }
    }
}

/// Supervises one container to its end (or a `@destroy` raising the destroy generation past
/// `generation`, the one it was launched in), tears it down and reports it.
async fn supervise(
    shared: Rc<Shared>,
    launched: Launched,
    permit: OwnedSemaphorePermit,
    mut destroy: watch::Receiver<u64>,
    generation: u64,
) {
    let ending = tokio::select! {
        ending = shared.engine.supervise(&launched) => ending,
        _ = destroy.wait_for(|g| *g > generation) => Ending::Stopped(libc::SIGKILL),
    };
    let outcome = shared.engine.finish(launched, ending);
    shared.live.borrow_mut().remove(&outcome.container_id);
    if !outcome.errors.is_empty() {
        shared.failures.set(shared.failures.get() + 1);
    }
    emit(&Event::Finished { outcome: &outcome, errors: &outcome.errors });
    drop(permit);
    shared.finished.notify_waiters();
}

fn destroy_all(shared: &Shared) {
    shared.destroy.send_modify(|g| *g += 1);
}

/// `@usage`: the usage of every live container, timed.
fn sweep(shared: &Shared) {
    let ids: Vec<String> = shared.live.borrow().keys().cloned().collect();
    let start = Instant::now();
    let usage: Vec<ResourceStatistics> =
        ids.iter().map(|id| shared.engine.usage(&ContainerId::new(id.clone()))).collect();
    let seconds = start.elapsed().as_secs_f64();
    emit(&Event::Usage {
        containers: ids.len(),
        seconds,
        usage: ids.iter().map(String::as_str).zip(usage).collect(),
    });
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
        assert!(err.contains("line 7") && err.contains("@bogus"), "{err}");
    }

    #[test]
    fn events_are_tagged_json_lines() {
        let json = serde_json::to_string(&Event::Launched { container_id: "c1", pid: 42 }).unwrap();
        assert_eq!(json, r#"{"event":"launched","container_id":"c1","pid":42}"#);
        let json = serde_json::to_string(&Event::Failed { container_id: "c2", error: "no" }).unwrap();
        assert_eq!(json, r#"{"event":"failed","container_id":"c2","error":"no"}"#);
    }
}
