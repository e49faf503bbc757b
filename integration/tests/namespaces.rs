//! The namespaces isolators through `agent-harness run`: the pid namespace's init and what it hides
//! (Mesos's `ROOT_PidNamespace`), the UTS hostname, an empty network namespace, and every
//! namespace at once.

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
