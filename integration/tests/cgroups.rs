//! The cgroups isolators through the whole harness: the values they write, read back from the
//! cgroup files while the container runs (v1 and v2 names), `update` on a running container,
//! usage (Mesos's `ROOT_UserCpuUsage`, `ROOT_MemUsage`) and the OOM limitation
//! (`ROOT_CGROUPS_BalloonFramework`).

use cgroupfs::CgroupMode;
use integration::isolators::{CPU, DEFAULT, MEM, PID};
use integration::{
    MB, Need, Sandbox, SandboxOptions, Suite, TestResult, container_spec, ensure, usage_until,
};
use module_abi::{Reason, Resources};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    let cfs = &[Need::Containers, Need::Cfs];
    suite.test("cpu_and_memory_limits_while_running", containers, cpu_and_memory_limits_while_running);
    suite.test("cfs_quota_from_a_cpus_limit", cfs, cfs_quota_from_a_cpus_limit);
    suite.test("cfs_quota_from_the_request_with_enable_cfs", cfs, cfs_quota_from_the_request_with_enable_cfs);
    suite.test("minimum_shares_and_32mb_memory", containers, minimum_shares_and_32mb_memory);
    suite.test("update_raises_the_limits_of_a_running_container", cfs, update_raises_limits);
    suite.test("memory_hard_limit_is_never_lowered", containers, memory_hard_limit_is_never_lowered);
    suite.test("user_cpu_usage_after_a_busy_loop", containers, user_cpu_usage_after_a_busy_loop);
    suite.test("memory_usage_while_running", containers, memory_usage_while_running);
    suite.test("oom_is_a_memory_limitation_and_destroys_the_container", containers, oom_limitation);
    suite.run()
}

const SLEEP: &str = "sleep 600";

/// What the cpu isolator should have written: `cpu.shares` (v1) or `cpu.weight` (v2), and the
/// CFS quota in microseconds per 100 ms period (`None`: no quota).
fn expect_cpu(sandbox: &Sandbox, id: &str, shares: u64, weight: u64, quota: Option<u64>) -> TestResult {
    match sandbox.host.mode {
        CgroupMode::V1 => {
            let got = sandbox.read_cgroup(id, "cpu", "cpu.shares")?;
            ensure!(got == shares.to_string(), "cpu.shares {got}, expected {shares}");
            let got = sandbox.read_cgroup(id, "cpu", "cpu.cfs_quota_us")?;
            let want = quota.map_or("-1".to_owned(), |q| q.to_string());
            ensure!(got == want, "cpu.cfs_quota_us {got}, expected {want}");
            if quota.is_some() {
                let got = sandbox.read_cgroup(id, "cpu", "cpu.cfs_period_us")?;
                ensure!(got == "100000", "cpu.cfs_period_us {got}, expected 100000");
            }
        }
        CgroupMode::V2 => {
            let got = sandbox.read_cgroup(id, "cpu", "cpu.weight")?;
            ensure!(got == weight.to_string(), "cpu.weight {got}, expected {weight}");
            let got = sandbox.read_cgroup(id, "cpu", "cpu.max")?;
            let want = format!("{} 100000", quota.map_or("max".to_owned(), |q| q.to_string()));
            ensure!(got == want, "cpu.max {got:?}, expected {want:?}");
        }
    }
    Ok(())
}

/// What the memory isolator should have written: the soft limit (v1 `memory.soft_limit_in_bytes`,
/// v2 `memory.low`) and the hard limit (v1 `memory.limit_in_bytes`, v2 `memory.max`), in MB.
fn expect_memory(sandbox: &Sandbox, id: &str, soft_mb: u64, hard_mb: u64) -> TestResult {
    let (soft_file, hard_file) = match sandbox.host.mode {
        CgroupMode::V1 => ("memory.soft_limit_in_bytes", "memory.limit_in_bytes"),
        CgroupMode::V2 => ("memory.low", "memory.max"),
    };
    let soft = sandbox.read_cgroup(id, "memory", soft_file)?;
    ensure!(soft == (soft_mb * MB).to_string(), "{soft_file} {soft}, expected {soft_mb} MB");
    let hard = sandbox.read_cgroup(id, "memory", hard_file)?;
    ensure!(hard == (hard_mb * MB).to_string(), "{hard_file} {hard}, expected {hard_mb} MB");
    Ok(())
}

/// The container's first process is in its cgroups (v1: the cpu and memory hierarchies; v2: the
/// container cgroup's leaf).
fn expect_member(sandbox: &Sandbox, id: &str, pid: i32) -> TestResult {
    let files: Vec<(&str, &str)> = match sandbox.host.mode {
        CgroupMode::V1 => {
            vec![("cpu", "cgroup.procs"), ("cpuacct", "cgroup.procs"), ("memory", "cgroup.procs")]
        }
        CgroupMode::V2 => vec![("cpu", "leaf/cgroup.procs")],
    };
    for (controller, file) in files {
        let procs = sandbox.read_cgroup(id, controller, file)?;
        ensure!(
            procs.lines().any(|l| l.trim() == pid.to_string()),
            "pid {pid} is not in {}: {procs:?}",
            sandbox.cgroup_file(id, controller, file).display()
        );
    }
    Ok(())
}

fn cpu_and_memory_limits_while_running() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", SLEEP, "cpus:0.5;mem:64", "")?;
    sandbox.in_container(DEFAULT, &spec, |_, launched| {
        expect_member(&sandbox, "c1", launched.pid)?;
        // cpu.shares = 1024 * 0.5; no limit and no enable_cfs: no quota.
        expect_cpu(&sandbox, "c1", 512, 50, None)?;
        expect_memory(&sandbox, "c1", 64, 64)
    })?;
    sandbox.assert_clean()
}

fn cfs_quota_from_a_cpus_limit() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", SLEEP, "cpus:0.5;mem:64", "cpus:1.5;mem:96")?;
    sandbox.in_container(DEFAULT, &spec, |_, _| {
        // The share follows the request, the quota the limit: 1.5 * 100 ms.
        expect_cpu(&sandbox, "c1", 512, 50, Some(150_000))?;
        expect_memory(&sandbox, "c1", 64, 96)
    })?;
    sandbox.assert_clean()
}

fn cfs_quota_from_the_request_with_enable_cfs() -> TestResult {
    let sandbox = Sandbox::with(SandboxOptions { enable_cfs: true, ..Default::default() })?;
    let spec = container_spec("c1", SLEEP, "cpus:0.25;mem:64", "")?;
    sandbox.in_container(DEFAULT, &spec, |_, _| expect_cpu(&sandbox, "c1", 256, 25, Some(25_000)))?;
    sandbox.assert_clean()
}

fn minimum_shares_and_32mb_memory() -> TestResult {
    let sandbox = Sandbox::new()?;
    // max(1024 * 0.001, 2) = 2 shares (v2: weight 1); memory below 32 MB is raised to 32 MB.
    let spec = container_spec("c1", SLEEP, "cpus:0.001;mem:10", "mem:20")?;
    sandbox.in_container(DEFAULT, &spec, |_, _| {
        expect_cpu(&sandbox, "c1", 2, 1, None)?;
        expect_memory(&sandbox, "c1", 32, 32)
    })?;
    sandbox.assert_clean()
}

fn update_raises_limits() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", SLEEP, "cpus:0.5;mem:64", "cpus:1;mem:64")?;
    sandbox.in_container(DEFAULT, &spec, |engine, launched| {
        expect_cpu(&sandbox, "c1", 512, 50, Some(100_000))?;
        expect_memory(&sandbox, "c1", 64, 64)?;
        let resources = Resources::parse("cpus:1.5;mem:128").map_err(|e| e.to_string())?;
        let limits = Resources::parse("cpus:2;mem:256").map_err(|e| e.to_string())?;
        engine.update(&launched.container_id, &resources, &limits)?;
        expect_cpu(&sandbox, "c1", 1536, 150, Some(200_000))?;
        expect_memory(&sandbox, "c1", 128, 256)
    })?;
    sandbox.assert_clean()
}

fn memory_hard_limit_is_never_lowered() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", SLEEP, "cpus:1;mem:128", "")?;
    sandbox.in_container(DEFAULT, &spec, |engine, launched| {
        expect_memory(&sandbox, "c1", 128, 128)?;
        let lower = Resources::parse("cpus:0.5;mem:48").map_err(|e| e.to_string())?;
        engine.update(&launched.container_id, &lower, &Resources::default())?;
        // The soft limit and the share follow the request down; the hard limit stays.
        expect_cpu(&sandbox, "c1", 512, 50, None)?;
        expect_memory(&sandbox, "c1", 48, 128)
    })?;
    sandbox.assert_clean()
}

fn user_cpu_usage_after_a_busy_loop() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", "while :; do :; done", "cpus:1;mem:64", "")?;
    let (usage, _) = sandbox.in_container(&[CPU, MEM, PID], &spec, |engine, launched| {
        usage_until(engine, &launched.container_id, "cpus_user_time_secs >= 0.125", |u| {
            u.cpus_user_time_secs.is_some_and(|t| t >= 0.125)
        })
    })?;
    ensure!(usage.cpus_system_time_secs.is_some(), "no cpus_system_time_secs in {usage:?}");
    sandbox.assert_clean()
}

fn memory_usage_while_running() -> TestResult {
    let sandbox = Sandbox::new()?;
    // `tail` keeps the last 16 MB it read in memory, then blocks writing to `sleep`, which never
    // reads: 16 MB of anonymous memory held until the container is killed.
    let spec = container_spec("c1", "head -c 16m /dev/zero | tail -c 16m | sleep 600", "cpus:1;mem:64", "")?;
    let (usage, _) = sandbox.in_container(DEFAULT, &spec, |engine, launched| {
        usage_until(engine, &launched.container_id, "mem_total_bytes > 0 and mem_rss_bytes > 0", |u| {
            u.mem_total_bytes.is_some_and(|b| b > 0) && u.mem_rss_bytes.is_some_and(|b| b > 0)
        })
    })?;
    ensure!(usage.mem_limit_bytes == Some(64 * MB), "mem_limit_bytes {:?}", usage.mem_limit_bytes);
    sandbox.assert_clean()
}

fn oom_limitation() -> TestResult {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(
        DEFAULT,
        &["--json", "--container_id=oom", "--resources=mem:32", "--limits=mem:32"],
        &["sh", "-c", "head -c 200m /dev/zero | tail"],
    )?;
    ensure!(output.code == Some(137), "exit {:?}, not 137; stderr {:?}", output.code, output.stderr);
    let outcome = output.outcome()?;
    ensure!(outcome.exit_status == 137, "exit_status {}", outcome.exit_status);
    let limitation = outcome.limitation.ok_or("no limitation in the outcome")?;
    ensure!(
        limitation.reason == Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY),
        "reason {:?}",
        limitation.reason
    );
    ensure!(
        limitation.message.starts_with("Memory limit exceeded: Requested: "),
        "message {:?}",
        limitation.message
    );
    ensure!(limitation.resources.mem_mb().is_some(), "limitation names no mem: {:?}", limitation.resources);
    ensure!(output.error_lines().is_empty(), "Error lines: {:?}", output.stderr);
    sandbox.assert_clean()
}
