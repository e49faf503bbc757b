//! A container cgroup on cgroup v2, laid out as Mesos's cgroups2 isolator does: a non-leaf
//! `<root>/<id>` that holds the limits and a leaf `<root>/<id>/leaf` that holds the processes.
//!
//! The "no internal processes" rule of v2 is why: a cgroup whose `cgroup.subtree_control` enables
//! a controller cannot hold processes itself (the write fails with EBUSY), and a controller must be
//! enabled in every ancestor's `cgroup.subtree_control` to be usable below it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::devices::DeviceRule;
use crate::ebpf;
use crate::error::{Error, Result};
use crate::files;
use crate::formulas::{self, CpuQuota, CpuSpec, MemoryLimit, MemorySpec};
use crate::hierarchies::Controller;
use crate::kill;
use crate::manager::{CgroupManager, CpuSettings, MemorySettings};
use crate::oom::{self, OomListener};
use crate::pids::{self, PidsLimit, PidsSettings};
use crate::stats::{self, Statistics};

/// The name of the leaf cgroup holding a container's processes.
pub const LEAF: &str = "leaf";

/// A v2 container cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Cgroup {
    /// The hierarchy root (`/sys/fs/cgroup`).
    hierarchy: PathBuf,
    /// The container's non-leaf cgroup `<hierarchy>/<root>/<id>`.
    dir: PathBuf,
    /// The controllers to enable, by their v2 names.
    controllers: Vec<&'static str>,
}

impl V2Cgroup {
    pub(crate) fn new(hierarchy: PathBuf, relative: PathBuf, controllers: &[Controller]) -> V2Cgroup {
        let mut names: Vec<&'static str> = controllers.iter().filter_map(|c| c.v2_name()).collect();
        names.sort_unstable();
        names.dedup();
        V2Cgroup { dir: hierarchy.join(relative), hierarchy, controllers: names }
    }

    /// The leaf cgroup holding the processes.
    pub fn leaf(&self) -> PathBuf {
        self.dir.join(LEAF)
    }

    /// The ids of the eBPF device programs attached to the container's cgroup (see
    /// [`CgroupManager::update_devices`]); one once the devices isolator has prepared it.
    pub fn device_programs(&self) -> Result<Vec<u32>> {
        ebpf::attached_device_programs(&self.dir)
    }

    /// Whether `/proc/<pid>/cgroup` places the process in this cgroup's leaf. Only a sure yes
    /// counts: an unreadable file, another cgroup namespace or a fake hierarchy all say no.
    fn holds(&self, pid: i32) -> bool {
        let Ok(relative) = self.leaf().strip_prefix(&self.hierarchy).map(Path::to_path_buf) else {
            return false;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
            return false;
        };
        text.lines()
            .filter_map(|line| line.strip_prefix("0::"))
            .any(|path| Path::new(path).strip_prefix("/").is_ok_and(|p| p == relative))
    }

    fn require(&self, controller: Controller) -> Result<&Path> {
        match controller.v2_name() {
            Some(name) if self.controllers.contains(&name) => Ok(&self.dir),
            _ => Err(Error::NotConfigured {
                controller: controller.v1_name().to_owned(),
                path: self.dir.clone(),
            }),
        }
    }

    /// Enables the needed controllers in `cgroup.subtree_control` of `dir`, writing only the
    /// missing ones in one write.
    fn enable_controllers(&self, dir: &Path) -> Result<()> {
        let control = dir.join("cgroup.subtree_control");
        let enabled = files::read(&control)?;
        let missing: Vec<&str> = self
            .controllers
            .iter()
            .copied()
            .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let available_path = dir.join("cgroup.controllers");
        let available = files::read(&available_path)?;
        if let Some(absent) = missing.iter().find(|c| !available.split_whitespace().any(|a| a == **c)) {
            return Err(Error::Unavailable { controller: (*absent).to_owned(), path: available_path });
        }
        let value: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
        files::write(&control, &value.join(" "))
    }

    /// The hierarchy root and every cgroup from it down to the container's non-leaf, inclusive.
    fn ancestors_top_down(&self) -> Vec<PathBuf> {
        let mut chain: Vec<PathBuf> = self
            .dir
            .ancestors()
            .take_while(|a| a.starts_with(&self.hierarchy))
            .map(Path::to_path_buf)
            .collect();
        chain.reverse();
        chain
    }

    fn create_layout(&self) -> Result<()> {
        // A directory made concurrently by a sibling (another isolator or the launcher sharing
        // the cgroup, see `create_or_enable`) is as good as one made here.
        let mkdir = |dir: &Path| match std::fs::create_dir(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other.map_err(|source| Error::Create { path: dir.to_owned(), source }),
        };
        for dir in self.ancestors_top_down() {
            if dir != self.hierarchy && !dir.exists() {
                mkdir(&dir)?;
            }
            self.enable_controllers(&dir)?;
        }
        mkdir(&self.leaf())
    }

    /// Creates whatever of the cgroup and its leaf is missing and enables this handle's
    /// controllers from the hierarchy root down, leaving existing directories in place.
    ///
    /// On v2 the cpu and memory isolators and the launcher share one container cgroup, so
    /// whichever comes first creates it and the others only add their controllers (where
    /// [`CgroupManager::create`] refuses an existing cgroup, as on v1).
    pub fn create_or_enable(&self) -> Result<()> {
        self.create_layout()
    }

    fn read_limit(path: &Path) -> Result<MemoryLimit> {
        let text = files::read(path)?;
        if text.trim() == "max" {
            return Ok(MemoryLimit::Unlimited);
        }
        Ok(MemoryLimit::Bytes(files::parse_u64(path, &text)?))
    }

    fn limit_value(limit: MemoryLimit) -> String {
        match limit {
            MemoryLimit::Bytes(bytes) => bytes.to_string(),
            MemoryLimit::Unlimited => "max".to_owned(),
        }
    }
}

impl V2Cgroup {
    /// `memory.current`, `memory.stat` and `memory.swap.current`.
    fn read_memory_stats(&self, stats: &mut Statistics) -> Result<()> {
        let Ok(dir) = self.require(Controller::Memory) else { return Ok(()) };
        stats.mem_total_bytes = Some(files::read_u64(&dir.join("memory.current"))?);
        stats::apply_v2_memory_stat(stats, &files::parse_flat_keyed(&files::read(&dir.join("memory.stat"))?));
        let swap = dir.join("memory.swap.current");
        stats.mem_swap_bytes =
            files::read_optional(&swap)?.map(|text| files::parse_u64(&swap, &text)).transpose()?;
        Ok(())
    }
}

impl CgroupManager for V2Cgroup {
    fn create(&self) -> Result<()> {
        if self.dir.exists() {
            return Err(Error::AlreadyExists { path: self.dir.clone() });
        }
        let created = self.create_layout();
        if created.is_err() && self.dir.exists() {
            let _ = kill::remove_subtree(&self.dir);
        }
        created
    }

    fn exists(&self) -> bool {
        self.dir.exists()
    }

    fn assign(&self, pid: i32) -> Result<()> {
        // A process started in the leaf by CLONE_INTO_CGROUP is left alone: even a write naming
        // the cgroup a process is already in takes the kernel's threadgroup lock for writing,
        // which waits for an RCU grace period (milliseconds) when no migration happened lately.
        if self.holds(pid) {
            return Ok(());
        }
        files::write(&self.leaf().join("cgroup.procs"), &pid.to_string())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        kill::pids_in_subtree(&self.dir)
    }

    fn process_dirs(&self) -> Vec<PathBuf> {
        vec![self.leaf()]
    }

    fn dirs(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    fn update_cpu(&self, spec: &CpuSpec) -> Result<()> {
        let dir = self.require(Controller::Cpu)?;
        files::write(&dir.join("cpu.weight"), &formulas::cpu_weight(spec.request).to_string())?;
        if let Some(quota) = formulas::cpu_quota(spec) {
            files::write(&dir.join("cpu.max"), &formulas::cpu_max(quota))?;
        }
        Ok(())
    }

    fn cpu_settings(&self) -> Result<CpuSettings> {
        let dir = self.require(Controller::Cpu)?;
        let max_path = dir.join("cpu.max");
        let max = files::read(&max_path)?;
        let bad = || files::parse_error(&max_path, format!("'{}' is not '<quota|max> <period>'", max.trim()));
        let (quota, period) = max.trim().split_once(' ').ok_or_else(bad)?;
        let quota = match quota {
            "max" => CpuQuota::Unlimited,
            us => CpuQuota::Micros(us.parse().map_err(|_| bad())?),
        };
        Ok(CpuSettings {
            shares: None,
            weight: Some(files::read_u64(&dir.join("cpu.weight"))?),
            period_us: period.parse().map_err(|_| bad())?,
            quota,
        })
    }

    fn update_memory(&self, spec: &MemorySpec) -> Result<MemorySettings> {
        let dir = self.require(Controller::Memory)?;
        if spec.limit_swap {
            return Err(crate::hierarchies::v2_swap_limit_unavailable(&self.hierarchy));
        }
        let soft = formulas::memory_soft_limit(spec.request_bytes);
        files::write(&dir.join("memory.low"), &soft.to_string())?;
        let hard_path = dir.join("memory.max");
        let current = Self::read_limit(&hard_path)?;
        if let Some(hard) = formulas::hard_limit_update(current, formulas::memory_hard_limit(spec)) {
            files::write(&hard_path, &Self::limit_value(hard))?;
        }
        self.memory_settings()
    }

    fn memory_settings(&self) -> Result<MemorySettings> {
        let dir = self.require(Controller::Memory)?;
        Ok(MemorySettings {
            soft: Self::read_limit(&dir.join("memory.low"))?,
            hard: Self::read_limit(&dir.join("memory.max"))?,
        })
    }

    fn update_pids(&self, max: PidsLimit) -> Result<()> {
        pids::write_max(self.require(Controller::Pids)?, max)
    }

    fn pids_settings(&self) -> Result<PidsSettings> {
        pids::read_settings(self.require(Controller::Pids)?)
    }

    fn update_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        // On the non-leaf cgroup, so the filter covers the leaf and anything nested below it.
        ebpf::apply_device_filter(&self.dir, rules)
    }

    fn threads(&self) -> Result<Vec<i32>> {
        kill::ids_in_subtree(&self.dir, "cgroup.threads")
    }

    fn stats(&self) -> Result<Statistics> {
        let mut stats = self.cpu_stats()?;
        self.read_memory_stats(&mut stats)?;
        if let Ok(dir) = self.require(Controller::Memory) {
            let peak = dir.join("memory.peak");
            stats.mem_max_usage_bytes =
                files::read_optional(&peak)?.map(|text| files::parse_u64(&peak, &text)).transpose()?;
        }
        Ok(stats)
    }

    fn cpu_stats(&self) -> Result<Statistics> {
        let mut stats = Statistics::default();
        // cpu.stat is a core file: usage is there even without the cpu controller.
        stats::apply_v2_cpu_stat(
            &mut stats,
            &files::parse_flat_keyed(&files::read(&self.dir.join("cpu.stat"))?),
        );
        stats.processes = Some(self.pids()?.len() as u64);
        Ok(stats)
    }

    /// On v2 swap has its own counter (`memory.swap.current`), read whatever `swap` says: it
    /// is the swap use Mesos reports as `mem_swap_bytes`.
    fn memory_stats(&self, _swap: bool) -> Result<Statistics> {
        let mut stats = Statistics::default();
        self.read_memory_stats(&mut stats)?;
        Ok(stats)
    }

    fn oom_listener(&self) -> Result<OomListener> {
        OomListener::inotify(self.require(Controller::Memory)?)
    }

    fn oom_occurred(&self) -> Result<bool> {
        let dir = self.require(Controller::Memory)?;
        Ok(oom::v2_oom_occurred(&files::read(&dir.join("memory.events"))?))
    }

    fn oom_message(&self) -> Result<String> {
        let dir = self.require(Controller::Memory)?;
        let limit = Self::read_limit(&dir.join("memory.max"))?;
        // memory.peak exists from Linux 5.19; older kernels only have the current usage.
        let peak = dir.join("memory.peak");
        let used = match files::read_optional(&peak)? {
            Some(text) => files::parse_u64(&peak, &text)?,
            None => files::read_u64(&dir.join("memory.current"))?,
        };
        Ok(oom::limitation_message(limit, used, &files::read(&dir.join("memory.stat"))?))
    }

    fn kill_all(&self, timeout: Duration) -> Result<()> {
        kill::cgroup_kill(&self.dir, timeout)
    }

    fn remove(&self) -> Result<()> {
        kill::remove_subtree(&self.dir)
    }
}

#[cfg(test)]
#[path = "v2_tests.rs"]
mod tests;
