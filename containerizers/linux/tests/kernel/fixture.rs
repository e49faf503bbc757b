//! The fixture of the kernel tests: one private world per test (cgroups root, runtime directory,
//! sandboxes), the engine's steps in order (prepare, launch, isolate, exec), and the checks that a
//! test left nothing behind.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use linux_containerizer::LinuxContainerizer;
use module_abi::{
    CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerTermination, Containerizer,
    Isolator, LaunchRequest, Module, Parameter,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::TestResult;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The two isolator calls a test drives, as a dyn-compatible trait (`Isolator: Module: Sized`).
pub trait DynIsolator {
    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>>;
    fn isolate(&self, id: &ContainerId, pid: i32) -> module_abi::Result<()>;
}

impl<T: Isolator> DynIsolator for T {
    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        Isolator::prepare(self, id, config)
    }
    fn isolate(&self, id: &ContainerId, pid: i32) -> module_abi::Result<()> {
        Isolator::isolate(self, id, pid)
    }
}

pub fn helper_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mesos-containerizer")).parent().unwrap().to_owned()
}

/// One test's private world.
pub struct Fixture {
    pub root: String,
    pub base: PathBuf,
    pub containerizer: LinuxContainerizer,
    mounts_before: usize,
}

impl Fixture {
    pub fn new() -> Result<Fixture, Failed> {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let root = format!("containerizer-test-{}-{n}", std::process::id());
        let base = std::env::temp_dir().join(&root);
        std::fs::create_dir_all(&base)?;
        let containerizer = Fixture::containerizer_for(&root, &base)?;
        Ok(Fixture { root, base, containerizer, mounts_before: mount_count()? })
    }

    pub fn parameters(root: &str, base: &Path) -> Vec<Parameter> {
        let p = |key: &str, value: String| Parameter { key: key.into(), value };
        vec![
            p("launcher_dir", helper_dir().display().to_string()),
            p("runtime_dir", base.join("runtime").display().to_string()),
            p("cgroups_root", root.to_owned()),
            p("cgroups_destroy_timeout", "20secs".to_owned()),
        ]
    }

    pub fn containerizer_for(root: &str, base: &Path) -> Result<LinuxContainerizer, Failed> {
        Ok(LinuxContainerizer::create(Fixture::parameters(root, base)).map_err(|e| e.to_string())?)
    }

    pub fn sandbox(&self, id: &str) -> PathBuf {
        self.base.join("sandboxes").join(id)
    }

    pub fn request(&self, id: &str, command: CommandInfo, launch_info: ContainerLaunchInfo) -> LaunchRequest {
        LaunchRequest {
            container_id: ContainerId::new(id),
            container_config: ContainerConfig {
                command,
                directory: self.sandbox(id).display().to_string(),
                ..Default::default()
            },
            launch_info,
            attach_output: false,
            inherit_stdio: false,
            release_fifo: None,
        }
    }

    /// prepare (merging launch infos) -> launch -> isolate -> exec, as the engine will.
    pub fn start(
        &self,
        id: &str,
        command: CommandInfo,
        isolators: &[&dyn DynIsolator],
    ) -> Result<i32, Failed> {
        let mut request = self.request(id, command, ContainerLaunchInfo::default());
        for isolator in isolators {
            if let Some(info) =
                isolator.prepare(&request.container_id, &request.container_config).map_err(msg)?
            {
                merge(&mut request.launch_info, info);
            }
        }
        self.start_request(&request, isolators)
    }

    pub fn start_request(
        &self,
        request: &LaunchRequest,
        isolators: &[&dyn DynIsolator],
    ) -> Result<i32, Failed> {
        let pid = self.containerizer.launch(request).map_err(msg)?;
        for isolator in isolators {
            isolator.isolate(&request.container_id, pid).map_err(msg)?;
        }
        self.containerizer.exec(&request.container_id).map_err(msg)?;
        Ok(pid)
    }

    /// Waits (bounded) on the watch descriptor, then asks `wait`.
    pub fn run_to_end(&self, id: &str) -> Result<ContainerTermination, Failed> {
        let id = ContainerId::new(id);
        let fd = self.containerizer.watch(&id).map_err(msg)?.ok_or("watch gave no descriptor")?;
        // SAFETY: the containerizer keeps the descriptor open until `destroy`, after this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        ensure!(
            poll(&mut fds, PollTimeout::from(20_000u16)).map_err(msg)? == 1,
            "container {id} still runs after 20 s"
        );
        self.containerizer.wait(&id).map_err(msg)?.ok_or_else(|| "watch fired but wait gave nothing".into())
    }

    pub fn read(&self, id: &str, file: &str) -> String {
        std::fs::read_to_string(self.sandbox(id).join(file)).unwrap_or_default()
    }

    pub fn freezer_root(&self) -> Result<Vec<PathBuf>, Failed> {
        self.containerizer.cgroup_root_dirs().map_err(msg)
    }

    /// Destroys `ids` and checks that nothing of this test is left: no container cgroup (then
    /// removes the test's cgroups root), no process of `pids`, no new mount, no runtime directory.
    pub fn finish(self, ids: &[&str], pids: &[i32]) -> TestResult {
        for id in ids {
            self.containerizer.destroy(&ContainerId::new(*id)).map_err(msg)?;
            ensure!(
                !self.base.join("runtime").join(&self.root).join("containers").join(id).exists(),
                "runtime directory of {id} left behind"
            );
        }
        for dir in self.freezer_root()? {
            let left: Vec<_> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.file_name())
                        .collect()
                })
                .unwrap_or_default();
            ensure!(left.is_empty(), "cgroups left under {}: {left:?}", dir.display());
            match std::fs::remove_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("rmdir {}: {e}", dir.display()).into());
                }
                _ => {}
            }
        }
        for pid in pids {
            ensure!(wait_gone(*pid), "process {pid} of the container is still alive");
        }
        ensure!(mount_count()? == self.mounts_before, "the host's mount table changed");
        std::fs::remove_dir_all(&self.base)?;
        Ok(())
    }
}

impl Drop for Fixture {
    /// Best effort after a failed test, so one failure does not leave processes and cgroups for
    /// the next run: every container cgroup or runtime directory under this test's roots is an
    /// orphan to `recover`, and `destroy` kills it. After `finish` there is nothing left to do.
    fn drop(&mut self) {
        if let Ok(orphans) = self.containerizer.recover(vec![]) {
            for id in orphans {
                let _ = self.containerizer.destroy(&id);
            }
        }
        if let Ok(dirs) = self.freezer_root() {
            dirs.iter().for_each(|d| drop(std::fs::remove_dir(d)));
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

pub fn msg(e: impl std::fmt::Display) -> Failed {
    e.to_string().into()
}

pub fn merge(into: &mut ContainerLaunchInfo, info: ContainerLaunchInfo) {
    into.clone_namespaces.extend(info.clone_namespaces);
    into.mounts.extend(info.mounts);
    into.environment.extend(info.environment);
    into.hostname = into.hostname.take().or(info.hostname);
    into.rlimits.extend(info.rlimits);
    into.effective_capabilities = into.effective_capabilities.take().or(info.effective_capabilities);
    into.bounding_capabilities = into.bounding_capabilities.take().or(info.bounding_capabilities);
    into.no_new_privileges = into.no_new_privileges.take().or(info.no_new_privileges);
    into.seccomp = into.seccomp.take().or(info.seccomp);
}

pub fn shell(script: &str) -> CommandInfo {
    CommandInfo { shell: true, value: script.into(), ..Default::default() }
}

pub fn mount_count() -> Result<usize, Failed> {
    Ok(std::fs::read_to_string("/proc/self/mountinfo")?.lines().count())
}

/// Whether `pid` is gone (or only a zombie about to be reaped by whoever inherited it).
pub fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')) => {
                return true;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    false
}

pub fn exited(code: i32) -> ContainerTermination {
    ContainerTermination { exit_code: Some(code), signal: None }
}
