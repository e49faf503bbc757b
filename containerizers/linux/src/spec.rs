//! The launch spec: the `LaunchRequest` the host writes to `<runtime>/containers/<id>/spec` and the
//! helper reads back, and the pure decisions both sides make from it (clone flags, argv,
//! environment, working directory, rlimits, capabilities, the seccomp program). Everything here is
//! checked on the host before the clone, so a bad request fails `launch` with one line instead of a
//! container that dies at exec.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::str::FromStr;

use caps::{Capability, CapsHashSet};
use module_abi::{CommandInfo, ContainerLaunchInfo, LaunchRequest, RLimit, SeccompProgram};
pub use rlimits::Limit;

/// `PATH` when neither the command nor an isolator sets one (Mesos's `os::host_default_path`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The namespace flags `clone_namespaces` may hold.
const NAMESPACE_FLAGS: &[(i32, &str)] = &[
    (libc::CLONE_NEWNS, "CLONE_NEWNS"),
    (libc::CLONE_NEWUTS, "CLONE_NEWUTS"),
    (libc::CLONE_NEWIPC, "CLONE_NEWIPC"),
    (libc::CLONE_NEWPID, "CLONE_NEWPID"),
    (libc::CLONE_NEWNET, "CLONE_NEWNET"),
    (libc::CLONE_NEWUSER, "CLONE_NEWUSER"),
    (libc::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
];

/// The kernel's limit on a hostname (`HOST_NAME_MAX`).
pub const HOSTNAME_MAX: usize = 64;

/// The union of `clone_namespaces`; anything that is not one `CLONE_NEW*` flag is an error.
pub fn clone_flags(info: &ContainerLaunchInfo) -> Result<u64, String> {
    let mut flags = 0u64;
    for &entry in &info.clone_namespaces {
        if !NAMESPACE_FLAGS.iter().any(|(flag, _)| *flag == entry) {
            return Err(format!(
                "clone_namespaces holds {entry:#x}, which is not one of {}",
                NAMESPACE_FLAGS.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
            ));
        }
        flags |= entry as u32 as u64;
    }
    Ok(flags)
}

/// Whether `flags` holds the namespace flag `flag`.
pub fn has(flags: u64, flag: i32) -> bool {
    flags & flag as u32 as u64 != 0
}

/// The program and argv of a command: `/bin/sh -c value` for a shell command, else `value` run with
/// `arguments` as its argv (`[value]` when there are none, as Mesos does).
pub fn argv(command: &CommandInfo) -> Result<(String, Vec<String>), String> {
    if command.value.is_empty() {
        return Err("the command has no value".to_owned());
    }
    if command.shell {
        return Ok(("/bin/sh".to_owned(), vec!["sh".to_owned(), "-c".to_owned(), command.value.clone()]));
    }
    let argv =
        if command.arguments.is_empty() { vec![command.value.clone()] } else { command.arguments.clone() };
    Ok((command.value.clone(), argv))
}

/// The command's environment: the command's own variables, then the isolators' (a later one with
/// the same name wins), and `PATH` when none sets it.
pub fn environment(request: &LaunchRequest) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let command = &request.container_config.command.environment;
    for var in command.iter().chain(&request.launch_info.environment) {
        env.insert(var.name.clone(), var.value.clone());
    }
    env.entry("PATH".to_owned()).or_insert_with(|| DEFAULT_PATH.to_owned());
    env.into_iter().collect()
}

/// Where the command starts: the launch info's working directory, else the sandbox.
pub fn working_directory(request: &LaunchRequest) -> PathBuf {
    PathBuf::from(
        request.launch_info.working_directory.as_deref().unwrap_or(&request.container_config.directory),
    )
}

/// Parses the launch info's rlimits, by Mesos's names (`RLMT_NOFILE`) or the kernel's (`NOFILE`,
/// `RLIMIT_NOFILE`); an absent soft or hard limit is unlimited (module-abi's `RLimit`). The table
/// and the rules are the `rlimits` crate's, which the `posix/rlimits` isolator uses too.
pub fn rlimits(limits: &[RLimit]) -> Result<Vec<Limit>, String> {
    ::rlimits::parse_all(limits).map_err(|e| e.to_string())
}

/// A user as the launch info or the container config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSpec {
    /// A name, looked up in the container's passwd database.
    Name(String),
    /// `uid` or `uid:gid`.
    Numeric { uid: u32, gid: Option<u32> },
}

/// Parses a user: a name (`nobody`) or `uid[:gid]` (`1000`, `1000:1000`).
pub fn parse_user(user: &str) -> Result<UserSpec, String> {
    let number = |text: &str, what: &str| {
        text.parse::<u32>().map_err(|_| format!("user '{user}': the {what} '{text}' is not a number"))
    };
    if user.is_empty() {
        return Err("the user is empty".to_owned());
    }
    if let Some((uid, gid)) = user.split_once(':') {
        return Ok(UserSpec::Numeric { uid: number(uid, "uid")?, gid: Some(number(gid, "gid")?) });
    }
    if user.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(UserSpec::Numeric { uid: number(user, "uid")?, gid: None });
    }
    if user.bytes().any(|b| b.is_ascii_whitespace() || b == b'/' || b == 0) {
        return Err(format!("user '{user}' is not a valid user name"));
    }
    Ok(UserSpec::Name(user.to_owned()))
}

/// The user the command runs as: the launch info's, else the container config's; with
/// supplementary groups but no user, the helper's own (so the groups still apply).
pub fn user(request: &LaunchRequest) -> Result<Option<UserSpec>, String> {
    let named = request.launch_info.user.as_deref().or(request.container_config.user.as_deref());
    match named {
        Some(name) => parse_user(name).map(Some),
        None if !request.launch_info.supplementary_groups.is_empty() => Ok(Some(UserSpec::Numeric {
            uid: nix::unistd::geteuid().as_raw(),
            gid: Some(nix::unistd::getegid().as_raw()),
        })),
        None => Ok(None),
    }
}

/// The `SECCOMP_FILTER_FLAG_*` the helper passes on: `TSYNC`, `LOG` and `SPEC_ALLOW`.
pub const SECCOMP_FLAGS: u32 = 1 | 2 | 4;

/// The kernel's limit on a seccomp filter's length (`BPF_MAXINSNS`).
pub const SECCOMP_MAX_INSTRUCTIONS: usize = 4096;

/// The capability sets a launch info asks for; `None` leaves a set as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub effective: Option<CapsHashSet>,
    pub bounding: Option<CapsHashSet>,
}

/// Parses Mesos's capability names (`CHOWN`, `NET_RAW`: the kernel's without `CAP_`).
fn capability_set(names: &[String], field: &str) -> Result<CapsHashSet, String> {
    names
        .iter()
        .map(|name| {
            Capability::from_str(&format!("CAP_{name}"))
                .map_err(|_| format!("{field} in the launch info: unknown capability '{name}'"))
        })
        .collect()
}

/// The launch info's capabilities. The effective set must lie within the bounding set: the
/// helper makes the effective set the ambient set too, which the kernel keeps within the
/// inheritable set, which Mesos's launcher sets to the bounding set.
pub fn capabilities(info: &ContainerLaunchInfo) -> Result<Capabilities, String> {
    let effective = info
        .effective_capabilities
        .as_deref()
        .map(|n| capability_set(n, "effective_capabilities"))
        .transpose()?;
    let bounding = info
        .bounding_capabilities
        .as_deref()
        .map(|n| capability_set(n, "bounding_capabilities"))
        .transpose()?;
    if let (Some(effective), Some(bounding)) = (&effective, &bounding) {
        let mut outside: Vec<String> = effective.difference(bounding).map(|c| c.to_string()).collect();
        if !outside.is_empty() {
            outside.sort();
            return Err(format!(
                "the effective capabilities {} are not in the bounding capabilities of the launch info",
                outside.join(", ")
            ));
        }
    }
    Ok(Capabilities { effective, bounding })
}

/// Checks the launch info's seccomp program as far as the host can: not empty, not longer than
/// the kernel takes, only flags the helper passes on. The kernel checks the instructions.
pub fn seccomp(info: &ContainerLaunchInfo) -> Result<Option<&SeccompProgram>, String> {
    let Some(program) = &info.seccomp else { return Ok(None) };
    if program.filter.is_empty() {
        return Err("the seccomp program in the launch info is empty".to_owned());
    }
    if program.filter.len() > SECCOMP_MAX_INSTRUCTIONS {
        return Err(format!(
            "the seccomp program in the launch info has {} instructions, more than the kernel's {SECCOMP_MAX_INSTRUCTIONS}",
            program.filter.len()
        ));
    }
    if program.flags & !SECCOMP_FLAGS != 0 {
        return Err(format!(
            "the seccomp program in the launch info asks for flags {:#x}; only SECCOMP_FILTER_FLAG_TSYNC, _LOG and \
             _SPEC_ALLOW are supported",
            program.flags & !SECCOMP_FLAGS
        ));
    }
    Ok(Some(program))
}

/// A rootfs is entered with `pivot_root` in the container's own mount namespace, so it needs
/// `CLONE_NEWNS`; it must be a directory (the one check here that looks at the file system); and
/// a mount must not cover it whole, since mount targets are paths inside it.
fn validate_rootfs(
    rootfs: &str,
    flags: u64,
    mounts: &[module_abi::ContainerMountInfo],
) -> Result<(), String> {
    if !has(flags, libc::CLONE_NEWNS) {
        return Err("a rootfs needs a mount namespace (CLONE_NEWNS in clone_namespaces)".to_owned());
    }
    if !rootfs.starts_with('/') {
        return Err(format!("the rootfs '{rootfs}' is not an absolute path"));
    }
    match std::fs::metadata(rootfs) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(format!("the rootfs '{rootfs}' is not a directory")),
        Err(e) => return Err(format!("the rootfs '{rootfs}' cannot be used: {e}")),
    }
    if let Some(mount) =
        mounts.iter().find(|m| m.target.split('/').all(|part| part.is_empty() || part == "."))
    {
        return Err(format!("mount target '{}' would cover the whole rootfs", mount.target));
    }
    Ok(())
}

/// Checks everything the helper will do with the request, on the host, before the clone.
pub fn validate(request: &LaunchRequest) -> Result<u64, String> {
    let flags = clone_flags(&request.launch_info)?;
    argv(&request.container_config.command)?;
    rlimits(&request.launch_info.rlimits)?;
    let info = &request.launch_info;
    capabilities(info)?;
    seccomp(info)?;
    if !info.mounts.is_empty() && !has(flags, libc::CLONE_NEWNS) {
        return Err("mounts need a mount namespace (CLONE_NEWNS in clone_namespaces)".to_owned());
    }
    if let Some(mount) = info.mounts.iter().find(|m| !m.target.starts_with('/')) {
        return Err(format!("mount target '{}' is not an absolute path", mount.target));
    }
    if let Some(mount) = info.mounts.iter().find(|m| m.target.split('/').any(|part| part == "..")) {
        return Err(format!("mount target '{}' has a '..' component", mount.target));
    }
    if let Some(rootfs) = &info.rootfs {
        validate_rootfs(rootfs, flags, &info.mounts)?;
    }
    if info.read_only_rootfs == Some(true) && info.rootfs.is_none() {
        return Err("a read-only rootfs needs a rootfs".to_owned());
    }
    if let Some(hostname) = &info.hostname {
        if !has(flags, libc::CLONE_NEWUTS) {
            return Err("a hostname needs a UTS namespace (CLONE_NEWUTS in clone_namespaces)".to_owned());
        }
        if hostname.is_empty() || hostname.len() > HOSTNAME_MAX {
            return Err(format!("hostname '{hostname}' must be 1 to {HOSTNAME_MAX} bytes"));
        }
    }
    user(request)?;
    if !request.container_config.directory.starts_with('/') {
        return Err(format!("the sandbox '{}' is not an absolute path", request.container_config.directory));
    }
    Ok(flags)
}

#[cfg(test)]
mod user_tests {
    use super::*;

    #[test]
    fn users_are_names_or_numbers() {
        assert_eq!(parse_user("nobody"), Ok(UserSpec::Name("nobody".into())));
        assert_eq!(parse_user("1000"), Ok(UserSpec::Numeric { uid: 1000, gid: None }));
        assert_eq!(parse_user("1000:100"), Ok(UserSpec::Numeric { uid: 1000, gid: Some(100) }));
        assert_eq!(parse_user(""), Err("the user is empty".into()));
        assert!(parse_user("a b").is_err());
        assert!(parse_user(":1").unwrap_err().contains("the uid '' is not a number"));
        assert!(parse_user("99999999999").unwrap_err().contains("is not a number"));
    }

    #[test]
    fn the_launch_infos_user_wins_over_the_configs() {
        let mut request = LaunchRequest {
            container_id: module_abi::ContainerId::new("c"),
            container_config: module_abi::ContainerConfig { user: Some("2".into()), ..Default::default() },
            launch_info: ContainerLaunchInfo::default(),
            attach_output: false,
            inherit_stdio: false,
            release_fifo: None,
        };
        assert_eq!(user(&request), Ok(Some(UserSpec::Numeric { uid: 2, gid: None })));
        request.launch_info.user = Some("daemon".into());
        assert_eq!(user(&request), Ok(Some(UserSpec::Name("daemon".into()))));
        request.container_config.user = None;
        request.launch_info.user = None;
        assert_eq!(user(&request), Ok(None));
        request.launch_info.supplementary_groups = vec![5];
        assert!(matches!(user(&request), Ok(Some(UserSpec::Numeric { .. }))));
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerConfig, ContainerId, ContainerMountInfo, EnvironmentVariable, SockFilter};
    use rlimits::{RLIM_INFINITY, Resource};

    use super::*;

    fn request(command: CommandInfo, info: ContainerLaunchInfo) -> LaunchRequest {
        LaunchRequest {
            container_id: ContainerId::new("c1"),
            container_config: ContainerConfig { command, directory: "/sandbox".into(), ..Default::default() },
            launch_info: info,
            attach_output: false,
            inherit_stdio: false,
            release_fifo: None,
        }
    }

    fn shell(value: &str) -> CommandInfo {
        CommandInfo { shell: true, value: value.into(), ..Default::default() }
    }

    fn var(name: &str, value: &str) -> EnvironmentVariable {
        EnvironmentVariable { name: name.into(), value: value.into() }
    }

    #[test]
    fn clone_flags_are_the_union() {
        let info = ContainerLaunchInfo {
            clone_namespaces: vec![libc::CLONE_NEWPID, libc::CLONE_NEWNS, libc::CLONE_NEWPID],
            ..Default::default()
        };
        assert_eq!(clone_flags(&info).unwrap(), (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64);
        assert_eq!(clone_flags(&ContainerLaunchInfo::default()).unwrap(), 0);
    }

    #[test]
    fn clone_flags_refuse_what_is_not_a_namespace() {
        for bad in [0, libc::CLONE_VM, libc::CLONE_NEWPID | libc::CLONE_NEWNS] {
            let info = ContainerLaunchInfo { clone_namespaces: vec![bad], ..Default::default() };
            assert!(clone_flags(&info).unwrap_err().contains("not one of"), "{bad:#x}");
        }
    }

    #[test]
    fn argv_of_shell_and_program() {
        assert_eq!(
            argv(&shell("echo hi")).unwrap(),
            ("/bin/sh".into(), vec!["sh".into(), "-c".into(), "echo hi".into()])
        );
        let program = CommandInfo {
            value: "/bin/echo".into(),
            arguments: vec!["echo".into(), "x".into()],
            ..Default::default()
        };
        assert_eq!(argv(&program).unwrap(), ("/bin/echo".into(), vec!["echo".into(), "x".into()]));
        let bare = CommandInfo { value: "true".into(), ..Default::default() };
        assert_eq!(argv(&bare).unwrap().1, vec!["true".to_owned()]);
        assert!(argv(&CommandInfo::default()).is_err());
    }

    #[test]
    fn environment_merges_and_defaults_path() {
        let mut command = shell("env");
        command.environment = vec![var("A", "1"), var("B", "command")];
        let info = ContainerLaunchInfo { environment: vec![var("B", "isolator")], ..Default::default() };
        let env = environment(&request(command, info));
        assert_eq!(
            env,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "isolator".to_owned()),
                ("PATH".to_owned(), DEFAULT_PATH.to_owned())
            ]
        );
        let mut command = shell("env");
        command.environment = vec![var("PATH", "/x")];
        let env = environment(&request(command, ContainerLaunchInfo::default()));
        assert_eq!(env, vec![("PATH".to_owned(), "/x".to_owned())]);
    }

    #[test]
    fn working_directory_defaults_to_the_sandbox() {
        let r = request(shell("pwd"), ContainerLaunchInfo::default());
        assert_eq!(working_directory(&r), PathBuf::from("/sandbox"));
        let info = ContainerLaunchInfo { working_directory: Some("/tmp".into()), ..Default::default() };
        assert_eq!(working_directory(&request(shell("pwd"), info)), PathBuf::from("/tmp"));
    }

    #[test]
    fn rlimits_by_mesos_and_kernel_names() {
        let parsed = rlimits(&[
            RLimit { kind: "RLMT_NOFILE".into(), soft: Some(10), hard: Some(20) },
            RLimit { kind: "core".into(), soft: None, hard: None },
        ])
        .unwrap();
        assert_eq!(
            parsed[0],
            Limit { name: "RLMT_NOFILE", resource: Resource::RLIMIT_NOFILE, soft: 10, hard: 20 }
        );
        assert_eq!(
            parsed[1],
            Limit {
                name: "RLMT_CORE",
                resource: Resource::RLIMIT_CORE,
                soft: RLIM_INFINITY,
                hard: RLIM_INFINITY
            }
        );
        assert!(rlimits(&[RLimit { kind: "RLMT_BOGUS".into(), soft: None, hard: None }]).is_err());
        assert!(rlimits(&[RLimit { kind: "NOFILE".into(), soft: Some(5), hard: Some(4) }]).is_err());
    }

    #[test]
    fn validate_needs_the_namespaces_it_uses() {
        let mount = ContainerMountInfo {
            target: "/proc".into(),
            source: Some("proc".into()),
            fs_type: Some("proc".into()),
            flags: 0,
            options: None,
        };
        let info = ContainerLaunchInfo { mounts: vec![mount.clone()], ..Default::default() };
        assert!(validate(&request(shell("true"), info)).unwrap_err().contains("CLONE_NEWNS"));
        let info = ContainerLaunchInfo {
            mounts: vec![mount],
            clone_namespaces: vec![libc::CLONE_NEWNS],
            ..Default::default()
        };
        assert!(validate(&request(shell("true"), info)).is_ok());
        let info = ContainerLaunchInfo { hostname: Some("h".into()), ..Default::default() };
        assert!(validate(&request(shell("true"), info)).unwrap_err().contains("CLONE_NEWUTS"));
        let info = ContainerLaunchInfo {
            hostname: Some("h".repeat(65)),
            clone_namespaces: vec![libc::CLONE_NEWUTS],
            ..Default::default()
        };
        assert!(validate(&request(shell("true"), info)).unwrap_err().contains("64"));
    }

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn capabilities_by_mesos_names_effective_within_bounding() {
        let info = ContainerLaunchInfo {
            effective_capabilities: names(&["CHOWN"]),
            bounding_capabilities: names(&["CHOWN", "NET_RAW"]),
            ..Default::default()
        };
        let caps = capabilities(&info).unwrap();
        assert_eq!(caps.effective, Some([Capability::CAP_CHOWN].into()));
        assert_eq!(caps.bounding, Some([Capability::CAP_CHOWN, Capability::CAP_NET_RAW].into()));
        assert!(validate(&request(shell("true"), info)).is_ok());
        assert_eq!(capabilities(&ContainerLaunchInfo::default()).unwrap(), Capabilities::default());
        let empty = ContainerLaunchInfo { effective_capabilities: names(&[]), ..Default::default() };
        assert_eq!(capabilities(&empty).unwrap().effective, Some(CapsHashSet::new()));

        let unknown =
            ContainerLaunchInfo { bounding_capabilities: names(&["CAP_CHOWN"]), ..Default::default() };
        assert_eq!(
            validate(&request(shell("true"), unknown)).unwrap_err(),
            "bounding_capabilities in the launch info: unknown capability 'CAP_CHOWN'"
        );
        let outside = ContainerLaunchInfo {
            effective_capabilities: names(&["KILL", "CHOWN", "NET_RAW"]),
            bounding_capabilities: names(&["NET_RAW"]),
            ..Default::default()
        };
        assert_eq!(
            capabilities(&outside).unwrap_err(),
            "the effective capabilities CAP_CHOWN, CAP_KILL are not in the bounding capabilities of the launch info"
        );
    }

    #[test]
    fn seccomp_programs_are_checked_for_what_the_host_can_see() {
        let insn = SockFilter { code: 0x06, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW };
        let with = |filter: Vec<SockFilter>, flags: u32| ContainerLaunchInfo {
            seccomp: Some(SeccompProgram { filter, flags }),
            no_new_privileges: Some(true),
            ..Default::default()
        };
        assert!(validate(&request(shell("true"), with(vec![insn], 2))).is_ok());
        assert!(validate(&request(shell("true"), with(vec![], 0))).unwrap_err().contains("is empty"));
        assert!(
            validate(&request(shell("true"), with(vec![insn; 4097], 0)))
                .unwrap_err()
                .contains("4097 instructions")
        );
        assert!(validate(&request(shell("true"), with(vec![insn], 8))).unwrap_err().contains("flags 0x8"));
    }

    #[test]
    fn what_is_not_applied_yet_is_refused() {
        let user = ContainerLaunchInfo { user: Some("1000:x".into()), ..Default::default() };
        assert_eq!(
            validate(&request(shell("true"), user)).unwrap_err(),
            "user '1000:x': the gid 'x' is not a number"
        );
        let groups = ContainerLaunchInfo { supplementary_groups: vec![10], ..Default::default() };
        assert!(validate(&request(shell("true"), groups)).is_ok());
        let nnp = ContainerLaunchInfo { no_new_privileges: Some(false), ..Default::default() };
        assert!(validate(&request(shell("true"), nnp)).is_ok());
    }

    #[test]
    fn validate_a_rootfs() {
        let dir =
            std::env::temp_dir().join(format!("linux-containerizer-spec-rootfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("file");
        std::fs::write(&file, "").unwrap();
        let with = |rootfs: &str, namespaces: Vec<i32>, target: &str| {
            let mount = ContainerMountInfo {
                target: target.into(),
                source: Some("proc".into()),
                fs_type: Some("proc".into()),
                flags: 0,
                options: None,
            };
            let info = ContainerLaunchInfo {
                rootfs: Some(rootfs.into()),
                clone_namespaces: namespaces,
                mounts: vec![mount],
                ..Default::default()
            };
            validate(&request(shell("true"), info))
        };
        let ns = || vec![libc::CLONE_NEWNS];
        let rootfs = dir.display().to_string();
        assert!(with(&rootfs, ns(), "/proc").is_ok());
        assert!(with(&rootfs, vec![libc::CLONE_NEWPID], "/proc").unwrap_err().contains("CLONE_NEWNS"));
        let err = with(&file.display().to_string(), ns(), "/proc").unwrap_err();
        assert_eq!(err, format!("the rootfs '{}' is not a directory", file.display()));
        assert!(with("/nonexistent/rootfs", ns(), "/proc").unwrap_err().contains("cannot be used"));
        assert!(with("rootfs", ns(), "/proc").unwrap_err().contains("not an absolute path"));
        assert!(with(&rootfs, ns(), "/").unwrap_err().contains("would cover the whole rootfs"));
        assert!(with(&rootfs, ns(), "/./").unwrap_err().contains("would cover the whole rootfs"));
        assert_eq!(
            with(&rootfs, ns(), "/a/../../etc").unwrap_err(),
            "mount target '/a/../../etc' has a '..' component"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_read_only_rootfs_needs_a_rootfs() {
        let read_only = |rootfs: Option<&str>| ContainerLaunchInfo {
            rootfs: rootfs.map(str::to_owned),
            read_only_rootfs: Some(true),
            clone_namespaces: vec![libc::CLONE_NEWNS],
            ..Default::default()
        };
        assert_eq!(
            validate(&request(shell("true"), read_only(None))).unwrap_err(),
            "a read-only rootfs needs a rootfs"
        );
        assert!(validate(&request(shell("true"), read_only(Some("/")))).is_ok());
        let writable = ContainerLaunchInfo { read_only_rootfs: Some(false), ..Default::default() };
        assert!(validate(&request(shell("true"), writable)).is_ok());
    }
}
