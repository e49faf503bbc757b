//! What the modules share: the container table, the hierarchies in use, and the `Isolator`
//! lifecycle (prepare, isolate, update, usage, status, cleanup, recover) written once over a
//! [`Subsystem`], the small trait in which `cgroups/cpu` ([`crate::cpu`]), `cgroups/mem`
//! ([`crate::mem`]), `cgroups/pids` ([`crate::pids`]) and `cgroups/devices` ([`crate::devices`])
//! differ, as Mesos's `SubsystemProcess`es do under its one cgroups isolator.
//!
//! Layout, as Mesos: `<cgroups_root>/<container id>` in every hierarchy of the subsystem's
//! controllers on v1 (`cpu` and `cpuacct` are separate mounts on some hosts and co-mounted on
//! others; cgroupfs deduplicates), and `<hierarchy>/<cgroups_root>/<id>` with the processes in
//! its `leaf` on v2. On v2 the cgroups isolators and the containerizer share that one cgroup, so
//! there `prepare` creates what is missing and enables its controller (none for `cgroups/devices`,
//! whose eBPF filter is attached to the cgroup itself), and `cleanup` removes the cgroup if it is
//! still there; whichever comes first does the work. On v1 each hierarchy is the
//! isolator's own and `prepare` refuses an existing cgroup with Mesos's message.
//!
//! The table lock is never held across a wait: `cleanup` takes the container out of the table
//! before it kills and removes, so one slow container does not stall calls for the others.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use cgroupfs::{Cgroup, CgroupManager, CgroupMode, CgroupMounts, Controller, Hierarchies};
use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerState, ContainerStatus,
    Isolator, Module, Parameters, ResourceStatistics, Resources,
};

use crate::error::{IsolatorError, Result};
use crate::params::Config;

/// Names the isolator and container in errors.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub isolator: &'static str,
    pub container: &'a str,
}

impl Ctx<'_> {
    /// Wraps a cgroupfs error with what was being done.
    pub fn cgroup(&self, action: &'static str) -> impl FnOnce(cgroupfs::Error) -> IsolatorError + use<'_> {
        move |source| IsolatorError::Cgroup {
            isolator: self.isolator,
            action,
            container: self.container.to_owned(),
            source,
        }
    }

    /// Resources that cannot be applied.
    pub fn invalid(&self, reason: impl Into<String>) -> IsolatorError {
        IsolatorError::InvalidResources {
            isolator: self.isolator,
            container: self.container.to_owned(),
            reason: reason.into(),
        }
    }
}

/// What differs between `cgroups/cpu` and `cgroups/mem`.
pub trait Subsystem: Sized + Send + Sync + 'static {
    /// The Mesos isolator name (`cgroups/cpu`), used in errors and status keys.
    const NAME: &'static str;
    /// Per-container state besides the cgroup (the OOM listener of the memory isolator).
    type State: Send;

    /// The controllers a container cgroup uses in `mode`.
    fn controllers(mode: CgroupMode) -> &'static [Controller];
    /// Builds the subsystem, refusing parameters the host cannot honour. `hierarchies` holds only
    /// this subsystem's controllers, all of which are known to be there.
    fn new(config: &Config, hierarchies: &Hierarchies) -> Result<Self>;
    /// Called once, when `prepare` has created the cgroup and before any process is in it (not
    /// after `recover`): what is set for the container's whole life (the device whitelist).
    fn prepare(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<()> {
        let _ = (ctx, cgroup);
        Ok(())
    }
    /// Writes the limits for `resources` (requests) and `limits`.
    fn update(&self, ctx: Ctx<'_>, cgroup: &Cgroup, resources: &Resources, limits: &Resources) -> Result<()>;
    /// Called once the cgroup exists, after `prepare` or `recover`: opens what must stay open.
    fn start(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<Self::State>;
    /// The statistics this subsystem measures.
    fn usage(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<ResourceStatistics>;
    /// The descriptor the harness waits on for a limitation, if any.
    fn watch(&self, state: &Self::State) -> Option<RawFd> {
        let _ = state;
        None
    }
    /// What the watch descriptor woke up for: a limitation, or `None` for a spurious wake.
    fn limitation(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        state: &mut Self::State,
    ) -> Result<Option<ContainerLimitation>> {
        let _ = (ctx, cgroup, state);
        Ok(None)
    }
}

/// One container this isolator holds.
struct Container<T> {
    cgroup: Cgroup,
    resources: Resources,
    limits: Resources,
    state: T,
}

/// A cgroups isolator: Mesos's `cgroups/cpu`, `cgroups/mem`, `cgroups/pids` or `cgroups/devices`
/// depending on `S`.
pub struct CgroupsIsolator<S: Subsystem> {
    config: Config,
    hierarchies: Hierarchies,
    subsystem: S,
    containers: Mutex<BTreeMap<String, Container<S::State>>>,
}

impl<S: Subsystem> std::fmt::Debug for CgroupsIsolator<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CgroupsIsolator")
            .field("isolator", &S::NAME)
            .field("config", &self.config)
            .field("hierarchies", &self.hierarchies)
            .finish_non_exhaustive()
    }
}

impl<S: Subsystem> Module for CgroupsIsolator<S> {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        let config = Config::parse(S::NAME, &parameters).map_err(IsolatorError::from)?;
        let mounts = CgroupMounts::from_mountinfo(Path::new(cgroupfs::mounts::SELF_MOUNTINFO))
            .map_err(|source| IsolatorError::Hierarchy { isolator: S::NAME, source })?;
        let hierarchies = mounts.hierarchies(&config.cgroups.hierarchy);
        Ok(Self::new(config, hierarchies)?)
    }
}

impl<S: Subsystem> CgroupsIsolator<S> {
    /// An isolator over given hierarchies (detected ones, or a fake cgroupfs in tests). Fails when
    /// a controller the subsystem needs is not mounted (v1) or not offered by the root (v2).
    pub fn new(config: Config, hierarchies: Hierarchies) -> Result<Self> {
        let hierarchies = restrict(S::NAME, S::controllers(hierarchies.mode()), hierarchies)?;
        let subsystem = S::new(&config, &hierarchies)?;
        Ok(CgroupsIsolator { config, hierarchies, subsystem, containers: Mutex::new(BTreeMap::new()) })
    }

    /// The parameters in effect.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The hierarchies this isolator creates cgroups in (only its own controllers).
    pub fn hierarchies(&self) -> &Hierarchies {
        &self.hierarchies
    }

    /// The handle of a container's cgroup, whether or not it exists or is held.
    pub fn cgroup(&self, container_id: &ContainerId) -> Result<Cgroup> {
        let name = cgroup_name(container_id);
        self.hierarchies
            .cgroup(&self.config.cgroups.root, &name, S::controllers(self.hierarchies.mode()))
            .map_err(|source| IsolatorError::Cgroup {
                isolator: S::NAME,
                action: "name the cgroup",
                container: name,
                source,
            })
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<String, Container<S::State>>> {
        // A panic while the lock was held (caught at the ABI) leaves the table itself consistent:
        // every change is a single insert or remove.
        self.containers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unknown(name: &str) -> IsolatorError {
        IsolatorError::UnknownContainer { isolator: S::NAME, container: name.to_owned() }
    }

    /// The cgroup handle and resources of a held container.
    fn held(&self, name: &str) -> Result<(Cgroup, Resources, Resources)> {
        let table = self.table();
        let c = table.get(name).ok_or_else(|| Self::unknown(name))?;
        Ok((c.cgroup.clone(), c.resources.clone(), c.limits.clone()))
    }

    /// Creates the cgroup for `prepare`: on v1 it must not exist; on v2 it is shared.
    fn create(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<()> {
        match cgroup {
            Cgroup::V1(_) => cgroup.create().map_err(|e| match e {
                cgroupfs::Error::AlreadyExists { path } => IsolatorError::AlreadyExists { path },
                other => ctx.cgroup("create the cgroup")(other),
            }),
            Cgroup::V2(v2) => v2.create_or_enable().map_err(ctx.cgroup("create the cgroup")),
        }
    }

    /// Kills what is left in a cgroup and removes it; a missing cgroup is fine.
    fn destroy(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<()> {
        // Most containers have ended by cleanup: one rmdir per directory, and no listing, then.
        if cgroup.remove_if_empty() {
            return Ok(());
        }
        if cgroup.exists() && !cgroup.pids().map_err(ctx.cgroup("list the processes"))?.is_empty() {
            cgroup.kill_all(self.config.cgroups.destroy_timeout).map_err(ctx.cgroup("kill the processes"))?;
        }
        cgroup.remove().map_err(ctx.cgroup("remove the cgroup"))
    }

    /// Takes a container whose cgroup exists into the table (recovery).
    fn adopt(&self, container_id: &ContainerId, config: Option<&ContainerConfig>) -> Result<()> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        let cgroup = self.cgroup(container_id)?;
        if !cgroup.exists() {
            // Mesos only logs this: the container's cgroup is gone (for example the isolator was
            // added to the agent after the container started); there is nothing to hold.
            return Ok(());
        }
        let state = self.subsystem.start(ctx, &cgroup)?;
        let (resources, limits) = config.map(|c| (c.resources.clone(), c.limits.clone())).unwrap_or_default();
        self.table().insert(name, Container { cgroup, resources, limits, state });
        Ok(())
    }
}

/// Keeps only the hierarchies of `controllers`, failing when one is missing.
fn restrict(
    isolator: &'static str,
    controllers: &[Controller],
    hierarchies: Hierarchies,
) -> Result<Hierarchies> {
    match hierarchies {
        Hierarchies::V1 { mounts } => {
            let mut mine = BTreeMap::new();
            for controller in controllers {
                let mount = mounts.get(controller).ok_or_else(|| IsolatorError::Unsupported {
                    isolator,
                    reason: format!(
                        "no cgroup v1 hierarchy with controller '{}' is mounted (see /proc/self/mountinfo)",
                        controller.v1_name()
                    ),
                })?;
                mine.insert(*controller, mount.clone());
            }
            Ok(Hierarchies::V1 { mounts: mine })
        }
        Hierarchies::V2 { root } => {
            let path = root.join("cgroup.controllers");
            let available = std::fs::read_to_string(&path).map_err(|source| IsolatorError::File {
                isolator,
                path: path.clone(),
                source,
            })?;
            for name in controllers.iter().filter_map(|c| c.v2_name()) {
                if !available.split_whitespace().any(|a| a == name) {
                    return Err(IsolatorError::Unsupported {
                        isolator,
                        reason: format!("controller '{name}' is not available in {}", path.display()),
                    });
                }
            }
            Ok(Hierarchies::V2 { root })
        }
    }
}

/// The cgroup path of a container below the root: its id, or Mesos's `parent/mesos/child` for a
/// nested one.
pub fn cgroup_name(container_id: &ContainerId) -> String {
    match &container_id.parent {
        Some(parent) => format!("{}/mesos/{}", cgroup_name(parent), container_id.value),
        None => container_id.value.clone(),
    }
}

/// Seconds since the epoch, for `ResourceStatistics.timestamp`.
fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl<S: Subsystem> Isolator for CgroupsIsolator<S> {
    fn supports_nesting(&self) -> bool {
        false
    }

    fn supports_standalone(&self) -> bool {
        true
    }

    fn recover(&self, states: Vec<ContainerState>, orphans: Vec<ContainerId>) -> module_abi::Result<()> {
        let mut known = BTreeSet::new();
        for state in &states {
            self.adopt(&state.container_id, state.config.as_ref())?;
            known.insert(cgroup_name(&state.container_id));
        }
        // Known orphans are held so the harness's later `cleanup` of them removes their cgroups.
        for orphan in &orphans {
            self.adopt(orphan, None)?;
            known.insert(cgroup_name(orphan));
        }
        // Unknown orphans: cgroups under the root that nobody knows about; the isolator destroys
        // them itself, as Mesos's cgroups isolator does.
        let found = self
            .hierarchies
            .containers(&self.config.cgroups.root)
            .map_err(|source| IsolatorError::Hierarchy { isolator: S::NAME, source })?;
        for name in found.into_iter().filter(|n| !known.contains(n)) {
            let ctx = Ctx { isolator: S::NAME, container: &name };
            let cgroup = self.cgroup(&ContainerId::new(name.clone()))?;
            self.destroy(ctx, &cgroup)?;
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        if self.table().contains_key(&name) {
            return Err(IsolatorError::AlreadyPrepared { isolator: S::NAME, container: name }.into());
        }
        let cgroup = self.cgroup(container_id)?;
        self.create(ctx, &cgroup)?;
        // Held from here on, so the `cleanup` that follows a failed prepare removes the cgroup.
        let state =
            match self.subsystem.prepare(ctx, &cgroup).and_then(|()| self.subsystem.start(ctx, &cgroup)) {
                Ok(state) => state,
                Err(e) => {
                    let _ = self.destroy(ctx, &cgroup);
                    return Err(e.into());
                }
            };
        self.table().insert(
            name.clone(),
            Container {
                cgroup: cgroup.clone(),
                resources: config.resources.clone(),
                limits: config.limits.clone(),
                state,
            },
        );
        self.subsystem.update(ctx, &cgroup, &config.resources, &config.limits)?;
        Ok(None)
    }

    fn isolate(&self, container_id: &ContainerId, pid: i32) -> module_abi::Result<()> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        let (cgroup, _, _) = self.held(&name)?;
        if let Err(e) = cgroup.assign(pid) {
            // The containerizer may have placed the process already (CLONE_INTO_CGROUP); only a
            // pid that is not there is an error.
            if !cgroup.pids().unwrap_or_default().contains(&pid) {
                return Err(ctx.cgroup("assign the process")(e).into());
            }
        }
        Ok(())
    }

    fn watch(&self, container_id: &ContainerId) -> module_abi::Result<Option<RawFd>> {
        let name = cgroup_name(container_id);
        let table = self.table();
        let container = table.get(&name).ok_or_else(|| Self::unknown(&name))?;
        Ok(self.subsystem.watch(&container.state))
    }

    fn limitation(&self, container_id: &ContainerId) -> module_abi::Result<Option<ContainerLimitation>> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        let mut table = self.table();
        let Some(container) = table.get_mut(&name) else {
            // Cleaned up while the harness was waking: nothing to report.
            return Ok(None);
        };
        Ok(self.subsystem.limitation(ctx, &container.cgroup, &mut container.state)?)
    }

    fn update(
        &self,
        container_id: &ContainerId,
        resources: &Resources,
        limits: &Resources,
    ) -> module_abi::Result<()> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        let (cgroup, _, _) = self.held(&name)?;
        self.subsystem.update(ctx, &cgroup, resources, limits)?;
        if let Some(c) = self.table().get_mut(&name) {
            c.resources = resources.clone();
            c.limits = limits.clone();
        }
        Ok(())
    }

    fn usage(&self, container_id: &ContainerId) -> module_abi::Result<ResourceStatistics> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        let (cgroup, resources, limits) = self.held(&name)?;
        let mut statistics = self.subsystem.usage(ctx, &cgroup, &resources, &limits)?;
        statistics.timestamp = Some(now());
        Ok(statistics)
    }

    fn status(&self, container_id: &ContainerId) -> module_abi::Result<ContainerStatus> {
        let name = cgroup_name(container_id);
        let (cgroup, _, _) = self.held(&name)?;
        let mut status = ContainerStatus::default();
        status.info.insert("cgroup".to_owned(), format!("/{}/{name}", self.config.cgroups.root));
        let dirs: Vec<String> = cgroup.dirs().iter().map(|d| d.display().to_string()).collect();
        status.info.insert(S::NAME.to_owned(), dirs.join(","));
        Ok(status)
    }

    fn cleanup(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        let name = cgroup_name(container_id);
        let ctx = Ctx { isolator: S::NAME, container: &name };
        // Unknown containers are fine (MESOS-6059); the state (and its OOM listener) is dropped
        // before the cgroup goes.
        let Some(container) = self.table().remove(&name) else {
            return Ok(());
        };
        drop(container.state);
        Ok(self.destroy(ctx, &container.cgroup)?)
    }
}
