//! Resource statistics of a container cgroup, named as Mesos's `ResourceStatistics` fields.
//!
//! The parsers here are pure (flat keyed maps in, fields out) so both versions are unit tested;
//! the v1 and v2 handles read the files and call them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a cgroup reports. A field is `None` when its controller is not used or the kernel does
/// not expose it (for example `total_swap` without swap accounting).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// User CPU time (v1 `cpuacct.stat` user ticks / `_SC_CLK_TCK`; v2 `cpu.stat` user_usec).
    pub cpus_user_time_secs: Option<f64>,
    /// System CPU time (v1 `cpuacct.stat` system; v2 `cpu.stat` system_usec).
    pub cpus_system_time_secs: Option<f64>,
    /// CFS periods elapsed (`cpu.stat` nr_periods).
    pub cpus_nr_periods: Option<u64>,
    /// CFS periods throttled (`cpu.stat` nr_throttled).
    pub cpus_nr_throttled: Option<u64>,
    /// Time throttled (v1 `throttled_time` ns; v2 `throttled_usec`).
    pub cpus_throttled_time_secs: Option<f64>,
    /// Memory in use (v1 `memory.usage_in_bytes`; v2 `memory.current`).
    pub mem_total_bytes: Option<u64>,
    /// Peak memory use (v1 `memory.max_usage_in_bytes`; v2 `memory.peak` where the kernel has it).
    /// Not a Mesos statistic: Mesos reads it only for the OOM message.
    pub mem_max_usage_bytes: Option<u64>,
    /// Anonymous memory (v1 `total_rss`; v2 `anon`).
    pub mem_rss_bytes: Option<u64>,
    /// Same value as `mem_rss_bytes`, under Mesos's newer name.
    pub mem_anon_bytes: Option<u64>,
    /// Page cache (v1 `total_cache`; v2 `file`).
    pub mem_cache_bytes: Option<u64>,
    /// Same value as `mem_cache_bytes`, under Mesos's newer name.
    pub mem_file_bytes: Option<u64>,
    /// Mapped files (v1 `total_mapped_file`; v2 `file_mapped`).
    pub mem_mapped_file_bytes: Option<u64>,
    /// Swap in use (v1 `total_swap`; v2 `memory.swap.current`).
    pub mem_swap_bytes: Option<u64>,
    /// Unevictable memory (v1 `total_unevictable`; v2 `unevictable`).
    pub mem_unevictable_bytes: Option<u64>,
    /// Kernel memory (v1 `memory.kmem.usage_in_bytes`; v2 `memory.stat` kernel).
    pub mem_kmem_usage_bytes: Option<u64>,
    /// Memory plus swap in use (v1 `memory.memsw.usage_in_bytes`, with swap accounting); v2 has no
    /// such counter.
    pub mem_total_memsw_bytes: Option<u64>,
    /// Processes in the cgroup and its descendants (`cgroup.procs`).
    pub processes: Option<u64>,
}

/// The kernel's clock tick (`sysconf(_SC_CLK_TCK)`), the unit of v1 `cpuacct.stat`.
pub fn clock_ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as u64,
        // USER_HZ is 100 on every Linux architecture; sysconf cannot really fail for CLK_TCK.
        _ => 100,
    }
}

/// v1 `cpuacct.stat`: `user` and `system` in clock ticks.
pub(crate) fn apply_cpuacct_stat(stats: &mut Statistics, map: &BTreeMap<&str, u64>, ticks_per_second: u64) {
    let secs = |key: &str| map.get(key).map(|t| *t as f64 / ticks_per_second as f64);
    stats.cpus_user_time_secs = secs("user");
    stats.cpus_system_time_secs = secs("system");
}

/// v1 `cpu.stat`: `nr_periods`, `nr_throttled`, `throttled_time` in nanoseconds.
pub(crate) fn apply_v1_cpu_stat(stats: &mut Statistics, map: &BTreeMap<&str, u64>) {
    stats.cpus_nr_periods = map.get("nr_periods").copied();
    stats.cpus_nr_throttled = map.get("nr_throttled").copied();
    stats.cpus_throttled_time_secs = map.get("throttled_time").map(|ns| *ns as f64 / 1e9);
}

/// v1 `memory.stat`, hierarchical `total_*` keys (they include descendant cgroups).
pub(crate) fn apply_v1_memory_stat(stats: &mut Statistics, map: &BTreeMap<&str, u64>) {
    let get = |key: &str| map.get(key).copied();
    stats.mem_rss_bytes = get("total_rss");
    stats.mem_anon_bytes = get("total_rss");
    stats.mem_cache_bytes = get("total_cache");
    stats.mem_file_bytes = get("total_cache");
    stats.mem_mapped_file_bytes = get("total_mapped_file");
    stats.mem_swap_bytes = get("total_swap");
    stats.mem_unevictable_bytes = get("total_unevictable");
}

/// v2 `cpu.stat`: `user_usec`, `system_usec`, and with the cpu controller `nr_periods`,
/// `nr_throttled`, `throttled_usec`.
pub(crate) fn apply_v2_cpu_stat(stats: &mut Statistics, map: &BTreeMap<&str, u64>) {
    let secs = |key: &str| map.get(key).map(|us| *us as f64 / 1e6);
    stats.cpus_user_time_secs = secs("user_usec");
    stats.cpus_system_time_secs = secs("system_usec");
    stats.cpus_nr_periods = map.get("nr_periods").copied();
    stats.cpus_nr_throttled = map.get("nr_throttled").copied();
    stats.cpus_throttled_time_secs = secs("throttled_usec");
}

/// v2 `memory.stat` (already hierarchical).
pub(crate) fn apply_v2_memory_stat(stats: &mut Statistics, map: &BTreeMap<&str, u64>) {
    let get = |key: &str| map.get(key).copied();
    stats.mem_rss_bytes = get("anon");
    stats.mem_anon_bytes = get("anon");
    stats.mem_cache_bytes = get("file");
    stats.mem_file_bytes = get("file");
    stats.mem_mapped_file_bytes = get("file_mapped");
    stats.mem_unevictable_bytes = get("unevictable");
    stats.mem_kmem_usage_bytes = get("kernel");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::parse_flat_keyed;

    #[test]
    fn v1_cpu() {
        let mut stats = Statistics::default();
        apply_cpuacct_stat(&mut stats, &parse_flat_keyed("user 250\nsystem 50\n"), 100);
        apply_v1_cpu_stat(
            &mut stats,
            &parse_flat_keyed("nr_periods 20\nnr_throttled 5\nthrottled_time 1500000000\n"),
        );
        assert_eq!(stats.cpus_user_time_secs, Some(2.5));
        assert_eq!(stats.cpus_system_time_secs, Some(0.5));
        assert_eq!(stats.cpus_nr_periods, Some(20));
        assert_eq!(stats.cpus_nr_throttled, Some(5));
        assert_eq!(stats.cpus_throttled_time_secs, Some(1.5));
    }

    #[test]
    fn v1_memory_uses_total_keys() {
        let text = "cache 1\nrss 2\ntotal_cache 4096\ntotal_rss 8192\ntotal_mapped_file 1024\n\
                    total_swap 0\ntotal_unevictable 16\n";
        let mut stats = Statistics::default();
        apply_v1_memory_stat(&mut stats, &parse_flat_keyed(text));
        assert_eq!(stats.mem_rss_bytes, Some(8192));
        assert_eq!(stats.mem_cache_bytes, Some(4096));
        assert_eq!(stats.mem_file_bytes, Some(4096));
        assert_eq!(stats.mem_mapped_file_bytes, Some(1024));
        assert_eq!(stats.mem_swap_bytes, Some(0));
        assert_eq!(stats.mem_unevictable_bytes, Some(16));
    }

    #[test]
    fn v2_cpu_and_memory() {
        let cpu = "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 7\n\
                   nr_throttled 3\nthrottled_usec 250000\n";
        let mem = "anon 100\nfile 200\nkernel 300\nfile_mapped 40\nunevictable 5\n";
        let mut stats = Statistics::default();
        apply_v2_cpu_stat(&mut stats, &parse_flat_keyed(cpu));
        apply_v2_memory_stat(&mut stats, &parse_flat_keyed(mem));
        assert_eq!(stats.cpus_user_time_secs, Some(2.0));
        assert_eq!(stats.cpus_system_time_secs, Some(1.0));
        assert_eq!(stats.cpus_nr_periods, Some(7));
        assert_eq!(stats.cpus_nr_throttled, Some(3));
        assert_eq!(stats.cpus_throttled_time_secs, Some(0.25));
        assert_eq!(stats.mem_rss_bytes, Some(100));
        assert_eq!(stats.mem_cache_bytes, Some(200));
        assert_eq!(stats.mem_kmem_usage_bytes, Some(300));
        assert_eq!(stats.mem_mapped_file_bytes, Some(40));
        assert_eq!(stats.mem_unevictable_bytes, Some(5));
    }

    #[test]
    fn clock_ticks_is_positive() {
        assert!(clock_ticks_per_second() > 0);
    }
}
