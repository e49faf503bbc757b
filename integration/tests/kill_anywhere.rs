//! The SIGKILL fault matrix: `agent-harness run` dies with SIGKILL at each lifecycle step (the
//! test-only hook `--test_only_kill_at=STEP`, never a timer), for a container with every shipped
//! isolator (cgroups cpu, mem, pids and devices; pid and ipc namespaces; `filesystem/linux` with a
//! rootfs and a volume; capabilities, rlimits, no_new_privs, seccomp). A new harness then runs
//! `agent-harness recover`, which must leave no cgroup, mount, namespace holder, checkpoint,
//! runtime dir or process behind, and must not kill the container that still runs: it supervises
//! that one to its end. And `run-many` killed with many containers live: `recover` finishes every
//! one of them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cgroupfs::CgroupMode;
use integration::isolators::{
    CAPABILITIES, CPU, DEFAULT, DEVICES, FS_LINUX, IPC, MEM, NNP, PID, PIDS, RLIMITS, SECCOMP,
};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, ensure, wait_output, wait_until};
use serde_json::Value;

/// How long a step may take before it counts as hung (a bound, never a measurement).
const STEP_TIMEOUT: Duration = Duration::from_secs(300);

/// Every shipped isolator, in Mesos's creation order.
const EVERY_ISOLATOR: &[&str] =
    &[FS_LINUX, CPU, MEM, PIDS, DEVICES, PID, IPC, CAPABILITIES, NNP, RLIMITS, SECCOMP];

/// A seccomp profile that refuses `mkdir` and allows the rest.
const DENY_MKDIR: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#;

/// How many containers the run-many case kills its harness with.
const MANY: usize = 8;

fn main() {
    let mut suite = Suite::new();
    let needs = &[Need::Containers, Need::Pids];
    for step in ["prepare", "launch", "isolate", "running", "destroy", "cleanup"] {
        suite.test(&format!("sigkill_at_{step}_then_recover_leaves_nothing"), needs, move || killed_at(step));
    }
    suite.test(
        "run_many_killed_with_many_live_containers_recovers_all",
        &[Need::Containers],
        run_many_killed,
    );
    suite.run()
}

/// A busybox root file system under the sandbox, with the applets the command uses.
fn rootfs(sandbox: &Sandbox) -> TestResult<PathBuf> {
    let root = sandbox.base.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin)?;
    let busybox = ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or("no busybox on this machine for the rootfs")?;
    std::fs::copy(busybox, bin.join("busybox"))?;
    for applet in ["sh", "sleep", "echo", "cat", "test", "["] {
        std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    }
    Ok(root)
}

/// The harness's flags for the container: its id, the rootfs, the markers directory as a volume
/// at `/markers`, an rlimit, and resources and limits for the cgroups isolators.
fn flags(sandbox: &Sandbox, root: &Path, id: &str) -> Vec<String> {
    let info = serde_json::json!({
        "volumes": [{"container_path": "/markers", "host_path": sandbox.markers(), "mode": "RW"}],
        "rlimit_info": {"rlimits": [{"type": "RLMT_NOFILE", "soft": 256, "hard": 256}]},
    });
    vec![
        format!("--container_id={id}"),
        format!("--rootfs={}", root.display()),
        format!("--container_info={info}"),
        "--resources=cpus:0.1;mem:64".to_owned(),
        "--limits=pids:64".to_owned(),
        "--json".to_owned(),
    ]
}

/// The command: says it started, waits for `/markers/go`, says it is done.
const SCRIPT: &str = "echo started > /markers/started; while [ ! -e /markers/go ]; do sleep 0.1; done; \
                      echo done > /markers/done";

/// `recover --json`'s entry for `id`, which must have no errors.
fn recovered(stdout: &str, id: &str) -> TestResult<Value> {
    let report: Vec<Value> = serde_json::from_str(stdout.trim()).map_err(|e| format!("{e}: {stdout:?}"))?;
    let entry = report.iter().find(|e| e["container_id"] == id).cloned();
    let entry = entry.ok_or_else(|| format!("recover did not report '{id}': {stdout}"))?;
    ensure!(entry["errors"].as_array().is_some_and(Vec::is_empty), "recover errors: {entry}");
    Ok(entry)
}

fn alive(pid: i32) -> bool {
    procfs::process::Process::new(pid).is_ok_and(|p| p.stat().is_ok_and(|s| s.state != 'Z'))
}

fn killed_at(step: &str) -> TestResult {
    let options = SandboxOptions { seccomp_profile: Some(DENY_MKDIR.into()), ..Default::default() };
    let sandbox = Sandbox::with(options)?;
    let root = rootfs(&sandbox)?;
    let markers = sandbox.markers();
    let (started, go, done) = (markers.join("started"), markers.join("go"), markers.join("done"));
    // The command is let go at once for the steps after it has run (destroy and cleanup follow
    // its end).
    if matches!(step, "destroy" | "cleanup") {
        std::fs::write(&go, "")?;
    }
    let mut flags = flags(&sandbox, &root, "k1");
    flags.push(format!("--test_only_kill_at={step}"));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // cgroups/devices needs the v1 devices hierarchy (v2 filters devices with eBPF, always there).
    let devices =
        sandbox.host.mode == CgroupMode::V2 || sandbox.host.controller_skip_reason("devices", None).is_none();
    let isolation: Vec<&str> = EVERY_ISOLATOR.iter().copied().filter(|i| devices || *i != DEVICES).collect();
    let run = sandbox.run(&isolation, &flags, &["sh", "-c", SCRIPT])?;
    ensure!(run.code.is_none(), "the harness was not killed at {step}: {:?} {}", run.code, run.stderr);
    ensure!(sandbox.checkpoint("k1").exists(), "no checkpoint left at {step} to recover from");

    if step == "running" {
        // Still running: recover supervises it to its end; the test lets it end meanwhile.
        let pid = sandbox.checkpoint_pid("k1").ok_or("no pid in the checkpoint")?;
        wait_until("the command running", STEP_TIMEOUT, || Ok(started.exists()))?;
        ensure!(alive(pid), "the container died with the harness");
        let recover = sandbox.recover_command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        std::fs::write(&go, "")?;
        let output = wait_output(recover, STEP_TIMEOUT)?;
        output.expect_success()?;
        let entry = recovered(&output.stdout, "k1")?;
        let action = entry["action"].as_str().unwrap_or_default();
        ensure!(matches!(action, "ran to its end" | "exited"), "recover reported {entry}");
        ensure!(entry["outcome"]["exit_status"] == 0, "the command did not end by itself: {entry}");
        ensure!(done.exists(), "the command did not run to its end");
    } else {
        let output = sandbox.recover()?;
        output.expect_success()?;
        recovered(&output.stdout, "k1")?;
        let ran = matches!(step, "destroy" | "cleanup");
        ensure!(started.exists() == ran, "at {step}: the command ran: {}", started.exists());
    }
    ensure!(!sandbox.checkpoint("k1").exists(), "the checkpoint is left");
    sandbox.assert_clean()
}

fn run_many_killed() -> TestResult {
    let sandbox = Sandbox::new()?;
    let markers = sandbox.markers();
    let go = markers.join("go");
    let mut lines = String::new();
    for n in 1..=MANY {
        let started = markers.join(format!("started-{n}"));
        let done = markers.join(format!("done-{n}"));
        // run-many splits on whitespace without quoting: the script is a file.
        let script = markers.join(format!("script-{n}"));
        std::fs::write(
            &script,
            format!(
                "echo started > {}\nwhile [ ! -e {} ]; do sleep 0.1; done\necho done > {}\n",
                started.display(),
                go.display(),
                done.display()
            ),
        )?;
        lines.push_str(&format!("sh {}\n", script.display()));
    }
    let input = sandbox.base.join("commands");
    std::fs::write(&input, lines)?;
    let mut command = sandbox.harness();
    command
        .arg("run-many")
        .arg(sandbox.modules_flag())
        .arg(format!("--work_dir={}", sandbox.work_dir.display()))
        .arg(format!("--isolation={}", DEFAULT.join(",")))
        .arg("--container_id_prefix=many-")
        .arg(format!("--concurrency={MANY}"))
        .arg(format!("--file={}", input.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut harness = command.spawn()?;
    let ids: Vec<String> = (1..=MANY).map(|n| format!("many-{n}")).collect();
    wait_until("every container running", STEP_TIMEOUT, || {
        ensure!(harness.try_wait()?.is_none(), "run-many ended early");
        Ok((1..=MANY).all(|n| markers.join(format!("started-{n}")).exists())
            && ids.iter().all(|id| sandbox.checkpoint_pid(id).is_some()))
    })?;
    harness.kill()?;
    harness.wait()?;
    for id in &ids {
        let pid = sandbox.checkpoint_pid(id).ok_or("no pid")?;
        ensure!(alive(pid), "container {id} died with run-many");
    }
    let recover = sandbox.recover_command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    std::fs::write(&go, "")?;
    let output = wait_output(recover, STEP_TIMEOUT)?;
    output.expect_success()?;
    for (n, id) in ids.iter().enumerate() {
        let entry = recovered(&output.stdout, id)?;
        let action = entry["action"].as_str().unwrap_or_default();
        ensure!(matches!(action, "ran to its end" | "exited"), "recover reported {entry}");
        ensure!(entry["outcome"]["exit_status"] == 0, "{id} did not end by itself: {entry}");
        ensure!(markers.join(format!("done-{}", n + 1)).exists(), "{id} did not run to its end");
    }
    sandbox.assert_clean()
}
