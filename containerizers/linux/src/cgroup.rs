//! The launcher's own cgroup per container, through `cgroupfs`: on cgroup v1 a freezer cgroup
//! `<freezer mount>/<cgroups_root>/<id>` (destroy = freeze, SIGKILL all, thaw, wait, rmdir: Mesos's
//! TasksKiller); on cgroup v2 `<hierarchy>/<cgroups_root>/<id>` with the processes in its `leaf`
//! (destroy = `cgroup.kill`, wait, rmdir). Processes are found only through `cgroup.procs`, never by
//! name, and every descendant of the helper is in the cgroup because the helper is assigned before
//! it is released.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cgroupfs::{Cgroup, CgroupManager, CgroupMounts, Controller, Hierarchies};

use crate::error::{Error, Result};

/// Where the launcher's cgroups live.
#[derive(Debug, Clone)]
pub struct LauncherCgroups {
    /// Only the freezer hierarchy on v1, the unified root on v2.
    hierarchies: Hierarchies,
    root: String,
}

impl LauncherCgroups {
    /// From `/proc/self/mountinfo`: v2 when cgroup2 is mounted at `hierarchy` itself (as Mesos
    /// decides), else v1, which needs a freezer hierarchy.
    pub fn detect(hierarchy: &Path, root: &str) -> Result<LauncherCgroups> {
        let mounts = CgroupMounts::from_mountinfo(Path::new(cgroupfs::mounts::SELF_MOUNTINFO))
            .map_err(|source| Error::Cgroup { container: String::new(), source })?;
        let hierarchies = match mounts.hierarchies(hierarchy) {
            v2 @ Hierarchies::V2 { .. } => v2,
            Hierarchies::V1 { mounts } => {
                let freezer = mounts
                    .get(&Controller::Freezer)
                    .ok_or_else(|| Error::NoKillHierarchy { hierarchy: hierarchy.to_owned() })?;
                Hierarchies::V1 { mounts: [(Controller::Freezer, freezer.clone())].into() }
            }
        };
        Ok(LauncherCgroups { hierarchies, root: root.to_owned() })
    }

    fn cgroup(&self, container: &str) -> Result<Cgroup> {
        self.hierarchies
            .cgroup(&self.root, container, &[Controller::Freezer])
            .map_err(|source| Error::Cgroup { container: container.to_owned(), source })
    }

    /// Creates the container's cgroup. On v2 the cgroups isolator may have created it (and its
    /// leaf) in `prepare`: that is fine, and a missing leaf is added.
    pub fn create(&self, container: &str) -> Result<()> {
        let cgroup = self.cgroup(container)?;
        let wrap = |source| Error::Cgroup { container: container.to_owned(), source };
        match &cgroup {
            Cgroup::V2(v2) if cgroup.exists() => {
                let leaf = v2.leaf();
                match std::fs::create_dir(&leaf) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        Err(wrap(cgroupfs::Error::Create { path: leaf, source: e }))
                    }
                    _ => Ok(()),
                }
            }
            _ => cgroup.create().map_err(wrap),
        }
    }

    /// On v2, the container's leaf cgroup opened as a directory, for `CLONE_INTO_CGROUP`; `None`
    /// on v1, which has no such flag (the helper is moved through `cgroup.procs` instead).
    pub fn clone_target(&self, container: &str) -> Result<Option<OwnedFd>> {
        let Cgroup::V2(v2) = self.cgroup(container)? else {
            return Ok(None);
        };
        let leaf = v2.leaf();
        let dir = std::fs::File::open(&leaf).map_err(|source| Error::Cgroup {
            container: container.to_owned(),
            source: cgroupfs::Error::Read { path: leaf, source },
        })?;
        Ok(Some(OwnedFd::from(dir)))
    }

    /// Moves `pid` into the container's cgroup (the leaf on v2).
    pub fn assign(&self, container: &str, pid: i32) -> Result<()> {
        self.cgroup(container)?
            .assign(pid)
            .map_err(|source| Error::Cgroup { container: container.to_owned(), source })
    }

    /// Whether `pid` is in the container's cgroup (to tell a live helper from a recycled pid).
    pub fn contains(&self, container: &str, pid: i32) -> Result<bool> {
        Ok(self
            .cgroup(container)?
            .pids()
            .map_err(|source| Error::Cgroup { container: container.to_owned(), source })?
            .contains(&pid))
    }

    /// The directories the container's cgroup occupies (for tests and diagnostics).
    pub fn dirs(&self, container: &str) -> Result<Vec<PathBuf>> {
        Ok(self.cgroup(container)?.dirs())
    }

    /// Kills every process of the container and removes its cgroup; an absent cgroup is fine.
    pub fn destroy(&self, container: &str, timeout: Duration) -> Result<()> {
        let cgroup = self.cgroup(container)?;
        let wrap = |source| Error::Cgroup { container: container.to_owned(), source };
        if cgroup.exists() {
            // An exited container's cgroups are empty: each goes with one rmdir, without listing
            // and polling every hierarchy for processes to kill.
            if cgroup.remove_if_empty() {
                return Ok(());
            }
            cgroup.kill_all(timeout).map_err(wrap)?;
        }
        cgroup.remove().map_err(wrap)
    }

    /// The container ids with a cgroup under the root (for `recover`).
    pub fn containers(&self) -> Result<Vec<String>> {
        self.hierarchies
            .containers(&self.root)
            .map_err(|source| Error::Cgroup { container: String::new(), source })
    }
}

impl LauncherCgroups {
    /// The `<cgroups_root>` directories themselves (for tests checking they left nothing).
    pub fn root_dirs(&self) -> Result<Vec<PathBuf>> {
        self.hierarchies
            .root_dirs(&self.root)
            .map_err(|source| Error::Cgroup { container: String::new(), source })
    }
}
