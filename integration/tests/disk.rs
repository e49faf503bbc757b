//! `disk/du` and `disk/xfs` through the whole harness on this machine (Mesos's
//! `disk_quota_tests.cpp` and the host-side part of `xfs_quota_tests.cpp`): du's accounting
//! without following symlinks, its kill with Mesos's disk limitation, accounting-only mode, and
//! disk/xfs's refusals (a work dir that is not XFS, Mesos's `--xfs_project_range` errors). XFS
//! quota enforcement itself needs a quota-capable kernel: the vm-tests guests check it.
//!
//! The CLI tests run the suite's own modules (no `--modules`), so Mesos's agent flags
//! (`--enforce_container_disk_quota`, ...) reach them as a user gives them.

use integration::isolators::DISK_DU;
use integration::{
    MB, Need, RunOutput, Sandbox, Suite, TestResult, container_spec, ensure, output, usage_until,
};
use module_abi::Reason;

fn main() {
    let mut suite = Suite::new();
    suite.test("du_accounts_the_sandbox_without_following_symlinks", &[Need::Containers], du_accounts);
    suite.test("du_kills_an_over_quota_container_with_the_disk_limitation", &[Need::Containers], du_kills);
    suite.test(
        "du_accounting_only_lets_the_command_finish_over_its_quota",
        &[Need::Containers],
        du_accounting_only,
    );
    suite.test("xfs_refuses_a_work_dir_that_is_not_xfs", &[Need::Containers], xfs_not_xfs);
    suite.test("xfs_project_range_errors_are_mesos_s", &[Need::Containers], xfs_range_errors);
    suite.test("the_kit_passes_for_disk_du", &[Need::Containers], kit_du);
    suite.run()
}

/// `agent-harness run` with the suite's modules, this sandbox's work dir, cgroups root and
/// runtime dir, then `flags` and `-- command`.
fn suite_run(sandbox: &Sandbox, work_dir: &str, flags: &[&str], command: &[&str]) -> TestResult<RunOutput> {
    let mut harness = sandbox.harness();
    harness
        .arg("run")
        .arg(format!("--work_dir={work_dir}"))
        .arg(format!("--cgroups_root={}", sandbox.name))
        .arg(format!("--runtime_dir={}", sandbox.runtime_dir.display()))
        .args(flags)
        .arg("--")
        .args(command);
    output(harness)
}

fn work_dir(sandbox: &Sandbox) -> String {
    sandbox.work_dir.display().to_string()
}

fn du_accounts() -> TestResult {
    let sandbox = Sandbox::new()?;
    // 8 MB outside the sandbox, reachable through a symlink from inside: not counted.
    let outside = sandbox.markers().join("big");
    std::fs::write(&outside, vec![1u8; 8 * MB as usize])?;
    let script = format!(
        "head -c 2097152 /dev/zero > two && mkdir -p d/e && head -c 1048576 /dev/zero > d/e/one && \
         ln -s {} link && ln -s {} dirlink && touch written && sleep 600",
        outside.display(),
        sandbox.markers().display()
    );
    let spec = container_spec("du-accounts", &script, "disk:64", "")?;
    let sandbox_dir = sandbox.sandbox_dir("du-accounts");
    let (usage, _) = sandbox.in_container(&[DISK_DU], &spec, |engine, launched| {
        integration::wait_until("the container's files", integration::HARNESS_TIMEOUT, || {
            Ok(sandbox_dir.join("written").exists())
        })?;
        usage_until(engine, &launched.container_id, "3 MB used", |u| {
            u.disk_used_bytes.is_some_and(|b| b >= 3 * MB)
        })
    })?;
    ensure!(usage.disk_limit_bytes == Some(64 * MB), "{usage:?}");
    let used = usage.disk_used_bytes.unwrap_or(0);
    ensure!(used < 8 * MB, "the symlinked 8 MB were counted: {used} bytes");
    sandbox.assert_clean()
}

fn du_kills() -> TestResult {
    let sandbox = Sandbox::new()?;
    let output = suite_run(
        &sandbox,
        &work_dir(&sandbox),
        &[
            "--isolation=disk/du",
            "--resources=disk:1",
            "--enforce_container_disk_quota",
            "--container_disk_watch_interval=50ms",
            "--json",
        ],
        &["sh", "-c", "head -c 4194304 /dev/zero > big && sleep 600"],
    )?;
    let outcome = output.outcome()?;
    let limitation = outcome.limitation.ok_or_else(|| format!("no limitation: {output:?}"))?;
    ensure!(limitation.reason == Some(Reason::REASON_CONTAINER_LIMITATION_DISK), "{limitation:?}");
    ensure!(
        limitation.message.starts_with("Disk usage (")
            && limitation.message.ends_with(") exceeds quota (1MB)"),
        "{:?}",
        limitation.message
    );
    ensure!(limitation.resources.disk_mb() == Some(1.0), "{limitation:?}");
    ensure!(output.code != Some(0), "the harness exited 0 for a killed container: {output:?}");
    ensure!(!output.stderr.contains("only accounted"), "{:?}", output.stderr);
    sandbox.assert_clean()
}

fn du_accounting_only() -> TestResult {
    let sandbox = Sandbox::new()?;
    let output = suite_run(
        &sandbox,
        &work_dir(&sandbox),
        &["--isolation=disk/du", "--resources=disk:1", "--container_disk_watch_interval=50ms", "--json"],
        &["sh", "-c", "head -c 3145728 /dev/zero > big && sleep 1 && echo done"],
    )?;
    output.expect_success()?;
    let outcome = output.outcome()?;
    ensure!(outcome.limitation.is_none(), "{outcome:?}");
    ensure!(outcome.exit_status == 0, "{outcome:?}");
    ensure!(outcome.usage.disk_limit_bytes == Some(MB), "{:?}", outcome.usage);
    ensure!(outcome.usage.disk_used_bytes.is_some_and(|b| b >= 3 * MB), "{:?}", outcome.usage);
    let notices = output.stderr.matches("is only accounted").count();
    ensure!(notices == 1, "{notices} notices that the quota is only accounted: {:?}", output.stderr);
    sandbox.assert_clean()
}

fn xfs_not_xfs() -> TestResult {
    let sandbox = Sandbox::new()?;
    // Mesos's own case: /proc is not XFS (whatever the test's temp dir is).
    let output = suite_run(&sandbox, "/proc", &["--isolation=disk/xfs"], &["true"])?;
    output.expect_one_error(&["org_apache_mesos_XfsDiskIsolator", "'/proc' is not an XFS filesystem"])?;
    sandbox.assert_clean()
}

fn xfs_range_errors() -> TestResult {
    let sandbox = Sandbox::new()?;
    for (range, message) in [
        ("[0-10]", "XFS project ID range contains illegal 0 value"),
        ("[100-1099511627776]", "Project ID 1099511627776  is out of range"),
        ("foo", "Invalid XFS project resource type TEXT, expecting RANGES"),
        ("100", "Invalid XFS project resource type SCALAR, expecting RANGES"),
    ] {
        let flag = format!("--xfs_project_range={range}");
        let output = suite_run(&sandbox, &work_dir(&sandbox), &["--isolation=disk/xfs", &flag], &["true"])?;
        output.expect_one_error(&["xfs_project_range", message])?;
    }
    sandbox.assert_clean()
}

fn kit_du() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut harness = sandbox.harness();
    harness.args(["test", "--isolation=disk/du", "--format=json"]);
    let output = output(harness)?;
    output.expect_success()?;
    let disk_case = output
        .stdout
        .lines()
        .find(|l| l.contains("a_disk_limit_is_enforced"))
        .ok_or_else(|| format!("no disk case: {:?}", output.stdout))?;
    ensure!(disk_case.contains("\"passed\""), "{disk_case}");
    sandbox.assert_clean()
}
