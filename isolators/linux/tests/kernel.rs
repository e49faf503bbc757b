//! Privileged tests of the Linux isolators on the real kernel, on their own (the end-to-end tests
//! with the containerizer are in `containerizers/linux/tests/kernel/process.rs`): the modules are
//! created as the harness creates them (root checks, kernel probes), prepare containers whose
//! `ContainerConfig` carries a `ContainerInfo`, and what they hand over is checked against this
//! machine: capability sets against `/proc/self/status`, rlimits against `getrlimit`, and compiled
//! seccomp programs by installing them in a forked child. Tests that cannot run here are listed as
//! ignored with the reason, never counted as passed; each leaves no file or process behind.

use std::ffi::CString;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use linux_isolators::{
    CapabilitySet, Host, LinuxCapabilitiesIsolator, LinuxNnpIsolator, LinuxSeccompIsolator,
    PosixRLimitsIsolator,
};
use module_abi::{
    CapabilityInfo, ContainerConfig, ContainerId, ContainerInfo, Isolator, LinuxInfo, Module, Parameter,
    RLimit, RLimitInfo, SeccompInfo, SeccompProgram,
};

type TestResult = Result<(), Failed>;
type Test = fn() -> TestResult;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*).into());
        }
    };
}

fn msg(e: impl std::fmt::Display) -> Failed {
    e.to_string().into()
}

fn param(key: &str, value: &str) -> Parameter {
    Parameter { key: key.into(), value: value.into() }
}

fn config(linux_info: Option<LinuxInfo>, rlimits: Option<Vec<RLimit>>) -> ContainerConfig {
    ContainerConfig {
        container_info: Some(ContainerInfo {
            linux_info,
            rlimit_info: rlimits.map(|rlimits| RLimitInfo { rlimits }),
            ..Default::default()
        }),
        directory: "/sandbox".into(),
        ..Default::default()
    }
}

fn id() -> ContainerId {
    ContainerId::new("c1")
}

/// A mask of `/proc/self/status`.
fn status_mask(name: &str) -> Result<u64, Failed> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .ok_or_else(|| format!("no {name} in /proc/self/status"))?;
    u64::from_str_radix(value.trim(), 16).map_err(msg)
}

fn has_sys_resource() -> Result<bool, Failed> {
    Ok(status_mask("CapEff")? & 1 << 24 != 0)
}

// --- linux/capabilities ------------------------------------------------------------------------

/// The sets the isolators read are the kernel's, as `/proc/self/status` shows them.
fn host_capabilities_are_the_kernels() -> TestResult {
    let host = Host::current("test").map_err(msg)?;
    ensure!(host.root, "not root");
    ensure!(
        host.bounding == CapabilitySet::from_bits(status_mask("CapBnd")?),
        "bounding {}",
        host.bounding.hex()
    );
    ensure!(
        host.effective == CapabilitySet::from_bits(status_mask("CapEff")?),
        "effective {}",
        host.effective.hex()
    );
    Ok(())
}

/// The isolator created as the harness creates it, refusing at prepare an effective set beyond
/// this agent's bounding set, and passing one within it on.
fn capabilities_are_checked_against_the_agents_bounding_set() -> TestResult {
    let isolator =
        LinuxCapabilitiesIsolator::create(vec![param("bounding_capabilities", "CHOWN,NET_RAW,SYS_RESOURCE")])
            .map_err(msg)?;
    let asked = |names: &[&str]| {
        let info = CapabilityInfo { capabilities: names.iter().map(|n| n.to_string()).collect() };
        config(Some(LinuxInfo { effective_capabilities: Some(info), ..Default::default() }), None)
    };
    let info = isolator.prepare(&id(), &asked(&["CHOWN"])).map_err(msg)?.ok_or("no launch info")?;
    ensure!(info.effective_capabilities == Some(vec!["CHOWN".to_owned()]), "{info:?}");
    ensure!(
        info.bounding_capabilities == Some(vec!["CHOWN".into(), "NET_RAW".into(), "SYS_RESOURCE".into()]),
        "{info:?}"
    );
    let bounding = status_mask("CapBnd")?;
    let result = isolator.prepare(&id(), &asked(&["SYS_RESOURCE"]));
    if bounding & 1 << 24 == 0 {
        let err = result.err().ok_or("SYS_RESOURCE outside the bounding set was accepted")?;
        ensure!(
            err.message().contains(&format!("are not in this agent's bounding set (CapBnd {bounding:016x})")),
            "{err}"
        );
    } else {
        ensure!(result.is_ok(), "{:?}", result.err());
    }
    let err = isolator.prepare(&id(), &asked(&["MKNOD"])).err().ok_or("MKNOD beyond the operator's bound")?;
    ensure!(
        err.message()
            .contains("Requested capabilities '{ MKNOD }', but only '{ CHOWN, NET_RAW, SYS_RESOURCE }'"),
        "{err}"
    );
    Ok(())
}

// --- linux/nnp ---------------------------------------------------------------------------------

fn nnp_is_created_on_this_kernel() -> TestResult {
    let isolator = LinuxNnpIsolator::create(vec![]).map_err(msg)?;
    let info = isolator.prepare(&id(), &ContainerConfig::default()).map_err(msg)?;
    ensure!(info.and_then(|i| i.no_new_privileges) == Some(true), "no no_new_privileges");
    Ok(())
}

// --- posix/rlimits -----------------------------------------------------------------------------

/// A hard limit above this process's own: refused at prepare, naming CAP_SYS_RESOURCE, when this
/// process lacks it (the development hosts); accepted when it has it.
fn a_hard_limit_above_the_current_one_needs_cap_sys_resource() -> TestResult {
    let isolator = PosixRLimitsIsolator::create(vec![]).map_err(msg)?;
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    let ask = |hard: u64| {
        config(None, Some(vec![RLimit { kind: "RLMT_NOFILE".into(), soft: Some(64), hard: Some(hard) }]))
    };
    let info = isolator.prepare(&id(), &ask(hard)).map_err(msg)?.ok_or("no launch info")?;
    ensure!(info.rlimits.len() == 1, "{info:?}");
    let result = isolator.prepare(&id(), &ask(hard + 1));
    if has_sys_resource()? {
        ensure!(result.is_ok(), "{:?}", result.err());
    } else {
        let err = result.err().ok_or("a raise without CAP_SYS_RESOURCE was accepted")?;
        ensure!(
            err.message()
                .contains(&format!("hard limit of {}, above the current hard limit {hard}", hard + 1))
                && err.message().contains("lacks CAP_SYS_RESOURCE"),
            "{err}"
        );
    }
    Ok(())
}

fn invalid_rlimits_are_refused_at_prepare() -> TestResult {
    let isolator = PosixRLimitsIsolator::create(vec![]).map_err(msg)?;
    let ask = |soft, hard| config(None, Some(vec![RLimit { kind: "RLMT_CPU".into(), soft, hard }]));
    let err = isolator.prepare(&id(), &ask(Some(100), Some(1))).err().ok_or("soft above hard accepted")?;
    ensure!(err.message().contains("the soft limit 100 is above the hard limit 1"), "{err}");
    let err = isolator.prepare(&id(), &ask(Some(1), None)).err().ok_or("a soft limit alone accepted")?;
    ensure!(err.message().contains("only the soft limit is set"), "{err}");
    Ok(())
}

// --- linux/seccomp -----------------------------------------------------------------------------

/// A profile directory of the test's own, removed on drop.
fn profiles() -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
    write(
        "deny-mkdir.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
    )?;
    write(
        "broken.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    )?;
    Ok(dir)
}

fn seccomp_isolator(dir: &tempfile::TempDir, default: Option<&str>) -> Result<LinuxSeccompIsolator, String> {
    let mut params = vec![param("seccomp_config_dir", &dir.path().display().to_string())];
    params.extend(default.map(|d| param("seccomp_profile_name", d)));
    LinuxSeccompIsolator::create(params).map_err(|e| e.to_string())
}

/// What a call does in a child that installed `program`.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The child exited with this code: 0 when mkdir failed with EPERM and getpid worked, else
    /// the errno mkdir left (or 100 when it succeeded).
    Exited(i32),
    Killed(i32),
}

/// Which call the child makes after installing the filter.
#[derive(Clone, Copy)]
enum Call {
    Mkdir,
    Getppid,
    /// getpid through the x32 ABI (`nr | 0x40000000`).
    X32Getpid,
}

/// Forks a child that installs `program` (with no_new_privs, as a non-root caller would need) and
/// makes `call`; how it ended. The child uses raw system calls only: the test binary is threaded.
fn in_filtered_child(program: &SeccompProgram, call: Call, dir: &std::path::Path) -> Result<Outcome, Failed> {
    let filter: Vec<libc::sock_filter> = program
        .filter
        .iter()
        .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
        .collect();
    let fprog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
    let target = CString::new(dir.join("made").display().to_string())?;
    // SAFETY: the child only makes async-signal-safe system calls on memory prepared before the
    // fork, then _exits; the parent reaps it below.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above; every pointer is to data alive in the child's copy of the memory.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    program.flags as libc::c_ulong,
                    &fprog,
                ) != 0
            {
                libc::_exit(99);
            }
            match call {
                Call::Mkdir => {
                    let rc = libc::mkdir(target.as_ptr(), 0o755);
                    let errno = *libc::__errno_location();
                    let ok = rc == -1 && errno == libc::EPERM && libc::getpid() > 0;
                    libc::_exit(if ok {
                        0
                    } else if rc == 0 {
                        100
                    } else {
                        errno
                    });
                }
                Call::Getppid => {
                    libc::getppid();
                    libc::_exit(0);
                }
                Call::X32Getpid => {
                    libc::syscall(0x4000_0000 | libc::SYS_getpid);
                    libc::_exit(0);
                }
            }
        }
    }
    ensure!(pid > 0, "fork failed: {}", std::io::Error::last_os_error());
    let mut status = 0;
    // SAFETY: our own child, reaped once.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    ensure!(reaped == pid, "waitpid: {}", std::io::Error::last_os_error());
    Ok(if libc::WIFSIGNALED(status) {
        Outcome::Killed(libc::WTERMSIG(status))
    } else {
        Outcome::Exited(libc::WEXITSTATUS(status))
    })
}

/// The program compiled at prepare does, installed in the kernel, what the profile says: mkdir
/// gets EPERM, getpid works, getppid kills the process, an x32 call is killed too.
fn a_compiled_profile_behaves_in_the_kernel() -> TestResult {
    let dir = profiles()?;
    let isolator = seccomp_isolator(&dir, None)?;
    let seccomp = SeccompInfo { profile_name: Some("deny-mkdir.json".into()), unconfined: None };
    let asked = config(Some(LinuxInfo { seccomp: Some(seccomp), ..Default::default() }), None);
    let info = isolator.prepare(&id(), &asked).map_err(msg)?.ok_or("no launch info")?;
    let program = info.seccomp.ok_or("no seccomp program")?;
    ensure!(
        in_filtered_child(&program, Call::Mkdir, dir.path())? == Outcome::Exited(0),
        "mkdir was not refused with EPERM"
    );
    ensure!(!dir.path().join("made").exists(), "the directory was made");
    ensure!(
        in_filtered_child(&program, Call::Getppid, dir.path())? == Outcome::Killed(libc::SIGSYS),
        "getppid did not kill the process"
    );
    ensure!(
        in_filtered_child(&program, Call::X32Getpid, dir.path())? == Outcome::Killed(libc::SIGSYS),
        "an x32 call was not killed"
    );
    Ok(())
}

/// A malformed default profile fails creation, a malformed container profile fails prepare, each
/// with the file and the reason.
fn malformed_profiles_are_refused_with_the_file_and_the_reason() -> TestResult {
    let dir = profiles()?;
    let path = dir.path().join("broken.json");
    let err =
        seccomp_isolator(&dir, Some("broken.json")).err().ok_or("a broken default profile was accepted")?;
    ensure!(
        err.contains(&format!(
            "profile {}: syscalls[0].action: SCMP_ACT_NOTIFY is not supported",
            path.display()
        )),
        "{err}"
    );
    let isolator = seccomp_isolator(&dir, Some("deny-mkdir.json"))?;
    let seccomp = SeccompInfo { profile_name: Some("broken.json".into()), unconfined: None };
    let asked = config(Some(LinuxInfo { seccomp: Some(seccomp), ..Default::default() }), None);
    let err = isolator.prepare(&id(), &asked).err().ok_or("a broken profile was accepted")?;
    ensure!(
        err.message().starts_with(&format!("linux/seccomp: container 'c1': profile {}:", path.display())),
        "{err}"
    );
    let unconfined = SeccompInfo { profile_name: None, unconfined: Some(true) };
    let asked = config(Some(LinuxInfo { seccomp: Some(unconfined), ..Default::default() }), None);
    ensure!(isolator.prepare(&id(), &asked).map_err(msg)?.is_none(), "unconfined got a launch info");
    Ok(())
}

fn cannot_run() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (the isolators' creation checks, capabilities, seccomp)");
    }
    None
}

fn main() {
    let args = Arguments::from_args();
    let tests: Vec<(&str, Test)> = vec![
        ("host_capabilities_are_the_kernels", host_capabilities_are_the_kernels),
        (
            "capabilities_are_checked_against_the_agents_bounding_set",
            capabilities_are_checked_against_the_agents_bounding_set,
        ),
        ("nnp_is_created_on_this_kernel", nnp_is_created_on_this_kernel),
        (
            "a_hard_limit_above_the_current_one_needs_cap_sys_resource",
            a_hard_limit_above_the_current_one_needs_cap_sys_resource,
        ),
        ("invalid_rlimits_are_refused_at_prepare", invalid_rlimits_are_refused_at_prepare),
        ("a_compiled_profile_behaves_in_the_kernel", a_compiled_profile_behaves_in_the_kernel),
        (
            "malformed_profiles_are_refused_with_the_file_and_the_reason",
            malformed_profiles_are_refused_with_the_file_and_the_reason,
        ),
    ];
    let reason = cannot_run();
    let x86_64 = std::env::consts::ARCH == "x86_64";
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let reason = match reason {
                Some(reason) => Some(reason),
                // The x32 check is in the test of the compiled profile.
                None if !x86_64 && name == "a_compiled_profile_behaves_in_the_kernel" => {
                    Some("needs x86_64 (x32 calls)")
                }
                None => None,
            };
            match reason {
                None => Trial::test(name, test),
                Some(reason) => Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
                    .with_ignored_flag(true)
                    .with_kind(reason.split(" (").next().unwrap_or(reason)),
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
