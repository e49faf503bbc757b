//! `agent-harness recover` after the harness was killed with SIGKILL: between clone and exec (the
//! command must never run, nothing may be left), and while the command runs (recover supervises it
//! to its end).

use std::process::Stdio;
use std::time::Duration;

use cgroupfs::CgroupMode;
use integration::isolators::{BROKEN, CPU, DEFAULT, MEM, PID};
use integration::{
    Broken, Need, Sandbox, SandboxOptions, Suite, TestResult, ensure, wait_output, wait_until,
};
use serde_json::Value;

/// How long a step of a test may take before it counts as hung.
const STEP_TIMEOUT: Duration = Duration::from_secs(300);

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("recover_after_a_kill_between_clone_and_exec", containers, kill_between_clone_and_exec);
    suite.test("recover_supervises_a_running_command_to_its_end", containers, kill_while_the_command_runs);
    suite.run()
}

/// Whether `pid` is in the container's memory cgroup (v1) or its cgroup's leaf (v2).
fn in_memory_cgroup(sandbox: &Sandbox, id: &str, pid: i32) -> bool {
    let file = match sandbox.host.mode {
        CgroupMode::V1 => sandbox.cgroup_file(id, "memory", "cgroup.procs"),
        CgroupMode::V2 => sandbox.cgroup_file(id, "memory", "leaf/cgroup.procs"),
    };
    std::fs::read_to_string(file).unwrap_or_default().lines().any(|l| l.trim() == pid.to_string())
}

/// The one entry of `recover --json` for `id`.
fn recovered(stdout: &str, id: &str) -> TestResult<Value> {
    let report: Vec<Value> = serde_json::from_str(stdout.trim()).map_err(|e| format!("{e}: {stdout:?}"))?;
    ensure!(report.len() == 1, "recover reported {} containers: {stdout}", report.len());
    let entry = report.into_iter().next().unwrap_or_default();
    ensure!(entry["container_id"] == id, "recover reported {entry}");
    ensure!(entry["errors"].as_array().is_some_and(Vec::is_empty), "recover errors: {entry}");
    Ok(entry)
}

fn kill_between_clone_and_exec() -> TestResult {
    // Last in --isolation and stalling in isolate: by then the cgroups isolators have put the
    // cloned (still blocked) process in their cgroups.
    let broken = Broken { stall: Some("60secs".to_owned()), ..Broken::new("isolate", "stall") };
    let sandbox = Sandbox::with(SandboxOptions { broken: Some(broken), ..Default::default() })?;
    let marker = sandbox.markers().join("ran");
    let script = format!("echo ran > {}; sleep 600", marker.display());
    let mut harness =
        sandbox.spawn_run(&[CPU, MEM, PID, BROKEN], &["--container_id=k1"], &["sh", "-c", &script])?;
    wait_until("a checkpointed pid in the container's cgroups", STEP_TIMEOUT, || {
        harness.expect_running()?;
        Ok(sandbox.checkpoint_pid("k1").is_some_and(|pid| in_memory_cgroup(&sandbox, "k1", pid)))
    })?;
    harness.kill()?;

    let output = sandbox.recover()?;
    output.expect_success()?;
    recovered(&output.stdout, "k1")?;
    ensure!(!marker.exists(), "the command ran although the harness was killed before exec");
    sandbox.assert_clean()
}

/// How many pidfds of `target` the process `pid` holds.
fn pidfds(pid: u32, target: i32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return 0 };
    fds.flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:[pidfd]"))
        .filter(|fd| {
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()));
            info.unwrap_or_default().lines().any(|l| l.split_whitespace().eq(["Pid:", &target.to_string()]))
        })
        .count()
}

fn kill_while_the_command_runs() -> TestResult {
    let sandbox = Sandbox::new()?;
    let markers = sandbox.markers();
    let (started, go, done) = (markers.join("started"), markers.join("go"), markers.join("done"));
    // The command runs until the test lets it end, so it is certainly still running when
    // `recover` looks at it.
    let script = format!(
        "echo started > {}; while [ ! -e {} ]; do sleep 1; done; echo done > {}",
        started.display(),
        go.display(),
        done.display()
    );
    let mut harness = sandbox.spawn_run(DEFAULT, &["--container_id=k2"], &["sh", "-c", &script])?;
    wait_until("the command running", STEP_TIMEOUT, || {
        harness.expect_running()?;
        Ok(started.exists() && sandbox.checkpoint_pid("k2").is_some())
    })?;
    let helper = sandbox.checkpoint_pid("k2").ok_or("no pid in the checkpoint")?;
    harness.kill()?;

    let mut recover = sandbox.recover_command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let recover_pid = recover.id();
    // The harness waits on a duplicate of the containerizer's pidfd of the helper: two pidfds mean
    // recover found the container running and supervises it.
    let supervising = wait_until("recover supervising the container", STEP_TIMEOUT, || {
        Ok(pidfds(recover_pid, helper) >= 2 || recover.try_wait()?.is_some())
    });
    std::fs::write(&go, "")?;
    let output = wait_output(recover, STEP_TIMEOUT)?;
    supervising?;
    output.expect_success()?;
    let entry = recovered(&output.stdout, "k2")?;
    ensure!(entry["action"] == "ran to its end", "recover reported {entry}");
    ensure!(entry["outcome"]["exit_status"] == 0, "recover reported {entry}");
    ensure!(done.exists(), "the command did not run to its end");
    sandbox.assert_clean()
}
