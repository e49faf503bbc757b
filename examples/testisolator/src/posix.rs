//! Mesos's posix isolators (`src/slave/containerizer/mesos/isolators/posix.hpp`): they isolate
//! nothing; they remember each container's pid and report its process tree's usage from `/proc`.
//! The cpu and memory flavours differ only in which statistics they report.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, Isolator, Module, Parameters,
    ResourceStatistics, Resources, Result, bail,
};
use nix::unistd::{SysconfVar, sysconf};

use crate::proc::{TreeUsage, tree_usage};

/// Which statistics a posix isolator reports from a process tree's usage.
pub trait Measure: Send + Sync + 'static {
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<()>;
}

/// Mesos's `PosixCpuIsolatorProcess`: cpu times, processes and threads.
pub struct Cpu;

/// Mesos's `PosixMemIsolatorProcess`: resident memory.
pub struct Mem;

impl Measure for Cpu {
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<()> {
        let ticks = match sysconf(SysconfVar::CLK_TCK) {
            Ok(Some(ticks)) if ticks > 0 => ticks as f64,
            other => bail!("cannot read sysconf(_SC_CLK_TCK): {other:?}"),
        };
        statistics.cpus_user_time_secs = Some(usage.utime_ticks as f64 / ticks);
        statistics.cpus_system_time_secs = Some(usage.stime_ticks as f64 / ticks);
        statistics.processes = Some(usage.processes);
        statistics.threads = Some(usage.threads);
        Ok(())
    }
}

impl Measure for Mem {
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<()> {
        let page_size = match sysconf(SysconfVar::PAGE_SIZE) {
            Ok(Some(size)) if size > 0 => size.unsigned_abs(),
            other => bail!("cannot read sysconf(_SC_PAGESIZE): {other:?}"),
        };
        let rss = usage.rss_pages * page_size;
        statistics.mem_rss_bytes = Some(rss);
        // Without a cgroup there is no page cache or kernel memory to add: the resident set is
        // all the memory a posix isolator can attribute to the container.
        statistics.mem_total_bytes = Some(rss);
        Ok(())
    }
}

/// A posix isolator: the pid of every container it knows (`None` between prepare and isolate).
pub struct PosixIsolator<M> {
    pids: Mutex<HashMap<ContainerId, Option<i32>>>,
    measure: PhantomData<fn() -> M>,
}

impl<M> PosixIsolator<M> {
    fn pids(&self) -> MutexGuard<'_, HashMap<ContainerId, Option<i32>>> {
        // A panic while the lock was held left the map whole (every change is one insert or
        // remove), so a poisoned lock is still safe to use.
        self.pids.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn known(&self, container_id: &ContainerId) -> Result<()> {
        if !self.pids().contains_key(container_id) {
            bail!("unknown container: {container_id}");
        }
        Ok(())
    }
}

impl<M: Measure> Module for PosixIsolator<M> {
    /// Parameters are ignored, as in Mesos's `test_isolator_module.cpp`.
    fn create(_parameters: Parameters) -> Result<Self> {
        Ok(PosixIsolator { pids: Mutex::new(HashMap::new()), measure: PhantomData })
    }
}

impl<M: Measure> Isolator for PosixIsolator<M> {
    fn recover(&self, states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> Result<()> {
        let mut pids = self.pids();
        for state in states {
            if pids.contains_key(&state.container_id) {
                bail!("container {} already recovered", state.container_id);
            }
            let pid = state.pid;
            if pid <= 0 {
                bail!("container {} has an invalid pid {}", state.container_id, state.pid);
            }
            pids.insert(state.container_id, Some(pid));
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let mut pids = self.pids();
        if pids.contains_key(container_id) {
            bail!("container {container_id} has already been prepared");
        }
        pids.insert(container_id.clone(), None);
        Ok(None)
    }

    fn isolate(&self, container_id: &ContainerId, pid: i32) -> Result<()> {
        match self.pids().get_mut(container_id) {
            Some(slot) => {
                *slot = Some(pid);
                Ok(())
            }
            None => bail!("unknown container: {container_id}"),
        }
    }

    /// A posix isolator never limits, so there is nothing to wait on.
    fn watch(&self, container_id: &ContainerId) -> Result<Option<std::os::fd::RawFd>> {
        self.known(container_id)?;
        Ok(None)
    }

    /// No resources are isolated, so there is nothing to update.
    fn update(&self, container_id: &ContainerId, _: &Resources, _: &Resources) -> Result<()> {
        self.known(container_id)
    }

    /// Empty statistics for an unknown (or not yet isolated) container, as Mesos does.
    fn usage(&self, container_id: &ContainerId) -> Result<ResourceStatistics> {
        let Some(pid) = self.pids().get(container_id).copied().flatten() else {
            return Ok(ResourceStatistics::default());
        };
        let usage = tree_usage(Path::new("/proc"), pid)
            .map_err(|e| module_abi::Error::msg(format!("usage of container {container_id}: {e}")))?;
        let mut statistics = ResourceStatistics {
            timestamp: SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|t| t.as_secs_f64()),
            ..ResourceStatistics::default()
        };
        M::statistics(&usage, &mut statistics)?;
        Ok(statistics)
    }

    fn cleanup(&self, container_id: &ContainerId) -> Result<()> {
        self.pids().remove(container_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isolated<M: Measure>(id: &ContainerId) -> PosixIsolator<M> {
        let isolator = PosixIsolator::<M>::create(Vec::new()).unwrap();
        isolator.prepare(id, &ContainerConfig::default()).unwrap();
        isolator.isolate(id, std::process::id() as i32).unwrap();
        isolator
    }

    #[test]
    fn cpu_usage_of_this_process_tree_is_not_zero() {
        let id = ContainerId::new("cpu");
        let isolator = isolated::<Cpu>(&id);
        // Burn a little cpu so at least one clock tick (10 ms at 100 Hz) is accounted.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let stats = isolator.usage(&id).unwrap();
        let cpu = stats.cpus_user_time_secs.unwrap() + stats.cpus_system_time_secs.unwrap();
        assert!(cpu > 0.0, "{stats:?}");
        assert!(stats.processes.unwrap() >= 1, "{stats:?}");
        assert!(stats.threads.unwrap() >= 1, "{stats:?}");
        assert!(stats.timestamp.is_some());
        assert!(stats.mem_rss_bytes.is_none(), "cpu reports no memory");
    }

    #[test]
    fn mem_usage_of_this_process_tree_is_not_zero() {
        let id = ContainerId::new("mem");
        let isolator = isolated::<Mem>(&id);
        let stats = isolator.usage(&id).unwrap();
        assert!(stats.mem_rss_bytes.unwrap() > 0, "{stats:?}");
        assert_eq!(stats.mem_total_bytes, stats.mem_rss_bytes);
        assert!(stats.cpus_user_time_secs.is_none(), "mem reports no cpu");
    }

    #[test]
    fn follows_mesos_bookkeeping() {
        let id = ContainerId::new("c1");
        let isolator = isolated::<Cpu>(&id);
        let err = isolator.prepare(&id, &ContainerConfig::default()).unwrap_err();
        assert_eq!(err.message(), "container c1 has already been prepared");

        let unknown = ContainerId::new("unknown");
        assert!(isolator.isolate(&unknown, 1).is_err());
        assert_eq!(isolator.usage(&unknown).unwrap(), ResourceStatistics::default());
        isolator.cleanup(&unknown).unwrap();

        isolator.cleanup(&id).unwrap();
        assert_eq!(isolator.usage(&id).unwrap(), ResourceStatistics::default());
        assert!(isolator.watch(&id).is_err());
    }
}
