//! A [`Policy`] compiled to one classic BPF program, with `seccompiler` doing the per-syscall
//! code and the system call name tables.
//!
//! seccompiler builds a filter with one action for every match and one for no match, while a
//! profile's rules each carry an action and the first rule that matches decides. So the rules are
//! cut into runs of consecutive rules with the same action, each run is compiled on its own with
//! a sentinel no-match action, and the runs are chained in profile order: every `RET sentinel` of
//! a run becomes a jump to the start of the next run, and the last run falls through to the
//! profile's default action. A run's program holds only three kinds of return (its arch check's
//! kill, its action and the sentinel), and the sentinel is chosen to differ from its action, so
//! exactly the no-match exits are rewritten; every jump inside a run stays as seccompiler made it.
//!
//! Ahead of the runs comes a prologue of our own: a call of another architecture is killed (as
//! seccompiler's own check does), and on x86_64 so is a call through the x32 ABI (`nr` with bit
//! 30 set, same `AUDIT_ARCH_X86_64`), which would otherwise match no system call number and get
//! the default action: with a default of `SCMP_ACT_ALLOW`, a way around every rule.
//!
//! Within one run, a system call named once without `args` matches always; seccompiler's JSON
//! frontend would instead drop that when the same call also has a conditional rule, so such calls
//! are written once, without conditions.

use std::collections::BTreeMap;

use module_abi::{SeccompProgram, SockFilter};
use seccompiler::sock_filter;
use serde_json::{Value, json};

use super::ProfileError;
use super::profile::{Action, Arch, Condition, Op, Policy, Rule};

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;

/// `BPF_LD | BPF_W | BPF_ABS` (the first two are 0).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06;
/// `offsetof(struct seccomp_data, nr)` and `arch`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
/// `__X32_SYSCALL_BIT`.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The kernel's return value of an action.
pub fn ret(action: Action) -> u32 {
    match action {
        Action::Allow => libc::SECCOMP_RET_ALLOW,
        Action::Errno(errno) => libc::SECCOMP_RET_ERRNO | (errno & libc::SECCOMP_RET_DATA),
        Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::Trap => libc::SECCOMP_RET_TRAP,
        Action::Trace(data) => libc::SECCOMP_RET_TRACE | (data & libc::SECCOMP_RET_DATA),
        Action::Log => libc::SECCOMP_RET_LOG,
    }
}

/// seccompiler's JSON for an action.
fn action_json(action: Action) -> Value {
    match action {
        Action::Allow => json!("allow"),
        Action::Errno(errno) => json!({ "errno": errno }),
        Action::KillThread => json!("kill_thread"),
        Action::KillProcess => json!("kill_process"),
        Action::Trap => json!("trap"),
        Action::Trace(data) => json!({ "trace": data }),
        Action::Log => json!("log"),
    }
}

/// seccompiler's JSON for a comparison: always of the whole 64-bit argument, as libseccomp's.
fn condition_json(condition: &Condition) -> Value {
    let op = match condition.op {
        Op::Ne => json!("ne"),
        Op::Lt => json!("lt"),
        Op::Le => json!("le"),
        Op::Eq => json!("eq"),
        Op::Ge => json!("ge"),
        Op::Gt => json!("gt"),
        Op::MaskedEq { mask } => json!({ "masked_eq": mask }),
    };
    json!({ "index": condition.index, "type": "qword", "op": op, "val": condition.value })
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Compiles one seccompiler filter given as JSON; the program, or seccompiler's message.
fn seccompiler_program(filter: Value, arch: &Arch) -> Result<Vec<sock_filter>, String> {
    let text = json!({ "run": filter }).to_string();
    let mut programs =
        seccompiler::compile_from_json(text.as_bytes(), arch.target).map_err(|e| e.to_string())?;
    programs.remove("run").ok_or_else(|| "seccompiler returned no program".to_owned())
}

/// Whether `name` is a system call of `arch` (by asking seccompiler's table).
fn known_syscall(name: &str, arch: &Arch) -> bool {
    let probe =
        json!({ "mismatch_action": "allow", "match_action": "trap", "filter": [{ "syscall": name }] });
    seccompiler_program(probe, arch).is_ok()
}

/// One run of rules with the same `action`, whose no-match exits jump past its end.
fn run_program(rules: &[&Rule], action: Action, arch: &Arch) -> Result<Vec<sock_filter>, ProfileError> {
    // Per system call: `None` matches always, else any of the lists of conditions.
    let mut calls: BTreeMap<&str, Option<Vec<&[Condition]>>> = BTreeMap::new();
    for rule in rules {
        for name in &rule.names {
            let entry = calls.entry(name.as_str()).or_insert_with(|| Some(Vec::new()));
            match entry {
                _ if rule.conditions.is_empty() => *entry = None,
                Some(lists) => lists.push(&rule.conditions),
                None => {}
            }
        }
    }
    let mut filter = Vec::new();
    for (name, conditions) in calls {
        match conditions {
            None => filter.push(json!({ "syscall": name })),
            Some(lists) => filter.extend(lists.iter().map(|list| {
                json!({ "syscall": name, "args": list.iter().map(condition_json).collect::<Vec<_>>() })
            })),
        }
    }
    let sentinel =
        if action == Action::Trace(0xffff) { Action::Trace(0xfffe) } else { Action::Trace(0xffff) };
    let json = json!({
        "mismatch_action": action_json(sentinel),
        "match_action": action_json(action),
        "filter": filter,
    });
    let mut program = seccompiler_program(json, arch).map_err(ProfileError::Compile)?;
    let (len, sentinel) = (program.len(), ret(sentinel));
    for (i, insn) in program.iter_mut().enumerate() {
        if insn.code == BPF_RET_K && insn.k == sentinel {
            *insn = stmt(BPF_JMP_JA, (len - i - 1) as u32);
        }
    }
    Ok(program)
}

/// The prologue: kill calls of other architectures, and on x86_64 those through the x32 ABI.
fn prologue(arch: &Arch) -> Vec<sock_filter> {
    let mut program = vec![
        stmt(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JMP_JEQ_K, arch.audit, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    if arch.scmp == "SCMP_ARCH_X86_64" {
        program.extend([
            stmt(BPF_LD_W_ABS, NR_OFFSET),
            jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1),
            stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        ]);
    }
    program
}

/// Compiles `policy` for `arch` into the program the containerizer installs.
pub fn compile(policy: &Policy, arch: &Arch) -> Result<SeccompProgram, ProfileError> {
    for rule in &policy.rules {
        if let Some(name) = rule.names.iter().find(|name| !known_syscall(name, arch)) {
            return Err(ProfileError::Unknown {
                at: format!("{}.names", rule.at),
                what: "system call",
                value: name.clone(),
                hint: format!(" (not one of {}'s)", arch.scmp),
            });
        }
    }
    let mut program = prologue(arch);
    let mut rest: &[Rule] = &policy.rules;
    while let Some(first) = rest.first() {
        let same = rest.iter().take_while(|rule| rule.action == first.action).count();
        let run: Vec<&Rule> = rest[..same].iter().collect();
        program.extend(run_program(&run, first.action, arch)?);
        rest = &rest[same..];
    }
    program.push(stmt(BPF_RET_K, ret(policy.default)));
    if program.len() > BPF_MAXINSNS {
        return Err(ProfileError::TooLarge { len: program.len() });
    }
    Ok(SeccompProgram {
        filter: program
            .into_iter()
            .map(|i| SockFilter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
            .collect(),
        flags: policy.flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::profile::parse;
    use super::super::vm::{SeccompData, run};
    use super::*;

    const X32: i32 = 0x4000_0000;

    fn arch() -> Arch {
        Arch::named("x86_64").unwrap()
    }

    fn program(profile: &str) -> SeccompProgram {
        compile(&parse(profile, &arch()).unwrap(), &arch()).unwrap()
    }

    fn call(program: &SeccompProgram, nr: i64, args: [u64; 6]) -> u32 {
        run(&program.filter, &SeccompData { nr: nr as i32, arch: arch().audit, args })
    }

    fn errno(errno: i32) -> u32 {
        ret(Action::Errno(errno as u32))
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const NONE: [u64; 6] = [0; 6];

    #[test]
    fn a_deny_list() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
                {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_mkdir, NONE), errno(libc::EPERM));
        assert_eq!(call(&p, libc::SYS_mkdirat, NONE), errno(libc::EPERM));
        assert_eq!(call(&p, libc::SYS_rmdir, NONE), errno(libc::ENOSPC));
        assert_eq!(call(&p, libc::SYS_reboot, NONE), libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(&p, libc::SYS_read, NONE), ALLOW);
        assert_eq!(call(&p, libc::SYS_execve, NONE), ALLOW);
        assert_eq!(p.flags, 0);
    }

    #[test]
    fn an_allow_list() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
                {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_write, NONE), ALLOW);
        assert_eq!(call(&p, libc::SYS_exit_group, NONE), ALLOW);
        assert_eq!(call(&p, libc::SYS_open, NONE), errno(libc::ENOSYS));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["personality", "getpid"], "action": "SCMP_ACT_KILL"}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_personality, [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&p, libc::SYS_personality, [9, 0, 0, 0, 0, 0]), errno(libc::EPERM));
        // getpid is only in the third rule.
        assert_eq!(call(&p, libc::SYS_getpid, NONE), libc::SECCOMP_RET_KILL_THREAD);
        assert_eq!(call(&p, libc::SYS_getppid, NONE), ALLOW);
    }

    #[test]
    fn an_unconditional_rule_is_not_narrowed_by_a_conditional_one() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO"}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_socket, [16, 0, 0, 0, 0, 0]), errno(libc::EPERM));
        assert_eq!(call(&p, libc::SYS_socket, [2, 0, 0, 0, 0, 0]), errno(libc::EPERM));
    }

    #[test]
    fn comparisons_of_whole_arguments() {
        let rule = |op: &str, value: u64, value_two: u64| {
            program(&format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {{"names": ["ioctl"], "action": "SCMP_ACT_TRAP",
                      "args": [{{"index": 1, "value": {value}, "valueTwo": {value_two}, "op": "{op}"}}]}}
                ]}}"#
            ))
        };
        let trap = libc::SECCOMP_RET_TRAP;
        let at = |p: &SeccompProgram, arg: u64| call(p, libc::SYS_ioctl, [0, arg, 0, 0, 0, 0]);
        let big = 1u64 << 32;
        let lt = rule("SCMP_CMP_LT", big, 0);
        assert_eq!((at(&lt, big - 1), at(&lt, big), at(&lt, big + 1)), (trap, ALLOW, ALLOW));
        let le = rule("SCMP_CMP_LE", big, 0);
        assert_eq!((at(&le, 5), at(&le, big), at(&le, big + 1)), (trap, trap, ALLOW));
        let gt = rule("SCMP_CMP_GT", big, 0);
        assert_eq!((at(&gt, big), at(&gt, big + 1), at(&gt, u64::MAX)), (ALLOW, trap, trap));
        let ge = rule("SCMP_CMP_GE", big, 0);
        assert_eq!((at(&ge, big - 1), at(&ge, big)), (ALLOW, trap));
        let eq = rule("SCMP_CMP_EQ", big + 7, 0);
        assert_eq!((at(&eq, 7), at(&eq, big + 7)), (ALLOW, trap));
        let ne = rule("SCMP_CMP_NE", 7, 0);
        assert_eq!((at(&ne, 7), at(&ne, big + 7)), (ALLOW, trap));
        // libseccomp's masked equality: (arg & value) == valueTwo.
        let masked = rule("SCMP_CMP_MASKED_EQ", 0x7e02_0000, 0);
        assert_eq!(at(&masked, 0x11), trap);
        assert_eq!(at(&masked, 0x1000_0000 | 0x11), ALLOW);
    }

    #[test]
    fn all_conditions_of_a_rule_must_hold() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_kill, [1, 9, 0, 0, 0, 0]), errno(libc::EPERM));
        assert_eq!(call(&p, libc::SYS_kill, [1, 15, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&p, libc::SYS_kill, [2, 9, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn other_architectures_and_x32_calls_are_killed() {
        let p = program(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
        let i386 = SeccompData { nr: 39, arch: 0x4000_0003, args: NONE };
        assert_eq!(run(&p.filter, &i386), libc::SECCOMP_RET_KILL_PROCESS);
        let x32_mkdir = SeccompData { nr: X32 | libc::SYS_mkdir as i32, arch: arch().audit, args: NONE };
        assert_eq!(run(&p.filter, &x32_mkdir), libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(&p, libc::SYS_mkdir, NONE), ALLOW);
        // Without rules: the prologue and the default action.
        assert_eq!(p.filter.len(), 7);
    }

    #[test]
    fn flags_are_kept() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#,
        );
        assert_eq!(p.flags, 2 | 4);
    }

    #[test]
    fn unknown_system_calls_are_named() {
        let policy = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["write", "writev!!BUG"], "action": "SCMP_ACT_ERRNO"}
            ]}"#,
            &arch(),
        )
        .unwrap();
        let err = compile(&policy, &arch()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "syscalls[1].names: unknown system call 'writev!!BUG' (not one of SCMP_ARCH_X86_64's)"
        );
    }

    #[test]
    fn a_trace_action_with_the_sentinels_value_still_works() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 65535},
                {"names": ["write"], "action": "SCMP_ACT_TRACE", "errnoRet": 65534}
            ]}"#,
        );
        assert_eq!(call(&p, libc::SYS_read, NONE), ret(Action::Trace(0xffff)));
        assert_eq!(call(&p, libc::SYS_write, NONE), ret(Action::Trace(0xfffe)));
        assert_eq!(call(&p, libc::SYS_close, NONE), ALLOW);
    }

    #[test]
    fn too_large_a_filter_is_refused() {
        let rules: Vec<String> = (0..700)
            .map(|i| {
                format!(
                    r#"{{"names": ["ioctl"], "action": "{}", "args": [{{"index": 1, "value": {i}, "op": "SCMP_CMP_EQ"}}]}}"#,
                    if i % 2 == 0 { "SCMP_ACT_ERRNO" } else { "SCMP_ACT_TRAP" }
                )
            })
            .collect();
        let text = format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{}]}}"#, rules.join(","));
        let err = compile(&parse(&text, &arch()).unwrap(), &arch()).unwrap_err();
        assert!(err.to_string().contains("more than the kernel's 4096"), "{err}");
    }
}
