//! `cgroups/cpu`: CPU shares (v1 `cpu.shares`, v2 `cpu.weight`) from the `cpus` request, a CFS
//! quota (v1 `cpu.cfs_quota_us`, v2 `cpu.max`) from the `cpus` limit or, with
//! `cgroups_enable_cfs`, from the request; CPU time and throttling statistics. On v1 it uses the
//! `cpu` and `cpuacct` hierarchies (separate mounts on some hosts), on v2 the `cpu` controller.
//!
//! Deliberate difference from Mesos: a container without a `cpus` request is not an error ("No
//! cpus resource given"); it keeps the kernel's default shares/weight (those of one CPU) and gets
//! no quota unless it has a `cpus` limit, so `run -- true` without resources works. A limit
//! without a request gets the default shares and the limit's quota.

use cgroupfs::{Cgroup, CgroupManager, CgroupMode, Controller, CpuSpec, Hierarchies, formulas};
use module_abi::{ResourceStatistics, Resources};

use crate::error::{IsolatorError, Result};
use crate::host;
use crate::isolator::{CgroupsIsolator, Ctx, Subsystem};
use crate::params::Config;

/// The module type of `org_apache_mesos_CgroupsCpuIsolator`.
pub type CgroupsCpuIsolator = CgroupsIsolator<CpuSubsystem>;

/// The cpus a container without a request is weighted as: the kernel's defaults (`cpu.shares`
/// 1024, `cpu.weight` 100) are those of one CPU in Mesos's formulas.
const DEFAULT_CPUS: f64 = 1.0;

/// The CPU half of the cgroups isolator.
#[derive(Debug)]
pub struct CpuSubsystem {
    enable_cfs: bool,
}

/// What to write for a container's `cpus` request and limit, or `None` to leave the kernel's
/// defaults (no request and no limit).
pub fn cpu_spec(
    ctx: Ctx<'_>,
    resources: &Resources,
    limits: &Resources,
    enable_cfs: bool,
) -> Result<Option<CpuSpec>> {
    let request = resources.cpus();
    if request.is_some_and(|r| !r.is_finite()) {
        return Err(ctx.invalid("the cpus request must be finite (an infinite value is only a limit)"));
    }
    let limit = limits.cpus();
    Ok(match (request, limit) {
        (None, None) => None,
        (request, limit) => Some(CpuSpec {
            request: request.unwrap_or(DEFAULT_CPUS),
            limit,
            // With no request there is nothing to turn into a quota.
            enable_cfs: enable_cfs && request.is_some(),
        }),
    })
}

impl Subsystem for CpuSubsystem {
    const NAME: &'static str = "cgroups/cpu";
    type State = ();

    fn controllers(mode: CgroupMode) -> &'static [Controller] {
        match mode {
            CgroupMode::V1 => &[Controller::Cpu, Controller::Cpuacct],
            CgroupMode::V2 => &[Controller::Cpu],
        }
    }

    fn new(config: &Config, hierarchies: &Hierarchies) -> Result<Self> {
        if config.enable_cfs {
            // Mesos's check: a kernel without CFS bandwidth control has no quota file.
            let quota_file = match hierarchies {
                Hierarchies::V1 { mounts } => {
                    mounts.get(&Controller::Cpu).map(|m| m.join("cpu.cfs_quota_us"))
                }
                // cpu.max exists only below the root; the controller being offered is the check.
                Hierarchies::V2 { .. } => None,
            };
            if let Some(file) = quota_file.filter(|f| !f.exists()) {
                return Err(IsolatorError::Unsupported {
                    isolator: Self::NAME,
                    reason: format!(
                        "cgroups_enable_cfs is set but {} does not exist; your kernel might be too old \
                         to use the CFS quota feature",
                        file.display()
                    ),
                });
            }
        }
        Ok(CpuSubsystem { enable_cfs: config.enable_cfs })
    }

    fn update(&self, ctx: Ctx<'_>, cgroup: &Cgroup, resources: &Resources, limits: &Resources) -> Result<()> {
        if let Some(spec) = cpu_spec(ctx, resources, limits, self.enable_cfs)? {
            cgroup.update_cpu(&spec).map_err(ctx.cgroup("update the cpu controller"))?;
        }
        Ok(())
    }

    fn start(&self, _ctx: Ctx<'_>, _cgroup: &Cgroup) -> Result<()> {
        Ok(())
    }

    fn usage(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        resources: &Resources,
        limits: &Resources,
    ) -> Result<ResourceStatistics> {
        let stats = cgroup.cpu_stats().map_err(ctx.cgroup("read the cpu statistics"))?;
        let spec = cpu_spec(ctx, resources, limits, self.enable_cfs)?;
        let quota = spec.as_ref().and_then(formulas::cpu_quota);
        let mut out = ResourceStatistics {
            cpus_user_time_secs: stats.cpus_user_time_secs,
            cpus_system_time_secs: stats.cpus_system_time_secs,
            processes: stats.processes.map(saturate),
            cpus_soft_limit: resources.cpus(),
            ..Default::default()
        };
        // As Mesos: throttling statistics only when a quota is enforced.
        if quota.is_some() {
            out.cpus_nr_periods = stats.cpus_nr_periods.map(saturate);
            out.cpus_nr_throttled = stats.cpus_nr_throttled.map(saturate);
            out.cpus_throttled_time_secs = stats.cpus_throttled_time_secs;
        }
        // Mesos's containerizer: the limit, or the request when CFS enforces it; inf -> host CPUs.
        let limit = limits.cpus().or(if self.enable_cfs { resources.cpus() } else { None });
        out.cpus_limit = limit.map(|l| if l.is_finite() { l } else { host::cpus() });
        Ok(out)
    }
}

/// `ResourceStatistics` counts are 32-bit, as Mesos's protobuf fields.
fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
