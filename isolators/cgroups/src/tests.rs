//! Unit tests of both modules against a fake cgroupfs: the values written for given resources,
//! the v2 lifecycle through the `Isolator` trait, recovery and the creation checks.

use std::os::fd::RawFd;

use cgroupfs::Controller;
use module_abi::{ContainerConfig, ContainerId, ContainerState, Isolator, Reason, Resources};

use crate::{CgroupsCpuIsolator, CgroupsMemIsolator, Config};
use cgroupfs::testing::{self as fake, FakeCgroupfs as Fake, V1_UNLIMITED};

const MB: u64 = 1024 * 1024;
const ROOT: &str = "mesos";

fn res(text: &str) -> Resources {
    Resources::parse(text).unwrap()
}

fn config(enable_cfs: bool, limit_swap: bool) -> Config {
    Config { enable_cfs, limit_swap, ..Config::default() }
}

fn container(resources: &str, limits: &str) -> ContainerConfig {
    ContainerConfig {
        resources: res(resources),
        limits: res(limits),
        directory: "/tmp".into(),
        ..Default::default()
    }
}

/// Adopts a populated v1 cgroup through `recover`, as after a restart, with these resources.
fn adopt<I: Isolator>(isolator: &I, fake: &Fake, id: &str, resources: &str, limits: &str) -> ContainerId {
    fake.populate(ROOT, id);
    let state = ContainerState {
        container_id: ContainerId::new(id),
        pid: 1,
        directory: "/tmp".into(),
        config: Some(container(resources, limits)),
    };
    isolator.recover(vec![state], vec![]).unwrap();
    ContainerId::new(id)
}

fn cpu_file(fake: &Fake, id: &str, file: &str) -> String {
    fake::read(fake.dir(Controller::Cpu, ROOT, id).join(file))
}

fn mem_file(fake: &Fake, id: &str, file: &str) -> String {
    fake::read(fake.dir(Controller::Memory, ROOT, id).join(file))
}

#[test]
fn v1_cpu_shares_and_quota() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&cpu, &fake, "c1", "", "");

    cpu.update(&id, &res("cpus:0.5"), &res("")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.shares"), "512");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "-1", "no CFS without a limit or enable_cfs");

    cpu.update(&id, &res("cpus:0.5"), &res("cpus:0.5")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_period_us"), "100000");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "50000");

    // The quota may be lowered, as in Mesos.
    cpu.update(&id, &res("cpus:0.5"), &res("cpus:0.2")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "20000");

    cpu.update(&id, &res("cpus:0.001"), &res("cpus:inf")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.shares"), "2");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "-1");
}

#[test]
fn v1_cpu_without_cpus_leaves_the_defaults() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(true, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&cpu, &fake, "c1", "", "");
    fake::write(&fake.dir(Controller::Cpu, ROOT, "c1"), &[("cpu.shares", "untouched")]);
    cpu.update(&id, &res("mem:64"), &res("")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.shares"), "untouched");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "-1");

    // A limit alone: the default weight of one CPU and the limit's quota, even with enable_cfs.
    cpu.update(&id, &res(""), &res("cpus:1.5")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.shares"), "1024");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "150000");
}

#[test]
fn v1_enable_cfs_enforces_the_request() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(true, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&cpu, &fake, "c1", "cpus:0.5", "");
    cpu.update(&id, &res("cpus:0.5"), &res("")).unwrap();
    assert_eq!(cpu_file(&fake, "c1", "cpu.shares"), "512");
    assert_eq!(cpu_file(&fake, "c1", "cpu.cfs_quota_us"), "50000");

    let usage = cpu.usage(&id).unwrap();
    assert_eq!(usage.cpus_user_time_secs, Some(25.0 / cgroupfs::clock_ticks_per_second() as f64));
    assert_eq!(usage.cpus_soft_limit, Some(0.5));
    assert_eq!(usage.cpus_limit, Some(0.5), "the request is the limit when CFS enforces it");
    assert_eq!(usage.cpus_nr_periods, Some(10));
    assert_eq!(usage.cpus_nr_throttled, Some(2));
    assert_eq!(usage.cpus_throttled_time_secs, Some(0.5));
    assert_eq!(usage.processes, Some(0));
    assert!(usage.timestamp.is_some());
    assert!(usage.mem_total_bytes.is_none(), "memory is the other isolator's");
}

#[test]
fn v1_cpu_usage_without_cfs_and_infinite_limit() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&cpu, &fake, "c1", "cpus:0.5", "");
    let usage = cpu.usage(&id).unwrap();
    assert_eq!((usage.cpus_nr_periods, usage.cpus_limit), (None, None));
    cpu.update(&id, &res("cpus:0.5"), &res("cpus:inf")).unwrap();
    let usage = cpu.usage(&id).unwrap();
    assert_eq!(usage.cpus_limit, Some(crate::host::cpus()));
    assert_eq!(usage.cpus_nr_periods, Some(10), "an infinite limit still means CFS is in use");
}

#[test]
fn v1_memory_limits_minimum_and_never_lowered() {
    let fake = Fake::v1();
    let mem = CgroupsMemIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&mem, &fake, "c1", "", "");

    mem.update(&id, &res("cpus:1"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), V1_UNLIMITED, "no mem, no limits");

    mem.update(&id, &res("mem:16"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.soft_limit_in_bytes"), (32 * MB).to_string());
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), (32 * MB).to_string());

    mem.update(&id, &res("mem:64"), &res("mem:128")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.soft_limit_in_bytes"), (64 * MB).to_string());
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), (128 * MB).to_string());

    mem.update(&id, &res("mem:48"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.soft_limit_in_bytes"), (48 * MB).to_string());
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), (128 * MB).to_string(), "hard never lowered");
    assert_eq!(
        mem_file(&fake, "c1", "memory.memsw.limit_in_bytes"),
        V1_UNLIMITED,
        "no swap limit by default"
    );

    let usage = mem.usage(&id).unwrap();
    assert_eq!(usage.mem_total_bytes, Some(12288));
    assert_eq!(usage.mem_rss_bytes, Some(8192));
    assert_eq!(usage.mem_cache_bytes, Some(4096));
    assert_eq!(usage.mem_kmem_usage_bytes, Some(4096));
    assert_eq!(usage.mem_total_memsw_bytes, None, "memsw use only when it is limited");
    assert_eq!(usage.mem_soft_limit_bytes, Some(48 * MB));
    assert_eq!(usage.mem_limit_bytes, Some(128 * MB));
    assert!(usage.cpus_user_time_secs.is_none(), "cpu is the other isolator's");

    mem.update(&id, &res("mem:48"), &res("mem:inf")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), "-1");
}

#[test]
fn v1_limit_swap_writes_memsw_in_a_kernel_safe_order() {
    let fake = Fake::v1();
    let mem = CgroupsMemIsolator::new(config(false, true), fake.hierarchies.clone()).unwrap();
    let id = adopt(&mem, &fake, "c1", "", "");
    mem.update(&id, &res("mem:64"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), (64 * MB).to_string());
    assert_eq!(mem_file(&fake, "c1", "memory.memsw.limit_in_bytes"), (64 * MB).to_string());
    mem.update(&id, &res("mem:128"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.limit_in_bytes"), (128 * MB).to_string());
    assert_eq!(mem_file(&fake, "c1", "memory.memsw.limit_in_bytes"), (128 * MB).to_string());
    mem.update(&id, &res("mem:64"), &res("")).unwrap();
    assert_eq!(mem_file(&fake, "c1", "memory.memsw.limit_in_bytes"), (128 * MB).to_string());
    assert_eq!(mem.usage(&id).unwrap().mem_total_memsw_bytes, Some(12288), "memsw use with its limit");
}

#[test]
fn infinite_requests_are_refused() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    let id = adopt(&cpu, &fake, "c1", "", "");
    let err = cpu.update(&id, &res("cpus:inf"), &res("")).unwrap_err().to_string();
    assert!(err.contains("cgroups/cpu") && err.contains("'c1'") && err.contains("finite"), "{err}");
}

#[test]
fn recover_adopts_known_and_removes_unknown_orphans() {
    let fake = Fake::v1();
    let cpu = CgroupsCpuIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    fake.populate(ROOT, "known");
    // Unknown and orphan cgroups as empty directories (a plain rmdir removes them).
    for id in ["stale", "orphan"] {
        for c in [Controller::Cpu, Controller::Cpuacct] {
            std::fs::create_dir_all(fake.dir(c, ROOT, id)).unwrap();
        }
    }
    let state = |id: &str| ContainerState {
        container_id: ContainerId::new(id),
        pid: 1,
        directory: "/tmp".into(),
        config: None,
    };
    cpu.recover(vec![state("known"), state("gone")], vec![ContainerId::new("orphan")]).unwrap();
    assert!(!fake.dir(Controller::Cpu, ROOT, "stale").exists());
    assert!(!fake.dir(Controller::Cpuacct, ROOT, "stale").exists());
    assert!(fake.dir(Controller::Cpu, ROOT, "orphan").exists(), "known orphans are the harness's");
    assert!(cpu.status(&ContainerId::new("known")).is_ok());
    // The known orphan is held, so its cleanup removes it; the missing one is simply unknown.
    cpu.cleanup(&ContainerId::new("orphan")).unwrap();
    assert!(!fake.dir(Controller::Cpu, ROOT, "orphan").exists());
    assert!(
        cpu.usage(&ContainerId::new("gone")).unwrap_err().to_string().contains("unknown container 'gone'")
    );
    cpu.cleanup(&ContainerId::new("gone")).unwrap();
}

#[test]
fn v2_lifecycle_through_the_trait() {
    let fake = Fake::v2("cpu memory pids", "");
    let cpu = CgroupsCpuIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    let mem = CgroupsMemIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    // As the kernel would have it once the first of the three sharers made it.
    fake.populate(ROOT, "c1");
    let id = ContainerId::new("c1");
    let dir = fake.dir(Controller::Cpu, ROOT, "c1");
    let spec = container("cpus:0.5;mem:64", "cpus:0.5");
    assert_eq!(cpu.prepare(&id, &spec).unwrap(), None);
    assert_eq!(mem.prepare(&id, &spec).unwrap(), None);
    assert!(cpu.prepare(&id, &spec).unwrap_err().to_string().contains("already been prepared"));
    assert_eq!(fake::read(dir.join("cpu.weight")), "50");
    assert_eq!(fake::read(dir.join("cpu.max")), "50000 100000");
    assert_eq!(fake::read(dir.join("memory.low")), (64 * MB).to_string());
    assert_eq!(fake::read(dir.join("memory.max")), (64 * MB).to_string());
    // The fake shows what was written to subtree_control; the kernel would merge.
    assert_eq!(fake::read(dir.join("cgroup.subtree_control")), "+memory");

    cpu.isolate(&id, 4242).unwrap();
    assert_eq!(fake::read(dir.join("leaf/cgroup.procs")), "4242");

    mem.update(&id, &res("mem:32"), &res("")).unwrap();
    assert_eq!(fake::read(dir.join("memory.low")), (32 * MB).to_string());
    assert_eq!(fake::read(dir.join("memory.max")), (64 * MB).to_string(), "hard never lowered");

    let status = cpu.status(&id).unwrap();
    assert_eq!(status.info["cgroup"], "/mesos/c1");
    assert_eq!(status.info["cgroups/cpu"], dir.display().to_string());

    assert_eq!(cpu.watch(&id).unwrap(), None);
    let fd: RawFd = mem.watch(&id).unwrap().expect("a watch fd");
    assert!(fd >= 0);
    // A memory.events change that is not an OOM: a spurious wake.
    fake::write(&dir, &[("memory.events", "low 0\nhigh 3\nmax 0\noom 0\noom_kill 0\n")]);
    assert_eq!(mem.limitation(&id).unwrap(), None);
    fake::write(
        &dir,
        &[("memory.events", "low 0\nhigh 3\nmax 5\noom 1\noom_kill 1\n"), ("memory.peak", "67108864")],
    );
    let limitation = mem.limitation(&id).unwrap().expect("an OOM limitation");
    assert_eq!(limitation.reason, Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY));
    assert_eq!(limitation.resources.mem_mb(), Some(64.0));
    assert!(
        limitation.message.starts_with(
            "Memory limit exceeded: Requested: 64MB Maximum Used: 64MB\n\nMEMORY STATISTICS: \n"
        ),
        "{}",
        limitation.message
    );
    assert_eq!(mem.limitation(&id).unwrap(), None, "reported once");

    let usage = mem.usage(&id).unwrap();
    assert_eq!(usage.mem_kmem_usage_bytes, Some(100));
    assert_eq!(cpu.usage(&id).unwrap().cpus_user_time_secs, Some(0.25));
}

#[test]
fn cleanup_of_an_unknown_container_is_ok() {
    let fake = Fake::v2("cpu memory pids", "");
    let mem = CgroupsMemIsolator::new(config(false, false), fake.hierarchies.clone()).unwrap();
    mem.cleanup(&ContainerId::new("never-prepared")).unwrap();
    assert_eq!(mem.limitation(&ContainerId::new("never-prepared")).unwrap(), None);
}

#[test]
fn creation_checks_the_host() {
    let fake = Fake::v2("cpu memory pids", "");
    let err = CgroupsMemIsolator::new(config(false, true), fake.hierarchies.clone()).unwrap_err().to_string();
    assert!(
        err.contains("cgroups_limit_swap is set but") && err.contains("cgroup v2 has no memory+swap limit"),
        "{err}"
    );

    let fake = Fake::v1();
    let cgroupfs::Hierarchies::V1 { mounts } = &fake.hierarchies else { unreachable!() };
    std::fs::remove_file(mounts[&Controller::Memory].join("memory.memsw.limit_in_bytes")).unwrap();
    std::fs::remove_file(mounts[&Controller::Cpu].join("cpu.cfs_quota_us")).unwrap();
    let err = CgroupsMemIsolator::new(config(false, true), fake.hierarchies.clone()).unwrap_err().to_string();
    assert!(err.contains("memory.memsw.limit_in_bytes: it does not exist"), "{err}");
    let err = CgroupsCpuIsolator::new(config(true, false), fake.hierarchies.clone()).unwrap_err().to_string();
    assert!(err.contains("CFS quota feature"), "{err}");

    let mut no_cpuacct = fake.hierarchies.clone();
    if let cgroupfs::Hierarchies::V1 { mounts } = &mut no_cpuacct {
        mounts.remove(&Controller::Cpuacct);
    }
    let err = CgroupsCpuIsolator::new(config(false, false), no_cpuacct).unwrap_err().to_string();
    assert!(err.contains("no cgroup v1 hierarchy with controller 'cpuacct' is mounted"), "{err}");

    let v2 = Fake::v2("cpu memory pids", "");
    if let cgroupfs::Hierarchies::V2 { root } = &v2.hierarchies {
        fake::write(root, &[("cgroup.controllers", "cpu pids")]);
    }
    let err = CgroupsMemIsolator::new(config(false, false), v2.hierarchies.clone()).unwrap_err().to_string();
    assert!(err.contains("controller 'memory' is not available"), "{err}");
}

#[test]
fn module_create_refuses_bad_parameters() {
    use module_abi::{Module, Parameter};
    let p = |k: &str, v: &str| vec![Parameter { key: k.into(), value: v.into() }];
    let err = CgroupsCpuIsolator::create(p("cgroups_enable_cfs", "maybe")).unwrap_err().to_string();
    assert!(err.contains("'maybe'") && err.contains("'cgroups_enable_cfs'"), "{err}");
    let err = CgroupsMemIsolator::create(p("cgroup_root", "x")).unwrap_err().to_string();
    assert!(err.contains("unknown parameter 'cgroup_root'"), "{err}");
}
