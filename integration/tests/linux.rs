//! The Linux isolators through `agent-harness run`: loaded from `liblinux_isolators.so` through
//! the C ABI with their manifest parameters, their launch infos merged by the engine and applied
//! by the containerizer's helper. No `run` flag passes a container's `ContainerInfo` yet, so
//! these drive the operator's side: capability flags, no_new_privs for everyone, a default seccomp
//! profile, and the parameter checks at creation.

use integration::isolators::{CAPABILITIES, CPU, MEM, NNP, RLIMITS, SECCOMP};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("all_four_at_once", containers, all_four_at_once);
    suite.test("without_them_nothing_changes", containers, without_them_nothing_changes);
    suite.test("bad_parameters_fail_creation", containers, bad_parameters_fail_creation);
    suite.run()
}

const DENY_MKDIR: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#;

const SCRIPT: &str = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; mkdir made 2>/dev/null; \
                      echo mkdir=$?";

/// A field of `/proc/self/status` in `out`.
fn field<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(str::trim)
}

/// Runs [`SCRIPT`] in container `c1` with `isolation`; its stdout.
fn run(sandbox: &Sandbox, isolation: &[&str]) -> TestResult<String> {
    let output = sandbox.run(isolation, &["--json", "--container_id=c1"], &["sh", "-c", SCRIPT])?;
    output.expect_success()?;
    let outcome = output.outcome()?;
    ensure!(outcome.exit_status == 0, "exit_status {}; stderr {:?}", outcome.exit_status, output.stderr);
    Ok(std::fs::read_to_string(sandbox.sandbox_dir("c1").join("stdout"))?)
}

fn all_four_at_once() -> TestResult {
    let options = SandboxOptions {
        effective_capabilities: Some("CHOWN,NET_RAW".into()),
        bounding_capabilities: Some(r#"{"capabilities":["CHOWN","NET_RAW","KILL"]}"#.into()),
        seccomp_profile: Some(DENY_MKDIR.into()),
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let out = run(&sandbox, &[CPU, MEM, CAPABILITIES, NNP, RLIMITS, SECCOMP])?;
    // A root command would get its bounding set back at execve (the kernel's rule for uid 0), but
    // no_new_privs keeps every execve from adding to the permitted set: it holds the effective set.
    ensure!(field(&out, "CapBnd") == Some("0000000000002021"), "CapBnd: {out}");
    ensure!(field(&out, "CapEff") == Some("0000000000002001"), "CapEff: {out}");
    ensure!(field(&out, "NoNewPrivs") == Some("1"), "NoNewPrivs: {out}");
    ensure!(field(&out, "Seccomp") == Some("2"), "Seccomp: {out}");
    ensure!(out.contains("mkdir=1"), "mkdir was allowed: {out}");
    ensure!(!sandbox.sandbox_dir("c1").join("made").exists(), "the directory was made");
    sandbox.assert_clean()
}

fn without_them_nothing_changes() -> TestResult {
    let sandbox = Sandbox::new()?;
    let out = run(&sandbox, &[CPU, MEM])?;
    let own = std::fs::read_to_string("/proc/self/status")?;
    ensure!(field(&out, "CapBnd") == field(&own, "CapBnd"), "CapBnd: {out}");
    ensure!(field(&out, "Seccomp") == Some("0") && out.contains("mkdir=0"), "{out}");
    sandbox.assert_clean()
}

fn bad_parameters_fail_creation() -> TestResult {
    let options = SandboxOptions {
        effective_capabilities: Some("CHOWN,NET_RAW".into()),
        bounding_capabilities: Some("CHOWN".into()),
        seccomp_profile: Some(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#.into()),
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let output = sandbox.run(&[CPU, MEM, CAPABILITIES], &["--container_id=c1"], &["true"])?;
    output.expect_one_error(&[
        "Failed to create isolator 'org_apache_mesos_LinuxCapabilitiesIsolator'",
        "Allowed capabilities are not a subset of the bounding capabilites",
    ])?;
    let output = sandbox.run(&[CPU, MEM, SECCOMP], &["--container_id=c2"], &["true"])?;
    output.expect_one_error(&[
        "linux/seccomp: profile",
        "default.json: defaultAction: SCMP_ACT_NOTIFY is not supported",
    ])?;
    sandbox.assert_clean()
}
