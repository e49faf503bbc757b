//! The commands that drive the engine, each a separate process as runc's are:
//! - `create`: the isolators' `prepare`, the containerizer's launch, `isolate`, the release of the
//!   helper's setup ([`agent_harness::engine::Engine::launch`]); the helper then blocks on the
//!   state directory's `exec.fifo` before the command, a child of this process (so of the caller,
//!   once this process exits);
//! - `start`: reads the FIFO, and the command runs;
//! - `delete`: the engine's recovery of the container's checkpoint with `kill`: its processes
//!   destroyed if they still run, every isolator cleaned up, the checkpoint dropped; then the
//!   state directory goes;
//! - `update`: the modules created again from the checkpoint and recovered, then the engine's
//!   `update` with the merged requests and limits.

use std::io::Read;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use agent_harness::engine::{CheckpointDir, ContainerSpec, Ending, Engine};
use anyhow::{Context, anyhow, bail};
use module_abi::ContainerId;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::bundle::{self, Spec};
use crate::config::RuntimeConfig;
use crate::state::{self, Saved, StateDir, Status};
use crate::translate::{self, HostView};
use crate::{modules, resources};

/// `create`'s options.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the event loop")
}

/// `create ID`.
pub fn create(root: &Path, id: &str, options: &CreateOptions) -> anyhow::Result<()> {
    let state = StateDir::new(root, id)?;
    if options.preserve_fds > 0 {
        bail!("--preserve-fds {} is not supported by this runtime", options.preserve_fds);
    }
    let bundle = std::fs::canonicalize(&options.bundle)
        .with_context(|| format!("cannot use the bundle {}", options.bundle.display()))?;
    let spec = Spec::load(&bundle)?;
    let plan = translate::plan(id, &bundle, &spec, &HostView::real())?;
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    match (terminal, &options.console_socket) {
        (true, None) => bail!("process.terminal needs --console-socket"),
        (false, Some(_)) => bail!("--console-socket needs process.terminal in config.json"),
        _ => {}
    }
    let config = RuntimeConfig::load()?;
    state.create()?;
    let created = create_in(&state, &bundle, &spec, &plan, &config, options);
    if created.is_err() {
        let _ = state.remove();
    }
    created
}

fn create_in(
    state: &StateDir,
    bundle: &Path,
    spec: &Spec,
    plan: &translate::Plan,
    config: &RuntimeConfig,
    options: &CreateOptions,
) -> anyhow::Result<()> {
    let instances = modules::create(plan, config, &state.containerizer_dir())?;
    let fifo = state.fifo();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .with_context(|| format!("cannot create the FIFO {}", fifo.display()))?;
    let engine = Engine::new(instances, &state.work_dir());
    let container_id = ContainerId::new(&plan.container_id);
    let container = ContainerSpec {
        container_id: container_id.clone(),
        command: plan.command.clone(),
        resources: plan.resources.clone(),
        limits: plan.limits.clone(),
        attach_output: false,
        container_info: Some(plan.container_info.clone()),
        rootfs: None,
        user: None,
        launch_info: Some(plan.launch_info.clone()),
        inherit_stdio: true,
        release_fifo: Some(fifo.display().to_string()),
    };
    if let Some(socket) = &options.console_socket {
        let size = spec.process.as_ref().and_then(|p| p.console_size.clone());
        crate::console::attach(socket, size.as_ref())?;
    }
    let runtime = current_thread()?;
    let _entered = runtime.enter();
    let launched = engine.launch(&container)?;
    let pid = launched.pid;
    let recorded = record(state, bundle, spec, plan, &engine, &container_id, pid, options);
    if let Err(e) = recorded {
        let outcome = engine.finish(launched, Ending::Stopped(libc::SIGKILL));
        let teardown = if outcome.errors.is_empty() {
            String::new()
        } else {
            format!("; and then: {}", outcome.errors.join("; "))
        };
        return Err(anyhow!("{e:#}{teardown}"));
    }
    // The container's init stays: this process only lets go of the modules' handles on it.
    drop(launched);
    Ok(())
}

/// After the launch: the init's `oomScoreAdj`, the state file, the pid file.
#[allow(clippy::too_many_arguments)]
fn record(
    state: &StateDir,
    bundle: &Path,
    spec: &Spec,
    plan: &translate::Plan,
    engine: &Engine,
    container_id: &ContainerId,
    pid: i32,
    options: &CreateOptions,
) -> anyhow::Result<()> {
    if let Some(adj) = plan.oom_score_adj {
        let path = format!("/proc/{pid}/oom_score_adj");
        std::fs::write(&path, adj.to_string())
            .with_context(|| format!("config.json: process.oomScoreAdj: cannot write {adj} to {path}"))?;
    }
    let status = engine.modules.containerizer.status(container_id)?;
    let cgroups = status
        .info
        .get("cgroup")
        .map(|dirs| dirs.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let (_, start_time) =
        state::proc_stat(pid).ok_or_else(|| anyhow!("the container's init (pid {pid}) exited at once"))?;
    let saved = Saved {
        id: state.id.clone(),
        bundle: bundle.display().to_string(),
        pid,
        start_time,
        container_id: plan.container_id.clone(),
        cgroups,
        created: state::now_rfc3339(),
        annotations: spec.annotations.clone(),
    };
    state.save(&saved)?;
    if let Some(pid_file) = &options.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    Ok(())
}

/// Writes the pid file atomically (the shim reads it as soon as `create` returns).
pub fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, pid.to_string())
        .with_context(|| format!("cannot write the pid file {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write the pid file {}", path.display()))
}

/// `start ID`.
pub fn start(root: &Path, id: &str) -> anyhow::Result<()> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    match state::status(&state, &saved) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        other => bail!("cannot start an already {} container", other.name()),
    }
    let fifo_path = state.fifo();
    let fifo = nix::fcntl::open(
        &fifo_path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("cannot open the FIFO {}", fifo_path.display()))?;
    let pidfd = pidfd_open(saved.pid)?;
    loop {
        let mut fds =
            [PollFd::new(fifo.as_fd(), PollFlags::POLLIN), PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => bail!("cannot wait for the container's init: {e}"),
            Ok(_) => {}
        }
        let fifo_ready = fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLIN));
        if fifo_ready {
            let mut byte = [0u8; 1];
            if nix::unistd::read(&fifo, &mut byte) == Ok(1) {
                break;
            }
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            bail!(
                "cannot start the container: its init exited before it could run the command (see the container's stderr)"
            );
        }
    }
    std::fs::remove_file(&fifo_path).with_context(|| format!("cannot remove {}", fifo_path.display()))?;
    Ok(())
}

fn pidfd_open(pid: i32) -> anyhow::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        bail!("container not running (pid {pid}: {})", std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned by the kernel and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `delete [--force] ID`.
pub fn delete(root: &Path, id: &str, force: bool) -> anyhow::Result<()> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    let status = state::status(&state, &saved);
    if matches!(status, Status::Running | Status::Paused) && !force {
        bail!("cannot delete container {id} that is not stopped: {}", status.name());
    }
    let work_dir = state.work_dir();
    let runtime = current_thread()?;
    // Only this container's: the others under its cgroups root (a pod's) are left alone.
    let recovered =
        runtime.block_on(agent_harness::engine::recover::recover_checkpointed(&work_dir, true))?;
    let errors: Vec<String> = recovered.iter().flat_map(|r| r.errors.iter().cloned()).collect();
    let left = CheckpointDir::new(&work_dir).read_all()?;
    if !left.is_empty() {
        bail!("cannot delete container {id}: {}", errors.join("; "));
    }
    if !errors.is_empty() {
        tracing_line(&format!("delete {id}: {}", errors.join("; ")));
    }
    state.remove()?;
    Ok(())
}

/// What `delete` could not do but did not stop it, on stderr.
fn tracing_line(message: &str) {
    eprintln!("warning: {message}");
}

/// `update --resources FILE ID`: `-` is stdin.
pub fn update(root: &Path, id: &str, resources_file: &str) -> anyhow::Result<()> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    if state::status(&state, &saved) == Status::Stopped {
        bail!("container not running");
    }
    let mut text = String::new();
    if resources_file == "-" {
        std::io::stdin().read_to_string(&mut text).context("cannot read the resources from stdin")?;
    } else {
        text = std::fs::read_to_string(resources_file)
            .with_context(|| format!("cannot read {resources_file}"))?;
    }
    let wanted: bundle::Resources = serde_json::from_str(&text).context("invalid resources JSON")?;
    let asked = resources::translate(&wanted, "resources")?;
    let checkpoints = CheckpointDir::new(&state.work_dir());
    let mut checkpoint = checkpoints
        .read_all()?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("container \"{id}\" has no checkpoint to update"))?;
    crate::translate::check_devices_update(&wanted.devices, &checkpoint.modules.isolation)?;
    let engine = Engine::new(modules::recreate(&checkpoint.modules)?, &state.work_dir());
    let states: Vec<_> = checkpoint.state().into_iter().collect();
    // Whatever else the containerizer finds under the cgroups root is another container's (a
    // pod's sandbox and its other containers share one under CRI): handed to the isolators as
    // known orphans, which they hold, instead of unknown ones, which they would destroy.
    let others = engine.modules.containerizer.recover(states.clone())?;
    for isolator in &engine.modules.isolators {
        isolator.recover(states.clone(), others.clone())?;
    }
    let mut config = checkpoint.config.clone();
    for (name, value) in &asked.resources.0 {
        config.resources = config.resources.with(name, *value);
    }
    for (name, value) in &asked.limits.0 {
        config.limits = config.limits.with(name, *value);
    }
    engine.update(&checkpoint.container_id, &config.resources, &config.limits)?;
    checkpoint.config = config;
    checkpoints.write(&checkpoint)?;
    Ok(())
}

/// Reads a `kill` signal: a number, or a name with or without `SIG`.
pub fn parse_signal(text: &str) -> anyhow::Result<i32> {
    if let Ok(number) = text.parse::<i32>() {
        if nix::sys::signal::Signal::try_from(number).is_ok()
            || (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&number)
        {
            return Ok(number);
        }
        bail!("invalid signal '{text}'");
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse::<nix::sys::signal::Signal>().map(|s| s as i32).map_err(|_| anyhow!("invalid signal '{text}'"))
}

/// `kill [--all] ID [SIGNAL]`. A signal for the command goes to the command itself (the init is
/// the containerizer's helper, which a pid namespace shields from signals it does not handle);
/// `SIGKILL`, `--all` and a container not started yet go to every process of the container.
pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> anyhow::Result<()> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    let status = state::status(&state, &saved);
    if status == Status::Stopped {
        bail!("container not running");
    }
    let send = |pid: i32| {
        // SAFETY: kill takes two integers.
        unsafe { libc::kill(pid, signal) == 0 }
    };
    if all || signal == libc::SIGKILL || status == Status::Created {
        let mut targets = crate::cgroups::processes(&saved.cgroups);
        if !targets.contains(&saved.pid) {
            targets.push(saved.pid);
        }
        for pid in targets {
            send(pid);
        }
        return Ok(());
    }
    let command = children(saved.pid).into_iter().next().unwrap_or(saved.pid);
    if !send(command) {
        bail!("container not running ({})", std::io::Error::last_os_error());
    }
    Ok(())
}

/// The children of a process (`/proc/<pid>/task/<pid>/children`).
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// `ps ID`: the container's processes.
pub fn ps(root: &Path, id: &str) -> anyhow::Result<Vec<i32>> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    Ok(crate::cgroups::processes(&saved.cgroups))
}

/// `pause ID` / `resume ID`.
pub fn set_paused(root: &Path, id: &str, pause: bool) -> anyhow::Result<()> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    match (state::status(&state, &saved), pause) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (Status::Stopped, _) => bail!("container not running"),
        (other, true) => bail!("cannot pause a {} container", other.name()),
        (other, false) => bail!("cannot resume a {} container", other.name()),
    }
    crate::cgroups::set_frozen(&saved.cgroups, pause)?;
    Ok(())
}

/// `state ID`.
pub fn state(root: &Path, id: &str) -> anyhow::Result<serde_json::Value> {
    let state = StateDir::existing(root, id)?;
    let saved = state.load()?;
    Ok(state::oci_state(&state, &saved))
}
