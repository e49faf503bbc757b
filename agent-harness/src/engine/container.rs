//! One container's lifecycle, in Mesos's order (`MesosContainerizerProcess`): checkpoint, prepare
//! every isolator in `--isolation` order merging their launch infos, clone the first process
//! blocked, checkpoint its pid, isolate it with every isolator, collect every watch descriptor,
//! release it to exec; then wait on one event loop for its exit or a limitation; destroy every
//! process, take the usage, clean up every prepared isolator in reverse order (all of them, errors
//! collected), and drop the checkpoint.
//!
//! A failure at any launch step tears down what was done: the containerizer destroys whatever it
//! started and every isolator whose `prepare` was called is cleaned up, exactly once.
//!
//! With `attach_output`, the sandbox's `stdout` and `stderr` files are followed from the moment
//! the sandbox exists ([`super::output`]): the caller gets the output of the command and of the
//! containerizer's helper, and nothing in the container ever writes to the harness's streams.
//!
//! Each step is logged (`tracing`, at `info`, with the container id as a field); a step that
//! fails is an [`EngineError`] that says which step and which module.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use module_abi::{
    CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation,
    ContainerTermination, LaunchRequest, ResourceStatistics, Resources,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::unix::AsyncFd;
use tracing::{debug, info, warn};

use super::checkpoint::{Checkpoint, CheckpointDir, CheckpointError};
use super::fault::{KillPoint, maybe_die};
use super::launch_info::{Conflict, merge};
use super::modules::ModuleInstances;
use super::output::{Follower, OutputError};
use crate::IsolatorHandle;
use crate::instance::CallError;

/// A lifecycle step of a container that failed.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("Container '{id}' already exists (its sandbox '{}' is there)", sandbox.display())]
    Exists { id: ContainerId, sandbox: PathBuf },
    #[error("cannot create the sandbox '{}': {source}", path.display())]
    Sandbox { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A module's `prepare`, `launch`, `isolate`, `watch`, `exec`, ... failed.
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error("cannot wait on a module's descriptor: {0}")]
    Register(#[source] std::io::Error),
    #[error("container '{id}' has no process to reattach to")]
    NoProcess { id: ContainerId },
    /// A launch step failed; everything done was torn down, and `teardown` holds what failed in
    /// that teardown (each one line).
    #[error("Failed to launch container '{id}': {source}{}", and_then(teardown))]
    Launch { id: ContainerId, source: Box<EngineError>, teardown: Vec<String> },
}

/// The end of a launch failure's message: what failed in its teardown.
fn and_then(teardown: &[String]) -> String {
    if teardown.is_empty() { String::new() } else { format!("; and then: {}", teardown.join("; ")) }
}

/// What a container is asked to run.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub container_id: ContainerId,
    pub command: CommandInfo,
    pub resources: Resources,
    pub limits: Resources,
    /// Copy the command's output to the harness's own stdout and stderr too: the harness follows
    /// the sandbox's files ([`Launched::output`]); the container only ever writes those.
    pub attach_output: bool,
    /// Mesos's `ContainerInfo` (`--container_info`), given to every module in the config.
    pub container_info: Option<module_abi::ContainerInfo>,
    /// The container's root file system, an absolute directory (`--rootfs`).
    pub rootfs: Option<String>,
    /// The user the command runs as (`--user`: Mesos's `CommandInfo.user`).
    pub user: Option<String>,
    /// What the front itself asks of the launch, beyond the isolators' launch infos (an OCI
    /// bundle's mounts, say): merged after every isolator's, under the same conflict rules.
    pub launch_info: Option<ContainerLaunchInfo>,
    /// `LaunchRequest::inherit_stdio`: the command gets this process's descriptors 0, 1 and 2.
    pub inherit_stdio: bool,
    /// `LaunchRequest::release_fifo`: the command waits for a reader of this FIFO (an OCI
    /// runtime's `start`) after the launch's release.
    pub release_fifo: Option<String>,
}

/// A container whose command has been released to run.
#[derive(Debug)]
pub struct Launched {
    pub container_id: ContainerId,
    pub pid: i32,
    pub sandbox: PathBuf,
    exit: Option<AsyncFd<OwnedFd>>,
    /// `(isolator index, its watch descriptor)`.
    watches: Vec<(usize, AsyncFd<OwnedFd>)>,
    durations: Durations,
    running_since: Instant,
    /// With `attach_output`: the copy of the sandbox's files to the harness's stdout and stderr.
    /// [`Engine::finish`] completes it and waits for it, unless the caller took it to wait for it
    /// itself (after `finish`: only then are the files complete).
    pub output: Option<Follower>,
}

/// Why supervision of a container ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The first process ended.
    Exited(ContainerTermination),
    /// An isolator reported a limitation.
    Limited(ContainerLimitation),
    /// A watch or wait failed (Mesos destroys the container in that case too).
    Failed(String),
    /// The harness was asked to stop (a signal); the container is destroyed.
    Stopped(i32),
}

impl std::fmt::Display for Ending {
    /// A few words for the logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Exited(termination) => write!(f, "exited with status {}", termination.exit_status()),
            Ending::Limited(limitation) => {
                write!(f, "limitation: {}", limitation.message.lines().next().unwrap_or_default())
            }
            Ending::Failed(e) => write!(f, "failed: {e}"),
            Ending::Stopped(signal) => write!(f, "stopped (signal {signal})"),
        }
    }
}

/// What `run --json` prints about a finished container (and what a reader of that output, such
/// as the integration suite, parses it back into).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub container_id: String,
    pub sandbox: String,
    /// The shell's convention: the exit code, or 128 + the signal.
    pub exit_status: i32,
    pub signal: Option<i32>,
    pub limitation: Option<ContainerLimitation>,
    pub usage: ResourceStatistics,
    /// Seconds per lifecycle phase.
    #[serde(default)]
    pub durations: BTreeMap<String, f64>,
    /// Errors of the teardown (destroy, cleanup): each one a module's message.
    #[serde(skip)]
    pub errors: Vec<String>,
    /// Problems that fail nothing: the attached output could not be copied to the caller (the
    /// sandbox's files still have all of it).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
struct Durations(BTreeMap<&'static str, f64>);

impl Durations {
    fn since(&mut self, phase: &'static str, start: Instant) -> Instant {
        let now = Instant::now();
        self.0.insert(phase, (now - start).as_secs_f64());
        now
    }
}

/// Drives containers through the modules of one [`ModuleInstances`].
#[derive(Debug)]
pub struct Engine {
    pub modules: ModuleInstances,
    work_dir: PathBuf,
    checkpoints: CheckpointDir,
    /// The test-only fault hook ([`super::fault`]).
    kill_at: Option<KillPoint>,
}

impl Engine {
    pub fn new(modules: ModuleInstances, work_dir: &Path) -> Engine {
        Engine {
            modules,
            work_dir: work_dir.to_path_buf(),
            checkpoints: CheckpointDir::new(work_dir),
            kill_at: None,
        }
    }

    /// For the fault-injection tests only: the harness kills itself with SIGKILL at `step`.
    pub fn with_kill_at(self, step: Option<KillPoint>) -> Engine {
        Engine { kill_at: step, ..self }
    }

    /// The sandbox of a container: `<work_dir>/sandboxes/<id>`.
    pub fn sandbox(&self, id: &ContainerId) -> PathBuf {
        self.work_dir.join("sandboxes").join(&id.value)
    }

    /// Launches a container up to the point where its command runs. Must run inside a tokio
    /// runtime (the descriptors are registered with its reactor).
    pub fn launch(&self, spec: &ContainerSpec) -> Result<Launched, EngineError> {
        let id = &spec.container_id;
        let sandbox = self.sandbox(id);
        if sandbox.exists() {
            return Err(EngineError::Exists { id: id.clone(), sandbox });
        }
        info!(container_id = %id, sandbox = %sandbox.display(), "launching container");
        std::fs::create_dir_all(&sandbox)
            .map_err(|source| EngineError::Sandbox { path: sandbox.clone(), source })?;
        // Followed before anything can write to the files, so even the helper's first words reach
        // the caller.
        let output = if spec.attach_output {
            match Follower::start(&sandbox) {
                Ok(follower) => Some(follower),
                Err(e) => {
                    remove_sandbox(id, &sandbox);
                    return Err(EngineError::Launch {
                        id: id.clone(),
                        source: Box::new(e.into()),
                        teardown: Vec::new(),
                    });
                }
            }
        } else {
            None
        };
        let config = ContainerConfig {
            command: spec.command.clone(),
            resources: spec.resources.clone(),
            limits: spec.limits.clone(),
            directory: sandbox.display().to_string(),
            container_info: spec.container_info.clone(),
            rootfs: spec.rootfs.clone(),
            user: spec.user.clone(),
        };
        let checkpoint = Checkpoint {
            container_id: id.clone(),
            pid: None,
            config: config.clone(),
            modules: self.modules.set.clone(),
        };
        if let Err(e) = self.checkpoints.write(&checkpoint) {
            drop(output.map(Follower::wait));
            remove_sandbox(id, &sandbox);
            return Err(e.into());
        }
        let mut prepared = 0;
        let mut launched = false;
        let result = self.launch_steps(spec, &config, &mut prepared, &mut launched);
        let error = match result {
            Ok(launched) => return Ok(Launched { output, ..launched }),
            Err(error) => error,
        };
        info!(container_id = %id, error = %error, "launch failed: tearing down what was done");
        let mut errors = Vec::new();
        let mut destroyed = true;
        if launched {
            destroyed = self.destroy_processes(id, &mut errors);
            let _ = self.modules.containerizer.wait(id);
        }
        // What the helper said before it failed reaches the caller before the sandbox goes.
        drop(output.map(Follower::wait));
        errors.extend(self.cleanup_and_forget(id, prepared, destroyed));
        remove_sandbox(id, &sandbox);
        Err(EngineError::Launch { id: id.clone(), source: Box::new(error), teardown: errors })
    }

    fn launch_steps(
        &self,
        spec: &ContainerSpec,
        config: &ContainerConfig,
        prepared: &mut usize,
        launched: &mut bool,
    ) -> Result<Launched, EngineError> {
        let id = &spec.container_id;
        let mut durations = Durations::default();
        let start = Instant::now();
        let mut launch_info = ContainerLaunchInfo::default();
        // One batch on the call thread, ending at the first failure; every isolator whose prepare
        // was called is cleaned up.
        let answers = IsolatorHandle::prepare_each(&self.modules.isolators, id, config);
        *prepared = answers.len();
        for (isolator, info) in self.modules.isolators.iter().zip(answers) {
            let info = info?;
            debug!(container_id = %id, isolator = %isolator.name(), launch_info = info.is_some(), "prepared");
            if let Some(info) = info {
                merge(&mut launch_info, info, isolator.name())?;
            }
        }
        if let Some(info) = &spec.launch_info {
            merge(&mut launch_info, info.clone(), "the container's own launch info")?;
        }
        // Last, so a rootfs from any of the launch infos is seen.
        super::masks::add(&mut launch_info, &self.work_dir);
        let mut now = durations.since("prepare", start);
        info!(container_id = %id, isolators = self.modules.isolators.len(), "prepared container");
        maybe_die(self.kill_at, KillPoint::Prepare);

        let request = LaunchRequest {
            container_id: id.clone(),
            container_config: config.clone(),
            launch_info,
            attach_output: spec.attach_output,
            inherit_stdio: spec.inherit_stdio,
            release_fifo: spec.release_fifo.clone(),
        };
        *launched = true;
        let containerizer = self.modules.containerizer.name();
        let pid = self.modules.containerizer.launch(&request)?;
        info!(container_id = %id, pid, containerizer = %containerizer, "launched the first process, blocked before exec");
        self.checkpoints.add_pid(id, pid)?;
        now = durations.since("launch", now);
        maybe_die(self.kill_at, KillPoint::Launch);

        for (isolator, isolated) in
            self.modules.isolators.iter().zip(IsolatorHandle::isolate_each(&self.modules.isolators, id, pid))
        {
            isolated?;
            debug!(container_id = %id, isolator = %isolator.name(), pid, "isolated");
        }
        now = durations.since("isolate", now);
        info!(container_id = %id, pid, "isolated container");
        maybe_die(self.kill_at, KillPoint::Isolate);

        let (exit, watches) = self.watch(id)?;
        now = durations.since("watch", now);
        debug!(container_id = %id, exit_fd = exit.is_some(), watches = watches.len(), "watching");

        self.modules.containerizer.exec(id)?;
        let running_since = durations.since("exec", now);
        info!(container_id = %id, pid, "released the command to exec");
        maybe_die(self.kill_at, KillPoint::Running);
        Ok(Launched {
            container_id: id.clone(),
            pid,
            sandbox: PathBuf::from(&config.directory),
            exit,
            watches,
            durations,
            running_since,
            output: None,
        })
    }

    /// Picks up a checkpointed container whose process still runs, after a harness restart (the
    /// modules have been given `recover` first).
    /// With `watch` false, nothing is waited on: for a container about to be finished at once.
    pub fn reattach(&self, checkpoint: &Checkpoint, watch: bool) -> Result<Launched, EngineError> {
        let id = &checkpoint.container_id;
        let pid = checkpoint.pid.ok_or_else(|| EngineError::NoProcess { id: id.clone() })?;
        let (exit, watches) = if watch { self.watch(id)? } else { (None, Vec::new()) };
        info!(container_id = %id, pid, watch, "reattached to container");
        Ok(Launched {
            container_id: id.clone(),
            pid,
            sandbox: PathBuf::from(&checkpoint.config.directory),
            exit,
            watches,
            durations: Durations::default(),
            running_since: Instant::now(),
            output: None,
        })
    }

    /// The containerizer's exit descriptor and every isolator's watch descriptor, registered with
    /// the event loop.
    fn watch(&self, id: &ContainerId) -> Result<Watched, EngineError> {
        let exit = self.modules.containerizer.watch(id)?.map(register).transpose()?;
        let mut watches = Vec::new();
        for (index, fd) in IsolatorHandle::watch_each(&self.modules.isolators, id).into_iter().enumerate() {
            if let Some(fd) = fd? {
                watches.push((index, register(fd)?));
            }
        }
        Ok((exit, watches))
    }

    /// Destroys and cleans up a container that has no process to supervise (an orphan, or one
    /// whose launch never got as far as a process), and drops its checkpoint.
    pub fn discard(&self, id: &ContainerId) -> Vec<String> {
        info!(container_id = %id, "discarding container");
        let mut errors = Vec::new();
        let destroyed = self.destroy_processes(id, &mut errors);
        let _ = self.modules.containerizer.wait(id);
        errors.extend(self.cleanup_and_forget(id, self.modules.isolators.len(), destroyed));
        errors
    }

    /// Kills every process of the container through the containerizer; `false` (with the error
    /// recorded) when that failed.
    fn destroy_processes(&self, id: &ContainerId, errors: &mut Vec<String>) -> bool {
        match self.modules.containerizer.destroy(id) {
            Ok(()) => {
                info!(container_id = %id, "destroyed every process of the container");
                true
            }
            Err(e) => {
                errors.push(format!("Failed to kill all processes in the container: {e}"));
                false
            }
        }
    }

    /// Cleans up the first `prepared` isolators (every one, in reverse order) and drops the
    /// checkpoint, unless the processes could not be destroyed: then the checkpoint stays, so
    /// `agent-harness recover` finds the container with the modules it ran with.
    fn cleanup_and_forget(&self, id: &ContainerId, prepared: usize, destroyed: bool) -> Vec<String> {
        let mut errors = Vec::new();
        let cleanup = self.cleanup_isolators(id, prepared);
        if !cleanup.is_empty() {
            errors.push(format!(
                "Failed to clean up an isolator when destroying container: {}",
                cleanup.join("; ")
            ));
        }
        if !destroyed {
            errors.push("its checkpoint is kept for `agent-harness recover`".to_string());
        } else if let Err(e) = self.checkpoints.remove(id) {
            errors.push(e.to_string());
        }
        info!(container_id = %id, isolators = prepared, errors = errors.len(), "cleaned up container");
        errors
    }

    /// Waits until the container's first process ends or an isolator reports a limitation.
    pub async fn supervise(&self, container: &Launched) -> Ending {
        let id = &container.container_id;
        // Readiness is edge-triggered: a containerizer descriptor that was readable while the
        // process still ran will not wake the loop again, so from then on the exit is polled.
        let mut poll_exit = false;
        loop {
            let exit_fd = container.exit.as_ref().filter(|_| !poll_exit);
            let exit_ready = async {
                match exit_fd {
                    Some(fd) => match fd.readable().await {
                        Ok(mut guard) => guard.clear_ready(),
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    },
                    // A containerizer without a descriptor is polled.
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            let watch_ready = poll_fn(|cx| {
                for (index, fd) in &container.watches {
                    if let Poll::Ready(Ok(mut guard)) = fd.poll_read_ready(cx) {
                        guard.clear_ready();
                        return Poll::Ready(*index);
                    }
                }
                Poll::Pending
            });
            let ending = tokio::select! {
                () = exit_ready => match self.modules.containerizer.wait(id) {
                    Ok(Some(termination)) => self.exited(container, termination),
                    Ok(None) => {
                        poll_exit |= exit_fd.is_some();
                        continue;
                    }
                    Err(e) => Ending::Failed(e.to_string()),
                },
                index = watch_ready => match self.modules.isolators[index].limitation(id) {
                    Ok(Some(limitation)) => Ending::Limited(limitation),
                    Ok(None) => continue,
                    Err(e) => Ending::Failed(e.to_string()),
                },
            };
            info!(container_id = %id, ending = %ending, "supervision ended");
            return ending;
        }
    }

    /// The ending of a container whose first process has ended. A limitation may be what ended it
    /// (the OOM killer's SIGKILL and the OOM event race to the event loop), so every isolator that
    /// watches is asked once before a plain exit is reported.
    fn exited(&self, container: &Launched, termination: ContainerTermination) -> Ending {
        for (index, _) in &container.watches {
            if let Ok(Some(limitation)) = self.modules.isolators[*index].limitation(&container.container_id) {
                return Ending::Limited(limitation);
            }
        }
        Ending::Exited(termination)
    }

    /// Destroys the container, takes its usage, cleans up every isolator, drops the checkpoint.
    /// A [`Launched::output`] still in `container` is completed once every process is gone and
    /// waited for (blocking) before this returns.
    pub fn finish(&self, container: Launched, ending: Ending) -> Outcome {
        let id = &container.container_id;
        info!(container_id = %id, ending = %ending, "destroying container");
        let mut durations = container.durations;
        let mut now = durations.since("run", container.running_since);
        let usage = self.usage(id);
        let mut errors = Vec::new();
        drop(container.watches);
        drop(container.exit);
        let destroyed = self.destroy_processes(id, &mut errors);
        maybe_die(self.kill_at, KillPoint::Destroy);
        // Every process of the container is gone, so the sandbox's files are complete.
        let warnings = container.output.map(Follower::wait).unwrap_or_default();
        let termination = match &ending {
            Ending::Exited(termination) => Some(*termination),
            _ => self.modules.containerizer.wait(id).ok().flatten(),
        };
        now = durations.since("destroy", now);
        errors.extend(self.cleanup_and_forget(id, self.modules.isolators.len(), destroyed));
        durations.since("cleanup", now);
        let (limitation, failure) = match ending {
            Ending::Limited(limitation) => (Some(limitation), None),
            Ending::Failed(e) => (None, Some(e)),
            Ending::Exited(_) | Ending::Stopped(_) => (None, None),
        };
        errors.extend(failure);
        let termination =
            termination.unwrap_or(ContainerTermination { exit_code: None, signal: Some(libc::SIGKILL) });
        info!(
            container_id = %id,
            exit_status = termination.exit_status(),
            errors = errors.len(),
            "finished container"
        );
        Outcome {
            container_id: id.value.clone(),
            sandbox: container.sandbox.display().to_string(),
            exit_status: termination.exit_status(),
            signal: termination.signal,
            limitation,
            usage,
            durations: durations.0.into_iter().map(|(phase, seconds)| (phase.to_owned(), seconds)).collect(),
            errors,
            warnings,
        }
    }

    /// New resource requests and limits for a running container, given to every isolator (Mesos's
    /// `update`: all must accept it).
    pub fn update(
        &self,
        id: &ContainerId,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<(), CallError> {
        for isolator in &self.modules.isolators {
            isolator.update(id, resources, limits)?;
        }
        info!(container_id = %id, "updated container resources");
        Ok(())
    }

    /// The usage of a container merged over every isolator (Mesos's `await`: failures are skipped).
    pub fn usage(&self, id: &ContainerId) -> ResourceStatistics {
        self.usage_each(std::slice::from_ref(id)).pop().unwrap_or_default()
    }

    /// [`Self::usage`] of each of `ids`: every isolator's call for every container as one batch
    /// on the call thread (a sweep over every live container).
    pub fn usage_each(&self, ids: &[ContainerId]) -> Vec<ResourceStatistics> {
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs_f64());
        let mut usage: Vec<ResourceStatistics> =
            ids.iter().map(|_| ResourceStatistics { timestamp, ..Default::default() }).collect();
        for answers in IsolatorHandle::usage_each(&self.modules.isolators, ids) {
            for ((id, usage), statistics) in ids.iter().zip(&mut usage).zip(answers) {
                match statistics {
                    Ok(statistics) => usage.merge(statistics),
                    Err(e) => debug!(container_id = %id, error = %e, "usage skipped"),
                }
            }
        }
        usage
    }

    /// Cleans up the first `count` isolators in reverse order; every one runs, errors are returned.
    /// One batch on the call thread, unless the harness is to die after the first cleanup
    /// (`--test_only_kill_at=cleanup`).
    pub fn cleanup_isolators(&self, id: &ContainerId, count: usize) -> Vec<String> {
        let isolators = self.modules.isolators[..count].iter().rev();
        if self.kill_at != Some(KillPoint::Cleanup) {
            return isolators
                .clone()
                .zip(IsolatorHandle::cleanup_each(isolators, id))
                .filter_map(|(isolator, result)| {
                    debug!(container_id = %id, isolator = %isolator.name(), ok = result.is_ok(), "cleaned up");
                    result.err()
                })
                .map(|e| e.to_string())
                .collect();
        }
        isolators
            .filter_map(|isolator| {
                let result = isolator.cleanup(id);
                debug!(container_id = %id, isolator = %isolator.name(), ok = result.is_ok(), "cleaned up");
                maybe_die(self.kill_at, KillPoint::Cleanup);
                result.err()
            })
            .map(|e| e.to_string())
            .collect()
    }
}

/// The containerizer's exit descriptor and `(isolator index, its watch descriptor)`s.
type Watched = (Option<AsyncFd<OwnedFd>>, Vec<(usize, AsyncFd<OwnedFd>)>);

/// Registers a descriptor with the event loop, for reading only.
fn register(fd: OwnedFd) -> Result<AsyncFd<OwnedFd>, EngineError> {
    // SAFETY: an `OwnedFd` is open and stays the same descriptor until the AsyncFd that owns it is
    // dropped; `as_raw_fd` always returns it.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|e| EngineError::Register(e.into_parts().1))
}

/// Removes the sandbox of a container whose launch failed. What cannot be removed (a mount left
/// under it, say) is left, with a warning: nothing else reports it.
fn remove_sandbox(id: &ContainerId, sandbox: &Path) {
    if let Err(e) = std::fs::remove_dir_all(sandbox) {
        warn!(container_id = %id, sandbox = %sandbox.display(), error = %e, "cannot remove the sandbox");
    }
}

#[cfg(test)]
mod tests {
    use module_abi::Reason;

    use super::*;

    #[test]
    fn an_outcome_reads_back_from_its_json() {
        let outcome = Outcome {
            container_id: "c1".into(),
            sandbox: "/w/sandboxes/c1".into(),
            exit_status: 137,
            signal: Some(9),
            limitation: Some(ContainerLimitation {
                resources: Resources::new().with("mem", 32.0),
                message: "Memory limit exceeded".into(),
                reason: Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY),
            }),
            usage: ResourceStatistics { mem_total_bytes: Some(4096), ..Default::default() },
            durations: [("prepare".to_owned(), 0.25)].into(),
            errors: vec!["not printed".into()],
            warnings: vec![],
        };
        let json = serde_json::to_string(&outcome).unwrap();
        assert!(!json.contains("not printed"), "{json}");
        let back: Outcome = serde_json::from_str(&json).unwrap();
        assert_eq!(back.container_id, "c1");
        assert_eq!(back.sandbox, "/w/sandboxes/c1");
        assert_eq!((back.exit_status, back.signal), (137, Some(9)));
        assert_eq!(back.limitation, outcome.limitation);
        assert_eq!(back.usage, outcome.usage);
        assert_eq!(back.durations, outcome.durations);
        assert!(back.errors.is_empty());
        let minimal: Outcome = serde_json::from_str(
            r#"{"container_id":"c","sandbox":"/s","exit_status":0,"signal":null,"limitation":null,"usage":{}}"#,
        )
        .unwrap();
        assert!(minimal.durations.is_empty());
    }
}
