//! The namespaces isolators through `agent-harness run`: the pid namespace's init and what it hides
//! (Mesos's `ROOT_PidNamespace`), the UTS hostname, an empty network namespace, every namespace
//! at once, and the per-container `LinuxInfo` of the pid and ipc isolators (`share_pid_namespace`,
//! `ipc_mode`, `shm_size`) with the operator's parameters that govern them.

use integration::isolators::{CPU, IPC, MEM, NET, PID, UTS};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("pid_namespace_init_and_hidden_host_processes", containers, pid_namespace);
    suite.test("uts_hostname_is_the_container_id", containers, uts_hostname_is_the_container_id);
    suite.test("uts_hostname_parameter", containers, uts_hostname_parameter);
    suite.test("net_namespace_has_only_lo", containers, net_namespace_has_only_lo);
    suite.test("every_namespace_differs_from_the_host", containers, every_namespace_differs_from_the_host);
    suite.test("ipc_private_shm_of_the_asked_size", containers, ipc_private_shm_of_the_asked_size);
    suite.test("ipc_share_parent_unless_disallowed", containers, ipc_share_parent_unless_disallowed);
    suite.test("shm_size_needs_the_private_mode", containers, shm_size_needs_the_private_mode);
    suite.test("pid_namespace_shared_unless_disallowed", containers, pid_namespace_shared_unless_disallowed);
    suite.run()
}

/// Runs `script` in container `id` with `isolation` and `--json`; its stdout (from the sandbox).
fn run_script(sandbox: &Sandbox, isolation: &[&str], id: &str, script: &str) -> TestResult<String> {
    let output =
        sandbox.run(isolation, &["--json", &format!("--container_id={id}")], &["sh", "-c", script])?;
    output.expect_success()?;
    let outcome = output.outcome()?;
    ensure!(outcome.exit_status == 0, "exit_status {}; stderr {:?}", outcome.exit_status, output.stderr);
    let stdout = std::fs::read_to_string(sandbox.sandbox_dir(id).join("stdout"))?;
    Ok(stdout)
}

fn pid_namespace() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stdout =
        run_script(&sandbox, &[CPU, MEM, PID], "c1", "cat /proc/1/cmdline; echo; echo \"pid $$\"; ls /proc")?;
    let mut lines = stdout.lines();
    let init = lines.next().unwrap_or_default();
    ensure!(init.contains("mesos-containerizer"), "/proc/1/cmdline is {init:?}, not the container's init");
    let pid = lines.next().unwrap_or_default();
    ensure!(pid == "pid 2", "the command is not pid 2: {pid:?}");
    let pids: Vec<u32> = lines.filter_map(|l| l.trim().parse().ok()).collect();
    // init, the shell, `ls` (and perhaps a short-lived helper): no host process.
    ensure!(pids.len() <= 5 && pids.contains(&1) && pids.contains(&2), "processes in /proc: {pids:?}");
    sandbox.assert_clean()
}

fn uts_hostname_is_the_container_id() -> TestResult {
    let sandbox = Sandbox::new()?;
    let host_before = nix::unistd::gethostname()?;
    let stdout = run_script(&sandbox, &[CPU, MEM, UTS], "uts-c1", "hostname")?;
    ensure!(stdout.trim() == "uts-c1", "hostname {stdout:?}");
    ensure!(nix::unistd::gethostname()? == host_before, "the host's hostname changed");
    sandbox.assert_clean()
}

fn uts_hostname_parameter() -> TestResult {
    let options = SandboxOptions { hostname: Some("isolated-box".to_owned()), ..Default::default() };
    let sandbox = Sandbox::with(options)?;
    let stdout = run_script(&sandbox, &[CPU, MEM, UTS], "c1", "hostname")?;
    ensure!(stdout.trim() == "isolated-box", "hostname {stdout:?}");
    sandbox.assert_clean()
}

/// The interface names of `/proc/net/dev` (after its two header lines).
fn interfaces(net_dev: &str) -> Vec<String> {
    net_dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

fn net_namespace_has_only_lo() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stdout = run_script(&sandbox, &[CPU, MEM, NET], "c1", "cat /proc/net/dev")?;
    let names = interfaces(&stdout);
    ensure!(names == ["lo"], "interfaces {names:?} in {stdout:?}");
    sandbox.assert_clean()
}

fn every_namespace_differs_from_the_host() -> TestResult {
    let sandbox = Sandbox::new()?;
    let kinds = ["pid", "ipc", "uts", "net", "mnt"];
    let script: String = kinds.iter().map(|k| format!("ls -l /proc/self/ns/{k}; ")).collect();
    let stdout = run_script(&sandbox, &[CPU, MEM, PID, IPC, UTS, NET], "c1", &script)?;
    for kind in kinds {
        let host = std::fs::read_link(format!("/proc/self/ns/{kind}"))?;
        let host = host.to_string_lossy();
        // `ls -l` prints `... /proc/self/ns/<kind> -> <kind>:[<inode>]`.
        let inside = stdout
            .lines()
            .find(|l| l.contains(&format!("/proc/self/ns/{kind} ")))
            .and_then(|l| l.rsplit(" -> ").next())
            .ok_or_else(|| format!("no {kind} namespace in {stdout:?}"))?;
        ensure!(inside.starts_with(&format!("{kind}:[")), "{kind}: {inside:?}");
        ensure!(inside != host, "the container shares the host's {kind} namespace {host}");
    }
    sandbox.assert_clean()
}

/// `--container_info` with this `linux_info`.
fn linux_info(json: &str) -> String {
    format!("--container_info={{\"linux_info\":{json}}}")
}

/// The `/dev/shm` mount options the command sees, from `/proc/self/mounts` (the last mount there
/// is the one on top).
const SHM_OPTIONS: &str = "grep ' /dev/shm ' /proc/self/mounts | tail -n 1 | cut -d' ' -f4";

/// The mounts of the harness's own mount namespace at `/dev/shm`.
fn host_shm_mounts() -> TestResult<usize> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(table.lines().filter(|l| l.split(' ').nth(4) == Some("/dev/shm")).count())
}

/// Runs `script` in container `id` with the pid or ipc isolator and `info`; its stdout.
fn run_with_info(
    sandbox: &Sandbox,
    isolator: &str,
    id: &str,
    info: &str,
    script: &str,
) -> TestResult<String> {
    let flags = [format!("--container_id={id}"), info.to_owned()];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let output = sandbox.run(&[CPU, MEM, isolator], &flags, &["sh", "-c", script])?;
    output.expect_success()?;
    Ok(std::fs::read_to_string(sandbox.sandbox_dir(id).join("stdout"))?)
}

/// Runs `true` in container `id` with `isolator` and `info`: it must fail with `message`.
fn refused(sandbox: &Sandbox, isolator: &str, id: &str, info: &str, message: &str) -> TestResult {
    let output = sandbox.run(&[CPU, MEM, isolator], &[&format!("--container_id={id}"), info], &["true"])?;
    ensure!(output.code == Some(1), "{info}: exit {:?}; stderr {:?}", output.code, output.stderr);
    ensure!(output.stderr.contains(message), "{info}: stderr {:?}", output.stderr);
    ensure!(output.stderr.trim().lines().count() == 1, "{info}: not one line: {:?}", output.stderr);
    Ok(())
}

fn ipc_private_shm_of_the_asked_size() -> TestResult {
    let before = host_shm_mounts()?;
    let probe = format!("/dev/shm/agent-harness-it-{}", std::process::id());
    let options = SandboxOptions {
        parameters: vec![(IPC, "default_container_shm_size", "16MB".to_owned())],
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let script = format!("{SHM_OPTIONS}; readlink /proc/self/ns/ipc; echo data > {probe}");
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc")?.display().to_string();
    let sized =
        run_with_info(&sandbox, IPC, "c1", &linux_info(r#"{"ipc_mode":"PRIVATE","shm_size":8}"#), &script)?;
    let mut lines = sized.lines();
    let options = lines.next().unwrap_or_default();
    ensure!(options.split(',').any(|o| o == "size=8192k"), "/dev/shm options {options:?}, not 8 MB");
    ensure!(lines.next() != Some(host_ipc.as_str()), "the container shares the host's IPC namespace");
    // No shm_size: the operator's default.
    let defaulted = run_with_info(&sandbox, IPC, "c2", &linux_info(r#"{"ipc_mode":"PRIVATE"}"#), &script)?;
    let options = defaulted.lines().next().unwrap_or_default();
    ensure!(options.split(',').any(|o| o == "size=16384k"), "/dev/shm options {options:?}, not 16 MB");
    ensure!(!std::path::Path::new(&probe).exists(), "the private /dev/shm wrote to the host's");
    ensure!(host_shm_mounts()? == before, "the host's /dev/shm mounts changed");
    sandbox.assert_clean()
}

fn ipc_share_parent_unless_disallowed() -> TestResult {
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc")?.display().to_string();
    let info = linux_info(r#"{"ipc_mode":"SHARE_PARENT"}"#);
    let sandbox = Sandbox::new()?;
    let seen = run_with_info(&sandbox, IPC, "c1", &info, "readlink /proc/self/ns/ipc")?;
    ensure!(seen.trim() == host_ipc, "SHARE_PARENT gave IPC namespace {seen:?}, the host's is {host_ipc}");
    sandbox.assert_clean()?;

    let options = SandboxOptions {
        parameters: vec![(IPC, "disallow_sharing_agent_ipc_namespace", "true".to_owned())],
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let message = "namespaces/ipc: Sharing agent IPC namespace with top-level container is not allowed";
    refused(&sandbox, IPC, "c2", &info, message)?;
    sandbox.assert_clean()
}

fn shm_size_needs_the_private_mode() -> TestResult {
    let sandbox = Sandbox::new()?;
    let message = "Only support specifying the size of /dev/shm when the IPC mode is `PRIVATE`";
    refused(&sandbox, IPC, "c1", &linux_info(r#"{"shm_size":8}"#), message)?;
    refused(&sandbox, IPC, "c2", &linux_info(r#"{"ipc_mode":"SHARE_PARENT","shm_size":8}"#), message)?;
    sandbox.assert_clean()
}

fn pid_namespace_shared_unless_disallowed() -> TestResult {
    let host_pid = std::fs::read_link("/proc/self/ns/pid")?.display().to_string();
    let info = linux_info(r#"{"share_pid_namespace":true}"#);
    let sandbox = Sandbox::new()?;
    let stdout = run_with_info(&sandbox, PID, "c1", &info, "readlink /proc/self/ns/pid; echo $$")?;
    let mut lines = stdout.lines();
    ensure!(
        lines.next() == Some(host_pid.as_str()),
        "share_pid_namespace gave {stdout:?}, the host's is {host_pid}"
    );
    ensure!(
        lines.next().is_some_and(|pid| pid != "2"),
        "the shell is pid 2 of a namespace of its own: {stdout:?}"
    );
    sandbox.assert_clean()?;

    let options = SandboxOptions {
        parameters: vec![(PID, "disallow_sharing_agent_pid_namespace", "true".to_owned())],
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let message = "namespaces/pid: Sharing agent pid namespace with top-level container is not allowed";
    refused(&sandbox, PID, "c2", &info, message)?;
    sandbox.assert_clean()
}
