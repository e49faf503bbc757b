//! The filesystem isolators through `agent-harness run`, loaded from the suite's manifest: without
//! a rootfs (the CLI has no `--rootfs` or `--container_info` yet), `filesystem/linux` gives the
//! container a mount namespace of its own and `MESOS_SANDBOX`, and `filesystem/posix` only
//! `MESOS_SANDBOX` (Mesos's `ROOT_SandboxEnvironmentVariable`, host side). The rootfs, `/dev`,
//! `/sys` and volumes are tested with the containerizer in `containerizers/linux/tests/kernel`.

use integration::isolators::{CPU, FS_LINUX, FS_POSIX, MEM, PID};
use integration::{Need, Sandbox, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("linux_filesystem_mount_namespace_and_mesos_sandbox", containers, linux_filesystem);
    suite.test("posix_filesystem_mesos_sandbox", containers, posix_filesystem);
    suite.run()
}

/// Runs `script` in container `id` with `isolation`; its stdout (from the sandbox).
fn run_script(sandbox: &Sandbox, isolation: &[&str], id: &str, script: &str) -> TestResult<String> {
    let output =
        sandbox.run(isolation, &["--json", &format!("--container_id={id}")], &["sh", "-c", script])?;
    output.expect_success()?;
    let outcome = output.outcome()?;
    ensure!(outcome.exit_status == 0, "exit_status {}; stderr {:?}", outcome.exit_status, output.stderr);
    Ok(std::fs::read_to_string(sandbox.sandbox_dir(id).join("stdout"))?)
}

fn linux_filesystem() -> TestResult {
    let sandbox = Sandbox::new()?;
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt")?;
    let stdout = run_script(
        &sandbox,
        &[FS_LINUX, CPU, MEM, PID],
        "c1",
        "echo \"$MESOS_SANDBOX\"; pwd; readlink /proc/self/ns/mnt",
    )?;
    let dir = sandbox.sandbox_dir("c1").display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    ensure!(lines.first() == Some(&dir.as_str()), "MESOS_SANDBOX is not the sandbox {dir}: {lines:?}");
    ensure!(lines.get(1) == Some(&dir.as_str()), "the command did not start in its sandbox: {lines:?}");
    ensure!(
        lines.get(2).is_some_and(|ns| ns.starts_with("mnt:[") && *ns != host_mnt.to_string_lossy()),
        "not a mount namespace of its own: {lines:?} (the host's is {})",
        host_mnt.display()
    );
    sandbox.assert_clean()
}

fn posix_filesystem() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stdout = run_script(&sandbox, &[FS_POSIX, CPU, MEM], "c1", "echo \"$MESOS_SANDBOX\"")?;
    let dir = sandbox.sandbox_dir("c1").display().to_string();
    ensure!(stdout == format!("{dir}\n"), "MESOS_SANDBOX {stdout:?}, not {dir}");
    sandbox.assert_clean()
}
