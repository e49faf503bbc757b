//! `LinuxContainerizer`: the table of containers and the `Containerizer` calls.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use module_abi::{
    ContainerId, ContainerState, ContainerStatus, ContainerTermination, Containerizer, LaunchRequest, Module,
    Parameters,
};
use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, send, socketpair};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

use crate::cgroup::LauncherCgroups;
use crate::clone::{ChildFds, Cloned, HelperExec, clone_helper};
use crate::error::{Error, Result};
use crate::params::Settings;
use crate::process::{has_exited, pidfd_open, reap};
use crate::runtime::{RuntimeDir, write_atomically};
use crate::{locate, spec};

/// One launched (or recovered) container.
#[derive(Debug)]
struct Container {
    pid: Pid,
    /// A pidfd of the helper; for a helper already gone at recovery, an eventfd that is readable.
    watch_fd: OwnedFd,
    /// The host's end of the control socket until `exec` releases the helper.
    control: Option<OwnedFd>,
    /// Whether the helper is our child (launched by this process), so we reap it.
    child: bool,
    /// How the helper ended, once known.
    termination: Option<ContainerTermination>,
    runtime: RuntimeDir,
}

/// The Linux containerizer (Mesos's LinuxLauncher plus its launch helper).
#[derive(Debug)]
pub struct LinuxContainerizer {
    settings: Settings,
    cgroups: LauncherCgroups,
    containers: Mutex<HashMap<String, Container>>,
    /// Ids between the start and the end of `launch`.
    launching: Mutex<HashSet<String>>,
    /// Terminations of destroyed containers, so `wait` still answers after `destroy`.
    finished: Mutex<HashMap<String, ContainerTermination>>,
    /// Set once `clone3` refused `CLONE_INTO_CGROUP` (a kernel before 5.7).
    into_cgroup_unsupported: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock is caught at the ABI; the table itself stays consistent.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The container's name in cgroup and runtime paths; nested containers are not supported.
fn name(id: &ContainerId) -> Result<&str> {
    let bad = |reason: &str| Error::Launch { container: id.to_string(), reason: reason.to_owned() };
    if id.parent.is_some() {
        return Err(bad("nested containers are not supported by this containerizer"));
    }
    let value = id.value.as_str();
    module_params::check_component(value).map_err(|e| bad(&format!("the container id {e}")))?;
    Ok(value)
}

impl Module for LinuxContainerizer {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        let settings = Settings::from_parameters(&parameters).map_err(Error::from)?;
        let cgroups = LauncherCgroups::detect(&settings.cgroups.hierarchy, &settings.cgroups.root)?;
        Ok(LinuxContainerizer {
            settings,
            cgroups,
            containers: Mutex::default(),
            launching: Mutex::default(),
            finished: Mutex::default(),
            into_cgroup_unsupported: AtomicBool::new(false),
        })
    }
}

/// Un-reserves a container id when `launch` returns, whatever the outcome.
struct Reservation<'a> {
    set: &'a Mutex<HashSet<String>>,
    name: String,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.name);
    }
}

impl LinuxContainerizer {
    /// The helper's path, checked.
    fn helper(&self) -> Result<PathBuf> {
        let path = locate::helper_path(self.settings.launcher_dir.as_deref());
        locate::check(&path)?;
        Ok(path)
    }

    fn runtime(&self, name: &str) -> RuntimeDir {
        RuntimeDir::new(&self.settings.runtime_root(), name)
    }

    /// The cgroup directories of a container (for tests and diagnostics).
    pub fn cgroup_dirs(&self, container_id: &ContainerId) -> Result<Vec<PathBuf>> {
        self.cgroups.dirs(name(container_id)?)
    }

    /// The `<cgroups_root>` directories (for tests checking that nothing is left).
    pub fn cgroup_root_dirs(&self) -> Result<Vec<PathBuf>> {
        self.cgroups.root_dirs()
    }

    fn reserve(&self, name: &str) -> Result<Reservation<'_>> {
        let containers = lock(&self.containers);
        let mut launching = lock(&self.launching);
        if containers.contains_key(name) || !launching.insert(name.to_owned()) {
            return Err(Error::AlreadyExists(name.to_owned()));
        }
        lock(&self.finished).remove(name);
        Ok(Reservation { set: &self.launching, name: name.to_owned() })
    }

    fn launch_reserved(
        &self,
        name: &str,
        request: &LaunchRequest,
        flags: u64,
        helper: &Path,
    ) -> Result<Container> {
        let sandbox = Path::new(&request.container_config.directory);
        std::fs::create_dir_all(sandbox).map_err(Error::io("create the sandbox", sandbox))?;
        let runtime = self.runtime(name);
        runtime.create()?;
        let launched = self.clone_into_cgroup(name, request, flags, helper, &runtime);
        if launched.is_err() {
            let _ = runtime.remove();
        }
        launched
    }

    fn clone_into_cgroup(
        &self,
        name: &str,
        request: &LaunchRequest,
        flags: u64,
        helper: &Path,
        runtime: &RuntimeDir,
    ) -> Result<Container> {
        let json = serde_json::to_vec(request)
            .map_err(|e| Error::Parse { path: runtime.spec(), reason: e.to_string() })?;
        write_atomically(&runtime.spec(), &json)?;

        let devnull = File::open("/dev/null").map_err(Error::io("open", "/dev/null"))?;
        // The helper never gets one of the host's streams, attached or not: it is the container's
        // init and must never block on a reader outside. Its own messages go to the sandbox's
        // stderr (appended, like the command's output), which an attached host follows
        // (`LaunchRequest::attach_output`).
        let stderr_path = Path::new(&request.container_config.directory).join("stderr");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .open(&stderr_path)
            .map_err(Error::io("open", &stderr_path))?;
        // A socket rather than a pipe: `send(MSG_NOSIGNAL)` to a helper that died cannot raise
        // SIGPIPE in a host that does not ignore it.
        let (host_end, helper_end) =
            socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
                .map_err(Error::sys("create the control socket"))?;
        let fds = if request.inherit_stdio {
            // An OCI runtime's `create`: the caller's streams are the container's.
            ChildFds::new(std::io::stdin(), std::io::stdout(), std::io::stderr(), &helper_end)?
        } else {
            ChildFds::new(&devnull, &devnull, &stderr, &helper_end)?
        };
        let argv = [
            crate::params::HELPER_NAME.to_owned(),
            "launch".to_owned(),
            format!("--runtime_directory={}", runtime.path().display()),
            format!("--pipe_read={}", crate::clone::CONTROL_FD),
        ];
        let exec = HelperExec::new(helper, &argv, &[])?;

        self.cgroups.create(name)?;
        let (cloned, in_cgroup) = match self.clone_helper(name, flags, &request.launch_info, &exec, &fds) {
            Ok(cloned) => cloned,
            Err(e) => {
                let _ = self.cgroups.destroy(name, self.settings.cgroups.destroy_timeout);
                return Err(e);
            }
        };
        drop((fds, helper_end));
        // Before any isolator's `isolate` and before the release, so every descendant is in it
        // (already done by the clone on v2 with CLONE_INTO_CGROUP).
        let assigned = if in_cgroup { Ok(()) } else { self.cgroups.assign(name, cloned.pid.as_raw()) };
        let placed =
            assigned.and_then(|()| write_atomically(&runtime.pid(), cloned.pid.to_string().as_bytes()));
        if let Err(e) = placed {
            let _ = kill(cloned.pid, Signal::SIGKILL);
            let _ = reap(cloned.pid, true);
            let _ = self.cgroups.destroy(name, self.settings.cgroups.destroy_timeout);
            return Err(e);
        }
        Ok(Container {
            pid: cloned.pid,
            watch_fd: cloned.pidfd,
            control: Some(host_end),
            child: true,
            termination: None,
            runtime: runtime.clone(),
        })
    }

    /// Clones the helper, straight into the container's cgroup where the hierarchy and kernel
    /// allow it (v2, `CLONE_INTO_CGROUP`); whether it started there.
    fn clone_helper(
        &self,
        name: &str,
        flags: u64,
        launch_info: &module_abi::ContainerLaunchInfo,
        exec: &HelperExec,
        fds: &ChildFds,
    ) -> Result<(Cloned, bool)> {
        // A joined pid namespace is entered around the clone (the helper joins the others).
        let pid_path = crate::join::pid_namespace(launch_info).map(std::path::Path::new);
        let pid_file = pid_path
            .map(|path| File::open(path).map_err(Error::io("open the pid namespace", path)))
            .transpose()?;
        let pid_namespace = pid_file.as_ref().zip(pid_path);
        let target = match self.into_cgroup_unsupported.load(Ordering::Relaxed) {
            true => None,
            false => self.cgroups.clone_target(name)?,
        };
        if let Some(target) = target {
            match clone_helper(flags, Some(target.as_fd()), pid_namespace, exec, fds) {
                Ok(cloned) => return Ok((cloned, true)),
                // A kernel before 5.7: remember, and migrate through cgroup.procs from now on.
                Err(Error::Sys { source: Errno::EINVAL | Errno::E2BIG | Errno::ENOSYS, .. }) => {
                    self.into_cgroup_unsupported.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok((clone_helper(flags, None, pid_namespace, exec, fds)?, false))
    }

    /// How a container's helper ended, or `None` while it runs.
    fn poll_termination(container: &mut Container) -> Result<Option<ContainerTermination>> {
        if let Some(termination) = container.termination {
            return Ok(Some(termination));
        }
        let reaped = if container.child {
            match reap(container.pid, false).map_err(Error::sys("wait for the launch helper"))? {
                Some(reaped) => Some(reaped),
                None => return Ok(None),
            }
        } else {
            if !has_exited(&container.watch_fd).map_err(Error::sys("poll the launch helper's pidfd"))? {
                return Ok(None);
            }
            None
        };
        // The helper's own report is the command's termination; without one (the helper failed or
        // was killed) its wait status is the best there is.
        let termination = container
            .runtime
            .read_status()?
            .or(reaped)
            .unwrap_or(ContainerTermination { exit_code: None, signal: None });
        container.termination = Some(termination);
        Ok(Some(termination))
    }
}

impl Containerizer for LinuxContainerizer {
    fn recover(&self, states: Vec<ContainerState>) -> module_abi::Result<Vec<ContainerId>> {
        let mut known = HashSet::new();
        for state in &states {
            let name = name(&state.container_id)?.to_owned();
            known.insert(name.clone());
            if lock(&self.containers).contains_key(&name) {
                continue;
            }
            if state.pid <= 0 {
                return Err(Error::Parse {
                    path: self.runtime(&name).pid(),
                    reason: format!("pid {} of container '{name}' is out of range", state.pid),
                }
                .into());
            }
            let pid = Pid::from_raw(state.pid);
            // Recovered in the process that launched it (tests, a re-created module): still ours.
            let child =
                waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT)
                    .is_ok();
            // A pidfd only if the pid is still the helper. Our own unreaped child cannot have been
            // recycled; any other pid must still be in the container's cgroup.
            let pidfd = match pidfd_open(pid).map_err(Error::sys("open a pidfd of the launch helper"))? {
                Some(fd) if child || self.cgroups.contains(&name, pid.as_raw()).unwrap_or(false) => Some(fd),
                _ => None,
            };
            let watch_fd = match pidfd {
                Some(fd) => fd,
                None => EventFd::from_value_and_flags(1, EfdFlags::EFD_CLOEXEC)
                    .map(OwnedFd::from)
                    .map_err(Error::sys("create an eventfd"))?,
            };
            let container = Container {
                pid,
                watch_fd,
                control: None,
                child,
                termination: None,
                runtime: self.runtime(&name),
            };
            lock(&self.containers).insert(name, container);
        }
        let mut found: Vec<String> = self.cgroups.containers()?;
        // Only this configuration's own runtime dirs: another harness (another cgroups root)
        // sharing the runtime dir is not ours to judge.
        let runtime_containers = self.settings.runtime_root().join("containers");
        if let Ok(entries) = std::fs::read_dir(&runtime_containers) {
            found.extend(entries.filter_map(|e| e.ok()?.file_name().into_string().ok()));
        }
        found.sort();
        found.dedup();
        Ok(found.into_iter().filter(|id| !known.contains(id)).map(ContainerId::new).collect())
    }

    fn launch(&self, request: &LaunchRequest) -> module_abi::Result<i32> {
        let name = name(&request.container_id)?;
        let flags = spec::validate(request)
            .and_then(|flags| crate::join::validate(&request.launch_info, flags).map(|()| flags))
            .map_err(|reason| Error::Launch { container: name.to_owned(), reason })?;
        let helper = self.helper()?;
        let _reservation = self.reserve(name)?;
        let container = self.launch_reserved(name, request, flags, &helper)?;
        let pid = container.pid.as_raw();
        lock(&self.containers).insert(name.to_owned(), container);
        Ok(pid)
    }

    fn exec(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        let name = name(container_id)?;
        let control = lock(&self.containers)
            .get_mut(name)
            .ok_or_else(|| Error::Unknown(name.to_owned()))?
            .control
            .take()
            .ok_or_else(|| Error::Launch {
                container: name.to_owned(),
                reason: "it was already released".to_owned(),
            })?;
        match send(control.as_raw_fd(), &[1], MsgFlags::MSG_NOSIGNAL) {
            Ok(1) => Ok(()),
            Ok(_) | Err(_) => Err(Error::Launch {
                container: name.to_owned(),
                reason: "the launch helper exited before it was released (see the sandbox's stderr)"
                    .to_owned(),
            }
            .into()),
        }
    }

    fn watch(&self, container_id: &ContainerId) -> module_abi::Result<Option<RawFd>> {
        let name = name(container_id)?;
        let containers = lock(&self.containers);
        let container = containers.get(name).ok_or_else(|| Error::Unknown(name.to_owned()))?;
        Ok(Some(container.watch_fd.as_raw_fd()))
    }

    fn wait(&self, container_id: &ContainerId) -> module_abi::Result<Option<ContainerTermination>> {
        let name = name(container_id)?;
        if let Some(termination) = lock(&self.finished).get(name) {
            return Ok(Some(*termination));
        }
        let mut containers = lock(&self.containers);
        let container = containers.get_mut(name).ok_or_else(|| Error::Unknown(name.to_owned()))?;
        Ok(Self::poll_termination(container)?)
    }

    fn destroy(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        let name = name(container_id)?;
        // Out of the table while killing (which may take a while) so other calls are not held up.
        let mut container = lock(&self.containers).remove(name);
        if let Some(container) = &mut container {
            // Unreleased: the helper reads EOF and exits without running the command.
            container.control = None;
            // Whatever this says, the container is killed below: failing to learn how it ended
            // must not leave it running.
            let _ = Self::poll_termination(container);
        }
        if let Err(e) = self.cgroups.destroy(name, self.settings.cgroups.destroy_timeout) {
            if let Some(container) = container {
                lock(&self.containers).insert(name.to_owned(), container);
            }
            return Err(e.into());
        }
        if let Some(mut container) = container {
            if container.termination.is_none() {
                let reaped = if container.child {
                    reap(container.pid, true).map_err(Error::sys("reap the launch helper"))?
                } else {
                    None
                };
                let status = container.runtime.read_status()?;
                container.termination = Some(
                    status
                        .or(reaped)
                        .unwrap_or(ContainerTermination { exit_code: None, signal: Some(libc::SIGKILL) }),
                );
            }
            if let Some(termination) = container.termination {
                lock(&self.finished).insert(name.to_owned(), termination);
            }
        }
        self.runtime(name).remove()?;
        Ok(())
    }

    fn status(&self, container_id: &ContainerId) -> module_abi::Result<ContainerStatus> {
        let name = name(container_id)?;
        let containers = lock(&self.containers);
        let container = containers.get(name).ok_or_else(|| Error::Unknown(name.to_owned()))?;
        let mut status = ContainerStatus {
            container_id: Some(container_id.clone()),
            executor_pid: Some(container.pid.as_raw()),
            ..Default::default()
        };
        if let Ok(dirs) = self.cgroups.dirs(name) {
            let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            status.info.insert("cgroup".to_owned(), dirs.join(","));
        }
        Ok(status)
    }
}
