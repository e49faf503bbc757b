//! The Linux isolators through `agent-harness run`: loaded from `liblinux_isolators.so` through
//! the C ABI with their manifest parameters, their launch infos merged by the engine and applied
//! by the containerizer's helper. No `run` flag passes a container's `ContainerInfo` yet, so
//! these drive the operator's side: capability flags, no_new_privs for everyone, a default seccomp
//! profile, and the parameter checks at creation.

use integration::isolators::{CAPABILITIES, CPU, FS_LINUX, MEM, NNP, PID, RLIMITS, SECCOMP};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("all_four_at_once", containers, all_four_at_once);
    suite.test("without_them_nothing_changes", containers, without_them_nothing_changes);
    suite.test("bad_parameters_fail_creation", containers, bad_parameters_fail_creation);
    suite.test("user_by_name_and_by_number", containers, user_by_name_and_by_number);
    suite.test(
        "user_and_groups_from_the_rootfs",
        &[Need::Containers, Need::StaticBusybox],
        user_from_the_rootfs,
    );
    suite.test("bad_users_are_one_line", containers, bad_users_are_one_line);
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

/// Runs `id -u; id -g; id -G` in container `id` with `flags`, then writes a file in the sandbox
/// (its own, as Mesos gives it to the task's user); its stdout lines, `wrote` last.
fn ids(sandbox: &Sandbox, isolation: &[&str], id: &str, flags: &[&str]) -> TestResult<Vec<String>> {
    let mut all = vec![format!("--container_id={id}")];
    all.extend(flags.iter().map(|f| f.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let output = sandbox.run(
        isolation,
        &all,
        &["sh", "-c", "id -u; id -g; id -G; echo x > ./by-user && echo wrote"],
    )?;
    output.expect_success()?;
    let stdout = std::fs::read_to_string(sandbox.sandbox_dir(id).join("stdout"))?;
    Ok(stdout.lines().map(str::to_owned).collect())
}

fn user_by_name_and_by_number() -> TestResult {
    let sandbox = Sandbox::new()?;
    let nobody = nix::unistd::User::from_name("nobody")?.ok_or("this host has no user 'nobody'")?;
    let (uid, gid) = (nobody.uid.to_string(), nobody.gid.to_string());
    let seen = ids(&sandbox, &[CPU, MEM], "c1", &["--user=nobody"])?;
    ensure!(seen.len() == 4 && seen[..2] == [uid.clone(), gid.clone()], "--user=nobody ran as {seen:?}");
    ensure!(seen[3] == "wrote", "nobody could not write in its sandbox: {seen:?}");
    ensure!(seen[2].split(' ').all(|g| g != "0"), "nobody kept root's group: {seen:?}");
    // A uid:gid in no database: exactly that, with only that group.
    let seen = ids(&sandbox, &[CPU, MEM], "c2", &["--user=4000123:4000456"])?;
    ensure!(seen == ["4000123", "4000456", "4000456", "wrote"], "--user=4000123:4000456 ran as {seen:?}");
    // The user's capabilities follow the effective set through the switch.
    let options = SandboxOptions { effective_capabilities: Some("NET_RAW".to_owned()), ..Default::default() };
    let sandbox_caps = Sandbox::with(options)?;
    let output = sandbox_caps.run(
        &[CPU, MEM, CAPABILITIES],
        &["--container_id=c3", "--user=nobody"],
        &["sh", "-c", "id -u; grep CapEff /proc/self/status"],
    )?;
    output.expect_success()?;
    let stdout = std::fs::read_to_string(sandbox_caps.sandbox_dir("c3").join("stdout"))?;
    ensure!(stdout.starts_with(&format!("{uid}\n")), "{stdout:?}");
    ensure!(field(&stdout, "CapEff") == Some("0000000000002000"), "NET_RAW as nobody: {stdout:?}");
    sandbox_caps.assert_clean()?;
    sandbox.assert_clean()
}

fn user_from_the_rootfs() -> TestResult {
    let busybox = agent_harness::kit::isolator_cases::static_busybox().ok_or("no static busybox")?;
    let sandbox = Sandbox::new()?;
    let root = sandbox.base.join("rootfs");
    std::fs::create_dir_all(root.join("bin"))?;
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::copy(&busybox, root.join("bin/busybox"))?;
    for applet in ["sh", "id", "echo"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))?;
    }
    // A user only the rootfs knows, in two groups.
    std::fs::write(root.join("etc/passwd"), "app:x:2001:3001::/:/bin/sh\n")?;
    std::fs::write(root.join("etc/group"), "app:x:3001:\nextra:x:3002:app\n")?;
    let rootfs = format!("--rootfs={}", root.display());
    let seen = ids(&sandbox, &[CPU, MEM, PID, FS_LINUX], "c1", &[&rootfs, "--user=app"])?;
    ensure!(seen == ["2001", "3001", "3001 3002", "wrote"], "--user=app in the rootfs ran as {seen:?}");
    sandbox.assert_clean()
}

fn bad_users_are_one_line() -> TestResult {
    let sandbox = Sandbox::new()?;
    for (id, user, message) in [
        ("c1", "no-such-user-anywhere", "unknown user 'no-such-user-anywhere'"),
        ("c2", "12:x", "user '12:x': the gid 'x' is not a number"),
    ] {
        let output = sandbox.run(
            &[CPU, MEM],
            &[&format!("--container_id={id}"), &format!("--user={user}")],
            &["true"],
        )?;
        ensure!(output.code != Some(0), "--user={user} ran");
        ensure!(output.stderr.contains(message), "--user={user}: stderr {:?}", output.stderr);
        ensure!(
            output.stderr.trim().lines().count() == 1,
            "--user={user}: not one line: {:?}",
            output.stderr
        );
    }
    sandbox.assert_clean()
}
