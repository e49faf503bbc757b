//! Seccomp profiles in the Docker/OCI JSON format, read into a [`Policy`]: what to do with each
//! system call on this machine, in the profile's order. Everything a profile can say is either
//! understood or refused with an error that names where it is (`syscalls[3].action`) and what is
//! not supported; nothing is silently dropped, because a dropped rule is a hole in the filter.
//!
//! Understood:
//! - `defaultAction` and `defaultErrnoRet`; per rule `names` (or Docker's older `name`),
//!   `action`, `errnoRet`, `args` (`index`, `value`, `valueTwo`, `op`) and `comment`;
//! - actions `SCMP_ACT_ALLOW`, `SCMP_ACT_ERRNO` (`errnoRet`, else `EPERM`, as Docker, runc and
//!   Mesos do), `SCMP_ACT_KILL` (libseccomp's alias of `SCMP_ACT_KILL_THREAD`),
//!   `SCMP_ACT_KILL_THREAD`, `SCMP_ACT_KILL_PROCESS`, `SCMP_ACT_TRAP`, `SCMP_ACT_TRACE`
//!   (`errnoRet` as the tracer's data, else `EPERM`, as Mesos does) and `SCMP_ACT_LOG`;
//! - comparisons `SCMP_CMP_NE`, `_LT`, `_LE`, `_EQ`, `_GE`, `_GT` and `_MASKED_EQ` (libseccomp's
//!   meaning: `(arg & value) == valueTwo`), all on the whole 64-bit argument as libseccomp does;
//!   several `args` of one rule must all hold;
//! - `architectures` and `archMap`: the machine's own architecture (`SCMP_ARCH_X86_64` here).
//!   Entries of `archMap` for other machines are skipped, as Mesos's parser skips them: they say
//!   what to allow on those machines;
//! - `includes` / `excludes` conditions on `arches` (Docker's names: `amd64`, `arm64`), decided
//!   here against this machine, as Mesos's parser decides them;
//! - `flags`: `SECCOMP_FILTER_FLAG_TSYNC`, `_LOG`, `_SPEC_ALLOW`.
//!
//! Refused, each by name: `SCMP_ACT_NOTIFY` and `listenerPath` (user-space notification needs an
//! agent to answer it), `includes` / `excludes` on `caps` or `minKernel` (Mesos decides `caps` in
//! the launcher from the final capability set, which no isolator sees at `prepare`), architectures
//! other than this machine's in `architectures` or as `subArchitectures` (the filter is compiled
//! for one system call table; i386 or x32 calls are killed by it instead), two `args` on the same
//! argument (libseccomp and runc disagree on whether that means "and" or "or"), `errnoRet` on an
//! action that returns no data, unknown actions, operators, architectures, keys and flags.
//! System call names are resolved by [`super::compile`], which refuses unknown ones.

use seccompiler::TargetArch;
use serde::Deserialize;

use super::ProfileError;

/// The most arguments a system call has.
const ARGUMENTS: u32 = 6;

/// An architecture a filter can be compiled for, in the three spellings profiles use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    pub target: TargetArch,
    /// libseccomp's name (`SCMP_ARCH_X86_64`), used by `architectures` and `archMap`.
    pub scmp: &'static str,
    /// Go's name (`amd64`), used by Docker's `includes` / `excludes` `arches`.
    pub go: &'static str,
    /// The kernel's `AUDIT_ARCH_*`, which `seccomp_data.arch` holds.
    pub audit: u32,
}

impl Arch {
    /// This machine's architecture, if a filter can be compiled for it.
    pub fn native() -> Option<Arch> {
        Arch::named(std::env::consts::ARCH)
    }

    /// The architecture of Rust's name for it (`x86_64`).
    pub fn named(name: &str) -> Option<Arch> {
        // AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (`linux/audit.h`).
        let (target, scmp, go, machine) = match name {
            "x86_64" => (TargetArch::x86_64, "SCMP_ARCH_X86_64", "amd64", 62),
            "aarch64" => (TargetArch::aarch64, "SCMP_ARCH_AARCH64", "arm64", 183),
            "riscv64" => (TargetArch::riscv64, "SCMP_ARCH_RISCV64", "riscv64", 243),
            _ => return None,
        };
        Some(Arch { target, scmp, go, audit: machine | 0x8000_0000 | 0x4000_0000 })
    }
}

/// libseccomp's architecture names, to tell a foreign architecture from a misspelt one.
const SCMP_ARCHES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// Docker's architecture names in `includes` / `excludes` (Go's, and Mesos's spellings).
const GO_ARCHES: &[&str] = &[
    "x86",
    "386",
    "amd64",
    "x32",
    "arm",
    "arm64",
    "loong64",
    "mips",
    "mipsle",
    "mipsel",
    "mips64",
    "mips64le",
    "mipsel64",
    "mips64n32",
    "mips64len32",
    "mipsel64n32",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390",
    "s390x",
];

/// The `SECCOMP_FILTER_FLAG_*` a profile may ask for.
const FLAGS: &[(&str, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
];

/// What the filter does with a system call (`SECCOMP_RET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(u32),
    KillThread,
    KillProcess,
    Trap,
    Trace(u32),
    Log,
}

/// A comparison of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & mask) == value`.
    MaskedEq {
        mask: u64,
    },
}

/// `args[index] <op> value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// One `syscalls` entry that applies on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Where it is in the profile (`syscalls[3]`), for errors.
    pub at: String,
    pub names: Vec<String>,
    pub action: Action,
    /// All must hold; none means always.
    pub conditions: Vec<Condition>,
}

/// A profile on this machine: the first rule that matches a call decides, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub default: Action,
    pub rules: Vec<Rule>,
    /// `SECCOMP_FILTER_FLAG_*`.
    pub flags: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProfileJson {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    arch_map: Vec<ArchMapJson>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Vec<SyscallJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ArchMapJson {
    architecture: String,
    #[serde(default)]
    sub_architectures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SyscallJson {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    /// `null` or a list.
    #[serde(default)]
    args: Option<Vec<ArgJson>>,
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
    #[serde(default)]
    includes: FilterJson,
    #[serde(default)]
    excludes: FilterJson,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FilterJson {
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ArgJson {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

fn unsupported(at: impl Into<String>, feature: impl Into<String>, why: &str) -> ProfileError {
    ProfileError::Unsupported { at: at.into(), feature: feature.into(), why: why.to_owned() }
}

fn unknown(at: impl Into<String>, what: &'static str, value: &str, known: &[&str]) -> ProfileError {
    ProfileError::Unknown {
        at: at.into(),
        what,
        value: value.to_owned(),
        hint: if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) },
    }
}

fn invalid(at: impl Into<String>, reason: impl Into<String>) -> ProfileError {
    ProfileError::Invalid { at: at.into(), reason: reason.into() }
}

/// The action `name` (found at `action_at`), with its errno (found at `errno_at`).
fn action(
    name: &str,
    errno_ret: Option<u32>,
    action_at: &str,
    errno_at: &str,
) -> Result<Action, ProfileError> {
    const KNOWN: &[&str] = &[
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_LOG",
    ];
    // An action's data is 16 bits of SECCOMP_RET_DATA; an errno stops at 4095 (MAX_ERRNO), and
    // the data a tracer gets may use all 16.
    let data = |max: u32, what: &str| match errno_ret {
        None => Ok(libc::EPERM as u32),
        Some(value) if value <= max => Ok(value),
        Some(value) => Err(invalid(errno_at, format!("{value} is not {what} (0 to {max})"))),
    };
    let action = match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => return Ok(Action::Errno(data(4095, "an errno")?)),
        "SCMP_ACT_TRACE" => return Ok(Action::Trace(data(0xffff, "a tracer's 16-bit data")?)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => {
            return Err(unsupported(
                action_at,
                "SCMP_ACT_NOTIFY",
                " (user-space notification needs an agent listening on listenerPath)",
            ));
        }
        other => return Err(unknown(action_at, "action", other, KNOWN)),
    };
    if errno_ret.is_some() {
        let key = errno_at.rsplit('.').next().unwrap_or(errno_at);
        return Err(invalid(
            errno_at,
            format!("{name} returns no errno; {key} goes with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"),
        ));
    }
    Ok(action)
}

fn op(arg: &ArgJson, at: &str) -> Result<Op, ProfileError> {
    const KNOWN: &[&str] = &[
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    Ok(match arg.op.as_str() {
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_GT" => Op::Gt,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEq { mask: arg.value },
        other => return Err(unknown(format!("{at}.op"), "operator", other, KNOWN)),
    })
}

fn conditions(args: &[ArgJson], at: &str) -> Result<Vec<Condition>, ProfileError> {
    let mut conditions: Vec<Condition> = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        let at = format!("{at}.args[{i}]");
        let op = op(arg, &at)?;
        if arg.index >= ARGUMENTS {
            return Err(invalid(format!("{at}.index"), format!("{} is not an argument (0 to 5)", arg.index)));
        }
        let index = arg.index as u8;
        if conditions.iter().any(|c| c.index == index) {
            return Err(unsupported(
                at,
                format!("a second comparison of argument {index}"),
                " (libseccomp reads it as 'and', runc as 'or'; write one syscalls entry per comparison)",
            ));
        }
        let value = match op {
            Op::MaskedEq { .. } => arg.value_two,
            _ => arg.value,
        };
        conditions.push(Condition { index, op, value });
    }
    Ok(conditions)
}

/// Checks an `architectures` or `subArchitectures` name: only this machine's is supported.
fn own_arch(name: &str, at: String, arch: &Arch) -> Result<(), ProfileError> {
    if !SCMP_ARCHES.contains(&name) {
        return Err(unknown(at, "architecture", name, &[]));
    }
    if name != arch.scmp {
        return Err(unsupported(
            at,
            format!("architecture {name}"),
            &format!(
                " (the filter is compiled for this machine's {} only, whose system call table it knows; \
                 calls of other architectures are killed)",
                arch.scmp
            ),
        ));
    }
    Ok(())
}

/// Whether a rule with these conditions applies on this machine.
fn applies(
    includes: &FilterJson,
    excludes: &FilterJson,
    at: &str,
    arch: &Arch,
) -> Result<bool, ProfileError> {
    for (filter, key) in [(includes, "includes"), (excludes, "excludes")] {
        if !filter.caps.is_empty() {
            return Err(unsupported(
                format!("{at}.{key}.caps"),
                "a condition on capabilities",
                " (the isolator compiles the filter at prepare, before the container's capabilities are known)",
            ));
        }
        if filter.min_kernel.is_some() {
            return Err(unsupported(
                format!("{at}.{key}.minKernel"),
                "a condition on the kernel version",
                "",
            ));
        }
        if let Some(bad) = filter.arches.iter().find(|a| !GO_ARCHES.contains(&a.as_str())) {
            return Err(unknown(format!("{at}.{key}.arches"), "architecture", bad, &[]));
        }
    }
    let native = |filter: &FilterJson| filter.arches.iter().any(|a| a == arch.go);
    Ok((includes.arches.is_empty() || native(includes)) && !native(excludes))
}

/// Reads a profile's JSON text into the policy it sets on `arch`.
pub fn parse(text: &str, arch: &Arch) -> Result<Policy, ProfileError> {
    let profile: ProfileJson = serde_json::from_str(text).map_err(ProfileError::Json)?;
    let default =
        action(&profile.default_action, profile.default_errno_ret, "defaultAction", "defaultErrnoRet")?;
    if profile.listener_path.is_some() || profile.listener_metadata.is_some() {
        return Err(unsupported("listenerPath", "user-space notification (SCMP_ACT_NOTIFY)", ""));
    }
    let mut flags = 0;
    for (i, flag) in profile.flags.iter().enumerate() {
        let known: Vec<&str> = FLAGS.iter().map(|(name, _)| *name).collect();
        let (_, bit) = FLAGS
            .iter()
            .find(|(name, _)| name == flag)
            .ok_or_else(|| unknown(format!("flags[{i}]"), "flag", flag, &known))?;
        flags |= bit;
    }

    // The architectures: this machine's, and none that would apply here besides it.
    let mut covered = profile.architectures.is_empty() && profile.arch_map.is_empty();
    for (i, name) in profile.architectures.iter().enumerate() {
        own_arch(name, format!("architectures[{i}]"), arch)?;
        covered = true;
    }
    for (i, entry) in profile.arch_map.iter().enumerate() {
        let at = format!("archMap[{i}]");
        if !SCMP_ARCHES.contains(&entry.architecture.as_str()) {
            return Err(unknown(format!("{at}.architecture"), "architecture", &entry.architecture, &[]));
        }
        if entry.architecture != arch.scmp {
            // What to allow on another kind of machine (Mesos's parser skips these too).
            continue;
        }
        covered = true;
        for (j, sub) in entry.sub_architectures.iter().enumerate() {
            own_arch(sub, format!("{at}.subArchitectures[{j}]"), arch)?;
        }
    }
    if !covered {
        return Err(invalid(
            "architectures",
            format!("the profile does not cover this machine's architecture {}", arch.scmp),
        ));
    }

    let mut rules = Vec::with_capacity(profile.syscalls.len());
    for (i, entry) in profile.syscalls.into_iter().enumerate() {
        let at = format!("syscalls[{i}]");
        let action =
            action(&entry.action, entry.errno_ret, &format!("{at}.action"), &format!("{at}.errnoRet"))?;
        let conditions = conditions(entry.args.as_deref().unwrap_or_default(), &at)?;
        if !applies(&entry.includes, &entry.excludes, &at, arch)? {
            continue;
        }
        let mut names = entry.names;
        names.extend(entry.name);
        if names.is_empty() {
            return Err(invalid(format!("{at}.names"), "the list of system calls is empty"));
        }
        rules.push(Rule { at, names, action, conditions });
    }
    Ok(Policy { default, rules, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x86_64() -> Arch {
        Arch::named("x86_64").unwrap()
    }

    fn policy(text: &str) -> Result<Policy, String> {
        parse(text, &x86_64()).map_err(|e| e.to_string())
    }

    fn error(text: &str) -> String {
        policy(text).unwrap_err()
    }

    #[test]
    fn architectures_have_their_audit_values() {
        assert_eq!(x86_64().audit, 0xc000_003e);
        assert_eq!(Arch::named("aarch64").unwrap().audit, 0xc000_00b7);
        assert!(Arch::named("mips").is_none());
    }

    #[test]
    fn an_oci_profile() {
        let p = policy(
            r#"{
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls": [
                    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                    {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28, "comment": "ENOSPC"},
                    {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]},
                    {"names": ["clone"], "action": "SCMP_ACT_TRAP",
                     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"},
                              {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}
                ]
            }"#,
        )
        .unwrap();
        assert_eq!(p.default, Action::Allow);
        assert_eq!(p.flags, 2);
        assert_eq!(p.rules.len(), 4);
        assert_eq!(p.rules[0].action, Action::Errno(libc::EPERM as u32));
        assert_eq!(p.rules[0].names, ["mkdir", "mkdirat"]);
        assert_eq!(p.rules[1].action, Action::Errno(28));
        assert_eq!(p.rules[2].conditions, [Condition { index: 0, op: Op::Ne, value: 8 }]);
        assert_eq!(
            p.rules[3].conditions,
            [
                Condition { index: 0, op: Op::MaskedEq { mask: 2114060288 }, value: 0 },
                Condition { index: 1, op: Op::Eq, value: 0 }
            ]
        );
        assert_eq!(p.rules[3].at, "syscalls[3]");
    }

    #[test]
    fn a_docker_profile_with_an_arch_map_and_arch_conditions() {
        let p = policy(
            r#"{
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "archMap": [
                    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
                ],
                "syscalls": [
                    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
                     "includes": {}, "excludes": {}},
                    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "args": null,
                     "includes": {"arches": ["amd64", "x32"]}},
                    {"names": ["arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW",
                     "includes": {"arches": ["arm", "arm64"]}},
                    {"names": ["vm86"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
                    {"name": "uname", "action": "SCMP_ACT_ALLOW"}
                ]
            }"#,
        )
        .unwrap();
        assert_eq!(p.default, Action::Errno(1));
        let names: Vec<&str> = p.rules.iter().flat_map(|r| r.names.iter().map(String::as_str)).collect();
        assert_eq!(names, ["read", "write", "arch_prctl", "uname"]);
        assert_eq!(p.rules[2].at, "syscalls[4]");
    }

    #[test]
    fn no_architecture_means_this_machines() {
        assert!(policy(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).is_ok());
        let err = error(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_AARCH64"}]}"#,
        );
        assert_eq!(
            err,
            "architectures: the profile does not cover this machine's architecture SCMP_ARCH_X86_64"
        );
    }

    #[test]
    fn other_architectures_are_refused_by_name() {
        let err = error(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]}"#,
        );
        assert!(
            err.starts_with(
                "architectures[1]: architecture SCMP_ARCH_X86 is not supported (the filter is compiled for \
                             this machine's SCMP_ARCH_X86_64 only"
            ),
            "{err}"
        );
        let err = error(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}]}"#,
        );
        assert!(
            err.starts_with("archMap[0].subArchitectures[0]: architecture SCMP_ARCH_X86 is not supported"),
            "{err}"
        );
        let err = error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_!!BUG"]}"#);
        assert_eq!(err, "architectures[0]: unknown architecture 'SCMP_ARCH_!!BUG'");
        let err = error(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64!!SPECTRE"]}}]}"#,
        );
        assert_eq!(err, "syscalls[0].includes.arches: unknown architecture 'amd64!!SPECTRE'");
    }

    #[test]
    fn unsupported_features_are_named() {
        let with_rule =
            |rule: &str| error(&format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{rule}]}}"#));
        let err = with_rule(
            r#"{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}"#,
        );
        assert!(
            err.starts_with("syscalls[0].includes.caps: a condition on capabilities is not supported"),
            "{err}"
        );
        let err = with_rule(
            r#"{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}"#,
        );
        assert!(err.starts_with("syscalls[0].excludes.caps: a condition on capabilities"), "{err}");
        let err =
            with_rule(r#"{"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}}"#);
        assert_eq!(err, "syscalls[0].includes.minKernel: a condition on the kernel version is not supported");
        let err = with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}"#);
        assert!(err.starts_with("syscalls[0].action: SCMP_ACT_NOTIFY is not supported"), "{err}");
        let err = with_rule(
            r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}"#,
        );
        assert!(
            err.starts_with("syscalls[0].args[1]: a second comparison of argument 0 is not supported"),
            "{err}"
        );
        let err = error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}"#);
        assert!(err.starts_with("listenerPath: user-space notification"), "{err}");
    }

    #[test]
    fn malformed_profiles_say_where() {
        assert!(error("{").starts_with("not a seccomp profile in the Docker/OCI JSON format: EOF"));
        assert!(error("{}").contains("missing field `defaultAction`"));
        assert!(
            error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "bogus": 1}"#).contains("unknown field `bogus`")
        );
        assert!(
            error(r#"{"defaultAction": "SCMP_ACT_!!BUG"}"#)
                .starts_with("defaultAction: unknown action 'SCMP_ACT_!!BUG' (known: SCMP_ACT_ALLOW, ")
        );
        let with_rule =
            |rule: &str| error(&format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{rule}]}}"#));
        assert!(with_rule(r#"{"names": ["read"]}"#).contains("missing field `action`"));
        assert_eq!(
            with_rule(r#"{"names": [], "action": "SCMP_ACT_ALLOW"}"#),
            "syscalls[0].names: the list of system calls is empty"
        );
        assert!(
            with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_!!BUG"}"#)
                .starts_with("syscalls[0].action: unknown action")
        );
        assert!(with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_MASKED_EQ!!BUG"}]}"#)
            .starts_with("syscalls[0].args[0].op: unknown operator 'SCMP_CMP_MASKED_EQ!!BUG' (known: SCMP_CMP_NE, "));
        assert_eq!(
            with_rule(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#
            ),
            "syscalls[0].args[0].index: 6 is not an argument (0 to 5)"
        );
        assert!(with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]}"#)
            .contains("missing field `index`"));
        assert_eq!(
            with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}"#),
            "syscalls[0].errnoRet: SCMP_ACT_ALLOW returns no errno; errnoRet goes with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        );
        assert_eq!(
            with_rule(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}"#),
            "syscalls[0].errnoRet: 70000 is not an errno (0 to 4095)"
        );
        assert!(
            error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}"#)
                .starts_with("defaultErrnoRet: SCMP_ACT_ALLOW returns no errno")
        );
        assert!(
            error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#)
                .starts_with("flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_NEW_LISTENER'")
        );
    }

    #[test]
    fn actions_and_their_data() {
        let rule = |action: &str| {
            policy(&format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["read"], "action": "{action}"}}]}}"#))
                .unwrap()
                .rules[0]
                .action
        };
        assert_eq!(rule("SCMP_ACT_KILL"), Action::KillThread);
        assert_eq!(rule("SCMP_ACT_KILL_THREAD"), Action::KillThread);
        assert_eq!(rule("SCMP_ACT_KILL_PROCESS"), Action::KillProcess);
        assert_eq!(rule("SCMP_ACT_TRAP"), Action::Trap);
        assert_eq!(rule("SCMP_ACT_TRACE"), Action::Trace(libc::EPERM as u32));
        assert_eq!(rule("SCMP_ACT_LOG"), Action::Log);
        assert_eq!(rule("SCMP_ACT_ERRNO"), Action::Errno(1));
    }
}
