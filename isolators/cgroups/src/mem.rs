//! `cgroups/mem`: the soft limit (v1 `memory.soft_limit_in_bytes`, v2 `memory.low`) from the `mem`
//! request, the hard limit (v1 `memory.limit_in_bytes`, v2 `memory.max`) from the limit or the
//! request, both at least 32 MB and the hard one never lowered; memory statistics; and OOM
//! detection through the cgroupfs OOM listener (v1 eventfd, v2 inotify on `memory.events`) whose
//! descriptor is the container's watch.
//!
//! With `cgroups_limit_swap` (v1 only) the same hard limit goes to `memory.memsw.limit_in_bytes`.
//! The kernel requires `limit_in_bytes <= memsw.limit_in_bytes` at every write, so a raise writes
//! memsw first and a first limit writes it last (MESOS-7237). v2 refuses the parameter, as Mesos's
//! cgroups2 isolator does.
//!
//! Deliberate differences from Mesos: a container without a `mem` request or limit gets no limits
//! (kernel defaults); a limit without a request gets the 32 MB minimum soft limit. Burstable
//! containers get no `oom_score_adj` (Mesos sets one for command tasks with soft < hard).
//! `mem_soft_limit_bytes` and `mem_limit_bytes` report what the kernel enforces (after the 32 MB
//! minimum and the never-lower rule), not the request.

use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use cgroupfs::{
    Cgroup, CgroupManager, CgroupMode, Controller, Hierarchies, MemoryLimit, MemorySpec, OomListener,
    formulas,
};
use module_abi::{ContainerLimitation, Reason, ResourceStatistics, Resources};

use crate::error::{IsolatorError, Result};
use crate::host;
use crate::isolator::{CgroupsIsolator, Ctx, Subsystem};
use crate::params::Config;

/// The module type of `org_apache_mesos_CgroupsMemIsolator`.
pub type CgroupsMemIsolator = CgroupsIsolator<MemSubsystem>;

const MB: f64 = 1024.0 * 1024.0;

/// v1 reports "no limit" as the largest page-aligned `i64`; anything this large is unlimited.
const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

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
pub fn memory_spec(ctx: Ctx<'_>, resources: &Resources, limits: &Resources) -> Result<Option<MemorySpec>> {
    let request = resources.mem_mb();
    if request.is_some_and(|r| !r.is_finite()) {
        return Err(ctx.invalid("the mem request must be finite (an infinite value is only a limit)"));
    }
    let limit = limits
        .mem_mb()
        .map(|l| if l.is_finite() { MemoryLimit::Bytes(mb_to_bytes(l)) } else { MemoryLimit::Unlimited });
    Ok(match (request, limit) {
        (None, None) => None,
        (request, limit) => Some(MemorySpec { request_bytes: mb_to_bytes(request.unwrap_or(0.0)), limit }),
    })
}

/// The v1 memory directory of a cgroup; `None` on v2.
fn v1_memory_dir(cgroup: &Cgroup) -> Option<&Path> {
    match cgroup {
        Cgroup::V1(v1) => v1.dir(Controller::Memory).ok(),
        Cgroup::V2(_) => None,
    }
}

impl MemSubsystem {
    fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> IsolatorError + '_ {
        move |source| IsolatorError::File { isolator: Self::NAME, path: path.to_owned(), source }
    }

    fn read_memsw(path: &Path) -> Result<MemoryLimit> {
        let text = std::fs::read_to_string(path).map_err(Self::file_error(path))?;
        let text = text.trim();
        if text == "-1" {
            return Ok(MemoryLimit::Unlimited);
        }
        let value: u64 = text.parse().map_err(|_| IsolatorError::File {
            isolator: Self::NAME,
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("'{text}' is not a number")),
        })?;
        Ok(if value >= V1_UNLIMITED_FLOOR { MemoryLimit::Unlimited } else { MemoryLimit::Bytes(value) })
    }

    fn write_memsw(path: &Path, limit: MemoryLimit) -> Result<()> {
        let value = match limit {
            MemoryLimit::Bytes(b) => b.to_string(),
            MemoryLimit::Unlimited => "-1".to_owned(),
        };
        // One write(2) of the whole value; the file must exist (never created here).
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(Self::file_error(path))?;
        std::io::Write::write_all(&mut file, value.as_bytes()).map_err(Self::file_error(path))
    }

    /// v1 with `cgroups_limit_swap`: the memory and memory+swap limits, in the order the kernel
    /// accepts (`limit_in_bytes <= memsw.limit_in_bytes` must hold after every write).
    fn update_with_swap(&self, ctx: Ctx<'_>, cgroup: &Cgroup, dir: &Path, spec: &MemorySpec) -> Result<()> {
        let current = cgroup.memory_settings().map_err(ctx.cgroup("read the memory limits"))?.hard;
        let update = |s: &MemorySpec| {
            cgroup.update_memory(s).map(|_| ()).map_err(ctx.cgroup("update the memory controller"))
        };
        let Some(hard) = formulas::hard_limit_update(current, formulas::memory_hard_limit(spec)) else {
            return update(spec);
        };
        let memsw_path = dir.join("memory.memsw.limit_in_bytes");
        if hard > Self::read_memsw(&memsw_path)? {
            Self::write_memsw(&memsw_path, hard)?;
            update(spec)
        } else {
            update(spec)?;
            Self::write_memsw(&memsw_path, hard)
        }
    }
}

impl Subsystem for MemSubsystem {
    const NAME: &'static str = "cgroups/mem";
    type State = MemState;

    fn controllers(_mode: CgroupMode) -> &'static [Controller] {
        &[Controller::Memory]
    }

    fn new(config: &Config, hierarchies: &Hierarchies) -> Result<Self> {
        if config.limit_swap {
            let unsupported = |reason: String| IsolatorError::Unsupported { isolator: Self::NAME, reason };
            match hierarchies {
                Hierarchies::V2 { .. } => {
                    return Err(unsupported(
                        "cgroups_limit_swap is not supported with cgroup v2 (as in Mesos); \
                         set it to false"
                            .to_owned(),
                    ));
                }
                Hierarchies::V1 { mounts } => {
                    let memsw: Option<PathBuf> =
                        mounts.get(&Controller::Memory).map(|m| m.join("memory.memsw.limit_in_bytes"));
                    if let Some(file) = memsw.filter(|f| !f.exists()) {
                        return Err(unsupported(format!(
                            "cgroups_limit_swap is set but {} does not exist; the kernel has no swap \
                             accounting (boot with swapaccount=1)",
                            file.display()
                        )));
                    }
                }
            }
        }
        Ok(MemSubsystem { limit_swap: config.limit_swap })
    }

    fn update(&self, ctx: Ctx<'_>, cgroup: &Cgroup, resources: &Resources, limits: &Resources) -> Result<()> {
        let Some(spec) = memory_spec(ctx, resources, limits)? else {
            return Ok(());
        };
        match v1_memory_dir(cgroup) {
            Some(dir) if self.limit_swap => self.update_with_swap(ctx, cgroup, dir, &spec),
            _ => cgroup.update_memory(&spec).map(|_| ()).map_err(ctx.cgroup("update the memory controller")),
        }
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
        let stats = cgroup.stats().map_err(ctx.cgroup("read the memory statistics"))?;
        let mut out = ResourceStatistics {
            mem_total_bytes: stats.mem_total_bytes,
            mem_rss_bytes: stats.mem_rss_bytes,
            mem_cache_bytes: stats.mem_cache_bytes,
            mem_mapped_file_bytes: stats.mem_mapped_file_bytes,
            mem_swap_bytes: stats.mem_swap_bytes,
            mem_unevictable_bytes: stats.mem_unevictable_bytes,
            mem_kmem_usage_bytes: stats.mem_kmem_usage_bytes,
            ..Default::default()
        };
        if let Some(dir) = v1_memory_dir(cgroup) {
            // cgroupfs reads kmem from v2's memory.stat only; v1 has its own counters.
            out.mem_kmem_usage_bytes = read_optional_u64(&dir.join("memory.kmem.usage_in_bytes"));
            if self.limit_swap {
                out.mem_total_memsw_bytes = read_optional_u64(&dir.join("memory.memsw.usage_in_bytes"));
            }
        }
        if memory_spec(ctx, resources, limits)?.is_some() {
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

/// A counter file that only some kernels have.
fn read_optional_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
