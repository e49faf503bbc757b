//! Privileged tests on the real kernel of this machine.
//!
//! Whether each test can run is decided when the list is built (root? which mode? are the
//! controllers mounted?); a test that cannot run is listed as ignored with the reason in its name,
//! so it counts as skipped, never as passed. Every test works under its own cgroups root
//! (`cgroupfs-test-<pid>-<n>`) at the hierarchy mount points (never relative to
//! `/proc/self/cgroup`: this machine runs every command inside a v1 memory cgroup), checks at its
//! end that no directory of that root is left in any hierarchy, and removes the root even when it
//! fails.
mod common;

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use cgroupfs::{Cgroup, CgroupManager, Controller, CpuQuota, CpuSpec, Hierarchies, MemoryLimit, MemorySpec};
use common::{
    CHILD_ENV, CONTROLLERS, KILL_TIMEOUT, MB, TestFn, TestResult, child, expect_sigkill, release,
    skip_reason, spawn_child, spawn_sleep, test_root,
};
use libtest_mimic::{Arguments, Completion, Trial};

fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child(&mode);
    }
    let args = Arguments::from_args();
    let (mounts, hierarchies, version) = cgroupfs::testing::host();
    let skip = skip_reason(&hierarchies);
    let tests: [(&str, TestFn); 5] = [
        ("create_assign_limits_readback", create_assign_limits_readback),
        ("stats_after_busy_loop", stats_after_busy_loop),
        ("oom_kill_is_notified", oom_kill_is_notified),
        ("kill_four_processes", kill_four_processes),
        ("create_twice_list_and_remove", create_twice_list_and_remove),
    ];
    let mut trials: Vec<Trial> = tests
        .into_iter()
        .map(|(name, test)| trial(format!("{version}::{name}"), skip.clone(), hierarchies.clone(), test))
        .collect();

    // On a hybrid host the unified mount only offers hugetlb, but the v2 core (leaf layout,
    // cgroup.procs, cgroup.kill, rmdir) can still be exercised there.
    let unified = mounts.v2.iter().find(|m| m.as_path() != Path::new(cgroupfs::mounts::DEFAULT_HIERARCHY));
    let (unified_skip, unified) = match (unified, &skip) {
        (_, Some(reason)) => (Some(reason.clone()), Hierarchies::V2 { root: "/nonexistent".into() }),
        (None, None) => (Some("no cgroup2 mount beside the hierarchy root".to_owned()), hierarchies.clone()),
        (Some(root), None) => (None, Hierarchies::V2 { root: root.clone() }),
    };
    trials.push(trial("v2_core_on_unified_mount".to_owned(), unified_skip.clone(), unified.clone(), v2_core));
    // Device filters need no controller, only a cgroup2 directory: the unified mount has them.
    trials.push(trial(
        "v2_device_filter_on_unified_mount".to_owned(),
        unified_skip,
        unified,
        v2_device_filter,
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn trial(name: String, skip: Option<String>, hierarchies: Hierarchies, test: TestFn) -> Trial {
    match skip {
        // Even under `--include-ignored` it reports itself ignored, never passed.
        Some(reason) => Trial::ignorable_test(format!("{name} [skipped: {reason}]"), move || {
            Ok(Completion::ignored_with(reason))
        })
        .with_ignored_flag(true),
        None => Trial::test(name, move || {
            let root = test_root(&hierarchies);
            test(&hierarchies, &root.name)?;
            Ok(root.finish()?)
        }),
    }
}

fn create_assign_limits_readback(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "c1", &CONTROLLERS)?;
    cgroup.create()?;
    let mut sleep = spawn_sleep()?;
    let pid = sleep.id() as i32;
    cgroup.assign(pid)?;
    check!(cgroup.pids()? == vec![pid], "pids {:?} != [{pid}]", cgroup.pids()?);
    let proc_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    check!(proc_cgroup.contains(&format!("{root}/c1")), "/proc/{pid}/cgroup:\n{proc_cgroup}");

    cgroup.update_cpu(&CpuSpec { request: 0.5, limit: Some(0.5), enable_cfs: false })?;
    let cpu = cgroup.cpu_settings()?;
    check!(cpu.shares == Some(512) || cpu.weight == Some(50), "cpu {cpu:?}");
    check!(cpu.quota == CpuQuota::Micros(50_000) && cpu.period_us == 100_000, "cpu {cpu:?}");

    let spec = |limit| MemorySpec {
        request_bytes: 64 * MB,
        limit: Some(MemoryLimit::Bytes(limit)),
        limit_swap: false,
    };
    let memory = cgroup.update_memory(&spec(128 * MB))?;
    check!(memory.soft == MemoryLimit::Bytes(64 * MB), "memory {memory:?}");
    check!(memory.hard == MemoryLimit::Bytes(128 * MB), "memory {memory:?}");
    let memory = cgroup.update_memory(&spec(64 * MB))?;
    check!(memory.hard == MemoryLimit::Bytes(128 * MB), "hard limit lowered: {memory:?}");
    let memory = cgroup.update_memory(&spec(256 * MB))?;
    check!(memory.hard == MemoryLimit::Bytes(256 * MB), "hard limit not raised: {memory:?}");

    cgroup.kill_all(KILL_TIMEOUT)?;
    expect_sigkill(&mut sleep)?;
    cgroup.remove()?;
    check!(!cgroup.exists(), "cgroup still exists after remove");
    Ok(())
}

fn stats_after_busy_loop(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "busy", &CONTROLLERS)?;
    cgroup.create()?;
    cgroup.update_cpu(&CpuSpec { request: 1.0, limit: Some(1.0), enable_cfs: false })?;
    let mut spinner = spawn_child("spin")?;
    cgroup.assign(spinner.id() as i32)?;
    release(&mut spinner)?;
    std::thread::sleep(Duration::from_millis(500));
    let stats = cgroup.stats()?;
    let cpu = stats.cpus_user_time_secs.unwrap_or(0.0) + stats.cpus_system_time_secs.unwrap_or(0.0);
    check!(cpu > 0.0, "no cpu time after a busy loop: {stats:?}");
    check!(stats.cpus_nr_periods.unwrap_or(0) > 0, "no CFS periods under a quota: {stats:?}");
    check!(stats.mem_total_bytes.unwrap_or(0) > 0, "no memory usage: {stats:?}");
    check!(stats.processes == Some(1), "processes: {stats:?}");
    cgroup.kill_all(KILL_TIMEOUT)?;
    expect_sigkill(&mut spinner)?;
    cgroup.remove()?;
    Ok(())
}

fn oom_kill_is_notified(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "oom", &CONTROLLERS)?;
    cgroup.create()?;
    cgroup.update_memory(&MemorySpec {
        request_bytes: 32 * MB,
        limit: Some(MemoryLimit::Bytes(32 * MB)),
        limit_swap: false,
    })?;
    let listener = cgroup.oom_listener()?;
    check!(!cgroup.oom_occurred()?, "oom before the child ran");
    let mut hog = spawn_child("alloc")?;
    cgroup.assign(hog.id() as i32)?;
    release(&mut hog)?;

    let mut fds = [nix::poll::PollFd::new(listener.as_fd(), nix::poll::PollFlags::POLLIN)];
    let ready = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10_000u16))?;
    check!(ready == 1, "the oom listener did not become readable within 10 s");
    check!(listener.drain()?, "readable listener had nothing to read");
    expect_sigkill(&mut hog)?;
    check!(cgroup.oom_occurred()?, "oom_occurred() is false after an OOM kill");
    let message = cgroup.oom_message()?;
    check!(message.starts_with("Memory limit exceeded: Requested: 32MB Maximum Used: "), "{message}");
    check!(message.contains("\n\nMEMORY STATISTICS: \n"), "{message}");

    cgroup.kill_all(KILL_TIMEOUT)?;
    cgroup.remove()?;
    Ok(())
}

fn kill_four_processes(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "four", &CONTROLLERS)?;
    cgroup.create()?;
    let mut children = Vec::new();
    for _ in 0..4 {
        let child = spawn_sleep()?;
        cgroup.assign(child.id() as i32)?;
        children.push(child);
    }
    check!(cgroup.pids()?.len() == 4, "pids {:?}", cgroup.pids()?);
    cgroup.kill_all(KILL_TIMEOUT)?;
    check!(cgroup.pids()?.is_empty(), "processes left: {:?}", cgroup.pids()?);
    for child in &mut children {
        expect_sigkill(child)?;
    }
    cgroup.remove()?;
    Ok(())
}

fn create_twice_list_and_remove(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let a = hierarchies.cgroup(root, "a", &CONTROLLERS)?;
    let b = hierarchies.cgroup(root, "b", &CONTROLLERS)?;
    a.create()?;
    b.create()?;
    let err = a.create().expect_err("second create succeeded");
    check!(
        err.to_string().starts_with("the cgroup at '") && err.to_string().ends_with("' already exists"),
        "{err}"
    );
    check!(hierarchies.containers(root)? == vec!["a", "b"], "{:?}", hierarchies.containers(root)?);
    a.remove()?;
    b.remove()?;
    check!(!a.exists() && !b.exists(), "cgroups exist after remove");
    a.remove()?;
    check!(hierarchies.containers(root)?.is_empty(), "{:?}", hierarchies.containers(root)?);
    Ok(())
}

/// The v2 layout without controllers: leaf for processes, cgroup.kill, bottom-up removal.
fn v2_core(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "core", &[])?;
    cgroup.create()?;
    let leaf = cgroup.process_dirs().pop().ok_or("no process dir")?;
    check!(leaf.ends_with("core/leaf") && leaf.is_dir(), "leaf {leaf:?}");
    let mut children = vec![spawn_sleep()?, spawn_sleep()?];
    for child in &children {
        cgroup.assign(child.id() as i32)?;
    }
    check!(cgroup.stats()?.processes == Some(2), "{:?}", cgroup.stats()?);
    cgroup.kill_all(KILL_TIMEOUT)?;
    for child in &mut children {
        expect_sigkill(child)?;
    }
    cgroup.remove()?;
    check!(!leaf.exists() && !cgroup.exists(), "cgroup exists after remove");
    Ok(())
}

/// The eBPF device filter on a v2 cgroup: the kernel's verifier takes it, it allows the default
/// whitelist and denies the rest with EPERM, a second filter replaces the first (one program
/// attached, the old one freed), and removing the cgroup frees the program.
fn v2_device_filter(hierarchies: &Hierarchies, root: &str) -> TestResult {
    let cgroup = hierarchies.cgroup(root, "devices", &[Controller::Devices])?;
    cgroup.create()?;
    let Cgroup::V2(v2) = &cgroup else { return Err("not a v2 cgroup".into()) };
    cgroup.update_devices(&cgroupfs::DEFAULT_WHITELIST)?;
    let first = v2.device_programs()?;
    check!(first.len() == 1, "attached after the first filter: {first:?}");
    cgroup.update_devices(&cgroupfs::DEFAULT_WHITELIST)?;
    let second = v2.device_programs()?;
    check!(
        second.len() == 1 && second != first,
        "attached after the second filter: {second:?}, first {first:?}"
    );
    common::eventually(Duration::from_secs(10), "the replaced program to be freed", || {
        !cgroupfs::ebpf::program_loaded(first[0])
    })?;

    // /dev/null and /dev/zero are allowed; a node of /dev/mem (c 1:1) may be made but not opened.
    let dir = tempfile::tempdir()?;
    let node = dir.path().join("mem");
    let script = format!(
        "head -c 1 /dev/zero > /dev/null && echo zero; echo x > /dev/null && echo null; \
         mknod {node} c 1 1 && echo mknod; \
         head -c 1 {node} 2>&1 > /dev/null | grep -q 'Operation not permitted' && echo denied",
        node = node.display()
    );
    let output = common::run_in(&cgroup, &script)?;
    check!(output == "zero\nnull\nmknod\ndenied\n", "output {output:?}");
    let err = std::fs::File::open(&node).err();
    check!(
        err.is_none() || err.is_some_and(|e| e.raw_os_error() != Some(libc::EPERM)),
        "denied outside the cgroup"
    );

    cgroup.kill_all(KILL_TIMEOUT)?;
    cgroup.remove()?;
    common::eventually(Duration::from_secs(10), "the filter to be freed with its cgroup", || {
        !cgroupfs::ebpf::program_loaded(second[0])
    })?;
    Ok(())
}
