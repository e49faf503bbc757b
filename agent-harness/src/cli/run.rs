//! `agent-harness run`: one command in one container, from launch to cleanup.

use anyhow::anyhow;
use clap::Args;
use module_abi::{CommandInfo, ContainerId};
use thiserror::Error;

use super::ContainerFlags;
use crate::engine::{ContainerSpec, Ending, Engine, ModuleInstances, Outcome};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub container: ContainerFlags,
    /// The container's id (default: a random UUID).
    #[arg(long = "container_id", value_name = "ID")]
    pub container_id: Option<String>,
    /// Print one JSON object about the finished container on stdout (the command's own output
    /// then goes only to the sandbox's `stdout` and `stderr` files).
    #[arg(long)]
    pub json: bool,
    /// The command and its arguments.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// What `run` ended with: the exit status to return, and what to print.
pub struct RunResult {
    pub exit_status: i32,
    pub outcome: Outcome,
}

/// A container id outside the safe alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Invalid --container_id '{0}': use 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'")]
pub struct InvalidContainerId(pub String);

/// Checks a container id: it names a directory and a cgroup, so only a safe alphabet.
pub fn validate_container_id(id: &str) -> Result<(), InvalidContainerId> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(InvalidContainerId(id.to_string())) }
}

/// A random UUID (version 4) from the kernel's generator.
pub fn random_container_id() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        // Fall back to time and pid: unique enough for one machine.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes = (nanos ^ ((std::process::id() as u128) << 64)).to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Runs the container; an `Err` is a launch failure (nothing is left behind).
pub fn run(args: &RunArgs) -> anyhow::Result<RunResult> {
    // Every input is checked before anything is loaded or created.
    let (resources, limits) = args.container.resources_and_limits()?;
    let (container_info, rootfs) = args.container.container_settings()?;
    let Some(program) = args.command.first() else {
        return Err(anyhow!("no command given: agent-harness run [FLAGS] -- COMMAND [ARGS...]"));
    };
    let id = match &args.container_id {
        Some(id) => {
            validate_container_id(id)?;
            id.clone()
        }
        None => random_container_id(),
    };
    let (manager, set) = args.container.modules.module_set()?;
    let instances = ModuleInstances::create(&manager, set)?;
    let engine = Engine::new(instances, &args.container.work_dir);
    let spec = ContainerSpec {
        container_id: ContainerId::new(id),
        command: CommandInfo {
            shell: false,
            value: program.clone(),
            arguments: args.command.clone(),
            environment: Vec::new(),
        },
        resources,
        limits,
        attach_output: !args.json,
        container_info,
        rootfs,
        launch_info: None,
        inherit_stdio: false,
        release_fifo: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the event loop: {e}"))?;
    runtime.block_on(async {
        // Before the launch, so Ctrl-C during prepare or isolate destroys the container cleanly.
        let mut stop = StopSignals::install();
        let mut launched = engine.launch(&spec)?;
        // The copy of the output to our stdout and stderr (attached): waited for here rather than
        // in `finish`, so the event loop still sees a stop signal while a slow caller reads.
        let output = launched.output.take();
        let ending = tokio::select! {
            ending = engine.supervise(&launched) => ending,
            signal = stop.wait() => Ending::Stopped(signal),
        };
        let mut stopped = match ending {
            Ending::Stopped(signal) => Some(signal),
            _ => None,
        };
        let mut outcome = engine.finish(launched, ending);
        // Every process of the container is gone, so the sandbox's files are complete: the harness
        // ends once the caller has all of them, or when it is asked to stop meanwhile.
        if let Some(output) = output {
            tokio::select! {
                problems = output.delivered() => outcome.warnings.extend(problems),
                signal = stop.wait() => {
                    stopped = Some(signal);
                    outcome.warnings.push(format!(
                        "stopped by signal {signal} before all of the output was copied (the sandbox's \
                         stdout and stderr files in '{}' have all of it)",
                        outcome.sandbox
                    ));
                }
            }
        }
        let exit_status = stopped.map(|s| 128 + s).unwrap_or(outcome.exit_status);
        Ok::<_, anyhow::Error>(RunResult { exit_status, outcome })
    })
}

/// The signals that ask the harness to stop (SIGINT, SIGTERM, SIGHUP). Their handlers are
/// installed when this is made, so a signal that arrives between lifecycle steps does not kill the
/// harness halfway; it is seen at the next `wait`.
pub(crate) struct StopSignals(Vec<(tokio::signal::unix::Signal, i32)>);

impl StopSignals {
    /// Installs the handlers (inside the tokio runtime).
    pub(crate) fn install() -> StopSignals {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::interrupt(), libc::SIGINT),
            (SignalKind::terminate(), libc::SIGTERM),
            (SignalKind::hangup(), libc::SIGHUP),
        ];
        StopSignals(
            kinds.into_iter().filter_map(|(kind, number)| Some((signal(kind).ok()?, number))).collect(),
        )
    }

    /// Resolves with the signal number when one arrives.
    pub(crate) async fn wait(&mut self) -> i32 {
        if self.0.is_empty() {
            return std::future::pending().await;
        }
        std::future::poll_fn(|cx| {
            for (stream, number) in &mut self.0 {
                if stream.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*number);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

/// Resolves with the signal number when the harness is asked to stop (handlers installed when
/// first polled).
pub(crate) async fn stop_signal() -> i32 {
    StopSignals::install().wait().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_are_checked() {
        for ok in ["a", "web-1", "x.y_z", &random_container_id()] {
            validate_container_id(ok).unwrap();
        }
        for bad in ["", "a/b", "..", ".hidden", "a b", &"x".repeat(129)] {
            assert!(validate_container_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn random_ids_are_uuids() {
        let id = random_container_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, random_container_id());
    }
}
