//! `agent-harness test` on real modules: the shipped isolators pass it, and an isolator that
//! misbehaves at each step fails exactly the cases of that step, with the module's message, while
//! the kit carries on and leaves nothing behind. Privileged: skipped (not passed) unless root.

mod support;

use std::process::{Command, Output};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use support::library;

fn kit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agent-harness"))
        .arg("test")
        .args(args)
        .output()
        .expect("agent-harness runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The case lines of a text report, as `(verdict, case, detail)`.
fn cases(out: &Output) -> Vec<(String, String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (verdict, rest) = line.split_once(' ')?;
            let rest = rest.trim_start();
            let (case, detail) = rest.split_once(": ").unwrap_or((rest, ""));
            matches!(verdict, "ok" | "FAILED" | "skipped")
                .then(|| (verdict.into(), case.into(), detail.into()))
        })
        .collect()
}

fn verdict<'a>(cases: &'a [(String, String, String)], case: &str) -> &'a (String, String, String) {
    cases.iter().find(|(_, c, _)| c == case).unwrap_or_else(|| panic!("no case {case}"))
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(message().into()) }
}

fn shipped_isolators_pass() -> Result<(), Failed> {
    for isolation in [
        "org_apache_mesos_CgroupsCpuIsolator",
        "org_apache_mesos_CgroupsMemIsolator",
        "org_apache_mesos_NamespacesPidIsolator,org_apache_mesos_NamespacesUtsIsolator",
    ] {
        let out = kit(&[&format!("--isolation={isolation}")]);
        check(out.status.success(), || format!("{isolation}: {}", text(&out)))?;
        let last = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
        check(last.contains(" passed, 0 failed, "), || format!("{isolation}: last line {last:?}"))?;
    }
    let cpu = kit(&["--isolation=org_apache_mesos_CgroupsCpuIsolator"]);
    check(verdict(&cases(&cpu), "a_cpus_limit_is_enforced").0 == "ok", || text(&cpu))?;
    check(verdict(&cases(&cpu), "a_memory_limit_gives_the_oom_limitation").0 == "skipped", || text(&cpu))?;
    let mem = kit(&["--isolation=org_apache_mesos_CgroupsMemIsolator"]);
    check(verdict(&cases(&mem), "a_memory_limit_gives_the_oom_limitation").0 == "ok", || text(&mem))?;
    // The kit runs the disk isolators with enforcement on (its default for them).
    let du = kit(&["--isolation=disk/du"]);
    check(du.status.success(), || text(&du))?;
    check(verdict(&cases(&du), "a_disk_limit_is_enforced").0 == "ok", || text(&du))
}

fn broken(step: &str, mode: &str) -> Output {
    let manifest = serde_json::json!({"libraries": [{"file": library("brokenmodules"), "modules": [{
        "name": "org_apache_mesos_TestBrokenIsolator",
        "parameters": [{"key": "fail_at", "value": step}, {"key": "mode", "value": mode}]}]}]});
    kit(&[&format!("--modules={manifest}"), "--isolation=org_apache_mesos_TestBrokenIsolator"])
}

fn a_broken_isolator_fails_the_right_cases() -> Result<(), Failed> {
    // The cases each faulty step must fail, and one that must still pass.
    let table: [(&str, &[&str], &str); 7] = [
        (
            "prepare",
            &["prepare_isolate_cleanup_for_a_short_command", "update_is_accepted"],
            "cleanup_of_an_unknown_container_succeeds",
        ),
        (
            "isolate",
            &["prepare_isolate_cleanup_for_a_short_command", "two_containers_keep_their_own_state"],
            "cleanup_of_an_unknown_container_succeeds",
        ),
        ("watch", &["usage_is_valid_while_the_command_runs"], "cleanup_of_an_unknown_container_succeeds"),
        ("usage", &["usage_is_valid_while_the_command_runs"], "update_is_accepted"),
        ("update", &["update_is_accepted"], "usage_is_valid_while_the_command_runs"),
        (
            "cleanup",
            &["cleanup_of_an_unknown_container_succeeds", "prepare_isolate_cleanup_for_a_short_command"],
            "modules_load_and_are_created",
        ),
        (
            "recover",
            &["recover_with_the_container_still_running", "recover_with_the_container_gone"],
            "update_is_accepted",
        ),
    ];
    for (step, failing, passing) in table {
        for mode in ["error", "panic"] {
            let out = broken(step, mode);
            let cases = cases(&out);
            check(out.status.code() == Some(1), || format!("{step}/{mode} exits 1: {}", text(&out)))?;
            for case in failing {
                let (v, _, detail) = verdict(&cases, case);
                check(v == "FAILED", || format!("{step}/{mode}: {case} should fail: {}", text(&out)))?;
                let expected = format!("deliberate {mode} in {step}");
                check(detail.contains(&expected), || format!("{step}/{mode}: {case}: {detail}"))?;
            }
            check(verdict(&cases, passing).0 == "ok", || {
                format!("{step}/{mode}: {passing} should pass: {}", text(&out))
            })?;
            check(verdict(&cases, "nothing_is_left_on_the_machine").0 == "ok", || {
                format!("{step}/{mode}: the kit left something behind: {}", text(&out))
            })?;
        }
    }
    Ok(())
}

fn filters_and_formats() -> Result<(), Failed> {
    let out = kit(&["--isolation=org_apache_mesos_CgroupsCpuIsolator", "--filter=recover", "--format=tap"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    check(out.status.success(), || text(&out))?;
    check(stdout.starts_with("TAP version 13\n1..2\n"), || stdout.clone())?;
    check(stdout.lines().last() == Some("2 passed, 0 failed, 0 skipped"), || stdout.clone())?;
    let out = kit(&["--isolation=org_apache_mesos_CgroupsCpuIsolator", "--filter=unknown", "--format=json"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    check(lines.len() == 2 && lines[1]["passed"] == 1, || text(&out))?;
    check(lines[0]["case"] == "cleanup_of_an_unknown_container_succeeds", || text(&out))?;
    let out = kit(&["--isolation=org_apache_mesos_CgroupsCpuIsolator", "--format=xml"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    check(out.status.code() == Some(1) && err.starts_with("Error: unknown format 'xml'"), || text(&out))?;
    let out = kit(&["--isolation=org_apache_mesos_NoSuchIsolator"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    check(!out.status.success(), || text(&out))?;
    check(
        String::from_utf8_lossy(&out.stdout)
            .contains("Unknown or unsupported isolator 'org_apache_mesos_NoSuchIsolator'")
            || err.contains("Unknown or unsupported isolator"),
        || text(&out),
    )
}

fn main() {
    let args = Arguments::from_args();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let cgroups = std::path::Path::new("/sys/fs/cgroup").exists();
    let skip = if !root {
        Some("[skipped: needs root]")
    } else if !cgroups {
        Some("[skipped: no cgroup file system]")
    } else {
        None
    };
    let trial = |name: &str, f: fn() -> Result<(), Failed>| match skip {
        // Even under `--include-ignored` it reports itself ignored, never passed.
        Some(reason) => {
            Trial::ignorable_test(format!("{name} {reason}"), move || Ok(Completion::ignored_with(reason)))
                .with_ignored_flag(true)
        }
        None => Trial::test(name, f),
    };
    let trials = vec![
        trial("shipped_isolators_pass", shipped_isolators_pass),
        trial("a_broken_isolator_fails_the_right_cases", a_broken_isolator_fails_the_right_cases),
        trial("filters_and_formats", filters_and_formats),
    ];
    libtest_mimic::run(&args, trials).exit();
}
