//! A container cgroup on cgroup v1: one directory per hierarchy (`<mount>/<root>/<id>`).
//!
//! Co-mounted controllers (`cpu,cpuacct`) share a directory, so directories are deduplicated
//! before they are created, assigned or removed.
//!
//! Memory+swap (Mesos's `--cgroups_limit_swap`): the hard limit also goes to
//! `memory.memsw.limit_in_bytes`. The kernel refuses (EINVAL) any write after which
//! `memory.limit_in_bytes > memory.memsw.limit_in_bytes`, so a limit above the current memsw value
//! is written to memsw first, and one below it (the first limit of a fresh, unlimited cgroup) to
//! `limit_in_bytes` first (MESOS-7237). The memsw files exist only with swap accounting
//! (`swapaccount=1`), which [`crate::Hierarchies::check_swap_limit`] checks up front.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::devices::DeviceRule;
use crate::error::{Error, Result};
use crate::files;
use crate::formulas::{self, CpuQuota, CpuSpec, MemoryLimit, MemorySpec};
use crate::hierarchies::Controller;
use crate::kill;
use crate::manager::{CgroupManager, CpuSettings, MemorySettings};
use crate::oom::{self, OomListener};
use crate::pids::{self, PidsLimit, PidsSettings};
use crate::stats::{self, Statistics};

/// v1 reports "no limit" as the largest page-aligned `i64` (9223372036854771712 with 4 KiB pages);
/// anything this large is unlimited whatever the page size.
const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

/// The memory+swap limit of a v1 memory cgroup (and of the hierarchy root, where its presence
/// says the kernel accounts swap).
pub(crate) const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

/// A v1 container cgroup: the directory of each controller it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Cgroup {
    dirs: std::collections::BTreeMap<Controller, PathBuf>,
    /// The statistics files, kept open between reads ([`files::OpenFiles`]).
    stats: std::sync::Arc<files::OpenFiles>,
}

impl V1Cgroup {
    pub(crate) fn new(dirs: std::collections::BTreeMap<Controller, PathBuf>) -> V1Cgroup {
        V1Cgroup { dirs, stats: Default::default() }
    }

    /// The directory of `controller`, or an error naming the cgroup when it is not used.
    pub fn dir(&self, controller: Controller) -> Result<&Path> {
        self.dirs.get(&controller).map(PathBuf::as_path).ok_or_else(|| Error::NotConfigured {
            controller: controller.v1_name().to_owned(),
            path: self.dirs.values().next().cloned().unwrap_or_default(),
        })
    }

    /// The device whitelist in effect (`devices.list`), as the kernel reports it.
    pub fn device_list(&self) -> Result<Vec<DeviceRule>> {
        let path = self.dir(Controller::Devices)?.join("devices.list");
        files::read(&path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| DeviceRule::parse(line).map_err(|e| files::parse_error(&path, e.to_string())))
            .collect()
    }

    /// Each directory once (co-mounted controllers share one).
    fn distinct_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.dirs.values().cloned().collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    fn read_limit(path: &Path) -> Result<MemoryLimit> {
        Self::parse_limit(path, &files::read(path)?)
    }

    fn parse_limit(path: &Path, text: &str) -> Result<MemoryLimit> {
        // The soft limit of a fresh cgroup and a written `-1` read back as the unlimited value.
        if text.trim() == "-1" {
            return Ok(MemoryLimit::Unlimited);
        }
        let value = files::parse_u64(path, text)?;
        Ok(if value >= V1_UNLIMITED_FLOOR { MemoryLimit::Unlimited } else { MemoryLimit::Bytes(value) })
    }

    fn limit_value(limit: MemoryLimit) -> String {
        match limit {
            MemoryLimit::Bytes(bytes) => bytes.to_string(),
            MemoryLimit::Unlimited => "-1".to_owned(),
        }
    }

    /// Writes a new hard limit to `memory.limit_in_bytes` and, with `limit_swap`, to
    /// `memory.memsw.limit_in_bytes`, in the order the kernel accepts (see the module docs).
    fn write_hard_limit(dir: &Path, hard: MemoryLimit, limit_swap: bool) -> Result<()> {
        let hard_path = dir.join("memory.limit_in_bytes");
        let value = Self::limit_value(hard);
        if !limit_swap {
            return files::write(&hard_path, &value);
        }
        let memsw_path = dir.join(MEMSW_LIMIT);
        if hard > Self::read_limit(&memsw_path)? {
            files::write(&memsw_path, &value)?;
            files::write(&hard_path, &value)
        } else {
            files::write(&hard_path, &value)?;
            files::write(&memsw_path, &value)
        }
    }
}

impl V1Cgroup {
    /// CPU times (`cpuacct.stat`), throttling (`cpu.stat`) and the number of processes.
    fn read_cpu_stats(&self, stats: &mut Statistics) -> Result<()> {
        if let Ok(dir) = self.dir(Controller::Cpuacct) {
            let text = self.stats.read(&dir.join("cpuacct.stat"))?;
            stats::apply_cpuacct_stat(
                stats,
                &files::parse_flat_keyed(&text),
                stats::clock_ticks_per_second(),
            );
        }
        if let Ok(dir) = self.dir(Controller::Cpu) {
            stats::apply_v1_cpu_stat(
                stats,
                &files::parse_flat_keyed(&self.stats.read(&dir.join("cpu.stat"))?),
            );
        }
        // Every process of the container is in each of its hierarchies: one is enough to count
        // them (as Mesos counts in the isolator's own hierarchy).
        let dir = self.dir(Controller::Cpuacct).or_else(|_| self.dir(Controller::Cpu));
        stats.processes = Some(match dir {
            // No nested cgroup (the usual case): the one list, through the open files.
            Ok(dir) if !files::has_subdirectories(dir)? => {
                let procs = self.stats.read(&dir.join("cgroup.procs"))?;
                procs.lines().filter(|l| !l.trim().is_empty()).count() as u64
            }
            Ok(dir) => kill::pids_in_subtree(dir)?.len() as u64,
            Err(_) => self.pids()?.len() as u64,
        });
        Ok(())
    }

    /// `memory.usage_in_bytes`, `memory.stat`, kernel memory and, with `swap`, memory+swap.
    fn read_memory_stats(&self, stats: &mut Statistics, swap: bool) -> Result<()> {
        let Ok(dir) = self.dir(Controller::Memory) else { return Ok(()) };
        let usage = dir.join("memory.usage_in_bytes");
        stats.mem_total_bytes = Some(files::parse_u64(&usage, &self.stats.read(&usage)?)?);
        stats::apply_v1_memory_stat(
            stats,
            &files::parse_flat_keyed(&self.stats.read(&dir.join("memory.stat"))?),
        );
        // Kernel memory and memory+swap have counters of their own, present only when the
        // kernel accounts them.
        stats.mem_kmem_usage_bytes = self.read_optional_u64(&dir.join("memory.kmem.usage_in_bytes"))?;
        if swap {
            stats.mem_total_memsw_bytes = self.read_optional_u64(&dir.join("memory.memsw.usage_in_bytes"))?;
        }
        Ok(())
    }
}

impl V1Cgroup {
    /// An optional counter through the open statistics files.
    fn read_optional_u64(&self, path: &Path) -> Result<Option<u64>> {
        self.stats.read_optional(path)?.map(|text| files::parse_u64(path, &text)).transpose()
    }
}

impl CgroupManager for V1Cgroup {
    fn create(&self) -> Result<()> {
        let dirs = self.distinct_dirs();
        if let Some(existing) = dirs.iter().find(|d| d.exists()) {
            return Err(Error::AlreadyExists { path: existing.clone() });
        }
        for (created, dir) in dirs.iter().enumerate() {
            if let Err(source) = std::fs::create_dir_all(dir) {
                // Leave nothing half-created; the cgroups root itself may be shared and stays.
                for done in &dirs[..created] {
                    let _ = kill::remove_dir_retrying(done);
                }
                return Err(Error::Create { path: dir.clone(), source });
            }
        }
        // Mesos makes sure the kernel OOM killer is on: `oom_kill_disable` is inherited from the
        // parent, and a disabled one would leave the container hanging in OOM instead of killed.
        if let Ok(dir) = self.dir(Controller::Memory) {
            let control = dir.join("memory.oom_control");
            if control.exists() {
                files::write(&control, "0")?;
            }
        }
        Ok(())
    }

    fn exists(&self) -> bool {
        self.dirs.values().any(|d| d.exists())
    }

    fn assign(&self, pid: i32) -> Result<()> {
        for dir in self.distinct_dirs() {
            files::write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = Vec::new();
        for dir in self.distinct_dirs() {
            pids.extend(kill::pids_in_subtree(&dir)?);
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    fn process_dirs(&self) -> Vec<PathBuf> {
        self.distinct_dirs()
    }

    fn dirs(&self) -> Vec<PathBuf> {
        self.distinct_dirs()
    }

    fn update_cpu(&self, spec: &CpuSpec) -> Result<()> {
        let dir = self.dir(Controller::Cpu)?;
        files::write(&dir.join("cpu.shares"), &formulas::cpu_shares(spec.request).to_string())?;
        if let Some(quota) = formulas::cpu_quota(spec) {
            files::write(&dir.join("cpu.cfs_period_us"), &formulas::CPU_CFS_PERIOD_US.to_string())?;
            files::write(&dir.join("cpu.cfs_quota_us"), &formulas::cfs_quota_value(quota))?;
        }
        Ok(())
    }

    fn cpu_settings(&self) -> Result<CpuSettings> {
        let dir = self.dir(Controller::Cpu)?;
        let quota_path = dir.join("cpu.cfs_quota_us");
        let quota_text = files::read(&quota_path)?;
        let quota = match quota_text.trim() {
            "-1" => CpuQuota::Unlimited,
            _ => CpuQuota::Micros(files::parse_u64(&quota_path, &quota_text)?),
        };
        Ok(CpuSettings {
            shares: Some(files::read_u64(&dir.join("cpu.shares"))?),
            weight: None,
            period_us: files::read_u64(&dir.join("cpu.cfs_period_us"))?,
            quota,
        })
    }

    fn update_memory(&self, spec: &MemorySpec) -> Result<MemorySettings> {
        let dir = self.dir(Controller::Memory)?;
        let soft = formulas::memory_soft_limit(spec.request_bytes);
        files::write(&dir.join("memory.soft_limit_in_bytes"), &soft.to_string())?;
        let current = Self::read_limit(&dir.join("memory.limit_in_bytes"))?;
        if let Some(hard) = formulas::hard_limit_update(current, formulas::memory_hard_limit(spec)) {
            Self::write_hard_limit(dir, hard, spec.limit_swap)?;
        }
        self.memory_settings()
    }

    fn memory_settings(&self) -> Result<MemorySettings> {
        let dir = self.dir(Controller::Memory)?;
        // Read with every usage: through the open files.
        let limit = |name: &str| {
            let path = dir.join(name);
            Self::parse_limit(&path, &self.stats.read(&path)?)
        };
        Ok(MemorySettings {
            soft: limit("memory.soft_limit_in_bytes")?,
            hard: limit("memory.limit_in_bytes")?,
        })
    }

    fn update_pids(&self, max: PidsLimit) -> Result<()> {
        pids::write_max(self.dir(Controller::Pids)?, max)
    }

    fn pids_settings(&self) -> Result<PidsSettings> {
        pids::read_settings(self.dir(Controller::Pids)?)
    }

    fn update_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        // A new devices cgroup inherits its parent's whitelist (`a *:* rwm` below the root), and
        // `devices.deny` of a single device cannot take it out of a catch-all entry, so the list
        // could not be read back to say what is allowed. Deny everything first, then allow each
        // rule: the list is then exactly the rules (Mesos's DevicesSubsystemProcess::prepare).
        let dir = self.dir(Controller::Devices)?;
        files::write(&dir.join("devices.deny"), &DeviceRule::everything().to_string())?;
        for rule in rules {
            files::write(&dir.join("devices.allow"), &rule.to_string())?;
        }
        Ok(())
    }

    fn threads(&self) -> Result<Vec<i32>> {
        let mut threads = Vec::new();
        for dir in self.distinct_dirs() {
            threads.extend(kill::ids_in_subtree(&dir, "tasks")?);
        }
        threads.sort_unstable();
        threads.dedup();
        Ok(threads)
    }

    fn stats(&self) -> Result<Statistics> {
        let mut stats = Statistics::default();
        self.read_cpu_stats(&mut stats)?;
        self.read_memory_stats(&mut stats, true)?;
        if let Ok(dir) = self.dir(Controller::Memory) {
            stats.mem_max_usage_bytes = Some(files::read_u64(&dir.join("memory.max_usage_in_bytes"))?);
        }
        Ok(stats)
    }

    fn cpu_stats(&self) -> Result<Statistics> {
        let mut stats = Statistics::default();
        self.read_cpu_stats(&mut stats)?;
        Ok(stats)
    }

    fn memory_stats(&self, swap: bool) -> Result<Statistics> {
        let mut stats = Statistics::default();
        self.read_memory_stats(&mut stats, swap)?;
        Ok(stats)
    }

    fn oom_listener(&self) -> Result<OomListener> {
        OomListener::eventfd(self.dir(Controller::Memory)?)
    }

    fn oom_occurred(&self) -> Result<bool> {
        let dir = self.dir(Controller::Memory)?;
        Ok(oom::v1_oom_occurred(&files::read(&dir.join("memory.oom_control"))?))
    }

    fn oom_message(&self) -> Result<String> {
        let dir = self.dir(Controller::Memory)?;
        let limit = Self::read_limit(&dir.join("memory.limit_in_bytes"))?;
        let max_used = files::read_u64(&dir.join("memory.max_usage_in_bytes"))?;
        Ok(oom::limitation_message(limit, max_used, &files::read(&dir.join("memory.stat"))?))
    }

    fn kill_all(&self, timeout: Duration) -> Result<()> {
        if let Ok(freezer) = self.dir(Controller::Freezer) {
            kill::freeze_and_kill(freezer, timeout)?;
        }
        // Without a freezer, or for a process assigned to some hierarchies only.
        for dir in self.distinct_dirs() {
            if dir.exists() {
                kill::kill_repeatedly(&dir, timeout)?;
            }
        }
        Ok(())
    }

    fn remove(&self) -> Result<()> {
        for dir in self.distinct_dirs() {
            kill::remove_subtree(&dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "v1_tests.rs"]
mod tests;
