//! A faulty module and bad input, through `agent-harness run`: a module error, panic, malformed
//! answer, huge message or a call past `--module_call_timeout` at each lifecycle step fails only
//! its container, with one `Error` line naming the module, the step and what went wrong, and every
//! cleanup still runs; usage failures are skipped (Mesos's `await`); a module stuck in `cleanup`
//! for one container of `run-many` does not stop the others or hang the harness; bad input is
//! refused before anything is created.

use integration::isolators::{BROKEN, CPU, DEFAULT, MEM, PID};
use integration::{Broken, MB, Need, RunOutput, Sandbox, SandboxOptions, Suite, TestResult, ensure};

/// Every way the broken isolator misbehaves.
const MODES: [&str; 5] = ["error", "panic", "malformed", "huge", "stall"];

/// The deadline of the runs whose module stalls (`--module_call_timeout`), and its flag.
const TIMEOUT_FLAG: &str = "--module_call_timeout=1secs";

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    for step in ["prepare", "isolate", "watch"] {
        for mode in MODES {
            suite.test(&format!("module_{mode}_at_{step}_fails_the_launch"), containers, move || {
                launch_step_fails(step, mode)
            });
        }
    }
    for step in ["prepare", "isolate"] {
        for mode in ["error", "malformed", "stall"] {
            suite.test(
                &format!("module_{mode}_at_{step}_first_ends_the_step_and_cleans_up"),
                containers,
                move || first_step_fails(step, mode),
            );
        }
    }
    for mode in MODES {
        suite.test(&format!("module_{mode}_at_cleanup_is_reported_after_the_run"), containers, move || {
            cleanup_fails(mode)
        });
    }
    for mode in ["error", "panic", "malformed", "huge"] {
        suite.test(&format!("module_{mode}_at_usage_is_skipped"), containers, move || usage_fails(mode));
    }
    suite.test("module_stall_at_usage_skips_its_cleanup_with_an_error", containers, usage_stalls);
    suite.test("run_many_serves_the_others_while_a_module_hangs_in_one_cleanup", containers, run_many_hang);
    suite.test("a_usage_sweep_answers_for_the_others_when_one_call_hangs", containers, sweep_hang);
    let bad_input: [(&str, BadInput); 14] = [
        ("unknown_isolator", unknown_isolator),
        ("resources_that_do_not_parse", resources_that_do_not_parse),
        ("limits_that_do_not_parse", limits_that_do_not_parse),
        ("missing_command", missing_command),
        ("bad_container_id", bad_container_id),
        ("both_modules_and_modules_dir", both_modules_and_modules_dir),
        ("duplicate_isolation_names", duplicate_isolation_names),
        ("duplicate_after_the_alias", duplicate_after_the_alias),
        ("unknown_mesos_name", unknown_mesos_name),
        ("two_filesystem_isolators", two_filesystem_isolators),
        ("bad_bool_agent_flag_in_the_environment", bad_bool_agent_flag_in_the_environment),
        ("container_info_that_is_not_json", container_info_that_is_not_json),
        ("container_info_unknown_field", container_info_unknown_field),
        ("container_info_unknown_capability", container_info_unknown_capability),
    ];
    for (name, case) in bad_input {
        suite.test(&format!("bad_input::{name}"), containers, move || refused(case));
    }
    suite.run()
}

fn broken(step: &str, mode: &str) -> TestResult<Sandbox> {
    // A stall lasts far past the deadline: only the deadline ends it.
    let stall = (mode == "stall").then(|| "1hrs".to_owned());
    Sandbox::with(SandboxOptions {
        broken: Some(Broken { stall, ..Broken::new(step, mode) }),
        ..Default::default()
    })
}

/// What the error line says of TestBrokenIsolator misbehaving in `step` with `mode` (the module's
/// name and the step are in every one: `module '...' failed in <step>: ...`). A huge message is
/// refused with its size (17 MiB and the module's few words, `wrote 17825... bytes, more than the
/// 16777216 a result or message may have`).
fn message(step: &str, mode: &str) -> String {
    let what = match mode {
        "malformed" => "returned a malformed result".to_owned(),
        "huge" => "wrote 17825".to_owned(),
        "stall" => "did not return within 1secs (--module_call_timeout): the call is abandoned".to_owned(),
        // The module's own words (a panic's after `module panicked at <file:line>: `).
        _ => return format!("TestBrokenIsolator: deliberate {mode} in {step}"),
    };
    format!("failed in {step}: {what}")
}

/// `flags` and, for a stalling module, the short deadline.
fn with_timeout<'a>(mode: &str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut all = flags.to_vec();
    if mode == "stall" {
        all.push(TIMEOUT_FLAG);
    }
    all
}

/// A command that leaves a marker file when it runs.
fn marking(sandbox: &Sandbox) -> Vec<String> {
    let marker = sandbox.markers().join("ran");
    vec!["sh".into(), "-c".into(), format!("echo ran > {}", marker.display())]
}

fn args(command: &[String]) -> Vec<&str> {
    command.iter().map(String::as_str).collect()
}

fn launch_step_fails(step: &str, mode: &str) -> TestResult {
    let sandbox = broken(step, mode)?;
    let command = marking(&sandbox);
    // Last, so the cgroups and pid isolators have prepared (and isolated) the container first and
    // must be cleaned up.
    let flags = with_timeout(mode, &["--container_id=c1"]);
    let output = sandbox.run(&[CPU, MEM, PID, BROKEN], &flags, &args(&command))?;
    output.expect_one_error(&["Failed to launch container 'c1'", BROKEN, &message(step, mode)])?;
    ensure!(output.stderr.len() < 16 << 10, "the error is not one short line: {} bytes", output.stderr.len());
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    ensure!(!sandbox.sandbox_dir("c1").exists(), "the failed container's sandbox is left");
    sandbox.assert_clean()
}

/// The broken isolator before the cgroups and pid isolators (only the implicit `filesystem/posix`,
/// a built-in, comes before it): a step's calls go to the modules as one batch, which ends at the
/// failure (or, for a malformed answer, is seen to fail after the others answered); the launch
/// fails with the broken module's error alone, and every isolator whose `prepare` was called is
/// cleaned up, so nothing is left. (A loop that stopped at the failure passes this too: it guards
/// the cleanup of what a batch prepared.)
fn first_step_fails(step: &str, mode: &str) -> TestResult {
    let sandbox = broken(step, mode)?;
    let command = marking(&sandbox);
    let flags = with_timeout(mode, &["--container_id=c1"]);
    let output = sandbox.run(&[BROKEN, CPU, MEM, PID], &flags, &args(&command))?;
    output.expect_one_error(&["Failed to launch container 'c1'", BROKEN, &message(step, mode)])?;
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    ensure!(!sandbox.sandbox_dir("c1").exists(), "the failed container's sandbox is left");
    sandbox.assert_clean()
}

fn cleanup_fails(mode: &str) -> TestResult {
    let sandbox = broken("cleanup", mode)?;
    let command = marking(&sandbox);
    // Last, so it is cleaned up first and the cgroups isolators' cleanups come after its failure.
    let flags = with_timeout(mode, &["--container_id=c1"]);
    let output = sandbox.run(&[CPU, MEM, PID, BROKEN], &flags, &args(&command))?;
    output.expect_one_error(&["Failed to clean up an isolator", BROKEN, &message("cleanup", mode)])?;
    ensure!(output.stderr.len() < 16 << 10, "the error is not one short line: {} bytes", output.stderr.len());
    ensure!(sandbox.markers().join("ran").exists(), "the command did not run");
    sandbox.assert_clean()
}

fn usage_fails(mode: &str) -> TestResult {
    let sandbox = broken("usage", mode)?;
    let command = marking(&sandbox);
    // First, so the isolators after it still report.
    let output =
        sandbox.run(&[BROKEN, CPU, MEM, PID], &["--json", "--resources=cpus:0.5;mem:64"], &args(&command))?;
    output.expect_success()?;
    ensure!(output.error_lines().is_empty(), "Error lines: {:?}", output.stderr);
    let usage = output.outcome()?.usage;
    ensure!(usage.mem_limit_bytes == Some(64 * MB), "no memory usage: {usage:?}");
    ensure!(usage.cpus_user_time_secs.is_some(), "no cpu usage: {usage:?}");
    ensure!(sandbox.markers().join("ran").exists(), "the command did not run");
    sandbox.assert_clean()
}

/// A usage call past the deadline is skipped like a failed one, but the module is poisoned for the
/// container: its cleanup is skipped too, and that is the run's one error; the others clean up.
fn usage_stalls() -> TestResult {
    let sandbox = broken("usage", "stall")?;
    let command = marking(&sandbox);
    let flags = ["--json", "--resources=cpus:0.5;mem:64", TIMEOUT_FLAG];
    let output = sandbox.run(&[BROKEN, CPU, MEM, PID], &flags, &args(&command))?;
    output.expect_one_error(&[
        "Failed to clean up an isolator",
        BROKEN,
        "failed in cleanup: skipped: its call to usage for container",
        "did not return within 1secs",
    ])?;
    let usage = output.outcome()?.usage;
    ensure!(usage.mem_limit_bytes == Some(64 * MB), "no memory usage: {usage:?}");
    ensure!(sandbox.markers().join("ran").exists(), "the command did not run");
    sandbox.assert_clean()
}

/// One harness, three containers; the module hangs in the cleanup of the second only. The harness
/// abandons that call at the deadline, reports it on that container, and runs the others to a
/// clean end.
fn run_many_hang() -> TestResult {
    let broken = Broken {
        stall: Some("1hrs".into()),
        container: Some("hang-2".into()),
        ..Broken::new("cleanup", "stall")
    };
    let sandbox = Sandbox::with(SandboxOptions { broken: Some(broken), ..Default::default() })?;
    let many = RunMany { isolation: &[CPU, MEM, PID, BROKEN], prefix: "hang-", concurrency: 1, flags: &[] };
    let (out, events) = many.run(&sandbox, "/bin/true\n/bin/true\n/bin/true\n")?;
    for id in ["hang-1", "hang-2", "hang-3"] {
        let finished = events.iter().find(|e| e["event"] == "finished" && e["container_id"] == id);
        let finished = finished.ok_or_else(|| format!("{id} did not finish: {}", out.stdout))?;
        ensure!(finished["exit_status"] == 0, "{id}: {finished}");
        let errors = finished["errors"].as_array().cloned().unwrap_or_default();
        if id == "hang-2" {
            let text = serde_json::Value::Array(errors).to_string();
            ensure!(
                text.contains(BROKEN) && text.contains("failed in cleanup") && text.contains("within 1secs"),
                "{id}: {finished}"
            );
        } else {
            ensure!(errors.is_empty(), "{id} has errors: {finished}");
        }
    }
    sandbox.assert_clean()
}

/// A `run-many` of the broken-module sandboxes, with the short deadline.
struct RunMany<'a> {
    isolation: &'a [&'a str],
    prefix: &'a str,
    concurrency: usize,
    flags: &'a [&'a str],
}

impl RunMany<'_> {
    /// Runs `lines` (the input file); its output, which must exit 1 (a container reported
    /// errors), and its events.
    fn run(&self, sandbox: &Sandbox, lines: &str) -> TestResult<(RunOutput, Vec<serde_json::Value>)> {
        let file = sandbox.base.join("commands");
        std::fs::write(&file, lines)?;
        let mut command = sandbox.harness();
        command
            .arg("run-many")
            .arg(sandbox.modules_flag())
            .arg(format!("--work_dir={}", sandbox.work_dir.display()))
            .arg(format!("--isolation={}", self.isolation.join(",")))
            .arg(format!("--container_id_prefix={}", self.prefix))
            .arg(format!("--concurrency={}", self.concurrency))
            .args(self.flags)
            .arg(TIMEOUT_FLAG)
            .arg(format!("--file={}", file.display()));
        let out = integration::output(command)?;
        ensure!(out.code == Some(1), "run-many exited {:?}: {}", out.code, out.stderr);
        let events = out
            .stdout
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{e}: {}", out.stdout))?;
        Ok((out, events))
    }
}

/// One harness, four live containers, one `@usage` sweep; the module hangs in the usage of the
/// second only. The sweep's batch of calls to it is cut there at the deadline: the calls for the
/// containers after it are made again on a fresh thread, so the sweep still has the module's answer
/// for every other container, and only the second's cleanup is skipped.
fn sweep_hang() -> TestResult {
    let broken = Broken {
        stall: Some("1hrs".into()),
        container: Some("use-2".into()),
        ..Broken::new("usage", "stall")
    };
    let sandbox = Sandbox::with(SandboxOptions { broken: Some(broken), ..Default::default() })?;
    let many = RunMany {
        isolation: &[CPU, MEM, BROKEN],
        prefix: "use-",
        concurrency: 4,
        flags: &["--resources=cpus:0.5;mem:64"],
    };
    let (out, events) = many.run(&sandbox, &format!("{}@usage\n@destroy\n", "/bin/sleep 30\n".repeat(4)))?;
    let sweep =
        events.iter().find(|e| e["event"] == "usage").ok_or_else(|| format!("no sweep: {}", out.stdout))?;
    ensure!(sweep["containers"] == 4, "the sweep: {sweep}");
    for id in ["use-1", "use-2", "use-3", "use-4"] {
        let usage = &sweep["usage"][id];
        ensure!(usage["mem_limit_bytes"] == 64 * MB, "{id}: no memory usage: {usage}");
        let answered = usage["disk_used_bytes"] == 1;
        ensure!(answered == (id != "use-2"), "{id}: the broken module's answer is {answered}: {usage}");
        let finished = events.iter().find(|e| e["event"] == "finished" && e["container_id"] == id);
        let finished = finished.ok_or_else(|| format!("{id} did not finish: {}", out.stdout))?;
        let errors = serde_json::Value::Array(finished["errors"].as_array().cloned().unwrap_or_default());
        if id == "use-2" {
            let text = errors.to_string();
            ensure!(text.contains("skipped: its call to usage for container"), "{id}: {finished}");
        } else {
            ensure!(errors.as_array().is_some_and(Vec::is_empty), "{id} has errors: {finished}");
        }
    }
    sandbox.assert_clean()
}

/// A bad `run`: its output, and what its Error line must name.
type BadInput = fn(&Sandbox) -> TestResult<(RunOutput, &'static str)>;

fn refused(case: BadInput) -> TestResult {
    let sandbox = Sandbox::new()?;
    let (output, needle) = case(&sandbox)?;
    output.expect_one_error(&[needle])?;
    ensure!(output.stdout.is_empty(), "stdout {:?}", output.stdout);
    let created: Vec<_> = std::fs::read_dir(&sandbox.work_dir)?.flatten().map(|e| e.path()).collect();
    ensure!(created.is_empty(), "created in the work dir: {created:?}");
    ensure!(!sandbox.runtime_dir.exists(), "the containerizer's runtime dir was created");
    let roots: Vec<_> = sandbox.root_dirs().into_iter().filter(|d| d.exists()).collect();
    ensure!(roots.is_empty(), "cgroups created: {roots:?}");
    sandbox.assert_clean()
}

const TRUE: &[&str] = &["sh", "-c", "echo ran"];

fn unknown_isolator(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(&[CPU, "org_example_NoSuchIsolator"], &[], TRUE)?, "org_example_NoSuchIsolator"))
}

fn resources_that_do_not_parse(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(DEFAULT, &["--resources=cpus:lots;mem:64"], TRUE)?, "--resources"))
}

fn limits_that_do_not_parse(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(DEFAULT, &["--limits=mem"], TRUE)?, "--limits"))
}

fn missing_command(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(DEFAULT, &[], &[])?, "command"))
}

fn bad_container_id(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(DEFAULT, &["--container_id=../escape"], TRUE)?, "--container_id"))
}

fn both_modules_and_modules_dir(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let dir = sandbox.base.join("modules.d");
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(&sandbox.manifest, dir.join("suite.json"))?;
    let flag = format!("--modules_dir={}", dir.display());
    Ok((sandbox.run(DEFAULT, &[&flag], TRUE)?, "--modules_dir"))
}

fn duplicate_isolation_names(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let run = sandbox.run(&["cgroups/cpu", "cgroups/mem", "cgroups/cpu"], &[], TRUE)?;
    Ok((run, "Duplicate entries found in --isolation flag 'cgroups/cpu,cgroups/mem,cgroups/cpu'"))
}

fn duplicate_after_the_alias(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((sandbox.run(&["cgroups", "cgroups/mem"], &[], TRUE)?, "Duplicate entries found in --isolation flag"))
}

fn unknown_mesos_name(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    Ok((
        sandbox.run(&["cgroups/cpu", "network/cni"], &[], TRUE)?,
        "Unknown or unsupported isolator 'network/cni'",
    ))
}

fn two_filesystem_isolators(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let run = sandbox.run(&["filesystem/posix", "filesystem/linux"], &[], TRUE)?;
    Ok((run, "Using multiple filesystem isolators simultaneously is disallowed"))
}

fn bad_bool_agent_flag_in_the_environment(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let mut command = sandbox.run_command(DEFAULT, &[], TRUE);
    command.env("MESOS_CGROUPS_ENABLE_CFS", "maybe");
    Ok((integration::output(command)?, "Invalid value 'maybe' for MESOS_CGROUPS_ENABLE_CFS"))
}

fn container_info_that_is_not_json(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let run = sandbox.run(DEFAULT, &["--container_info={\"linux_info\":"], TRUE)?;
    Ok((run, "--container_info: invalid ContainerInfo JSON"))
}

fn container_info_unknown_field(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let run =
        sandbox.run(DEFAULT, &[r#"--container_info={"linux_info":{"share_pid_namspace":true}}"#], TRUE)?;
    Ok((run, "--container_info: unknown field 'linux_info.share_pid_namspace'"))
}

fn container_info_unknown_capability(sandbox: &Sandbox) -> TestResult<(RunOutput, &'static str)> {
    let info =
        r#"--container_info={"linux_info":{"effective_capabilities":{"capabilities":["CHOWN","CHWON"]}}}"#;
    Ok((
        sandbox.run(DEFAULT, &[info], TRUE)?,
        "--container_info: linux_info.effective_capabilities.capabilities[1]: unknown capability 'CHWON'",
    ))
}
