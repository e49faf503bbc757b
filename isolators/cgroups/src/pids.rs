//! `cgroups/pids`: the container's cgroup in the `pids` hierarchy (v1) or with the `pids`
//! controller enabled (v2), its `pids.max`, and the processes and threads in it.
//!
//! The limit is the `pids` scalar of the container's limits (`--limits=pids:100`), else the
//! module's `pids` parameter, else none (`max`); `pids:inf` is no limit even with a parameter.
//! It is written at `prepare` and at every `update`, and may be lowered under a running
//! container: the kernel then refuses its forks until enough tasks end. A fork past the limit
//! fails with `EAGAIN`; the kernel counts tasks (threads), so a limit of 32 holds 32 threads in
//! all. A `pids` request (in the resources) means nothing and is ignored.
//!
//! `usage` reports `processes` (the pids in `cgroup.procs`) and `threads` (v1 `tasks`, v2
//! `cgroup.threads`), of the container's cgroup and any below it.
//!
//! Mesos's own pids subsystem (`subsystems/pids.cpp`, `cgroups2/controllers/pids.cpp`) only
//! places the container in a pids cgroup and sets no limit; the limit and the counts are this
//! module's additions, its counts the ones Mesos's cpuacct subsystem reports with
//! `--cgroups_cpu_enable_pids_and_tids_count`.

use cgroupfs::pids::PID_MAX_LIMIT;
use cgroupfs::{Cgroup, CgroupManager, CgroupMode, Controller, Hierarchies, PidsLimit};
use module_abi::{ResourceStatistics, Resources};

use crate::error::Result;
use crate::isolator::{CgroupsIsolator, Ctx, Subsystem};
use crate::params::Config;

/// The module type of `org_apache_mesos_CgroupsPidsIsolator`.
pub type CgroupsPidsIsolator = CgroupsIsolator<PidsSubsystem>;

/// The resource name of the limit.
pub const PIDS: &str = "pids";

/// The pids part of the cgroups isolator.
#[derive(Debug)]
pub struct PidsSubsystem {
    /// The `pids` parameter.
    default: Option<u64>,
}

/// The `pids.max` for a container's `limits`, with the module's default.
pub fn pids_limit(ctx: Ctx<'_>, limits: &Resources, default: Option<u64>) -> Result<PidsLimit> {
    let Some(limit) = limits.get(PIDS) else {
        return Ok(default.map_or(PidsLimit::Unlimited, PidsLimit::Tasks));
    };
    if limit.is_infinite() {
        return Ok(PidsLimit::Unlimited);
    }
    if limit.fract() != 0.0 || !(1.0..=PID_MAX_LIMIT as f64).contains(&limit) {
        return Err(ctx.invalid(format!(
            "the pids limit {limit} is not a whole number of tasks from 1 to {PID_MAX_LIMIT} (or inf)"
        )));
    }
    Ok(PidsLimit::Tasks(limit as u64))
}

impl Subsystem for PidsSubsystem {
    const NAME: &'static str = "cgroups/pids";
    type State = ();

    fn controllers(_mode: CgroupMode) -> &'static [Controller] {
        &[Controller::Pids]
    }

    fn new(config: &Config, _hierarchies: &Hierarchies) -> Result<Self> {
        Ok(PidsSubsystem { default: config.pids })
    }

    fn update(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        _resources: &Resources,
        limits: &Resources,
    ) -> Result<()> {
        let max = pids_limit(ctx, limits, self.default)?;
        cgroup.update_pids(max).map_err(ctx.cgroup("update the pids controller"))
    }

    fn start(&self, _ctx: Ctx<'_>, _cgroup: &Cgroup) -> Result<()> {
        Ok(())
    }

    fn usage(
        &self,
        ctx: Ctx<'_>,
        cgroup: &Cgroup,
        _resources: &Resources,
        _limits: &Resources,
    ) -> Result<ResourceStatistics> {
        let processes = cgroup.pids().map_err(ctx.cgroup("list the processes"))?.len();
        let threads = cgroup.threads().map_err(ctx.cgroup("list the threads"))?.len();
        Ok(ResourceStatistics {
            processes: Some(saturate(processes)),
            threads: Some(saturate(threads)),
            ..Default::default()
        })
    }
}

/// `ResourceStatistics` counts are 32-bit, as Mesos's protobuf fields.
fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use cgroupfs::testing::{self as fake, FakeCgroupfs};
    use module_abi::{ContainerConfig, ContainerId, Isolator};

    use super::*;

    const ROOT: &str = "mesos";

    fn res(text: &str) -> Resources {
        Resources::parse(text).unwrap()
    }

    /// A held container `c1` with these limits, adopted through `recover` as the other modules'
    /// tests do (a fake v1 cgroup made by `prepare` would lack the kernel's files).
    fn prepared(fake: &FakeCgroupfs, pids: Option<u64>, limits: &str) -> (CgroupsPidsIsolator, ContainerId) {
        let config = Config { pids, ..Config::default() };
        let isolator = CgroupsPidsIsolator::new(config, fake.hierarchies.clone()).unwrap();
        let id = ContainerId::new("c1");
        fake.populate_pids_devices(ROOT, "c1");
        let state = module_abi::ContainerState {
            container_id: id.clone(),
            pid: 1,
            directory: "/tmp".into(),
            config: Some(ContainerConfig { limits: res(limits), ..Default::default() }),
        };
        isolator.recover(vec![state], vec![]).unwrap();
        isolator.update(&id, &res(""), &res(limits)).unwrap();
        (isolator, id)
    }

    fn max(fake: &FakeCgroupfs) -> String {
        fake::read(fake.dir(Controller::Pids, ROOT, "c1").join("pids.max"))
    }

    #[test]
    fn the_limit_comes_from_limits_then_the_parameter() {
        let fake = FakeCgroupfs::v1();
        let (isolator, id) = prepared(&fake, Some(100), "pids:32");
        assert_eq!(max(&fake), "32");
        isolator.update(&id, &res("pids:5"), &res("")).unwrap();
        assert_eq!(max(&fake), "100", "no limit: the parameter's; a request means nothing");
        isolator.update(&id, &res(""), &res("pids:inf")).unwrap();
        assert_eq!(max(&fake), "max");
        isolator.update(&id, &res(""), &res("pids:8")).unwrap();
        assert_eq!(max(&fake), "8", "a limit may be lowered");

        let fake = FakeCgroupfs::v1();
        let (isolator, id) = prepared(&fake, None, "cpus:1");
        assert_eq!(max(&fake), "max", "no limit and no parameter");
        for bad in ["pids:0", "pids:1.5", "pids:4194305"] {
            let err = isolator.update(&id, &res(""), &res(bad)).unwrap_err().to_string();
            assert!(
                err.contains("cgroups/pids") && err.contains("'c1'") && err.contains("whole number"),
                "{err}"
            );
        }
    }

    #[test]
    fn usage_counts_processes_and_threads() {
        let fake = FakeCgroupfs::v1();
        let (isolator, id) = prepared(&fake, None, "pids:16");
        let dir = fake.dir(Controller::Pids, ROOT, "c1");
        fake::write(&dir, &[("cgroup.procs", "10\n20\n"), ("tasks", "10\n11\n20\n21\n22\n")]);
        let usage = isolator.usage(&id).unwrap();
        assert_eq!((usage.processes, usage.threads), (Some(2), Some(5)));
        assert!(usage.timestamp.is_some());
        assert!(usage.cpus_user_time_secs.is_none() && usage.mem_total_bytes.is_none());
        assert_eq!(isolator.status(&id).unwrap().info["cgroups/pids"], dir.display().to_string());
        // Cleanup kills what `cgroup.procs` lists and removes the directory, which the kernel
        // empties of its files by itself: the fake's go first, and the pids above were made up.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        isolator.cleanup(&id).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn v2_enables_the_controller_in_the_shared_cgroup() {
        let fake = FakeCgroupfs::v2("cpu memory pids", "");
        fake.populate(ROOT, "c1");
        let isolator = CgroupsPidsIsolator::new(
            Config { pids: Some(64), ..Config::default() },
            fake.hierarchies.clone(),
        )
        .unwrap();
        let id = ContainerId::new("c1");
        isolator.prepare(&id, &ContainerConfig::default()).unwrap();
        let dir = fake.dir(Controller::Pids, ROOT, "c1");
        assert_eq!(fake::read(dir.join("pids.max")), "64");
        assert_eq!(fake::read(fake.mount(Controller::Pids).join("cgroup.subtree_control")), "+pids");
        fake::write(&dir.join("leaf"), &[("cgroup.procs", "7\n"), ("cgroup.threads", "7\n8\n9\n")]);
        let usage = isolator.usage(&id).unwrap();
        assert_eq!((usage.processes, usage.threads), (Some(1), Some(3)));

        let without = FakeCgroupfs::v2("cpu memory", "");
        let err = CgroupsPidsIsolator::new(Config::default(), without.hierarchies.clone()).unwrap_err();
        assert!(err.to_string().contains("controller 'pids' is not available"), "{err}");
    }
}
