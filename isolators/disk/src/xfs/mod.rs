//! `disk/xfs` (Mesos's `isolators/xfs/disk.cpp`): each container's sandbox gets an XFS project id
//! from `xfs_project_range`, set on every directory and regular file of the sandbox (with
//! `FS_XFLAG_PROJINHERIT` on directories, so what the container creates inherits it), and the
//! project's block quota follows the container's `disk` resource. The kernel calls are in
//! [`kernel`].
//!
//! - **Creation** fails with Mesos's messages: not root (`The XFS disk isolator requires running
//!   as root.`), `work_dir` not on XFS (`'<p>' is not an XFS filesystem`), project quota off
//!   (`XFS project quotas are not enabled on '<p>'`), and the `xfs_project_range` errors of
//!   [`crate::range`]. It turns project quota enforcement on (a `pqnoenforce` mount).
//! - **Policies**, Mesos's three: accounting only (the default: limits cleared, usage reported,
//!   and a one-time notice on stderr that a quota is only accounted);
//!   `enforce_container_disk_quota` (soft = hard = the quota: a write past it fails, with
//!   `ENOSPC`); plus `xfs_kill_containers` (hard = quota + `xfs_quota_headroom`, and every
//!   `container_disk_watch_interval` a timer watch wakes the harness, which asks `limitation`: a
//!   project over its soft limit gives Mesos's `Disk usage (<used>) exceeded quota (<soft>)` with
//!   reason `REASON_CONTAINER_LIMITATION_DISK` and resources `disk` = the use in MB).
//! - **Project ids** are taken lowest first among those no sandbox next to this one holds (the
//!   sandboxes' own ids are read back, under an `flock` of the sandboxes' directory, so two
//!   harnesses on one work dir never hand out the same id), none held in memory, and none that
//!   any inode of the file system carries (`Q_XGETQUOTA`'s inode count: another work dir on the
//!   same XFS). An id stays
//!   with its sandbox after `cleanup`, as in Mesos, and is free again once the sandbox is removed.
//!   `Failed to assign project ID, range exhausted` when none is free.
//! - **recover** reads each live container's project id back from its sandbox and re-applies its
//!   quota; a sandbox without an id of the range gets a fresh one.
//! - **usage**: `disk_used_bytes` is the project's block count, `disk_limit_bytes` the quota.

pub mod kernel;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerState, Isolator, Module,
    Parameters, Reason, ResourceStatistics, Resources,
};
use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::bytes::{bytes_to_mb, format_bytes};
use crate::error::{DiskError, Result};
use crate::params::Config;
use crate::quota::{AccountingNotice, now, sandbox_quota};
use crate::timer::Timer;
use crate::walk::{Kind, MAX_ENTRIES, WalkError, open_beneath, open_root, walk};
use kernel::{QuotaFs, project_id, set_project_id};

/// How long a range that looks exhausted is looked at again while XFS inactivates the inodes of
/// sandboxes just removed.
const INACTIVATION_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

const NAME: &str = "disk/xfs";

/// Mesos's `xfs::QuotaPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// No limits; usage only.
    Accounting,
    /// soft = hard = the quota; writes past it fail.
    EnforcingPassive,
    /// soft = the quota, hard = quota + headroom; a container over soft is killed.
    EnforcingActive,
}

struct Container {
    project: u32,
    quota: Option<u64>,
    timer: Option<Timer>,
    reported: bool,
}

/// The module type of `org_apache_mesos_XfsDiskIsolator`.
pub struct XfsDiskIsolator {
    config: Config,
    policy: Policy,
    fs: QuotaFs,
    containers: Mutex<BTreeMap<String, Container>>,
    notice: AccountingNotice,
}

impl std::fmt::Debug for XfsDiskIsolator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XfsDiskIsolator")
            .field("config", &self.config)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The nearest existing directory at or above `path` (a work dir the harness has yet to make is
/// made on its parent's file system).
fn existing(path: &Path) -> &Path {
    path.ancestors().find(|p| p.is_dir()).unwrap_or(Path::new("/"))
}

impl Module for XfsDiskIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        let config = Config::parse(NAME, &parameters).map_err(DiskError::from)?;
        Ok(XfsDiskIsolator::new(config)?)
    }
}

impl XfsDiskIsolator {
    /// Checks the host as Mesos's `create` does (see the module docs).
    pub fn new(config: Config) -> Result<XfsDiskIsolator> {
        if !nix::unistd::geteuid().is_root() {
            return Err(DiskError::NotRoot);
        }
        let work_dir = config.work_dir.clone();
        let probe = existing(&work_dir);
        if !kernel::is_xfs(probe).unwrap_or(false) {
            return Err(DiskError::NotXfs { path: work_dir });
        }
        let fs = QuotaFs::open(probe).map_err(|_| DiskError::NotXfs { path: work_dir.clone() })?;
        let enabled = fs.enable_project_quota();
        match fs.project_quota_enabled() {
            Ok(true) => {}
            Ok(false) => return Err(DiskError::QuotaNotEnabled { path: work_dir }),
            Err(errno) => return Err(DiskError::QuotaStatus { path: work_dir, errno }),
        }
        let policy = match (config.enforce, config.kill_containers) {
            (false, _) => Policy::Accounting,
            (true, false) => Policy::EnforcingPassive,
            (true, true) => Policy::EnforcingActive,
        };
        if let (Err(errno), true) = (enabled, config.enforce) {
            return Err(DiskError::EnableQuota { path: work_dir, errno });
        }
        Ok(XfsDiskIsolator {
            config,
            policy,
            fs,
            containers: Mutex::new(BTreeMap::new()),
            notice: AccountingNotice::default(),
        })
    }

    /// The policy in effect.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<String, Container>> {
        self.containers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The project ids held: in memory, and by every sandbox next to `sandbox` (but itself).
    fn used_ids(&self, table: &BTreeMap<String, Container>, sandbox: &Path) -> BTreeSet<u32> {
        let mut used: BTreeSet<u32> = table.values().map(|c| c.project).collect();
        let Some(parent) = sandbox.parent() else { return used };
        let Ok(entries) = std::fs::read_dir(parent) else { return used };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == sandbox || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Ok(fd) = open_root(&path)
                && let Ok(id) = project_id(fd.as_fd())
                && self.config.project_range.contains(id)
            {
                used.insert(id);
            }
        }
        used
    }

    /// Takes the lowest free id for `sandbox` and sets it on the whole tree.
    fn assign(&self, table: &BTreeMap<String, Container>, sandbox: &Path) -> Result<u32> {
        let lock = SandboxesLock::take(sandbox.parent().unwrap_or(Path::new("/")));
        let used = self.used_ids(table, sandbox);
        // An id that any inode of the file system carries is taken too, whoever labelled it (a
        // sandbox of another work dir on the same file system, say); an id the kernel cannot
        // tell about counts as taken.
        let carried = |id| self.fs.project_quota(id).map_or(true, |q| q.inodes > 0 || q.used_bytes > 0);
        let free = || self.config.project_range.lowest_free(|id| used.contains(&id) || carried(id));
        // XFS inactivates unlinked inodes in the background: a sandbox just removed may still
        // count. Before saying the range is exhausted, push that along (syncfs) and look again
        // for up to a second (Linux 6.1's syncfs does not wait for the inactivation).
        let id = free()
            .or_else(|| {
                let _ = self.fs.sync();
                let deadline = std::time::Instant::now() + INACTIVATION_WAIT;
                loop {
                    if let Some(id) = free() {
                        return Some(id);
                    }
                    if std::time::Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            })
            .ok_or(DiskError::RangeExhausted)?;
        label(sandbox, id)?;
        drop(lock);
        Ok(id)
    }

    /// Applies the policy's limits for `quota` to `project`.
    fn apply(&self, name: &str, project: u32, quota: Option<u64>) -> Result<()> {
        let (soft, hard) = match (self.policy, quota) {
            (Policy::Accounting, _) | (_, None) => (0, 0),
            (Policy::EnforcingPassive, Some(q)) => (q, q),
            (Policy::EnforcingActive, Some(q)) => (q, q.saturating_add(self.config.headroom_bytes)),
        };
        self.fs.set_project_limits(project, soft, hard).map_err(|errno| DiskError::Quota {
            isolator: NAME,
            action: "set the limits",
            project,
            container: name.to_owned(),
            errno,
        })
    }

    /// Takes a container in with `project` and applies its quota.
    fn hold(
        &self,
        table: &mut BTreeMap<String, Container>,
        name: &str,
        project: u32,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<()> {
        let quota = sandbox_quota(NAME, name, resources, limits)?;
        self.apply(name, project, quota)?;
        let timer = match (self.policy, quota) {
            (Policy::EnforcingActive, Some(_)) => {
                Some(Timer::periodic(self.config.watch_interval).map_err(|source| DiskError::Timer {
                    isolator: NAME,
                    container: name.to_owned(),
                    source,
                })?)
            }
            (Policy::Accounting, Some(bytes)) => {
                self.notice.tell(NAME, name, bytes);
                None
            }
            _ => None,
        };
        table.insert(name.to_owned(), Container { project, quota, timer, reported: false });
        Ok(())
    }

    fn held(&self, name: &str) -> Result<(u32, Option<u64>)> {
        let table = self.table();
        let c = table
            .get(name)
            .ok_or_else(|| DiskError::UnknownContainer { isolator: NAME, container: name.to_owned() })?;
        Ok((c.project, c.quota))
    }

    fn used(&self, name: &str, project: u32) -> Result<u64> {
        self.fs.project_quota(project).map(|q| q.used_bytes).map_err(|errno| DiskError::Quota {
            isolator: NAME,
            action: "read the quota",
            project,
            container: name.to_owned(),
            errno,
        })
    }
}

/// Sets project `id` on `sandbox` and every directory and regular file below it, not following
/// symlinks nor crossing mounts ([`crate::walk`]); other kinds of files cannot carry one.
pub fn label(sandbox: &Path, id: u32) -> Result<()> {
    let failed =
        |path: &Path, errno| WalkError { action: "set the project id of", path: sandbox.join(path), errno };
    walk(sandbox, MAX_ENTRIES, |root, entry| {
        let directory = match entry.kind {
            Kind::Directory => true,
            Kind::File => false,
            Kind::Symlink | Kind::Other => return Ok(()),
        };
        if entry.path == Path::new(".") {
            return set_project_id(root, id, true).map_err(|e| failed(entry.path, e));
        }
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let flags = if directory { flags | OFlag::O_DIRECTORY } else { flags };
        match open_beneath(root, entry.path, flags) {
            Ok(fd) => set_project_id(fd.as_fd(), id, directory).map_err(|e| failed(entry.path, e)),
            // Gone, or swapped for a symlink, since it was listed.
            Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR | Errno::EXDEV) => Ok(()),
            Err(e) => Err(failed(entry.path, e)),
        }
    })
    .map_err(|e| DiskError::ProjectId {
        isolator: NAME,
        action: "set the",
        path: e.path,
        errno: e.errno,
    })?;
    Ok(())
}

/// The project id of a sandbox directory, if it has one of `range`.
pub fn sandbox_project(sandbox: &Path) -> nix::Result<u32> {
    let fd = open_root(sandbox).map_err(|e| e.errno)?;
    project_id(fd.as_fd())
}

/// An exclusive `flock` on the sandboxes' directory while an id is chosen and set.
struct SandboxesLock(Option<std::os::fd::OwnedFd>);

impl SandboxesLock {
    fn take(dir: &Path) -> SandboxesLock {
        let fd = open_root(dir).ok();
        if let Some(fd) = &fd {
            // SAFETY: flock takes a descriptor that `fd` keeps open; it blocks until the lock is
            // ours, and the lock goes with the descriptor.
            unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) };
        }
        SandboxesLock(fd)
    }
}

impl Drop for SandboxesLock {
    fn drop(&mut self) {
        if let Some(fd) = &self.0 {
            // SAFETY: unlocks the lock taken on the same open descriptor.
            unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

impl Isolator for XfsDiskIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn recover(&self, states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> module_abi::Result<()> {
        let mut table = self.table();
        for state in states.iter().filter(|s| s.container_id.parent.is_none()) {
            let name = &state.container_id.value;
            let sandbox = PathBuf::from(&state.directory);
            if !sandbox.is_dir() {
                continue;
            }
            let project = match sandbox_project(&sandbox) {
                Ok(id) if self.config.project_range.contains(id) => id,
                // Started without this isolator: a fresh id (Mesos does the same).
                Ok(_) => self.assign(&table, &sandbox)?,
                Err(errno) => {
                    return Err(DiskError::ProjectId {
                        isolator: NAME,
                        action: "read the",
                        path: sandbox,
                        errno,
                    }
                    .into());
                }
            };
            let (resources, limits) =
                state.config.as_ref().map(|c| (c.resources.clone(), c.limits.clone())).unwrap_or_default();
            self.hold(&mut table, name, project, &resources, &limits)?;
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        let name = &container_id.value;
        let mut table = self.table();
        if table.contains_key(name) {
            return Err(DiskError::AlreadyPrepared { isolator: NAME, container: name.clone() }.into());
        }
        let sandbox = PathBuf::from(&config.directory);
        let project = self.assign(&table, &sandbox)?;
        self.hold(&mut table, name, project, &config.resources, &config.limits)?;
        Ok(None)
    }

    fn watch(&self, container_id: &ContainerId) -> module_abi::Result<Option<RawFd>> {
        Ok(self.table().get(&container_id.value).and_then(|c| c.timer.as_ref().map(Timer::fd)))
    }

    fn limitation(&self, container_id: &ContainerId) -> module_abi::Result<Option<ContainerLimitation>> {
        let name = &container_id.value;
        let (project, soft) = {
            let table = self.table();
            let Some(c) = table.get(name) else { return Ok(None) };
            match (&c.timer, c.quota) {
                (Some(timer), Some(quota)) if !c.reported && timer.expired() => (c.project, quota),
                _ => return Ok(None),
            }
        };
        let used = self.used(name, project)?;
        if used <= soft {
            return Ok(None);
        }
        if let Some(c) = self.table().get_mut(name) {
            c.reported = true;
        }
        Ok(Some(ContainerLimitation {
            resources: Resources::new().with("disk", bytes_to_mb(used)),
            message: format!("Disk usage ({}) exceeded quota ({})", format_bytes(used), format_bytes(soft)),
            reason: Some(Reason::REASON_CONTAINER_LIMITATION_DISK),
        }))
    }

    fn update(
        &self,
        container_id: &ContainerId,
        resources: &Resources,
        limits: &Resources,
    ) -> module_abi::Result<()> {
        let name = &container_id.value;
        let quota = sandbox_quota(NAME, name, resources, limits)?;
        let (project, _) = self.held(name)?;
        self.apply(name, project, quota)?;
        if let Some(c) = self.table().get_mut(name) {
            c.quota = quota;
        }
        Ok(())
    }

    fn usage(&self, container_id: &ContainerId) -> module_abi::Result<ResourceStatistics> {
        let name = &container_id.value;
        let (project, quota) = self.held(name)?;
        let used = self.used(name, project)?;
        Ok(ResourceStatistics {
            timestamp: Some(now()),
            disk_used_bytes: Some(used),
            disk_limit_bytes: quota,
            ..Default::default()
        })
    }

    fn status(&self, container_id: &ContainerId) -> module_abi::Result<module_abi::ContainerStatus> {
        let mut status = module_abi::ContainerStatus::default();
        if let Ok((project, _)) = self.held(&container_id.value) {
            status.info.insert("xfs_project_id".to_owned(), project.to_string());
        }
        Ok(status)
    }

    fn cleanup(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        // The project id stays on the sandbox (and so stays taken) until the sandbox is removed.
        self.table().remove(&container_id.value);
        Ok(())
    }
}
