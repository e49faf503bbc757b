//! Unit tests of the v1 cgroup handle against a fake cgroupfs in a temp dir.

use super::*;
use crate::manager::Cgroup;
use crate::testing::{self as fake, FakeCgroupfs};

const MB: u64 = 1024 * 1024;
const ALL: [Controller; 4] = [Controller::Cpu, Controller::Cpuacct, Controller::Memory, Controller::Freezer];

fn cgroup(fake: &FakeCgroupfs) -> Cgroup {
    fake.hierarchies.cgroup("mesos", "c1", &ALL).unwrap()
}

#[test]
fn create_makes_one_dir_per_hierarchy_and_refuses_an_existing_one() {
    let fake = FakeCgroupfs::v1();
    let cg = cgroup(&fake);
    assert!(!cg.exists());
    cg.create().unwrap();
    for c in ALL {
        assert!(fake.mount(c).join("mesos/c1").is_dir(), "{c:?}");
    }
    assert!(!fake.mount(Controller::Pids).join("mesos/c1").exists());
    let err = cg.create().unwrap_err();
    let cpu_dir = fake.mount(Controller::Cpu).join("mesos/c1");
    assert_eq!(err.to_string(), format!("the cgroup at '{}' already exists", cpu_dir.display()));
    assert_eq!(fake.hierarchies.containers("mesos").unwrap(), vec!["c1"]);
    cg.remove().unwrap();
    assert!(!cg.exists());
    cg.remove().unwrap();
    fake.hierarchies.remove_root("mesos").unwrap();
    assert!(!fake.mount(Controller::Cpu).join("mesos").exists());
}

#[test]
fn comounted_controllers_share_a_directory() {
    let fake = FakeCgroupfs::v1();
    let shared = fake.path().join("cpu,cpuacct");
    let mut hierarchies = fake.hierarchies.clone();
    if let crate::Hierarchies::V1 { mounts } = &mut hierarchies {
        mounts.insert(Controller::Cpu, shared.clone());
        mounts.insert(Controller::Cpuacct, shared.clone());
    }
    let cg = hierarchies.cgroup("mesos", "c1", &[Controller::Cpu, Controller::Cpuacct]).unwrap();
    assert_eq!(cg.dirs(), vec![shared.join("mesos/c1")]);
    cg.create().unwrap();
    fake::write(&shared.join("mesos/c1"), &[("cgroup.procs", "")]);
    cg.assign(42).unwrap();
    assert_eq!(fake::read(shared.join("mesos/c1/cgroup.procs")), "42");
}

#[test]
fn cpu_values_written() {
    let fake = FakeCgroupfs::v1();
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Cpu).join("mesos/c1");
    fake::write(&dir, &[("cpu.shares", "1024"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "-1")]);
    cg.update_cpu(&CpuSpec { request: 0.5, limit: None, enable_cfs: false }).unwrap();
    assert_eq!(fake::read(dir.join("cpu.shares")), "512");
    assert_eq!(fake::read(dir.join("cpu.cfs_quota_us")), "-1");
    cg.update_cpu(&CpuSpec { request: 0.5, limit: Some(0.25), enable_cfs: false }).unwrap();
    let settings = cg.cpu_settings().unwrap();
    assert_eq!(settings.shares, Some(512));
    assert_eq!(settings.period_us, 100_000);
    assert_eq!(settings.quota, CpuQuota::Micros(25_000));
    cg.update_cpu(&CpuSpec { request: 1.0, limit: Some(f64::INFINITY), enable_cfs: false }).unwrap();
    assert_eq!(cg.cpu_settings().unwrap().quota, CpuQuota::Unlimited);
}

#[test]
fn memory_hard_limit_is_never_lowered() {
    let fake = FakeCgroupfs::v1();
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Memory).join("mesos/c1");
    let unlimited = "9223372036854771712";
    fake::write(&dir, &[("memory.soft_limit_in_bytes", unlimited), ("memory.limit_in_bytes", unlimited)]);
    let spec = |request: u64, limit: Option<u64>| MemorySpec {
        request_bytes: request,
        limit: limit.map(MemoryLimit::Bytes),
        limit_swap: false,
    };
    let now = cg.update_memory(&spec(64 * MB, Some(128 * MB))).unwrap();
    assert_eq!(now, MemorySettings { soft: MemoryLimit::Bytes(64 * MB), hard: MemoryLimit::Bytes(128 * MB) });
    let now = cg.update_memory(&spec(16 * MB, Some(64 * MB))).unwrap();
    assert_eq!(now.soft, MemoryLimit::Bytes(32 * MB));
    assert_eq!(now.hard, MemoryLimit::Bytes(128 * MB), "lowered");
    let now = cg.update_memory(&spec(64 * MB, Some(256 * MB))).unwrap();
    assert_eq!(now.hard, MemoryLimit::Bytes(256 * MB));
    cg.update_memory(&MemorySpec {
        request_bytes: 0,
        limit: Some(MemoryLimit::Unlimited),
        limit_swap: false,
    })
    .unwrap();
    assert_eq!(fake::read(dir.join("memory.limit_in_bytes")), "-1");
}

#[test]
fn stats_and_oom_message() {
    let fake = FakeCgroupfs::v1();
    let cg = cgroup(&fake);
    let ticks = stats::clock_ticks_per_second();
    fake::write(
        &fake.mount(Controller::Cpuacct).join("mesos/c1"),
        &[("cpuacct.stat", &format!("user {}\nsystem {}\n", 3 * ticks, ticks)), ("cgroup.procs", "5\n6\n")],
    );
    fake::write(
        &fake.mount(Controller::Cpu).join("mesos/c1"),
        &[
            ("cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 500000000\n"),
            ("cgroup.procs", "5\n6\n"),
        ],
    );
    fake::write(&fake.mount(Controller::Freezer).join("mesos/c1"), &[("cgroup.procs", "5\n6\n")]);
    let memory_stat = "total_rss 4096\ntotal_cache 8192\ntotal_mapped_file 0\ntotal_unevictable 0\n";
    fake::write(
        &fake.mount(Controller::Memory).join("mesos/c1"),
        &[
            ("memory.usage_in_bytes", "12288"),
            ("memory.max_usage_in_bytes", "33554432"),
            ("memory.limit_in_bytes", "33554432"),
            ("memory.stat", memory_stat),
            ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"),
            ("cgroup.procs", "5\n6\n"),
        ],
    );
    // Each isolator's part reads only its own files.
    let cpu = cg.cpu_stats().unwrap();
    assert_eq!(
        (cpu.cpus_user_time_secs, cpu.cpus_nr_throttled, cpu.processes),
        (Some(3.0), Some(2), Some(2))
    );
    assert_eq!((cpu.mem_total_bytes, cpu.mem_rss_bytes), (None, None));
    let memory = cg.memory_stats(false).unwrap();
    assert_eq!((memory.mem_total_bytes, memory.mem_rss_bytes), (Some(12288), Some(4096)));
    assert_eq!(
        (memory.cpus_user_time_secs, memory.processes, memory.mem_max_usage_bytes),
        (None, None, None)
    );

    let stats = cg.stats().unwrap();
    assert_eq!(stats.mem_max_usage_bytes, Some(33554432));
    assert_eq!(stats.cpus_user_time_secs, Some(3.0));
    assert_eq!(stats.cpus_system_time_secs, Some(1.0));
    assert_eq!(stats.cpus_nr_throttled, Some(2));
    assert_eq!(stats.cpus_throttled_time_secs, Some(0.5));
    assert_eq!(stats.mem_total_bytes, Some(12288));
    assert_eq!(stats.mem_rss_bytes, Some(4096));
    assert_eq!(stats.mem_swap_bytes, None);
    assert_eq!(stats.processes, Some(2));
    assert!(cg.oom_occurred().unwrap());
    assert_eq!(
        cg.oom_message().unwrap(),
        format!(
            "Memory limit exceeded: Requested: 32MB Maximum Used: 32MB\n\nMEMORY STATISTICS: \n{memory_stat}\n"
        )
    );
}

#[test]
fn oom_listener_registers_on_event_control() {
    let fake = FakeCgroupfs::v1();
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Memory).join("mesos/c1");
    fake::write(&dir, &[("memory.oom_control", "oom_kill 0\n"), ("cgroup.event_control", "")]);
    let listener = cg.oom_listener().unwrap();
    let registration = fake::read(dir.join("cgroup.event_control"));
    let efd: i32 = registration.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(efd, std::os::fd::AsRawFd::as_raw_fd(&listener));
    assert!(!listener.drain().unwrap());
    assert!(!cg.oom_occurred().unwrap());
}

#[test]
fn operations_without_their_controller_fail_naming_the_cgroup() {
    let fake = FakeCgroupfs::v1();
    let cg = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Freezer]).unwrap();
    let err =
        cg.update_memory(&MemorySpec { request_bytes: MB, limit: None, limit_swap: false }).unwrap_err();
    assert!(err.to_string().contains("does not use controller 'memory'"), "{err}");
    assert!(err.to_string().contains("mesos/c1"), "{err}");
}

/// A fake with the container cgroup `mesos/c1` populated: the fake, the handle, its memory dir.
fn populated() -> (FakeCgroupfs, Cgroup, std::path::PathBuf) {
    let fake = FakeCgroupfs::v1();
    fake.populate("mesos", "c1");
    let cg = cgroup(&fake);
    let dir = fake.mount(Controller::Memory).join("mesos/c1");
    (fake, cg, dir)
}

/// A request of `mb` MB with memory+swap limited.
fn swap_spec(mb: u64) -> MemorySpec {
    MemorySpec { request_bytes: mb * MB, limit: None, limit_swap: true }
}

#[test]
fn limit_swap_holds_memory_plus_swap_to_the_hard_limit() {
    let (_fake, cg, dir) = populated();
    cg.update_memory(&swap_spec(64)).unwrap();
    assert_eq!(fake::read(dir.join("memory.limit_in_bytes")), (64 * MB).to_string());
    assert_eq!(fake::read(dir.join(MEMSW_LIMIT)), (64 * MB).to_string());
    cg.update_memory(&swap_spec(128)).unwrap();
    assert_eq!(fake::read(dir.join("memory.limit_in_bytes")), (128 * MB).to_string());
    assert_eq!(fake::read(dir.join(MEMSW_LIMIT)), (128 * MB).to_string());
    cg.update_memory(&swap_spec(64)).unwrap();
    assert_eq!(fake::read(dir.join(MEMSW_LIMIT)), (128 * MB).to_string(), "never lowered");
    cg.update_memory(&MemorySpec { request_bytes: 0, limit: Some(MemoryLimit::Unlimited), limit_swap: true })
        .unwrap();
    assert_eq!(fake::read(dir.join(MEMSW_LIMIT)), "-1");
    assert_eq!(cg.stats().unwrap().mem_total_memsw_bytes, Some(12288));
    assert_eq!(cg.memory_stats(true).unwrap().mem_total_memsw_bytes, Some(12288));
    assert_eq!(cg.memory_stats(false).unwrap().mem_total_memsw_bytes, None, "memsw only with the flag");

    // Without the flag memsw is left alone.
    let (_fake, cg, dir) = populated();
    cg.update_memory(&MemorySpec { limit_swap: false, ..swap_spec(64) }).unwrap();
    assert_eq!(fake::read(dir.join(MEMSW_LIMIT)), fake::V1_UNLIMITED);
}

#[test]
fn a_missing_memsw_file_fails_before_the_hard_limit_is_raised_past_it() {
    // A raise writes memsw first: when that write fails, limit_in_bytes is still the old value,
    // so the kernel's `limit <= memsw` rule can never be broken half-way.
    let (_fake, cg, dir) = populated();
    cg.update_memory(&swap_spec(64)).unwrap();
    std::fs::remove_file(dir.join(MEMSW_LIMIT)).unwrap();
    let err = cg.update_memory(&swap_spec(128)).unwrap_err();
    assert!(err.to_string().contains(MEMSW_LIMIT), "{err}");
    assert_eq!(fake::read(dir.join("memory.limit_in_bytes")), (64 * MB).to_string());
}

#[test]
fn swap_limits_need_v1_swap_accounting() {
    let fake = FakeCgroupfs::v1();
    fake.hierarchies.check_swap_limit().unwrap();
    std::fs::remove_file(fake.mount(Controller::Memory).join(MEMSW_LIMIT)).unwrap();
    let err = fake.hierarchies.check_swap_limit().unwrap_err().to_string();
    assert!(err.contains("no swap accounting") && err.contains(MEMSW_LIMIT), "{err}");

    let v2 = FakeCgroupfs::v2("cpu memory", "");
    let err = v2.hierarchies.check_swap_limit().unwrap_err().to_string();
    assert!(err.contains("cgroup v2 has no memory+swap limit"), "{err}");
    let cg = v2.hierarchies.cgroup("mesos", "c1", &[Controller::Memory]).unwrap();
    let err = cg.update_memory(&MemorySpec { request_bytes: MB, limit: None, limit_swap: true }).unwrap_err();
    assert!(matches!(err, Error::SwapLimitUnavailable { .. }), "{err}");
}

#[test]
fn pids_limit_and_threads() {
    let fake = FakeCgroupfs::v1();
    fake.populate_pids_devices("mesos", "c1");
    let cg = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Pids]).unwrap();
    let dir = fake.mount(Controller::Pids).join("mesos/c1");
    cg.update_pids(PidsLimit::Tasks(32)).unwrap();
    assert_eq!(fake::read(dir.join("pids.max")), "32");
    fake::write(&dir, &[("pids.current", "32"), ("pids.events", "max 5\n")]);
    let settings = cg.pids_settings().unwrap();
    assert_eq!((settings.max, settings.current, settings.refused), (PidsLimit::Tasks(32), 32, 5));
    cg.update_pids(PidsLimit::Unlimited).unwrap();
    assert_eq!(fake::read(dir.join("pids.max")), "max");

    // Threads from `tasks`, nested cgroups included; processes from `cgroup.procs`.
    fake::write(&dir, &[("cgroup.procs", "10\n"), ("tasks", "10\n11\n12\n")]);
    fake::write(&dir.join("nested"), &[("cgroup.procs", "20\n"), ("tasks", "20\n")]);
    assert_eq!(cg.threads().unwrap(), vec![10, 11, 12, 20]);
    assert_eq!(cg.pids().unwrap(), vec![10, 20]);

    let cpu_only = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Cpu]).unwrap();
    let err = cpu_only.update_pids(PidsLimit::Tasks(1)).unwrap_err();
    assert!(err.to_string().contains("does not use controller 'pids'"), "{err}");
}

#[test]
fn devices_deny_everything_then_allow_each_rule() {
    let fake = FakeCgroupfs::v1();
    fake.populate_pids_devices("mesos", "c1");
    let cg = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Devices]).unwrap();
    let dir = fake.mount(Controller::Devices).join("mesos/c1");
    cg.update_devices(&crate::DEFAULT_WHITELIST).unwrap();
    assert_eq!(fake::read(dir.join("devices.deny")), "a *:* rwm");
    // A plain file keeps only the last write; the kernel test reads devices.list for all of them.
    assert_eq!(fake::read(dir.join("devices.allow")), "c 1:8 rwm");

    let Cgroup::V1(v1) = &cg else { panic!("not v1") };
    assert_eq!(v1.device_list().unwrap(), vec![crate::DeviceRule::everything()]);
    fake::write(&dir, &[("devices.list", "c 1:3 rwm\nb *:* m\n")]);
    assert_eq!(v1.device_list().unwrap(), vec![crate::DEFAULT_WHITELIST[8], crate::DEFAULT_WHITELIST[1]]);
    fake::write(&dir, &[("devices.list", "c 1:3 rwx\n")]);
    let err = v1.device_list().unwrap_err().to_string();
    assert!(err.contains("devices.list") && err.contains("bad access"), "{err}");
}
