//! The one boundary the isolator and the launcher program against: [`CgroupManager`], implemented
//! for v1 and v2 and by the [`Cgroup`] enum that delegates by `match` (youki's `AnyCgroupManager`
//! shape). Swapping the file layer (for cgroups-rs or another crate) means implementing this trait.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::devices::DeviceRule;
use crate::error::Result;
use crate::formulas::{CpuQuota, CpuSpec, MemoryLimit, MemorySpec};
use crate::oom::OomListener;
use crate::pids::{PidsLimit, PidsSettings};
use crate::stats::Statistics;
use crate::v1::V1Cgroup;
use crate::v2::V2Cgroup;

/// What the CPU controller holds, read back from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSettings {
    /// v1 `cpu.shares`; `None` on v2.
    pub shares: Option<u64>,
    /// v2 `cpu.weight`; `None` on v1.
    pub weight: Option<u64>,
    /// The CFS period in microseconds.
    pub period_us: u64,
    /// The CFS quota per period.
    pub quota: CpuQuota,
}

/// What the memory controller holds, read back from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySettings {
    /// v1 `memory.soft_limit_in_bytes`, v2 `memory.low`.
    pub soft: MemoryLimit,
    /// v1 `memory.limit_in_bytes`, v2 `memory.max`.
    pub hard: MemoryLimit,
}

/// Everything a container cgroup supports. All methods act on the kernel files at once; a handle
/// holds no state, so a new handle after an agent restart behaves the same.
pub trait CgroupManager {
    /// Creates the cgroup in every hierarchy it needs; fails with
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when any is present, touching nothing.
    fn create(&self) -> Result<()>;
    /// Whether the cgroup exists (in any of its hierarchies).
    fn exists(&self) -> bool;
    /// Moves the process `pid` (all its threads) into the cgroup through `cgroup.procs`.
    fn assign(&self, pid: i32) -> Result<()>;
    /// The processes in the cgroup and its descendants, sorted.
    fn pids(&self) -> Result<Vec<i32>>;
    /// The directories a process is placed in (each v1 hierarchy; the v2 leaf): for
    /// `CLONE_INTO_CGROUP` or a child writing itself into `cgroup.procs`.
    fn process_dirs(&self) -> Vec<PathBuf>;
    /// Every directory of the cgroup (each v1 hierarchy once; the v2 non-leaf): for chown or
    /// bind-mounting into a container's rootfs.
    fn dirs(&self) -> Vec<PathBuf>;
    /// Writes shares/weight and, when the spec asks for one, the CFS quota.
    fn update_cpu(&self, spec: &CpuSpec) -> Result<()>;
    /// Reads back the CPU settings.
    fn cpu_settings(&self) -> Result<CpuSettings>;
    /// Writes the soft limit and the hard limit (never lowered); returns what is now in effect.
    fn update_memory(&self, spec: &MemorySpec) -> Result<MemorySettings>;
    /// Reads back the memory limits.
    fn memory_settings(&self) -> Result<MemorySettings>;
    /// Writes `pids.max`, the tasks the cgroup and its descendants may hold.
    fn update_pids(&self, max: PidsLimit) -> Result<()>;
    /// Reads back `pids.max`, `pids.current` and the forks refused (`pids.events`).
    fn pids_settings(&self) -> Result<PidsSettings>;
    /// Allows exactly `rules` to the cgroup's processes and denies every other device: on v1
    /// `devices.deny` of everything, then one `devices.allow` line per rule; on v2 an eBPF device
    /// filter attached to the cgroup ([`crate::ebpf`]).
    fn update_devices(&self, rules: &[DeviceRule]) -> Result<()>;
    /// Reads the statistics of the controllers in use (everything [`Self::cpu_stats`] and
    /// [`Self::memory_stats`] read, plus the peak memory use).
    fn stats(&self) -> Result<Statistics>;
    /// Reads only what `cgroups/cpu` reports: CPU times, throttling and the processes. A usage
    /// sweep calls this and [`Self::memory_stats`] from different isolators, so each reads only
    /// its own files.
    fn cpu_stats(&self) -> Result<Statistics>;
    /// Reads only what `cgroups/mem` reports: usage, `memory.stat`, kernel memory and, when
    /// `swap` (Mesos's `--cgroups_limit_swap`), memory+swap.
    fn memory_stats(&self, swap: bool) -> Result<Statistics>;
    /// The threads in the cgroup and its descendants (v1 `tasks`, v2 `cgroup.threads`), sorted.
    fn threads(&self) -> Result<Vec<i32>>;
    /// A descriptor that becomes readable on OOM (and on other memory events, see [`OomListener`]).
    fn oom_listener(&self) -> Result<OomListener>;
    /// Whether the cgroup has hit an OOM.
    fn oom_occurred(&self) -> Result<bool>;
    /// Mesos's limitation message for an OOM, with the limit, peak use and `memory.stat`.
    fn oom_message(&self) -> Result<String>;
    /// Kills every process of the cgroup and its descendants and waits until none is left.
    fn kill_all(&self, timeout: Duration) -> Result<()>;
    /// Removes the cgroup directories bottom-up; a missing cgroup is fine. Processes must be gone.
    fn remove(&self) -> Result<()>;
    /// The fast way out for a cgroup whose processes have all exited (the usual end of a
    /// container, whose init took the rest of its pid namespace with it): one `rmdir` per
    /// directory, which the kernel refuses for a cgroup with a process or a nested cgroup in it.
    /// True when none of the directories is left; otherwise [`Self::kill_all`] and
    /// [`Self::remove`] must follow (what this removed stays removed).
    fn remove_if_empty(&self) -> bool {
        self.dirs().iter().all(|dir| match std::fs::remove_dir(dir) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        })
    }
}

/// A container cgroup on either version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroup {
    /// cgroup v1 (including hybrid hosts).
    V1(V1Cgroup),
    /// cgroup v2.
    V2(V2Cgroup),
}

macro_rules! delegate {
    ($self:ident, $cg:ident => $call:expr) => {
        match $self {
            Cgroup::V1($cg) => $call,
            Cgroup::V2($cg) => $call,
        }
    };
}

impl CgroupManager for Cgroup {
    fn create(&self) -> Result<()> {
        delegate!(self, cg => cg.create())
    }
    fn exists(&self) -> bool {
        delegate!(self, cg => cg.exists())
    }
    fn assign(&self, pid: i32) -> Result<()> {
        delegate!(self, cg => cg.assign(pid))
    }
    fn pids(&self) -> Result<Vec<i32>> {
        delegate!(self, cg => cg.pids())
    }
    fn process_dirs(&self) -> Vec<PathBuf> {
        delegate!(self, cg => cg.process_dirs())
    }
    fn dirs(&self) -> Vec<PathBuf> {
        delegate!(self, cg => cg.dirs())
    }
    fn update_cpu(&self, spec: &CpuSpec) -> Result<()> {
        delegate!(self, cg => cg.update_cpu(spec))
    }
    fn cpu_settings(&self) -> Result<CpuSettings> {
        delegate!(self, cg => cg.cpu_settings())
    }
    fn update_memory(&self, spec: &MemorySpec) -> Result<MemorySettings> {
        delegate!(self, cg => cg.update_memory(spec))
    }
    fn memory_settings(&self) -> Result<MemorySettings> {
        delegate!(self, cg => cg.memory_settings())
    }
    fn update_pids(&self, max: PidsLimit) -> Result<()> {
        delegate!(self, cg => cg.update_pids(max))
    }
    fn pids_settings(&self) -> Result<PidsSettings> {
        delegate!(self, cg => cg.pids_settings())
    }
    fn update_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        delegate!(self, cg => cg.update_devices(rules))
    }
    fn stats(&self) -> Result<Statistics> {
        delegate!(self, cg => cg.stats())
    }
    fn cpu_stats(&self) -> Result<Statistics> {
        delegate!(self, cg => cg.cpu_stats())
    }
    fn memory_stats(&self, swap: bool) -> Result<Statistics> {
        delegate!(self, cg => cg.memory_stats(swap))
    }
    fn threads(&self) -> Result<Vec<i32>> {
        delegate!(self, cg => cg.threads())
    }
    fn oom_listener(&self) -> Result<OomListener> {
        delegate!(self, cg => cg.oom_listener())
    }
    fn oom_occurred(&self) -> Result<bool> {
        delegate!(self, cg => cg.oom_occurred())
    }
    fn oom_message(&self) -> Result<String> {
        delegate!(self, cg => cg.oom_message())
    }
    fn kill_all(&self, timeout: Duration) -> Result<()> {
        delegate!(self, cg => cg.kill_all(timeout))
    }
    fn remove(&self) -> Result<()> {
        delegate!(self, cg => cg.remove())
    }
}
