//! `linux.resources` (and `update --resources`) as Mesos requests and limits, which the cgroups
//! isolators turn back into the same cgroup values:
//! - `cpu.shares` S: a `cpus` request of S / 1024 (`cpu.shares = 1024 × cpus`);
//! - `cpu.quota` Q per `cpu.period` 100000 µs: a `cpus` limit of Q / 100000 (the CFS quota is
//!   100 ms × the limit per 100 ms); another period is refused, since Mesos's period is fixed;
//! - `memory.reservation` and `memory.limit` (bytes): the `mem` request and limit (MB); the
//!   isolator's floor of 32 MB applies to both;
//! - `memory.swap` equal to the limit: `cgroups_limit_swap` (memory plus swap held to the same
//!   limit); `-1` or absent: swap unlimited, the default;
//! - `pids.limit`: a `pids` limit (0 or less: none).
//!
//! The rest of `linux.resources` is refused by name.

use module_abi::Resources;

use crate::bundle;
use crate::translate::TranslateError;

const MB: f64 = 1024.0 * 1024.0;

/// Mesos's (and the cgroups isolator's) CFS period, in microseconds.
pub const CFS_PERIOD_US: u64 = 100_000;

/// The requests and limits of a `linux.resources`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translated {
    pub resources: Resources,
    pub limits: Resources,
    pub limit_swap: bool,
}

/// Translates `wanted`; `field` prefixes the names in errors (`linux.resources`).
pub fn translate(wanted: &bundle::Resources, field: &str) -> Result<Translated, TranslateError> {
    let unsupported =
        |name: &str| TranslateError::new(format!("{field}.{name}"), "not supported by this runtime");
    if wanted.block_io.is_some() {
        return Err(unsupported("blockIO"));
    }
    if !wanted.hugepage_limits.is_empty() {
        return Err(unsupported("hugepageLimits"));
    }
    if wanted.network.is_some() {
        return Err(unsupported("network"));
    }
    if wanted.rdma.is_some() {
        return Err(unsupported("rdma"));
    }
    if wanted.unified.as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(unsupported("unified"));
    }
    let mut out = Translated::default();
    if let Some(cpu) = &wanted.cpu {
        for (name, present) in [
            ("cpu.burst", cpu.burst.is_some_and(|b| b != 0)),
            ("cpu.realtimeRuntime", cpu.realtime_runtime.is_some_and(|r| r != 0)),
            ("cpu.realtimePeriod", cpu.realtime_period.is_some_and(|p| p != 0)),
            ("cpu.cpus", cpu.cpus.as_deref().is_some_and(|c| !c.is_empty())),
            ("cpu.mems", cpu.mems.as_deref().is_some_and(|m| !m.is_empty())),
            ("cpu.idle", cpu.idle.is_some_and(|i| i != 0)),
        ] {
            if present {
                return Err(unsupported(name));
            }
        }
        if let Some(shares) = cpu.shares.filter(|s| *s != 0) {
            out.resources = out.resources.with("cpus", shares as f64 / 1024.0);
        }
        if let Some(quota) = cpu.quota.filter(|q| *q > 0) {
            let period = cpu.period.filter(|p| *p != 0).unwrap_or(CFS_PERIOD_US);
            if period != CFS_PERIOD_US {
                return Err(TranslateError::new(
                    format!("{field}.cpu.period"),
                    format!("{period} is not supported: the CFS period is {CFS_PERIOD_US} µs"),
                ));
            }
            out.limits = out.limits.with("cpus", quota as f64 / CFS_PERIOD_US as f64);
        }
    }
    if let Some(memory) = &wanted.memory {
        for (name, present) in [
            ("memory.kernel", memory.kernel.is_some_and(|k| k != 0)),
            ("memory.kernelTCP", memory.kernel_tcp.is_some_and(|k| k != 0)),
            ("memory.swappiness", memory.swappiness.is_some_and(|s| s <= 100)),
            ("memory.disableOOMKiller", memory.disable_oom_killer == Some(true)),
            ("memory.useHierarchy", memory.use_hierarchy.is_some()),
            ("memory.checkBeforeUpdate", memory.check_before_update == Some(true)),
        ] {
            if present {
                return Err(unsupported(name));
            }
        }
        let limit = memory.limit.filter(|l| *l > 0);
        if let Some(reservation) = memory.reservation.filter(|r| *r > 0) {
            out.resources = out.resources.with("mem", reservation as f64 / MB);
        }
        if let Some(limit) = limit {
            out.limits = out.limits.with("mem", limit as f64 / MB);
        }
        match (memory.swap, limit) {
            (None | Some(-1) | Some(0), _) => {}
            (Some(swap), Some(limit)) if swap == limit => out.limit_swap = true,
            (Some(swap), _) => {
                return Err(TranslateError::new(
                    format!("{field}.memory.swap"),
                    format!("{swap} is not supported: only -1 (unlimited) or the memory limit itself"),
                ));
            }
        }
    }
    if let Some(pids) = wanted.pids.as_ref().filter(|p| p.limit > 0) {
        out.limits = out.limits.with("pids", pids.limit as f64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> bundle::Resources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cpu_memory_and_pids_become_mesos_requests_and_limits() {
        let t = translate(
            &parse(
                r#"{"cpu":{"shares":512,"quota":50000,"period":100000},
                    "memory":{"limit":67108864,"reservation":33554432,"swap":67108864},
                    "pids":{"limit":20}}"#,
            ),
            "linux.resources",
        )
        .unwrap();
        assert_eq!(t.resources, Resources::new().with("cpus", 0.5).with("mem", 32.0));
        assert_eq!(t.limits, Resources::new().with("cpus", 0.5).with("mem", 64.0).with("pids", 20.0));
        assert!(t.limit_swap);
    }

    #[test]
    fn nothing_asked_is_nothing_limited() {
        let t = translate(&parse(r#"{"cpu":{"quota":-1},"memory":{"swap":-1},"pids":{"limit":0}}"#), "r")
            .unwrap();
        assert_eq!(t, Translated::default());
    }

    #[test]
    fn what_is_not_implemented_is_refused_by_name() {
        for (json, field) in [
            (r#"{"cpu":{"quota":1000,"period":50000}}"#, "r.cpu.period"),
            (r#"{"cpu":{"cpus":"0-1"}}"#, "r.cpu.cpus"),
            (r#"{"cpu":{"realtimeRuntime":5}}"#, "r.cpu.realtimeRuntime"),
            (r#"{"memory":{"limit":1000000,"swap":2000000}}"#, "r.memory.swap"),
            (r#"{"memory":{"kernel":1}}"#, "r.memory.kernel"),
            (r#"{"memory":{"disableOOMKiller":true}}"#, "r.memory.disableOOMKiller"),
            (r#"{"blockIO":{"weight":10}}"#, "r.blockIO"),
            (r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#, "r.hugepageLimits"),
            (r#"{"unified":{"memory.high":"1"}}"#, "r.unified"),
        ] {
            let err = translate(&parse(json), "r").unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
        }
    }
}
