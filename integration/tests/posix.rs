//! `posix/cpu` and `posix/mem` through the whole harness: the usage of a running container's
//! process tree (Mesos's `ROOT_UserCpuUsage` and `ROOT_MemUsage` with the posix isolators), and a
//! `run` of the real binary with only them.

use integration::isolators::{PID, POSIX_CPU, POSIX_MEM};
use integration::{Need, Sandbox, Suite, TestResult, container_spec, ensure, usage_until};

fn main() {
    let mut suite = Suite::new();
    suite.test("usage_of_a_running_process_tree", &[Need::Containers], usage_of_a_running_process_tree);
    suite.test("run_with_the_posix_isolators", &[Need::Containers], run_with_the_posix_isolators);
    suite.run()
}

fn usage_of_a_running_process_tree() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", "sleep 600 & while :; do :; done", "", "")?;
    let (usage, _) = sandbox.in_container(&[POSIX_CPU, POSIX_MEM, PID], &spec, |engine, launched| {
        // Waits for the whole tree too: on a slow guest the shell's fork can still be under way.
        usage_until(engine, &launched.container_id, "0.125 s of user time, memory and 3 processes", |u| {
            u.cpus_user_time_secs.is_some_and(|t| t >= 0.125)
                && u.mem_rss_bytes.is_some_and(|b| b > 0)
                && u.processes.is_some_and(|p| p >= 3)
        })
    })?;
    // The container's first process (the launch helper), the shell and its sleep.
    ensure!(usage.processes.is_some_and(|p| p >= 3), "{usage:?}");
    ensure!(usage.threads.is_some_and(|t| t >= usage.processes.unwrap_or(0)), "{usage:?}");
    ensure!(usage.cpus_system_time_secs.is_some(), "{usage:?}");
    sandbox.assert_clean()
}

fn run_with_the_posix_isolators() -> TestResult {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&[POSIX_CPU, POSIX_MEM], &[], &["sh", "-c", "echo hello"])?;
    output.expect_success()?;
    ensure!(output.stdout == "hello\n", "stdout {:?}", output.stdout);
    ensure!(output.error_lines().is_empty(), "Error lines: {:?}", output.stderr);
    sandbox.assert_clean()
}
