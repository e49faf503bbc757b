//! The command's process attributes end to end: the Linux isolators (`linux/capabilities`,
//! `linux/nnp`, `posix/rlimits`, `linux/seccomp`) prepare a container whose `ContainerConfig`
//! carries a `ContainerInfo`, the containerizer launches it for real, and the command reports
//! from inside (`/proc/self/status`, `ulimit`, what a denied system call returns). Commands use
//! only busybox applets and POSIX sh, as the qemu guests have nothing else.
//!
//! A test that needs more than the suite's root and cgroups (a `nobody` user, a finite hard limit,
//! no `CAP_SYS_RESOURCE`) is listed as ignored with the reason when the machine lacks it.

use libtest_mimic::{Completion, Trial};
use linux_isolators::{
    LinuxCapabilitiesIsolator, LinuxNnpIsolator, LinuxSeccompIsolator, PosixRLimitsIsolator, seccomp,
};
use module_abi::{
    CapabilityInfo, CommandInfo, ContainerConfig, ContainerInfo, ContainerLaunchInfo, ContainerTermination,
    LinuxInfo, Module, Parameter, RLimit, RLimitInfo, SeccompInfo,
};

use crate::fixture::*;
use crate::{Test, TestResult};

/// CHOWN (0) and NET_RAW (13) as the kernel's mask.
const CHOWN_NET_RAW: u64 = 1 << 13 | 1;
const CHOWN: u64 = 1;

const CAPS_SCRIPT: &str = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status";

/// A field of `/proc/<pid>/status` in `out`, as a number (hex for the Cap* fields).
fn field(out: &str, name: &str) -> Option<u64> {
    let value = out.lines().find_map(|l| l.strip_prefix(&format!("{name}:")))?.trim();
    if name.starts_with("Cap") { u64::from_str_radix(value, 16).ok() } else { value.parse().ok() }
}

fn param(key: &str, value: &str) -> Parameter {
    Parameter { key: key.into(), value: value.into() }
}

fn cap_info(names: &[&str]) -> Option<CapabilityInfo> {
    Some(CapabilityInfo { capabilities: names.iter().map(|n| n.to_string()).collect() })
}

/// The parts of a `ContainerInfo` the tests set.
#[derive(Default)]
struct Asked {
    effective: Option<CapabilityInfo>,
    bounding: Option<CapabilityInfo>,
    seccomp: Option<SeccompInfo>,
    rlimits: Option<Vec<RLimit>>,
    user: Option<&'static str>,
}

/// Prepares container `id` running `command` with `asked` through `isolators`, launches it and
/// runs it to its end; its termination.
fn run(
    f: &Fixture,
    id: &str,
    command: CommandInfo,
    asked: Asked,
    isolators: &[&dyn DynIsolator],
) -> Result<ContainerTermination, libtest_mimic::Failed> {
    let mut request = f.request(id, command, ContainerLaunchInfo::default());
    let linux_info = LinuxInfo {
        effective_capabilities: asked.effective,
        bounding_capabilities: asked.bounding,
        seccomp: asked.seccomp,
        ..Default::default()
    };
    request.container_config = ContainerConfig {
        container_info: Some(ContainerInfo {
            linux_info: Some(linux_info),
            rlimit_info: asked.rlimits.map(|rlimits| RLimitInfo { rlimits }),
            ..Default::default()
        }),
        user: asked.user.map(str::to_owned),
        ..request.container_config
    };
    for isolator in isolators {
        if let Some(info) = isolator.prepare(&request.container_id, &request.container_config).map_err(msg)? {
            merge(&mut request.launch_info, info);
        }
    }
    f.start_request(&request, isolators)?;
    f.run_to_end(id)
}

fn status_of(
    f: &Fixture,
    id: &str,
    termination: ContainerTermination,
) -> Result<String, libtest_mimic::Failed> {
    ensure!(termination == exited(0), "{termination:?}; stderr: {}", f.read(id, "stderr"));
    Ok(f.read(id, "stdout"))
}

fn capabilities_isolator(params: &[Parameter]) -> Result<LinuxCapabilitiesIsolator, libtest_mimic::Failed> {
    LinuxCapabilitiesIsolator::create(params.to_vec()).map_err(msg)
}

// --- linux/capabilities ------------------------------------------------------------------------

/// An effective set alone is the bounding set too; a root command holds exactly it.
fn effective_capabilities_of_a_root_command() -> TestResult {
    let f = Fixture::new()?;
    let isolator = capabilities_isolator(&[])?;
    let asked = Asked { effective: cap_info(&["NET_RAW", "CHOWN"]), ..Default::default() };
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"] {
        ensure!(field(&out, set) == Some(CHOWN_NET_RAW), "{set} is not CHOWN and NET_RAW: {out}");
    }
    f.finish(&["c1"], &[])
}

/// The operator's sets, a wider bounding set: for uid 0 the kernel grants the bounding set again
/// on `execve` (root's file capabilities are all), while the ambient set is the effective one;
/// with no_new_privs, `execve` adds nothing and the command holds the effective set only.
fn operator_sets_for_a_root_command() -> TestResult {
    let f = Fixture::new()?;
    let isolator = capabilities_isolator(&[
        param("effective_capabilities", "CHOWN"),
        param("bounding_capabilities", "CHOWN,NET_RAW"),
    ])?;
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), Asked::default(), &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(field(&out, "CapBnd") == Some(CHOWN_NET_RAW), "CapBnd: {out}");
    ensure!(field(&out, "CapEff") == Some(CHOWN_NET_RAW), "CapEff: {out}");
    ensure!(field(&out, "CapAmb") == Some(CHOWN), "CapAmb: {out}");
    let nnp = LinuxNnpIsolator::create(vec![]).map_err(msg)?;
    let termination = run(&f, "c2", shell(CAPS_SCRIPT), Asked::default(), &[&isolator, &nnp])?;
    let out = status_of(&f, "c2", termination)?;
    ensure!(field(&out, "CapBnd") == Some(CHOWN_NET_RAW), "CapBnd with no_new_privs: {out}");
    ensure!(field(&out, "CapEff") == Some(CHOWN), "CapEff with no_new_privs: {out}");
    f.finish(&["c1", "c2"], &[])
}

/// A non-root command keeps its effective set across `execve` through the ambient set, and gets
/// nothing of the wider bounding set.
fn effective_capabilities_of_a_non_root_command() -> TestResult {
    let f = Fixture::new()?;
    let isolator = capabilities_isolator(&[
        param("effective_capabilities", "CHOWN"),
        param("bounding_capabilities", "CHOWN,NET_RAW"),
    ])?;
    let asked = Asked { user: Some("nobody"), ..Default::default() };
    let script = format!("id -u; {CAPS_SCRIPT}");
    let termination = run(&f, "c1", shell(&script), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(out.lines().next() != Some("0"), "the command runs as root: {out}");
    for set in ["CapEff", "CapPrm", "CapAmb"] {
        ensure!(field(&out, set) == Some(CHOWN), "{set} is not CHOWN: {out}");
    }
    ensure!(field(&out, "CapBnd") == Some(CHOWN_NET_RAW), "CapBnd: {out}");
    f.finish(&["c1"], &[])
}

/// An empty effective set drops everything, even for root.
fn an_empty_set_drops_every_capability() -> TestResult {
    let f = Fixture::new()?;
    let isolator = capabilities_isolator(&[param("effective_capabilities", "")])?;
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), Asked::default(), &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"] {
        ensure!(field(&out, set) == Some(0), "{set} is not empty: {out}");
    }
    f.finish(&["c1"], &[])
}

/// A bounding set alone: the command (root) ends up with exactly it.
fn a_bounding_set_alone() -> TestResult {
    let f = Fixture::new()?;
    let isolator = capabilities_isolator(&[])?;
    let asked = Asked { bounding: cap_info(&["KILL", "CHOWN"]), ..Default::default() };
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(field(&out, "CapBnd") == Some(1 << 5 | 1), "CapBnd: {out}");
    ensure!(field(&out, "CapEff") == Some(1 << 5 | 1), "CapEff: {out}");
    ensure!(field(&out, "CapAmb") == Some(0), "CapAmb: {out}");
    f.finish(&["c1"], &[])
}

// --- linux/nnp ---------------------------------------------------------------------------------

fn no_new_privs_is_set_for_the_command_only() -> TestResult {
    let f = Fixture::new()?;
    let nnp = LinuxNnpIsolator::create(vec![]).map_err(msg)?;
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), Asked::default(), &[&nnp])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(field(&out, "NoNewPrivs") == Some(1), "NoNewPrivs: {out}");
    let termination = run(&f, "c2", shell(CAPS_SCRIPT), Asked::default(), &[])?;
    let out = status_of(&f, "c2", termination)?;
    ensure!(field(&out, "NoNewPrivs") == Some(0), "NoNewPrivs without the isolator: {out}");
    f.finish(&["c1", "c2"], &[])
}

// --- posix/rlimits -----------------------------------------------------------------------------

fn limit(kind: &str, soft: Option<u64>, hard: Option<u64>) -> RLimit {
    RLimit { kind: kind.into(), soft, hard }
}

fn rlimits_isolator() -> Result<PosixRLimitsIsolator, libtest_mimic::Failed> {
    PosixRLimitsIsolator::create(vec![]).map_err(msg)
}

/// Mesos's `BothSoftAndHardLimitSet` (the values), and the helper keeps its own limits.
fn rlimits_with_both_values_set() -> TestResult {
    let f = Fixture::new()?;
    let isolator = rlimits_isolator()?;
    let rlimits = vec![limit("RLMT_NOFILE", Some(64), Some(128)), limit("RLMT_CPU", Some(10), Some(20))];
    let asked = Asked { rlimits: Some(rlimits), ..Default::default() };
    let script = "ulimit -Sn; ulimit -Hn; ulimit -St; ulimit -Ht";
    let termination = run(&f, "c1", shell(script), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(out == "64\n128\n10\n20\n", "ulimit says {out:?}");
    f.finish(&["c1"], &[])
}

/// Mesos's `UnsetLimits`: neither value means unlimited (where the agent's hard limit allows it).
fn rlimits_unset_means_unlimited() -> TestResult {
    let f = Fixture::new()?;
    let isolator = rlimits_isolator()?;
    let asked = Asked { rlimits: Some(vec![limit("RLMT_CORE", None, None)]), ..Default::default() };
    let termination = run(&f, "c1", shell("ulimit -c; ulimit -Hc"), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(out == "unlimited\nunlimited\n", "ulimit -c says {out:?}");
    f.finish(&["c1"], &[])
}

/// Mesos's `TaskExceedingLimit`: a command past its CPU time is killed (SIGXCPU at the soft limit).
fn a_command_exceeding_its_cpu_limit_is_killed() -> TestResult {
    let f = Fixture::new()?;
    let isolator = rlimits_isolator()?;
    let asked = Asked { rlimits: Some(vec![limit("RLMT_CPU", Some(1), Some(2))]), ..Default::default() };
    let termination = run(&f, "c1", shell("while true; do true; done"), asked, &[&isolator])?;
    ensure!(
        termination == ContainerTermination { exit_code: None, signal: Some(libc::SIGXCPU) },
        "{termination:?}; stderr: {}",
        f.read("c1", "stderr")
    );
    f.finish(&["c1"], &[])
}

/// A write past `RLMT_FSIZE` kills the writer with SIGXFSZ (exit 128 + 25 in the shell), and the
/// file stops at the limit.
fn a_write_past_the_file_size_limit_fails() -> TestResult {
    let f = Fixture::new()?;
    let isolator = rlimits_isolator()?;
    let asked =
        Asked { rlimits: Some(vec![limit("RLMT_FSIZE", Some(1024), Some(1024))]), ..Default::default() };
    let script = "dd if=/dev/zero of=big bs=1024 count=4 2>/dev/null; echo rc=$?; wc -c < big";
    let termination = run(&f, "c1", shell(script), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    let words: Vec<&str> = out.split_whitespace().collect();
    ensure!(words == ["rc=153", "1024"], "dd and wc say {out:?}");
    f.finish(&["c1"], &[])
}

/// With `RLMT_NOFILE` at 5, a command opening a third file on top of 0-2 and two others fails;
/// the init, not limited, still reaps and writes the status. (No redirections in the script:
/// dash saves descriptors at 10 and above, which the limit forbids.)
fn an_open_past_the_open_files_limit_fails() -> TestResult {
    let f = Fixture::new()?;
    let isolator = rlimits_isolator()?;
    let asked = Asked { rlimits: Some(vec![limit("RLMT_NOFILE", Some(5), Some(5))]), ..Default::default() };
    let script = "ulimit -n; paste /proc/self/status /proc/self/status /proc/self/status; echo rc=$?";
    let termination = run(&f, "c1", shell(script), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(out == "5\nrc=1\n", "stdout {out:?}");
    let stderr = f.read("c1", "stderr");
    ensure!(stderr.contains("Too many open files"), "stderr {stderr:?}");
    f.finish(&["c1"], &[])
}

/// A hard limit above the agent's, without CAP_SYS_RESOURCE: refused at prepare by the isolator,
/// and, asked for directly in a launch info, refused by the kernel in the command's process, which
/// the init reports as an exec failure naming the step.
fn a_hard_limit_above_the_agents_is_refused() -> TestResult {
    let f = Fixture::new()?;
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    let above = hard + 1;
    let isolator = rlimits_isolator()?;
    let asked =
        Asked { rlimits: Some(vec![limit("RLMT_NOFILE", Some(64), Some(above))]), ..Default::default() };
    let err = run(&f, "c1", shell("true"), asked, &[&isolator]).unwrap_err();
    let err = err.message().unwrap_or_default().to_owned();
    ensure!(
        err.contains(&format!(
            "RLMT_NOFILE asks for a hard limit of {above}, above the current hard limit {hard}"
        )) && err.contains("needs CAP_SYS_RESOURCE"),
        "{err}"
    );
    let info = ContainerLaunchInfo {
        rlimits: vec![limit("RLMT_NOFILE", Some(64), Some(above))],
        ..Default::default()
    };
    f.start_request(&f.request("c2", shell("echo ran"), info), &[])?;
    let termination = f.run_to_end("c2")?;
    ensure!(termination == exited(126), "{termination:?}");
    ensure!(f.read("c2", "stdout").is_empty(), "the command ran");
    let stderr = f.read("c2", "stderr");
    ensure!(
        stderr.contains(&format!(
            "failed to set RLMT_NOFILE to 64 (soft) and {above} (hard): Operation not permitted"
        )) && stderr.contains("needs CAP_SYS_RESOURCE"),
        "stderr {stderr:?}"
    );
    f.finish(&["c2"], &[])
}

// --- linux/seccomp -----------------------------------------------------------------------------

/// Allows everything but mkdir (EPERM) and rmdir (ENOSPC).
const DENY_MKDIR: &str = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}
    ]
}"#;
const KILL_MKDIR: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#;
const DENY_CAPSET: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["capset"], "action": "SCMP_ACT_ERRNO"}]}"#;

/// A seccomp isolator over a profile directory of the test's own, with `default` as its default.
fn seccomp_isolator(
    f: &Fixture,
    default: Option<&str>,
) -> Result<LinuxSeccompIsolator, libtest_mimic::Failed> {
    let dir = f.base.join("seccomp");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in
        [("deny-mkdir.json", DENY_MKDIR), ("kill-mkdir.json", KILL_MKDIR), ("deny-capset.json", DENY_CAPSET)]
    {
        std::fs::write(dir.join(name), text)?;
    }
    let mut params = vec![param(seccomp::CONFIG_DIR, &dir.display().to_string())];
    params.extend(default.map(|d| param(seccomp::PROFILE_NAME, d)));
    LinuxSeccompIsolator::create(params).map_err(msg)
}

fn profile(name: &str) -> Option<SeccompInfo> {
    Some(SeccompInfo { profile_name: Some(name.into()), unconfined: None })
}

const MKDIR_SCRIPT: &str = "mkdir d 2>&1; echo mkdir=$?; touch kept; rm kept && echo rm=ok; \
                            grep '^Seccomp:' /proc/self/status; [ -d d ] && echo d-exists; true";

/// A denied call gets the profile's errno, an allowed one works, and the command runs filtered.
fn a_denied_system_call_gets_the_profiles_errno() -> TestResult {
    let f = Fixture::new()?;
    let isolator = seccomp_isolator(&f, None)?;
    let asked = Asked { seccomp: profile("deny-mkdir.json"), ..Default::default() };
    let script = format!("{MKDIR_SCRIPT}; rmdir / 2>&1; true");
    let termination = run(&f, "c1", shell(&script), asked, &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(out.contains("Operation not permitted\nmkdir=1\n"), "mkdir was not refused with EPERM: {out:?}");
    ensure!(out.contains("rm=ok\n"), "an allowed call failed: {out:?}");
    ensure!(out.contains("Seccomp:\t2\n"), "the command is not filtered: {out:?}");
    ensure!(!out.contains("d-exists"), "the directory was created: {out:?}");
    ensure!(out.contains("No space left on device"), "rmdir did not get errnoRet 28: {out:?}");
    f.finish(&["c1"], &[])
}

/// A kill action kills the command with SIGSYS.
fn a_kill_action_kills_the_command() -> TestResult {
    let f = Fixture::new()?;
    let isolator = seccomp_isolator(&f, None)?;
    let asked = Asked { seccomp: profile("kill-mkdir.json"), ..Default::default() };
    let mkdir = CommandInfo {
        value: "mkdir".into(),
        arguments: vec!["mkdir".into(), "d".into()],
        ..Default::default()
    };
    let termination = run(&f, "c1", mkdir, asked, &[&isolator])?;
    ensure!(
        termination == ContainerTermination { exit_code: None, signal: Some(libc::SIGSYS) },
        "{termination:?}"
    );
    ensure!(!f.sandbox("c1").join("d").exists(), "the directory was created");
    f.finish(&["c1"], &[])
}

/// The default profile applies unless the container is `unconfined`.
fn unconfined_runs_without_a_filter() -> TestResult {
    let f = Fixture::new()?;
    let isolator = seccomp_isolator(&f, Some("deny-mkdir.json"))?;
    let termination = run(&f, "c1", shell(MKDIR_SCRIPT), Asked::default(), &[&isolator])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(
        out.contains("mkdir=1\n") && out.contains("Seccomp:\t2\n"),
        "the default profile did not apply: {out:?}"
    );
    let asked = Asked {
        seccomp: Some(SeccompInfo { profile_name: None, unconfined: Some(true) }),
        ..Default::default()
    };
    let termination = run(&f, "c2", shell(MKDIR_SCRIPT), asked, &[&isolator])?;
    let out = status_of(&f, "c2", termination)?;
    ensure!(out.contains("mkdir=0\n") && out.contains("d-exists"), "mkdir failed unconfined: {out:?}");
    ensure!(out.contains("Seccomp:\t0\n"), "an unconfined command is filtered: {out:?}");
    f.finish(&["c1", "c2"], &[])
}

/// Everything at once: the filter is installed last, after the capabilities and no_new_privs (a
/// filter denying `capset` does not stop the launch); without no_new_privs and without
/// `CAP_SYS_ADMIN` for the command it goes first, and then that same filter does.
fn the_filter_comes_last_with_no_new_privs_and_first_without() -> TestResult {
    let f = Fixture::new()?;
    let seccomp = seccomp_isolator(&f, None)?;
    let caps = capabilities_isolator(&[])?;
    let nnp = LinuxNnpIsolator::create(vec![]).map_err(msg)?;
    let asked = || Asked {
        effective: cap_info(&["CHOWN"]),
        seccomp: profile("deny-capset.json"),
        ..Default::default()
    };
    let termination = run(&f, "c1", shell(CAPS_SCRIPT), asked(), &[&seccomp, &caps, &nnp])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(field(&out, "CapEff") == Some(CHOWN), "CapEff: {out}");
    ensure!(field(&out, "NoNewPrivs") == Some(1) && field(&out, "Seccomp") == Some(2), "{out}");

    let termination = run(&f, "c2", shell("echo ran"), asked(), &[&seccomp, &caps])?;
    ensure!(termination == exited(126), "{termination:?}");
    let stderr = f.read("c2", "stderr");
    ensure!(
        stderr.contains("the seccomp filter was installed before this step")
            && stderr.contains("capabilities"),
        "stderr {stderr:?}"
    );
    f.finish(&["c1", "c2"], &[])
}

/// Without no_new_privs and without `CAP_SYS_ADMIN` for the command, a filter that allows the
/// launch's own calls still works: it went in before the capabilities were dropped.
fn a_filter_without_no_new_privs_for_a_command_without_sys_admin() -> TestResult {
    let f = Fixture::new()?;
    let seccomp = seccomp_isolator(&f, None)?;
    let caps = capabilities_isolator(&[])?;
    let asked =
        Asked { effective: cap_info(&["CHOWN"]), seccomp: profile("deny-mkdir.json"), ..Default::default() };
    let script = format!("{CAPS_SCRIPT}; {MKDIR_SCRIPT}");
    let termination = run(&f, "c1", shell(&script), asked, &[&seccomp, &caps])?;
    let out = status_of(&f, "c1", termination)?;
    ensure!(field(&out, "CapEff") == Some(CHOWN) && field(&out, "NoNewPrivs") == Some(0), "{out}");
    ensure!(out.contains("mkdir=1\n") && out.contains("Seccomp:\t2\n"), "{out}");
    f.finish(&["c1"], &[])
}

// ---------------------------------------------------------------------------------------------

/// The tests that compile a seccomp profile.
const SECCOMP_TESTS: &[&str] = &[
    "a_denied_system_call_gets_the_profiles_errno",
    "a_kill_action_kills_the_command",
    "unconfined_runs_without_a_filter",
    "the_filter_comes_last_with_no_new_privs_and_first_without",
    "a_filter_without_no_new_privs_for_a_command_without_sys_admin",
];

/// What a test needs beyond the suite's root and cgroups, if the machine lacks it.
fn lacking(name: &str) -> Option<String> {
    let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
    let sys_resource =
        caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_RESOURCE).unwrap_or(true);
    let core_unlimited = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE)
        .is_ok_and(|(_, hard)| hard == nix::sys::resource::RLIM_INFINITY);
    match name {
        "effective_capabilities_of_a_non_root_command" if nobody.is_none() => {
            Some("needs a 'nobody' user (in the passwd database)".into())
        }
        "rlimits_unset_means_unlimited" if !core_unlimited => {
            Some("needs an unlimited hard core file size limit (ulimit -Hc)".into())
        }
        "a_hard_limit_above_the_agents_is_refused" if sys_resource => {
            Some("needs a process without CAP_SYS_RESOURCE (it could raise the limit)".into())
        }
        _ if seccomp::Arch::native().is_none() && SECCOMP_TESTS.contains(&name) => {
            Some("needs x86_64, aarch64 or riscv64 (seccomp filters)".into())
        }
        _ => None,
    }
}

/// The tests of this file as trials; `reason`, when the suite cannot run at all.
pub fn trials(reason: Option<&str>) -> Vec<Trial> {
    let tests: Vec<(&str, Test)> = vec![
        ("effective_capabilities_of_a_root_command", effective_capabilities_of_a_root_command),
        ("operator_sets_for_a_root_command", operator_sets_for_a_root_command),
        ("effective_capabilities_of_a_non_root_command", effective_capabilities_of_a_non_root_command),
        ("an_empty_set_drops_every_capability", an_empty_set_drops_every_capability),
        ("a_bounding_set_alone", a_bounding_set_alone),
        ("no_new_privs_is_set_for_the_command_only", no_new_privs_is_set_for_the_command_only),
        ("rlimits_with_both_values_set", rlimits_with_both_values_set),
        ("rlimits_unset_means_unlimited", rlimits_unset_means_unlimited),
        ("a_command_exceeding_its_cpu_limit_is_killed", a_command_exceeding_its_cpu_limit_is_killed),
        ("a_write_past_the_file_size_limit_fails", a_write_past_the_file_size_limit_fails),
        ("an_open_past_the_open_files_limit_fails", an_open_past_the_open_files_limit_fails),
        ("a_hard_limit_above_the_agents_is_refused", a_hard_limit_above_the_agents_is_refused),
        ("a_denied_system_call_gets_the_profiles_errno", a_denied_system_call_gets_the_profiles_errno),
        ("a_kill_action_kills_the_command", a_kill_action_kills_the_command),
        ("unconfined_runs_without_a_filter", unconfined_runs_without_a_filter),
        (
            "the_filter_comes_last_with_no_new_privs_and_first_without",
            the_filter_comes_last_with_no_new_privs_and_first_without,
        ),
        (
            "a_filter_without_no_new_privs_for_a_command_without_sys_admin",
            a_filter_without_no_new_privs_for_a_command_without_sys_admin,
        ),
    ];
    tests
        .into_iter()
        .map(|(name, test)| match reason.map(str::to_owned).or_else(|| lacking(name)) {
            None => Trial::test(name, test),
            Some(reason) => {
                let kind = reason.split(" (").next().unwrap_or(&reason).to_owned();
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
                    .with_ignored_flag(true)
                    .with_kind(kind)
            }
        })
        .collect()
}
