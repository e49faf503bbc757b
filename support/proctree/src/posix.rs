//! Mesos's posix isolators (`src/slave/containerizer/mesos/isolators/posix.hpp`): they isolate
//! nothing; they remember the pid each container was isolated (or recovered) with and report the
//! usage of its process tree from `/proc` (`src/usage/usage.cpp`). The cpu and memory flavours
//! differ only in which statistics they report ([`Measure`]).
//!
//! The bookkeeping is Mesos's: `prepare` twice is an error; `isolate`, `watch` and `update` of an
//! unknown container are errors; `usage` of an unknown or not yet isolated container is empty
//! statistics; `cleanup` of an unknown one is fine; a posix isolator never reports a limitation.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, Isolator, Module, Parameters,
    ResourceStatistics, Resources,
};
use module_params::Params;
use nix::unistd::{SysconfVar, sysconf};

use crate::error::{PosixError, UsageError};
use crate::tree::{TreeUsage, tree_usage};

/// Which statistics a posix isolator reports from a process tree's usage, and its name.
pub trait Measure: Send + Sync + 'static {
    /// The name errors start with (`posix/cpu`).
    const NAME: &'static str;
    /// Whether parameters are ignored rather than refused. Mesos's test modules
    /// (`src/examples/test_isolator_module.cpp`) ignore theirs; the posix isolators take none, so
    /// any key is an unknown one ([`module_params`]).
    const IGNORES_PARAMETERS: bool = false;
    /// Fills in `statistics` from `usage`.
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError>;
}

/// Mesos's `PosixCpuIsolatorProcess`: user and system time; also the processes and threads of the
/// tree, which Mesos's `usage()` leaves out.
#[derive(Debug)]
pub struct Cpu;

/// Mesos's `PosixMemIsolatorProcess`: the resident set.
#[derive(Debug)]
pub struct Mem;

impl Measure for Cpu {
    const NAME: &'static str = "posix/cpu";

    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError> {
        let ticks = match sysconf(SysconfVar::CLK_TCK) {
            Ok(Some(ticks)) if ticks > 0 => ticks as f64,
            _ => return Err(UsageError::Sysconf { name: "_SC_CLK_TCK" }),
        };
        statistics.cpus_user_time_secs = Some(usage.utime_ticks as f64 / ticks);
        statistics.cpus_system_time_secs = Some(usage.stime_ticks as f64 / ticks);
        statistics.processes = Some(usage.processes);
        statistics.threads = Some(usage.threads);
        Ok(())
    }
}

impl Measure for Mem {
    const NAME: &'static str = "posix/mem";

    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError> {
        let page_size = match sysconf(SysconfVar::PAGE_SIZE) {
            Ok(Some(size)) if size > 0 => size.unsigned_abs(),
            _ => return Err(UsageError::Sysconf { name: "_SC_PAGESIZE" }),
        };
        // Only the resident set, as Mesos: without a cgroup there is no page cache or kernel
        // memory to attribute to the container.
        statistics.mem_rss_bytes = Some(usage.rss_pages.saturating_mul(page_size));
        Ok(())
    }
}

/// A posix isolator: the pid of every container it knows (`None` between prepare and isolate).
pub struct PosixIsolator<M> {
    pids: Mutex<HashMap<ContainerId, Option<i32>>>,
    measure: PhantomData<fn() -> M>,
}

impl<M: Measure> std::fmt::Debug for PosixIsolator<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PosixIsolator").field("isolator", &M::NAME).finish_non_exhaustive()
    }
}

impl<M: Measure> PosixIsolator<M> {
    /// An isolator holding no container.
    pub fn new() -> Self {
        PosixIsolator { pids: Mutex::new(HashMap::new()), measure: PhantomData }
    }

    fn pids(&self) -> MutexGuard<'_, HashMap<ContainerId, Option<i32>>> {
        // A panic while the lock was held left the map whole (every change is one insert or
        // remove), so a poisoned lock is still safe to use.
        self.pids.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unknown(container_id: &ContainerId) -> PosixError {
        PosixError::UnknownContainer { isolator: M::NAME, container: container_id.to_string() }
    }

    fn known(&self, container_id: &ContainerId) -> Result<(), PosixError> {
        if self.pids().contains_key(container_id) { Ok(()) } else { Err(Self::unknown(container_id)) }
    }

    /// The usage of the tree rooted at `pid`, read from `proc_root` (normally `/proc`).
    pub fn usage_at(
        proc_root: &Path,
        container_id: &ContainerId,
        pid: i32,
    ) -> Result<ResourceStatistics, PosixError> {
        let usage =
            |source| PosixError::Usage { isolator: M::NAME, container: container_id.to_string(), source };
        let tree = tree_usage(proc_root, pid).map_err(usage)?;
        let mut statistics = ResourceStatistics {
            timestamp: SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|t| t.as_secs_f64()),
            ..ResourceStatistics::default()
        };
        M::statistics(&tree, &mut statistics).map_err(usage)?;
        Ok(statistics)
    }
}

impl<M: Measure> Default for PosixIsolator<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Measure> Module for PosixIsolator<M> {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        if !M::IGNORES_PARAMETERS {
            Params::new(M::NAME, &parameters, &[]).map_err(PosixError::from)?;
        }
        Ok(PosixIsolator::new())
    }
}

impl<M: Measure> Isolator for PosixIsolator<M> {
    fn recover(&self, states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> module_abi::Result<()> {
        let mut pids = self.pids();
        for state in states {
            let refuse = |reason: String| PosixError::Recover {
                isolator: M::NAME,
                container: state.container_id.to_string(),
                reason,
            };
            if pids.contains_key(&state.container_id) {
                return Err(refuse("it is already held".to_owned()).into());
            }
            if state.pid <= 0 {
                return Err(refuse(format!("invalid pid {}", state.pid)).into());
            }
            pids.insert(state.container_id, Some(state.pid));
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        let mut pids = self.pids();
        if pids.contains_key(container_id) {
            return Err(PosixError::AlreadyPrepared {
                isolator: M::NAME,
                container: container_id.to_string(),
            }
            .into());
        }
        pids.insert(container_id.clone(), None);
        Ok(None)
    }

    fn isolate(&self, container_id: &ContainerId, pid: i32) -> module_abi::Result<()> {
        match self.pids().get_mut(container_id) {
            Some(slot) => {
                *slot = Some(pid);
                Ok(())
            }
            None => Err(Self::unknown(container_id).into()),
        }
    }

    /// A posix isolator never limits, so there is nothing to wait on.
    fn watch(&self, container_id: &ContainerId) -> module_abi::Result<Option<std::os::fd::RawFd>> {
        self.known(container_id)?;
        Ok(None)
    }

    /// No resources are isolated, so there is nothing to update.
    fn update(&self, container_id: &ContainerId, _: &Resources, _: &Resources) -> module_abi::Result<()> {
        Ok(self.known(container_id)?)
    }

    /// Empty statistics for an unknown (or not yet isolated) container, as Mesos does.
    fn usage(&self, container_id: &ContainerId) -> module_abi::Result<ResourceStatistics> {
        let Some(pid) = self.pids().get(container_id).copied().flatten() else {
            return Ok(ResourceStatistics::default());
        };
        Ok(Self::usage_at(Path::new("/proc"), container_id, pid)?)
    }

    fn cleanup(&self, container_id: &ContainerId) -> module_abi::Result<()> {
        self.pids().remove(container_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use module_abi::Parameter;

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
        assert_eq!(stats.mem_total_bytes, None, "Mesos's posix/mem reports the resident set only");
        assert!(stats.cpus_user_time_secs.is_none() && stats.processes.is_none(), "mem reports no cpu");
    }

    #[test]
    fn follows_mesos_bookkeeping() {
        let id = ContainerId::new("c1");
        let isolator = isolated::<Cpu>(&id);
        let err = isolator.prepare(&id, &ContainerConfig::default()).unwrap_err();
        assert_eq!(err.message(), "posix/cpu: container 'c1' has already been prepared");

        let unknown = ContainerId::new("unknown");
        let err = isolator.isolate(&unknown, 1).unwrap_err();
        assert_eq!(err.message(), "posix/cpu: unknown container 'unknown'");
        assert!(isolator.update(&unknown, &Resources::new(), &Resources::new()).is_err());
        assert_eq!(isolator.usage(&unknown).unwrap(), ResourceStatistics::default());
        isolator.cleanup(&unknown).unwrap();

        // Prepared but not isolated: no pid to measure yet.
        let waiting = ContainerId::new("waiting");
        isolator.prepare(&waiting, &ContainerConfig::default()).unwrap();
        assert_eq!(isolator.usage(&waiting).unwrap(), ResourceStatistics::default());
        assert_eq!(isolator.watch(&waiting).unwrap(), None);

        isolator.cleanup(&id).unwrap();
        assert_eq!(isolator.usage(&id).unwrap(), ResourceStatistics::default());
        assert!(isolator.watch(&id).is_err());
    }

    #[test]
    fn recover_holds_the_pid_and_refuses_twice_or_a_bad_pid() {
        let isolator = PosixIsolator::<Mem>::new();
        let state = |id: &str, pid| ContainerState {
            container_id: ContainerId::new(id),
            pid,
            directory: "/tmp".into(),
            config: None,
        };
        isolator.recover(vec![state("c1", std::process::id() as i32)], vec![]).unwrap();
        assert!(isolator.usage(&ContainerId::new("c1")).unwrap().mem_rss_bytes.is_some());
        let err = isolator.recover(vec![state("c1", 1)], vec![]).unwrap_err();
        assert_eq!(err.message(), "posix/mem: cannot recover container 'c1': it is already held");
        let err = isolator.recover(vec![state("c2", 0)], vec![]).unwrap_err();
        assert_eq!(err.message(), "posix/mem: cannot recover container 'c2': invalid pid 0");
    }

    #[test]
    fn usage_of_a_gone_process_names_the_container() {
        let dir = tempfile::tempdir().unwrap();
        let err = PosixIsolator::<Cpu>::usage_at(dir.path(), &ContainerId::new("c1"), 42).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("posix/cpu: no usage of container 'c1': no process 42 in {}", dir.path().display())
        );
    }

    /// Mesos's test modules ignore parameters; the posix isolators refuse any.
    struct Lenient;
    impl Measure for Lenient {
        const NAME: &'static str = "test";
        const IGNORES_PARAMETERS: bool = true;
        fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError> {
            Mem::statistics(usage, statistics)
        }
    }

    #[test]
    fn parameters_are_refused_unless_ignored() {
        let params = vec![Parameter { key: "cgroups_root".into(), value: "mesos".into() }];
        let err = PosixIsolator::<Cpu>::create(params.clone()).unwrap_err();
        assert_eq!(err.message(), "posix/cpu: unknown parameter 'cgroups_root' (it takes no parameters)");
        assert!(PosixIsolator::<Lenient>::create(params).is_ok());
    }
}
