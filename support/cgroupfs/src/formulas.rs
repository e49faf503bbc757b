//! Mesos's resource-to-cgroup formulas, as pure functions.
//!
//! The constants are those of `src/slave/containerizer/mesos/isolators/cgroups/constants.hpp` and of
//! the cgroups2 isolator. Float-to-integer conversions truncate, as Mesos's C++ casts do.

use serde::{Deserialize, Serialize};

/// `cpu.shares` per CPU (v1).
pub const CPU_SHARES_PER_CPU: u64 = 1024;
/// The smallest `cpu.shares` written (the kernel's own minimum).
pub const MIN_CPU_SHARES: u64 = 2;
/// The CFS period, 100 ms, in microseconds (v1 `cpu.cfs_period_us`, v2 second field of `cpu.max`).
pub const CPU_CFS_PERIOD_US: u64 = 100_000;
/// The smallest CFS quota, 1 ms, in microseconds.
pub const MIN_CPU_CFS_QUOTA_US: u64 = 1_000;
/// `cpu.weight` per CPU (v2).
pub const CPU_WEIGHT_PER_CPU: u64 = 100;
/// The range the kernel accepts for `cpu.weight`.
pub const MIN_CPU_WEIGHT: u64 = 1;
/// See [`MIN_CPU_WEIGHT`].
pub const MAX_CPU_WEIGHT: u64 = 10_000;
/// The smallest memory limit Mesos writes: 32 MB.
pub const MIN_MEMORY_BYTES: u64 = 32 * 1024 * 1024;

/// The CPU resources of a container, as Mesos hands them to the isolator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuSpec {
    /// The `cpus` request; sets the share (v1) or weight (v2).
    pub request: f64,
    /// The `cpus` limit; `f64::INFINITY` means no quota. `None`: quota from the request when
    /// `enable_cfs`, else none.
    pub limit: Option<f64>,
    /// Mesos's `--cgroups_enable_cfs`: enforce the request as a hard quota.
    pub enable_cfs: bool,
}

/// The memory resources of a container, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySpec {
    /// The `mem` request; sets the soft limit.
    pub request_bytes: u64,
    /// The `mem` limit; `None` means "the request".
    pub limit: Option<MemoryLimit>,
    /// Mesos's `--cgroups_limit_swap`: memory plus swap is held to the same hard limit (v1
    /// `memory.memsw.limit_in_bytes`; see [`crate::Hierarchies::check_swap_limit`]).
    #[serde(default)]
    pub limit_swap: bool,
}

/// A hard memory limit. Ordered: every byte count is below `Unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MemoryLimit {
    /// A limit in bytes.
    Bytes(u64),
    /// No limit (`-1` on v1, `max` on v2).
    Unlimited,
}

/// A CFS quota per [`CPU_CFS_PERIOD_US`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CpuQuota {
    /// Runtime in microseconds per period.
    Micros(u64),
    /// No quota (`-1` on v1, `max` on v2).
    Unlimited,
}

/// `cpu.shares = max(1024 * cpus, 2)`.
pub fn cpu_shares(cpus: f64) -> u64 {
    ((CPU_SHARES_PER_CPU as f64 * cpus) as u64).max(MIN_CPU_SHARES)
}

/// `quota = max(100ms * cpus, 1ms)`; an infinite limit means no quota.
pub fn cfs_quota(cpus: f64) -> CpuQuota {
    if cpus.is_infinite() {
        return CpuQuota::Unlimited;
    }
    CpuQuota::Micros(((CPU_CFS_PERIOD_US as f64 * cpus) as u64).max(MIN_CPU_CFS_QUOTA_US))
}

/// The quota to enforce for `spec`, or `None` when CFS is not used (no limit and no `enable_cfs`).
pub fn cpu_quota(spec: &CpuSpec) -> Option<CpuQuota> {
    match spec.limit {
        Some(limit) => Some(cfs_quota(limit)),
        None if spec.enable_cfs => Some(cfs_quota(spec.request)),
        None => None,
    }
}

/// The text for v1 `cpu.cfs_quota_us`: microseconds, or `-1` for none.
pub fn cfs_quota_value(quota: CpuQuota) -> String {
    match quota {
        CpuQuota::Micros(us) => us.to_string(),
        CpuQuota::Unlimited => "-1".to_owned(),
    }
}

/// `cpu.weight = max(100 * cpus, 1)`, clamped to what the kernel accepts (1..=10000).
pub fn cpu_weight(cpus: f64) -> u64 {
    ((CPU_WEIGHT_PER_CPU as f64 * cpus) as u64).clamp(MIN_CPU_WEIGHT, MAX_CPU_WEIGHT)
}

/// The text for v2 `cpu.max`: `"<quota> 100000"` or `"max 100000"`.
pub fn cpu_max(quota: CpuQuota) -> String {
    match quota {
        CpuQuota::Micros(us) => format!("{us} {CPU_CFS_PERIOD_US}"),
        CpuQuota::Unlimited => format!("max {CPU_CFS_PERIOD_US}"),
    }
}

/// Soft limit = `max(request, 32MB)`.
pub fn memory_soft_limit(request_bytes: u64) -> u64 {
    request_bytes.max(MIN_MEMORY_BYTES)
}

/// Hard limit = `max(limit or request, 32MB)`; an unlimited limit stays unlimited.
pub fn memory_hard_limit(spec: &MemorySpec) -> MemoryLimit {
    match spec.limit {
        Some(MemoryLimit::Unlimited) => MemoryLimit::Unlimited,
        Some(MemoryLimit::Bytes(bytes)) => MemoryLimit::Bytes(bytes.max(MIN_MEMORY_BYTES)),
        None => MemoryLimit::Bytes(spec.request_bytes.max(MIN_MEMORY_BYTES)),
    }
}

/// Mesos's "hard limit never lowered" rule: the value to write given the `current` one, or `None`
/// to leave it. Lowering a limit below usage makes the kernel OOM-kill the container at once, so a
/// limit is only ever raised. A fresh cgroup starts unlimited and this crate keeps no state across
/// agent restarts, so an `Unlimited` current value counts as "never written" (Mesos's first update).
pub fn hard_limit_update(current: MemoryLimit, wanted: MemoryLimit) -> Option<MemoryLimit> {
    (current == MemoryLimit::Unlimited || wanted > current).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(cpu_shares(1.0), 1024);
        assert_eq!(cpu_shares(0.5), 512);
        assert_eq!(cpu_shares(0.001), 2);
        assert_eq!(cpu_shares(0.0), 2);
        assert_eq!(cpu_shares(2.5), 2560);
    }

    #[test]
    fn quota() {
        assert_eq!(cfs_quota(1.0), CpuQuota::Micros(100_000));
        assert_eq!(cfs_quota(0.25), CpuQuota::Micros(25_000));
        assert_eq!(cfs_quota(0.001), CpuQuota::Micros(1_000));
        assert_eq!(cfs_quota(f64::INFINITY), CpuQuota::Unlimited);
        assert_eq!(cfs_quota_value(CpuQuota::Unlimited), "-1");
        assert_eq!(cfs_quota_value(CpuQuota::Micros(50_000)), "50000");
    }

    #[test]
    fn quota_only_with_limit_or_enable_cfs() {
        let spec = CpuSpec { request: 0.5, limit: None, enable_cfs: false };
        assert_eq!(cpu_quota(&spec), None);
        assert_eq!(cpu_quota(&CpuSpec { enable_cfs: true, ..spec }), Some(CpuQuota::Micros(50_000)));
        assert_eq!(cpu_quota(&CpuSpec { limit: Some(2.0), ..spec }), Some(CpuQuota::Micros(200_000)));
        assert_eq!(cpu_quota(&CpuSpec { limit: Some(f64::INFINITY), ..spec }), Some(CpuQuota::Unlimited));
    }

    #[test]
    fn weight_and_max() {
        assert_eq!(cpu_weight(1.0), 100);
        assert_eq!(cpu_weight(0.001), 1);
        assert_eq!(cpu_weight(1000.0), 10_000);
        assert_eq!(cpu_max(CpuQuota::Micros(50_000)), "50000 100000");
        assert_eq!(cpu_max(CpuQuota::Unlimited), "max 100000");
    }

    #[test]
    fn memory_limits() {
        const MB: u64 = 1024 * 1024;
        assert_eq!(memory_soft_limit(10 * MB), 32 * MB);
        assert_eq!(memory_soft_limit(64 * MB), 64 * MB);
        let spec = MemorySpec { request_bytes: 64 * MB, limit: None, limit_swap: false };
        assert_eq!(memory_hard_limit(&spec), MemoryLimit::Bytes(64 * MB));
        let small =
            MemorySpec { request_bytes: MB, limit: Some(MemoryLimit::Bytes(2 * MB)), limit_swap: false };
        assert_eq!(memory_hard_limit(&small), MemoryLimit::Bytes(32 * MB));
        let inf = MemorySpec { limit: Some(MemoryLimit::Unlimited), ..spec };
        assert_eq!(memory_hard_limit(&inf), MemoryLimit::Unlimited);
    }

    #[test]
    fn hard_limit_never_lowered() {
        use MemoryLimit::{Bytes, Unlimited};
        assert_eq!(hard_limit_update(Unlimited, Bytes(100)), Some(Bytes(100)));
        assert_eq!(hard_limit_update(Bytes(100), Bytes(200)), Some(Bytes(200)));
        assert_eq!(hard_limit_update(Bytes(200), Bytes(100)), None);
        assert_eq!(hard_limit_update(Bytes(200), Bytes(200)), None);
        assert_eq!(hard_limit_update(Bytes(200), Unlimited), Some(Unlimited));
    }
}
