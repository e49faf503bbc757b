//! `cgroups/mem`: the soft limit (v1 `memory.soft_limit_in_bytes`, v2 `memory.low`) from the `mem`
//! request, the hard limit (v1 `memory.limit_in_bytes`, v2 `memory.max`) from the limit or the
//! request, both at least 32 MB and the hard one never lowered; memory statistics; and OOM
//! detection through the cgroupfs OOM listener (v1 eventfd, v2 inotify on `memory.events`) whose
//! descriptor is the container's watch.
//!
//! With `cgroups_limit_swap` (v1 only) the same hard limit also holds memory plus swap: cgroupfs
//! writes `memory.memsw.limit_in_bytes` in the order the kernel accepts
//! ([`MemorySpec::limit_swap`]), and creation fails where it cannot
//! ([`Hierarchies::check_swap_limit`]: v2, as Mesos's cgroups2 isolator refuses the flag, or a
//! kernel without swap accounting).
//!
//! Deliberate differences from Mesos: a container without a `mem` request or limit gets no limits
//! (kernel defaults); a limit without a request gets the 32 MB minimum soft limit. Burstable
//! containers get no `oom_score_adj` (Mesos sets one for command tasks with soft < hard).
//! `mem_soft_limit_bytes` and `mem_limit_bytes` report what the kernel enforces (after the 32 MB
//! minimum and the never-lower rule), not the request.

use std::os::fd::{AsRawFd, RawFd};

use cgroupfs::{
    Cgroup, CgroupManager, CgroupMode, Controller, Hierarchies, MemoryLimit, MemorySpec, OomListener,
};
use module_abi::{ContainerLimitation, Reason, ResourceStatistics, Resources};

use crate::error::{IsolatorError, Result};
use crate::host;
use crate::isolator::{CgroupsIsolator, Ctx, Subsystem};
use crate::params::Config;

/// The module type of `org_apache_mesos_CgroupsMemIsolator`.
pub type CgroupsMemIsolator = CgroupsIsolator<MemSubsystem>;

const MB: f64 = 1024.0 * 1024.0;

/// The memory half of the cgroups isolator.
#[derive(Debug)]
pub struct MemSubsystem {
    limit_swap: bool,
}

/// Per container: the OOM listener, and whether its OOM was already reported (Mesos reports a
/// limitation once; the kernel's OOM counters stay set).
#[derive(Debug)]
pub struct MemState {
    listener: OomListener,
    reported: bool,
}

fn mb_to_bytes(mb: f64) -> u64 {
    (mb * MB) as u64
}

/// What to write for a container's `mem` request and limit (MB), or `None` to leave the kernel's
/// defaults (no request and no limit).
pub fn memory_spec(
    ctx: Ctx<'_>,
    resources: &Resources,
    limits: &Resources,
    limit_swap: bool,
) -> Result<Option<MemorySpec>> {
    let request = resources.mem_mb();
    if request.is_some_and(|r| !r.is_finite()) {
        return Err(ctx.invalid("the mem request must be finite (an infinite value is only a limit)"));
    }
    let limit = limits
        .mem_mb()
        .map(|l| if l.is_finite() { MemoryLimit::Bytes(mb_to_bytes(l)) } else { MemoryLimit::Unlimited });
    Ok(match (request, limit) {
        (None, None) => None,
        (request, limit) => {
            Some(MemorySpec { request_bytes: mb_to_bytes(request.unwrap_or(0.0)), limit, limit_swap })
        }
    })
}

impl Subsystem for MemSubsystem {
    const NAME: &'static str = "cgroups/mem";
    type State = MemState;

    fn controllers(_mode: CgroupMode) -> &'static [Controller] {
        &[Controller::Memory]
    }

    fn new(config: &Config, hierarchies: &Hierarchies) -> Result<Self> {
        if config.limit_swap {
            hierarchies.check_swap_limit().map_err(|e| IsolatorError::Unsupported {
                isolator: Self::NAME,
                reason: format!("cgroups_limit_swap is set but {e}; set it to false"),
            })?;
        }
        Ok(MemSubsystem { limit_swap: config.limit_swap })
    }

    fn update(&self, ctx: Ctx<'_>, cgroup: &Cgroup, resources: &Resources, limits: &Resources) -> Result<()> {
        if let Some(spec) = memory_spec(ctx, resources, limits, self.limit_swap)? {
            cgroup.update_memory(&spec).map_err(ctx.cgroup("update the memory controller"))?;
        }
        Ok(())
    }

    fn start(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<MemState> {
        let listener = cgroup.oom_listener().map_err(ctx.cgroup("listen for OOM"))?;
        Ok(MemState { listener, reported: false })
    }

    fn usage(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<ResourceStatistics> {
        let stats = cgroup.memory_stats(self.limit_swap).map_err(ctx.cgroup("read the memory statistics"))?;
        let mut out = ResourceStatistics {
            mem_total_bytes: stats.mem_total_bytes,
            mem_rss_bytes: stats.mem_rss_bytes,
            mem_cache_bytes: stats.mem_cache_bytes,
            mem_mapped_file_bytes: stats.mem_mapped_file_bytes,
            mem_swap_bytes: stats.mem_swap_bytes,
            mem_unevictable_bytes: stats.mem_unevictable_bytes,
            mem_kmem_usage_bytes: stats.mem_kmem_usage_bytes,
            // As Mesos: memory+swap use only when it is limited.
            mem_total_memsw_bytes: stats.mem_total_memsw_bytes.filter(|_| self.limit_swap),
            ..Default::default()
        };
        if memory_spec(ctx, resources, limits, self.limit_swap)?.is_some() {
            let settings = cgroup.memory_settings().map_err(ctx.cgroup("read the memory limits"))?;
            let bytes = |limit| match limit {
                MemoryLimit::Bytes(b) => Some(b),
                MemoryLimit::Unlimited => host::memory_bytes(),
            };
            out.mem_soft_limit_bytes = bytes(settings.soft);
            out.mem_limit_bytes = bytes(settings.hard);
        }
        Ok(out)
    }

    fn watch(&self, state: &MemState) -> Option<RawFd> {
        Some(state.listener.as_raw_fd())
    }

    fn limitation(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        state: &mut MemState,
    ) -> Result<Option<ContainerLimitation>> {
        // Drain first so the descriptor stops being readable whatever the wake was for.
        state.listener.drain().map_err(ctx.cgroup("read the OOM notification"))?;
        // v1 also signals the eventfd when the cgroup is removed; v2 wakes for every change of
        // memory.events (`high`, `max`, ...): only a counted OOM is a limitation.
        if state.reported
            || !cgroup.exists()
            || !cgroup.oom_occurred().map_err(ctx.cgroup("read the OOM state"))?
        {
            return Ok(None);
        }
        let message = cgroup.oom_message().map_err(ctx.cgroup("describe the OOM"))?;
        let stats = cgroup.stats().map_err(ctx.cgroup("read the memory statistics"))?;
        let max_used = stats.mem_max_usage_bytes.or(stats.mem_total_bytes).unwrap_or(0);
        state.reported = true;
        Ok(Some(ContainerLimitation {
            resources: Resources::new().with("mem", max_used as f64 / MB),
            message,
            reason: Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY),
        }))
    }
}
