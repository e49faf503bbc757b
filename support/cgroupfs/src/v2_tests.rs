//! Unit tests of the v2 cgroup handle against a fake cgroupfs in a temp dir.

use super::*;
use crate::manager::Cgroup;
use crate::testing::{self as fake, FakeCgroupfs};

const MB: u64 = 1024 * 1024;

fn cgroup(fake: &FakeCgroupfs) -> Cgroup {
    let all = [Controller::Cpu, Controller::Cpuacct, Controller::Memory, Controller::Pids];
    fake.hierarchies.cgroup("mesos", "c1", &all).unwrap()
}

fn v2(cg: &Cgroup) -> &V2Cgroup {
    match cg {
        Cgroup::V2(v2) => v2,
        Cgroup::V1(_) => panic!("not v2"),
    }
}

#[test]
fn subtree_control_enabled_in_every_ancestor() {
    let fake = FakeCgroupfs::v2("cpuset cpu io memory pids", "io");
    let root = fake.mount(Controller::Memory);
    fake::write(
        &root.join("mesos"),
        &[("cgroup.controllers", "cpu io memory pids"), ("cgroup.subtree_control", "")],
    );
    let cg = cgroup(&fake);
    let chain = v2(&cg).ancestors_top_down();
    assert_eq!(chain, vec![root.clone(), root.join("mesos"), root.join("mesos/c1")]);
    v2(&cg).enable_controllers(&root).unwrap();
    v2(&cg).enable_controllers(&root.join("mesos")).unwrap();
    // The kernel would merge; a plain file shows exactly what was written, missing ones only.
    assert_eq!(fake::read(root.join("cgroup.subtree_control")), "+cpu +memory +pids");
    assert_eq!(fake::read(root.join("mesos/cgroup.subtree_control")), "+cpu +memory +pids");
    fake::write(&root.join("mesos"), &[("cgroup.subtree_control", "cpu memory pids")]);
    fake::write(&root.join("mesos"), &[("cgroup.controllers", "")]);
    v2(&cg).enable_controllers(&root.join("mesos")).unwrap();
}

#[test]
fn unavailable_controller_is_reported() {
    let fake = FakeCgroupfs::v2("cpu io", "");
    let cg = cgroup(&fake);
    let err = cg.create().unwrap_err();
    assert!(matches!(&err, Error::Unavailable { controller, .. } if controller == "memory"), "{err}");
    assert!(err.to_string().contains("cgroup.controllers"), "{err}");
    assert!(!cg.exists(), "create left a half-made cgroup");
}

#[test]
fn processes_go_to_the_leaf_and_limits_to_the_non_leaf() {
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Cpu).join("mesos/c1");
    assert_eq!(cg.process_dirs(), vec![dir.join(LEAF)]);
    assert_eq!(cg.dirs(), vec![dir.clone()]);
    fake::write(&dir.join(LEAF), &[("cgroup.procs", "")]);
    fake::write(
        &dir,
        &[("cpu.weight", "100"), ("cpu.max", "max 100000"), ("memory.low", "0"), ("memory.max", "max")],
    );
    cg.assign(77).unwrap();
    assert_eq!(fake::read(dir.join("leaf/cgroup.procs")), "77");
    assert_eq!(cg.pids().unwrap(), vec![77]);

    cg.update_cpu(&CpuSpec { request: 1.5, limit: Some(0.5), enable_cfs: false }).unwrap();
    assert_eq!(fake::read(dir.join("cpu.weight")), "150");
    assert_eq!(fake::read(dir.join("cpu.max")), "50000 100000");
    let cpu = cg.cpu_settings().unwrap();
    assert_eq!((cpu.weight, cpu.period_us, cpu.quota), (Some(150), 100_000, CpuQuota::Micros(50_000)));

    let spec = |limit| MemorySpec {
        request_bytes: 64 * MB,
        limit: Some(MemoryLimit::Bytes(limit)),
        limit_swap: false,
    };
    let now = cg.update_memory(&spec(128 * MB)).unwrap();
    assert_eq!(now, MemorySettings { soft: MemoryLimit::Bytes(64 * MB), hard: MemoryLimit::Bytes(128 * MB) });
    assert_eq!(cg.update_memory(&spec(64 * MB)).unwrap().hard, MemoryLimit::Bytes(128 * MB));
    cg.update_memory(&MemorySpec {
        request_bytes: 0,
        limit: Some(MemoryLimit::Unlimited),
        limit_swap: false,
    })
    .unwrap();
    assert_eq!(fake::read(dir.join("memory.max")), "max");
}

#[test]
fn stats_and_oom() {
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Cpu).join("mesos/c1");
    fake::write(&dir.join(LEAF), &[("cgroup.procs", "9\n")]);
    let memory_stat = "anon 4096\nfile 8192\nkernel 100\nfile_mapped 0\nunevictable 0\n";
    fake::write(
        &dir,
        &[
            ("cgroup.procs", ""),
            ("cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"),
            ("memory.current", "12288"),
            ("memory.max", "33554432"),
            ("memory.stat", memory_stat),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n"),
        ],
    );
    let stats = cg.stats().unwrap();
    assert_eq!(stats.cpus_user_time_secs, Some(1.0));
    assert_eq!(stats.cpus_system_time_secs, Some(0.5));
    assert_eq!(stats.cpus_nr_periods, None);
    assert_eq!(stats.mem_total_bytes, Some(12288));
    assert_eq!(stats.mem_max_usage_bytes, None);
    assert_eq!(stats.mem_kmem_usage_bytes, Some(100));
    assert_eq!(stats.processes, Some(1));
    assert!(!cg.oom_occurred().unwrap());
    let listener = cg.oom_listener().unwrap();
    fake::write(&dir, &[("memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")]);
    assert!(listener.drain().unwrap());
    assert!(cg.oom_occurred().unwrap());
    // Without memory.peak the current usage stands for the maximum.
    let expected = format!(
        "Memory limit exceeded: Requested: 32MB Maximum Used: 12KB\n\nMEMORY STATISTICS: \n{memory_stat}\n"
    );
    assert_eq!(cg.oom_message().unwrap(), expected);
    fake::write(&dir, &[("memory.peak", "33554432")]);
    assert!(cg.oom_message().unwrap().contains("Maximum Used: 32MB"));
}

#[test]
fn remove_goes_leaf_first_and_missing_is_fine() {
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    let cg = cgroup(&fake);
    std::fs::create_dir_all(fake.mount(Controller::Cpu).join("mesos/c1").join(LEAF)).unwrap();
    assert!(matches!(cg.create().unwrap_err(), Error::AlreadyExists { .. }));
    assert_eq!(fake.hierarchies.containers("mesos").unwrap(), vec!["c1"]);
    cg.remove().unwrap();
    assert!(!cg.exists());
    cg.remove().unwrap();
}

#[test]
fn create_or_enable_shares_an_existing_cgroup() {
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    let root = fake.mount(Controller::Cpu);
    let dir = root.join("mesos/c1");
    // As the launcher left it: the cgroup and its leaf exist, no controller enabled below the root.
    let files = [("cgroup.controllers", "cpu memory pids"), ("cgroup.subtree_control", "")];
    fake::write(&root.join("mesos"), &files);
    fake::write(&dir, &files);
    fake::write(&dir.join(LEAF), &[("cgroup.procs", "")]);
    let cg = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Memory]).unwrap();
    assert!(matches!(cg.create().unwrap_err(), Error::AlreadyExists { .. }));
    v2(&cg).create_or_enable().unwrap();
    for d in [&root, &root.join("mesos"), &dir] {
        assert_eq!(fake::read(d.join("cgroup.subtree_control")), "+memory", "{}", d.display());
    }
    // Idempotent once the kernel shows the controller enabled.
    for d in [&root, &root.join("mesos"), &dir] {
        fake::write(d, &[("cgroup.subtree_control", "memory")]);
    }
    v2(&cg).create_or_enable().unwrap();
    assert!(dir.join(LEAF).is_dir());
}

#[test]
fn pids_limit_and_threads() {
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    fake.populate("mesos", "c1");
    let cg = cgroup(&fake);
    let dir = fake.dir(Controller::Pids, "mesos", "c1");
    cg.update_pids(PidsLimit::Tasks(16)).unwrap();
    assert_eq!(fake::read(dir.join("pids.max")), "16");
    assert_eq!(cg.pids_settings().unwrap().max, PidsLimit::Tasks(16));
    fake::write(&dir.join("leaf"), &[("cgroup.threads", "7\n8\n")]);
    assert_eq!(cg.threads().unwrap(), vec![7, 8]);

    let without = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Cpu]).unwrap();
    let err = without.update_pids(PidsLimit::Unlimited).unwrap_err();
    assert!(err.to_string().contains("does not use controller 'pids'"), "{err}");
}

#[test]
fn devices_on_a_directory_that_is_no_cgroup_fail_naming_it() {
    // The eBPF filter loads (as root) but cannot be attached to a plain directory; unprivileged,
    // already the load fails. Either way the error names the directory.
    let fake = FakeCgroupfs::v2("cpu memory pids", "");
    fake.populate("mesos", "c1");
    let cg = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Devices]).unwrap();
    let err = cg.update_devices(&crate::DEFAULT_WHITELIST).unwrap_err().to_string();
    let dir = fake.dir(Controller::Devices, "mesos", "c1");
    assert!(err.contains(&dir.display().to_string()) && err.contains("bpf"), "{err}");
}
