//! A faulty module and bad input, through `agent-harness run`: a module error or panic at each
//! lifecycle step fails only its container, with one `Error` line naming the module's message, and
//! every cleanup still runs; usage failures are skipped (Mesos's `await`); bad input is refused
//! before anything is created.

use integration::isolators::{BROKEN, CPU, DEFAULT, MEM, PID};
use integration::{Broken, MB, Need, RunOutput, Sandbox, SandboxOptions, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    for step in ["prepare", "isolate", "watch"] {
        for mode in ["error", "panic"] {
            suite.test(&format!("module_{mode}_at_{step}_fails_the_launch"), containers, move || {
                launch_step_fails(step, mode)
            });
        }
    }
    for mode in ["error", "panic"] {
        suite.test(&format!("module_{mode}_at_cleanup_is_reported_after_the_run"), containers, move || {
            cleanup_fails(mode)
        });
        suite.test(&format!("module_{mode}_at_usage_is_skipped"), containers, move || usage_fails(mode));
    }
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
    Sandbox::with(SandboxOptions { broken: Some(Broken::new(step, mode)), ..Default::default() })
}

/// The message TestBrokenIsolator fails with.
fn message(step: &str, mode: &str) -> String {
    format!("TestBrokenIsolator: deliberate {mode} in {step}")
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
    let output = sandbox.run(&[CPU, MEM, PID, BROKEN], &["--container_id=c1"], &args(&command))?;
    output.expect_one_error(&["Failed to launch container 'c1'", BROKEN, &message(step, mode)])?;
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    ensure!(!sandbox.sandbox_dir("c1").exists(), "the failed container's sandbox is left");
    sandbox.assert_clean()
}

fn cleanup_fails(mode: &str) -> TestResult {
    let sandbox = broken("cleanup", mode)?;
    let command = marking(&sandbox);
    // Last, so it is cleaned up first and the cgroups isolators' cleanups come after its failure.
    let output = sandbox.run(&[CPU, MEM, PID, BROKEN], &["--container_id=c1"], &args(&command))?;
    output.expect_one_error(&["Failed to clean up an isolator", BROKEN, &message("cleanup", mode)])?;
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
