//! Privileged tests of the modules on this machine's kernel, driven through the `Isolator` trait.
//!
//! Whether each test can run is decided when the list is built (root? are its controllers mounted
//! or offered?); a test that cannot run is listed as ignored with the reason in its name, so it is
//! counted as skipped, never as passed. Every test uses its own `cgroups_root`
//! (`cgroups-isolator-test-<pid>-<n>`), kills its children, checks at the end that no cgroup of
//! that root is left in any hierarchy, and removes the root even when it fails.
//!
//! The cpu and mem tests are here; those of `cgroups/pids` and `cgroups/devices` are in
//! `kernel/pids.rs` and `kernel/devices.rs`, which also list their cgroup v2 variants on a v1 host
//! (skipped, or run on the hybrid host's own cgroup2 mount where that is enough).
mod common;
#[path = "kernel/devices.rs"]
mod devices;
#[path = "kernel/pids.rs"]
mod pids;

use std::time::Duration;

use cgroupfs::{CgroupManager, CgroupMode, Controller, CpuQuota, Hierarchies, MemoryLimit, ScratchRoot};
use cgroups_isolator::{CgroupsCpuIsolator, CgroupsMemIsolator};
use common::{Kid, MB, TestFn, TestResult, config, eventually, parameters, readable, skip_reason, trial};
use libtest_mimic::Arguments;
use module_abi::{ContainerId, ContainerState, Isolator, Module, Reason};

const CPU: &[Controller] = &[Controller::Cpu, Controller::Cpuacct];
const MEM: &[Controller] = &[Controller::Memory];
const BOTH: &[Controller] = &[Controller::Cpu, Controller::Cpuacct, Controller::Memory];

fn main() {
    if let Ok(mode) = std::env::var(common::CHILD_ENV) {
        common::child(&mode);
    }
    let args = Arguments::from_args();
    let (mounts, hierarchies, version) = cgroupfs::testing::host();
    let tests: [(&str, &[Controller], TestFn); 10] = [
        ("cpu_values_for_half_a_cpu", CPU, cpu_values_for_half_a_cpu),
        ("ROOT_UserCpuUsage", CPU, user_cpu_usage),
        ("ROOT_MemUsage", MEM, mem_usage),
        ("oom_is_a_memory_limitation", MEM, oom_is_a_memory_limitation),
        ("update_raises_and_never_lowers_hard", BOTH, update_raises_and_never_lowers_hard),
        ("cleanup_kills_and_removes_everything", BOTH, cleanup_kills_and_removes_everything),
        ("recover_removes_unknown_orphans", BOTH, recover_removes_unknown_orphans),
        ("prepare_refuses_an_existing_cgroup", CPU, prepare_refuses_an_existing_cgroup),
        ("no_resources_keeps_kernel_defaults", BOTH, no_resources_keeps_kernel_defaults),
        ("limit_swap_raises_memsw_with_the_limit", MEM, limit_swap_raises_memsw_with_the_limit),
    ];
    let mut trials: Vec<_> = tests
        .into_iter()
        .map(|(name, needed, test)| {
            let name = format!("{version}::{name}");
            let mut skip = skip_reason(&hierarchies, needed);
            if name.ends_with("prepare_refuses_an_existing_cgroup") && hierarchies.mode() == CgroupMode::V2 {
                skip = Some("v2 shares the container cgroup, so an existing one is expected".to_owned());
            }
            if name.ends_with("limit_swap_raises_memsw_with_the_limit") && skip.is_none() {
                skip = swap_skip_reason(&hierarchies);
            }
            trial(name, skip, hierarchies.clone(), test)
        })
        .collect();
    trials.extend(pids::trials(&hierarchies, version));
    trials.extend(devices::trials(&mounts, &hierarchies, version));
    libtest_mimic::run(&args, trials).exit();
}

fn cpu_isolator(
    root: &ScratchRoot,
    extra: &[(&str, &str)],
) -> Result<CgroupsCpuIsolator, libtest_mimic::Failed> {
    Ok(CgroupsCpuIsolator::create(parameters(root, extra))?)
}

fn mem_isolator(root: &ScratchRoot) -> Result<CgroupsMemIsolator, libtest_mimic::Failed> {
    Ok(CgroupsMemIsolator::create(parameters(root, &[]))?)
}

fn cpu_values_for_half_a_cpu(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let cpu = cpu_isolator(root, &[])?;
    let shares = |v1: u64, v2: u64| match hierarchies.mode() {
        CgroupMode::V1 => (Some(v1), None),
        CgroupMode::V2 => (None, Some(v2)),
    };

    let id = ContainerId::new("half");
    cpu.prepare(&id, &config("cpus:0.5", ""))?;
    let settings = cpu.cgroup(&id)?.cpu_settings()?;
    check!((settings.shares, settings.weight) == shares(512, 50), "{settings:?}");
    check!(settings.quota == CpuQuota::Unlimited, "no limit, no quota: {settings:?}");

    let limited = ContainerId::new("limited");
    cpu.prepare(&limited, &config("cpus:0.5", "cpus:0.5"))?;
    let settings = cpu.cgroup(&limited)?.cpu_settings()?;
    check!(settings.period_us == 100_000 && settings.quota == CpuQuota::Micros(50_000), "{settings:?}");

    // cgroups_enable_cfs turns the request into the quota.
    let cfs = cpu_isolator(root, &[("cgroups_enable_cfs", "true")])?;
    let enforced = ContainerId::new("enforced");
    cfs.prepare(&enforced, &config("cpus:0.25", ""))?;
    let settings = cfs.cgroup(&enforced)?.cpu_settings()?;
    check!(settings.quota == CpuQuota::Micros(25_000), "{settings:?}");

    for (isolator, id) in [(&cpu, &id), (&cpu, &limited), (&cfs, &enforced)] {
        isolator.cleanup(id)?;
    }
    Ok(())
}

/// Mesos's `CpuIsolatorTest.ROOT_UserCpuUsage`: a busy loop shows user time.
fn user_cpu_usage(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let cpu = cpu_isolator(root, &[])?;
    let id = ContainerId::new("busy");
    cpu.prepare(&id, &config("cpus:1", ""))?;
    let mut kid = Kid::spawn("while :; do :; done")?;
    cpu.isolate(&id, kid.pid())?;
    // Assigning twice (as after CLONE_INTO_CGROUP) is fine.
    cpu.isolate(&id, kid.pid())?;
    kid.release()?;
    let usage = eventually(Duration::from_secs(5), "0.125 s of user time", || {
        let usage = cpu.usage(&id)?;
        Ok(usage.cpus_user_time_secs.is_some_and(|t| t >= 0.125).then_some(usage))
    })?;
    check!(usage.processes == Some(1), "{usage:?}");
    check!(usage.timestamp.is_some() && usage.cpus_soft_limit == Some(1.0), "{usage:?}");
    // Cleanup kills what is still running.
    cpu.cleanup(&id)?;
    kid.expect_sigkill()?;
    Ok(())
}

/// Mesos's `MemoryIsolatorTest.ROOT_MemUsage`.
fn mem_usage(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let mem = mem_isolator(root)?;
    let id = ContainerId::new("mem");
    mem.prepare(&id, &config("mem:64", ""))?;
    // Memory is charged to the cgroup of the task that touches it after the move, so the
    // workload allocates once released: a 4 MB shell variable.
    let mut kid = Kid::spawn("x=$(head -c 4000000 /dev/zero | tr '\\0' a); sleep 60")?;
    mem.isolate(&id, kid.pid())?;
    kid.release()?;
    let usage = eventually(Duration::from_secs(5), "rss in the cgroup", || {
        let usage = mem.usage(&id)?;
        Ok((usage.mem_rss_bytes.unwrap_or(0) > MB).then_some(usage))
    })?;
    check!(usage.mem_total_bytes.unwrap_or(0) > 0, "{usage:?}");
    check!(
        usage.mem_soft_limit_bytes == Some(64 * MB) && usage.mem_limit_bytes == Some(64 * MB),
        "{usage:?}"
    );
    drop(kid);
    mem.cleanup(&id)?;
    Ok(())
}

fn oom_is_a_memory_limitation(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let mem = mem_isolator(root)?;
    let id = ContainerId::new("oom");
    mem.prepare(&id, &config("mem:32", ""))?;
    let fd = mem.watch(&id)?.ok_or("the memory isolator gave no watch descriptor")?;
    check!(!readable(fd, Duration::ZERO)?, "watch readable before anything happened");
    // `tail` keeps the last line, and /dev/zero has no newline: it grows until the OOM killer.
    let mut kid = Kid::spawn("head -c 200000000 /dev/zero | tail")?;
    mem.isolate(&id, kid.pid())?;
    kid.release()?;
    check!(readable(fd, Duration::from_secs(20))?, "the watch descriptor did not become readable on OOM");
    let limitation = eventually(Duration::from_secs(5), "the OOM limitation", || Ok(mem.limitation(&id)?))?;
    check!(limitation.reason == Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY), "{limitation:?}");
    check!(
        limitation.message.starts_with("Memory limit exceeded: Requested: 32MB Maximum Used: "),
        "{}",
        limitation.message
    );
    check!(limitation.message.contains("\n\nMEMORY STATISTICS: \n"), "{}", limitation.message);
    let used = limitation.resources.mem_mb().unwrap_or(0.0);
    check!(used > 0.0 && used <= 33.0, "max used {used} MB with a 32 MB limit");
    check!(mem.limitation(&id)?.is_none(), "the OOM was reported twice");
    kid.wait(Duration::from_secs(10))?;
    mem.cleanup(&id)?;
    Ok(())
}

fn update_raises_and_never_lowers_hard(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let (cpu, mem) = (cpu_isolator(root, &[])?, mem_isolator(root)?);
    let id = ContainerId::new("grow");
    let start = config("cpus:0.5;mem:32", "");
    cpu.prepare(&id, &start)?;
    mem.prepare(&id, &start)?;
    let kid = Kid::spawn("sleep 60")?;
    cpu.isolate(&id, kid.pid())?;
    mem.isolate(&id, kid.pid())?;

    let grown = (module_abi::Resources::parse("cpus:2;mem:64")?, module_abi::Resources::parse("mem:128")?);
    cpu.update(&id, &grown.0, &grown.1)?;
    mem.update(&id, &grown.0, &grown.1)?;
    let settings = mem.cgroup(&id)?.memory_settings()?;
    check!(settings.soft == MemoryLimit::Bytes(64 * MB), "{settings:?}");
    check!(settings.hard == MemoryLimit::Bytes(128 * MB), "{settings:?}");
    let cpu_settings = cpu.cgroup(&id)?.cpu_settings()?;
    let want = match hierarchies.mode() {
        CgroupMode::V1 => cpu_settings.shares == Some(2048),
        CgroupMode::V2 => cpu_settings.weight == Some(200),
    };
    check!(want, "{cpu_settings:?}");

    mem.update(&id, &module_abi::Resources::parse("mem:48")?, &module_abi::Resources::new())?;
    let settings = mem.cgroup(&id)?.memory_settings()?;
    check!(settings.soft == MemoryLimit::Bytes(48 * MB), "{settings:?}");
    check!(settings.hard == MemoryLimit::Bytes(128 * MB), "hard limit lowered: {settings:?}");

    drop(kid);
    mem.cleanup(&id)?;
    cpu.cleanup(&id)?;
    Ok(())
}

fn cleanup_kills_and_removes_everything(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let (cpu, mem) = (cpu_isolator(root, &[])?, mem_isolator(root)?);
    let id = ContainerId::new("gone");
    let spec = config("cpus:0.5;mem:64", "");
    cpu.prepare(&id, &spec)?;
    mem.prepare(&id, &spec)?;
    let mut kid = Kid::spawn("sleep 60 & sleep 60")?;
    cpu.isolate(&id, kid.pid())?;
    mem.isolate(&id, kid.pid())?;
    kid.release()?;
    let status = cpu.status(&id)?;
    check!(status.info.get("cgroup") == Some(&format!("/{}/gone", root.name)), "{status:?}");
    let dirs: Vec<_> = [cpu.cgroup(&id)?.dirs(), mem.cgroup(&id)?.dirs()].concat();
    check!(dirs.iter().all(|d| d.is_dir()), "missing cgroup dirs: {dirs:?}");
    // Reverse order, as the harness does.
    mem.cleanup(&id)?;
    cpu.cleanup(&id)?;
    kid.expect_sigkill()?;
    let left: Vec<_> = dirs.iter().filter(|d| d.exists()).collect();
    check!(left.is_empty(), "cleanup left {left:?}");
    mem.cleanup(&id)?;
    cpu.cleanup(&id)?;
    Ok(())
}

fn recover_removes_unknown_orphans(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let (cpu, mem) = (cpu_isolator(root, &[])?, mem_isolator(root)?);
    let (known, stale, orphan) =
        (ContainerId::new("known"), ContainerId::new("stale"), ContainerId::new("orphan"));
    let spec = config("cpus:0.5;mem:64", "");
    for id in [&known, &stale, &orphan] {
        cpu.prepare(id, &spec)?;
        mem.prepare(id, &spec)?;
    }
    let mut stale_kid = Kid::spawn("sleep 60")?;
    cpu.isolate(&stale, stale_kid.pid())?;
    mem.isolate(&stale, stale_kid.pid())?;
    // A restart: new instances that know nothing until recover.
    drop((cpu, mem));
    let (cpu, mem) = (cpu_isolator(root, &[])?, mem_isolator(root)?);
    let states = vec![ContainerState {
        container_id: known.clone(),
        pid: 1,
        directory: "/tmp".into(),
        config: Some(spec.clone()),
    }];
    cpu.recover(states.clone(), vec![orphan.clone()])?;
    mem.recover(states, vec![orphan.clone()])?;
    stale_kid.expect_sigkill()?;
    check!(
        !cpu.cgroup(&stale)?.exists() && !mem.cgroup(&stale)?.exists(),
        "the unknown orphan is still there"
    );
    check!(cpu.cgroup(&known)?.exists(), "the known container was removed");
    check!(mem.usage(&known)?.mem_limit_bytes == Some(64 * MB), "recovered state lost its resources");
    check!(mem.watch(&known)?.is_some(), "no OOM listener after recovery");
    for id in [&known, &orphan] {
        mem.cleanup(id)?;
        cpu.cleanup(id)?;
        check!(!cpu.cgroup(id)?.exists() && !mem.cgroup(id)?.exists(), "{id} not removed by cleanup");
    }
    Ok(())
}

fn prepare_refuses_an_existing_cgroup(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let cpu = cpu_isolator(root, &[])?;
    let id = ContainerId::new("twice");
    cpu.prepare(&id, &config("cpus:1", ""))?;
    let other = cpu_isolator(root, &[])?;
    let err =
        other.prepare(&id, &config("cpus:1", "")).err().ok_or("prepare took over an existing cgroup")?;
    let cgroup = cpu.cgroup(&id)?;
    let first = cgroup.dirs().into_iter().next().ok_or("no dirs")?;
    check!(err.message() == format!("The cgroup at '{}' already exists", first.display()), "{err}");
    // The refusal touched nothing, and the other instance's cleanup of it is a no-op.
    other.cleanup(&id)?;
    check!(cgroup.exists(), "the refused prepare removed the cgroup");
    cpu.cleanup(&id)?;
    Ok(())
}

fn no_resources_keeps_kernel_defaults(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let (cpu, mem) = (cpu_isolator(root, &[("cgroups_enable_cfs", "true")])?, mem_isolator(root)?);
    let id = ContainerId::new("bare");
    cpu.prepare(&id, &config("", ""))?;
    mem.prepare(&id, &config("", ""))?;
    let mut kid = Kid::spawn("true")?;
    cpu.isolate(&id, kid.pid())?;
    mem.isolate(&id, kid.pid())?;
    kid.release()?;
    check!(kid.wait(Duration::from_secs(10))?.success(), "`true` failed in an unlimited container");
    let cpu_settings = cpu.cgroup(&id)?.cpu_settings()?;
    check!(cpu_settings.quota == CpuQuota::Unlimited, "{cpu_settings:?}");
    check!(
        cpu_settings.shares.unwrap_or(1024) == 1024 && cpu_settings.weight.unwrap_or(100) == 100,
        "{cpu_settings:?}"
    );
    let settings = mem.cgroup(&id)?.memory_settings()?;
    check!(settings.hard == MemoryLimit::Unlimited, "{settings:?}");
    let usage = mem.usage(&id)?;
    check!(usage.mem_limit_bytes.is_none(), "{usage:?}");
    mem.cleanup(&id)?;
    cpu.cleanup(&id)?;
    Ok(())
}

fn swap_skip_reason(hierarchies: &Hierarchies) -> Option<String> {
    match hierarchies {
        Hierarchies::V2 { .. } => Some("cgroups_limit_swap is v1 only".to_owned()),
        Hierarchies::V1 { mounts } => {
            let memsw = mounts.get(&Controller::Memory)?.join("memory.memsw.limit_in_bytes");
            (!memsw.exists()).then(|| format!("no swap accounting ({} missing)", memsw.display()))
        }
    }
}

/// Mesos's `ROOT_CGROUPS_LimitSwap`, at the isolator: memsw follows the hard limit, and raising
/// both works in the order the kernel requires (limit <= memsw at every write, MESOS-7237).
fn limit_swap_raises_memsw_with_the_limit(_: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let mem = CgroupsMemIsolator::create(parameters(root, &[("cgroups_limit_swap", "true")]))?;
    let id = ContainerId::new("swap");
    mem.prepare(&id, &config("mem:64", ""))?;
    let dir = mem.cgroup(&id)?.dirs().into_iter().next().ok_or("no memory dir")?;
    let memsw =
        || std::fs::read_to_string(dir.join("memory.memsw.limit_in_bytes")).map(|s| s.trim().to_owned());
    check!(memsw()? == (64 * MB).to_string(), "memsw {} after prepare", memsw()?);
    mem.update(&id, &module_abi::Resources::parse("mem:128")?, &module_abi::Resources::new())?;
    check!(memsw()? == (128 * MB).to_string(), "memsw {} after a raise", memsw()?);
    let settings = mem.cgroup(&id)?.memory_settings()?;
    check!(settings.hard == MemoryLimit::Bytes(128 * MB), "{settings:?}");
    let kid = Kid::spawn("sleep 60")?;
    mem.isolate(&id, kid.pid())?;
    check!(mem.usage(&id)?.mem_total_memsw_bytes.is_some(), "no memsw usage");
    drop(kid);
    mem.cleanup(&id)?;
    Ok(())
}
