//! `disk/du` (Mesos's `isolators/posix/disk.cpp`): measures each sandbox's disk usage by walking
//! it ([`crate::walk`]: no `du` process, no symlink followed, bounded), and with
//! `enforce_container_disk_quota` reports Mesos's disk limitation for a container over its `disk`
//! resource, which the harness then kills.
//!
//! - **Polling.** A container with a quota and enforcement on gets a periodic timer descriptor
//!   ([`crate::timer`]) as its watch; every `container_disk_watch_interval` the harness wakes and
//!   calls `limitation`, which measures that sandbox. One event loop waits on every container and a
//!   lock keeps to one measurement at a time, so as in Mesos one walk runs at a time over all
//!   containers, with no thread per container. The walk runs on the caller's thread and is bounded
//!   by [`crate::walk::MAX_ENTRIES`] entries.
//! - **Limitation.** Mesos's `Disk usage (<used>) exceeds quota (<quota>)` (stout's byte format),
//!   reason `REASON_CONTAINER_LIMITATION_DISK`, resources the `disk` quota (MB). Reported once.
//! - **usage** measures the sandbox at once (Mesos serves its last poll): `disk_used_bytes`, and
//!   `disk_limit_bytes` when the container has a quota.
//! - **Accounting only** (the default): no timer; the first container with a quota says once on
//!   stderr that its quota is only accounted.
//! - Top-level containers only (nested ones are never given to it), as Mesos.
//!
//! Differences from Mesos: persistent volumes are not measured (the harness has none), and usage
//! counts allocated blocks of the sandbox's own file system only (like `du -x`).

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerState, Isolator, Module,
    Parameters, Reason, ResourceStatistics, Resources,
};

use crate::bytes::{bytes_to_mb, format_bytes};
use crate::error::{DiskError, Result};
use crate::params::Config;
use crate::quota::{AccountingNotice, now, sandbox_quota};
use crate::timer::Timer;
use crate::walk::{MAX_ENTRIES, disk_usage};

const NAME: &str = "disk/du";

struct Container {
    sandbox: PathBuf,
    quota: Option<u64>,
    timer: Option<Timer>,
    reported: bool,
}

/// The module type of `org_apache_mesos_DiskDuIsolator`.
pub struct DiskDuIsolator {
    config: Config,
    containers: Mutex<BTreeMap<String, Container>>,
    /// Held during a walk: one measurement at a time.
    measuring: Mutex<()>,
    notice: AccountingNotice,
}

impl std::fmt::Debug for DiskDuIsolator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskDuIsolator").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Module for DiskDuIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        let config = Config::parse(NAME, &parameters).map_err(DiskError::from)?;
        Ok(DiskDuIsolator::new(config))
    }
}

impl DiskDuIsolator {
    pub fn new(config: Config) -> DiskDuIsolator {
        DiskDuIsolator {
            config,
            containers: Mutex::new(BTreeMap::new()),
            measuring: Mutex::new(()),
            notice: AccountingNotice::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<String, Container>> {
        self.containers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a container in (prepare, recover), with a timer when its quota is enforced.
    fn hold(&self, name: &str, sandbox: PathBuf, resources: &Resources, limits: &Resources) -> Result<()> {
        let quota = sandbox_quota(NAME, name, resources, limits)?;
        let timer = self.timer_for(name, quota)?;
        self.table().insert(name.to_owned(), Container { sandbox, quota, timer, reported: false });
        Ok(())
    }

    fn timer_for(&self, name: &str, quota: Option<u64>) -> Result<Option<Timer>> {
        match quota {
            Some(_) if self.config.enforce => Timer::periodic(self.config.watch_interval)
                .map(Some)
                .map_err(|source| DiskError::Timer { isolator: NAME, container: name.to_owned(), source }),
            Some(bytes) => {
                self.notice.tell(NAME, name, bytes);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Measures a sandbox, one walk at a time.
    fn measure(&self, name: &str, sandbox: &std::path::Path) -> Result<u64> {
        let _one = self.measuring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (bytes, _) = disk_usage(sandbox, MAX_ENTRIES).map_err(|source| DiskError::Walk {
            isolator: NAME,
            container: name.to_owned(),
            source,
        })?;
        Ok(bytes)
    }

    fn held(&self, name: &str) -> Result<(PathBuf, Option<u64>)> {
        let table = self.table();
        let c = table
            .get(name)
            .ok_or_else(|| DiskError::UnknownContainer { isolator: NAME, container: name.to_owned() })?;
        Ok((c.sandbox.clone(), c.quota))
    }
}

impl Isolator for DiskDuIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }

    fn recover(&self, states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> module_abi::Result<()> {
        for state in states.iter().filter(|s| s.container_id.parent.is_none()) {
            let (resources, limits) =
                state.config.as_ref().map(|c| (c.resources.clone(), c.limits.clone())).unwrap_or_default();
            self.hold(&state.container_id.value, PathBuf::from(&state.directory), &resources, &limits)?;
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        let name = &container_id.value;
        if self.table().contains_key(name) {
            return Err(DiskError::AlreadyPrepared { isolator: NAME, container: name.clone() }.into());
        }
        self.hold(name, PathBuf::from(&config.directory), &config.resources, &config.limits)?;
        Ok(None)
    }

    fn watch(&self, container_id: &ContainerId) -> module_abi::Result<Option<RawFd>> {
        let table = self.table();
        Ok(table.get(&container_id.value).and_then(|c| c.timer.as_ref().map(Timer::fd)))
    }

    fn limitation(&self, container_id: &ContainerId) -> module_abi::Result<Option<ContainerLimitation>> {
        let name = &container_id.value;
        let (sandbox, quota) = {
            let table = self.table();
            let Some(c) = table.get(name) else { return Ok(None) };
            // Only a timer expiry measures (not the harness's last ask when the process ended).
            match (&c.timer, c.quota) {
                (Some(timer), Some(quota)) if !c.reported && timer.expired() => (c.sandbox.clone(), quota),
                _ => return Ok(None),
            }
        };
        let used = self.measure(name, &sandbox)?;
        if used <= quota {
            return Ok(None);
        }
        if let Some(c) = self.table().get_mut(name) {
            c.reported = true;
        }
        Ok(Some(ContainerLimitation {
            resources: Resources::new().with("disk", bytes_to_mb(quota)),
            message: format!("Disk usage ({}) exceeds quota ({})", format_bytes(used), format_bytes(quota)),
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
        let mut table = self.table();
        let c = table
            .get_mut(name)
            .ok_or_else(|| DiskError::UnknownContainer { isolator: NAME, container: name.clone() })?;
        // The watch descriptor stays the same for the container's life (the harness holds a
        // duplicate): only the quota changes.
        c.quota = quota;
        Ok(())
    }

    fn usage(&self, container_id: &ContainerId) -> module_abi::Result<ResourceStatistics> {
        let name = &container_id.value;
        let (sandbox, quota) = self.held(name)?;
        let used = self.measure(name, &sandbox)?;
        Ok(ResourceStatistics {
            timestamp: Some(now()),
            disk_used_bytes: Some(used),
            disk_limit_bytes: quota,
            ..Default::default()
        })
    }

    fn cleanup(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        self.table().remove(&container_id.value);
        Ok(())
    }
}
