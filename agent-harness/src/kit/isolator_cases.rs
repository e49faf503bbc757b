//! The cases of the suite's built-in isolators: each checks, from inside a container, the one
//! effect its isolator exists for, and runs only when that isolator is in `--isolation`
//! ([`Needs::Isolator`]). A case that cannot be set up here (no static busybox for a rootfs, a
//! seccomp directory the kit does not own) is skipped with the reason ([`SKIP`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use module_abi::{
    CapabilityInfo, CommandInfo, ContainerInfo, LinuxInfo, RLimit, RLimitInfo, ResourceStatistics,
    SeccompInfo,
};

use super::Ctx;
use super::cases::{Case, Needs};
use crate::engine::{ContainerSpec, Outcome};

/// A case's error text that starts with this makes it skipped, not failed.
pub const SKIP: &str = "skip: ";

/// The seccomp profile the kit writes into its own `seccomp_config_dir`.
pub const SECCOMP_PROFILE: &str = "agent-harness-kit-deny-mkdir.json";

/// Denies `mkdir` and `mkdirat` with `EPERM`, allows the rest.
pub const SECCOMP_PROFILE_JSON: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

/// The built-in isolators' cases, in Mesos's creation order of their isolators.
pub const ISOLATOR_CASES: &[Case] = &[
    Case {
        name: "filesystem_linux_gives_a_private_root_and_the_sandbox",
        needs: Needs::Isolator("org_apache_mesos_LinuxFilesystemIsolator"),
        run: filesystem_linux,
    },
    Case {
        name: "posix_cpu_reports_the_process_trees_cpu_time",
        needs: Needs::Isolator("org_apache_mesos_PosixCpuIsolator"),
        run: posix_cpu_mem,
    },
    Case {
        name: "posix_mem_reports_the_process_trees_memory",
        needs: Needs::Isolator("org_apache_mesos_PosixMemIsolator"),
        run: posix_mem,
    },
    Case {
        name: "posix_rlimits_are_the_limits_seen_inside",
        needs: Needs::Isolator("org_apache_mesos_PosixRLimitsIsolator"),
        run: posix_rlimits,
    },
    Case {
        name: "cgroups_devices_refuses_a_device_outside_the_list",
        needs: Needs::Isolator("org_apache_mesos_CgroupsDevicesIsolator"),
        run: cgroups_devices,
    },
    Case {
        name: "cgroups_pids_bounds_a_fork_bomb",
        needs: Needs::Isolator("org_apache_mesos_CgroupsPidsIsolator"),
        run: cgroups_pids,
    },
    Case {
        name: "linux_capabilities_are_exactly_the_asked_sets",
        needs: Needs::Isolator("org_apache_mesos_LinuxCapabilitiesIsolator"),
        run: linux_capabilities,
    },
    Case {
        name: "linux_nnp_sets_no_new_privs",
        needs: Needs::Isolator("org_apache_mesos_LinuxNnpIsolator"),
        run: linux_nnp,
    },
    Case {
        name: "linux_seccomp_denies_a_system_call",
        needs: Needs::Isolator("org_apache_mesos_LinuxSeccompIsolator"),
        run: linux_seccomp,
    },
];

fn shell(script: &str) -> CommandInfo {
    CommandInfo {
        shell: false,
        value: "/bin/sh".into(),
        arguments: vec!["sh".into(), "-c".into(), script.into()],
        environment: Vec::new(),
    }
}

fn with_linux_info(mut spec: ContainerSpec, linux: LinuxInfo) -> ContainerSpec {
    spec.container_info = Some(ContainerInfo { linux_info: Some(linux), ..Default::default() });
    spec
}

/// Runs `spec` to its end; its exit status must be 0. Returns the command's stdout.
fn stdout_of(ctx: &Ctx, spec: &ContainerSpec) -> Result<String, String> {
    let outcome = ctx.run_to_end(spec)?;
    let stdout = output(&outcome, "stdout");
    if outcome.exit_status != 0 {
        return Err(format!(
            "the command exited with {}; stdout: {:?}; stderr: {:?}",
            outcome.exit_status,
            stdout.trim(),
            output(&outcome, "stderr").trim()
        ));
    }
    Ok(stdout)
}

fn output(outcome: &Outcome, name: &str) -> String {
    std::fs::read_to_string(Path::new(&outcome.sandbox).join(name)).unwrap_or_default()
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// A `/proc/self/status` line's value, as the command printed it (`CapEff:\t...`).
fn status_field<'a>(text: &'a str, field: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(str::trim)
}

/// A statically linked busybox to build a rootfs from, if the machine has one.
pub fn static_busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|path| std::fs::read(path).is_ok_and(|bytes| is_static_elf64(&bytes)))
}

/// Whether `bytes` are a little-endian ELF64 executable without a `PT_INTERP` program header
/// (a dynamic one needs its loader, which a bare rootfs lacks).
fn is_static_elf64(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at = |at: usize| {
        bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).map(|v| v as usize)
    };
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return false;
    }
    let (Some(offset), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    (0..count).all(|i| u32_at(offset + i * size).is_some_and(|kind| kind != PT_INTERP))
}

/// A rootfs under the kit's work directory: busybox and its `sh`, `cat`, `ls`, `grep` and
/// `readlink`, plus the empty directories the container's mounts go on.
fn busybox_rootfs(ctx: &Ctx, busybox: &Path) -> Result<PathBuf, String> {
    let root = ctx.work_dir.join(format!("rootfs-{}", ctx.new_id()));
    let io =
        |what: &str, e: std::io::Error| format!("cannot build the rootfs {}: {what}: {e}", root.display());
    std::fs::create_dir_all(root.join("bin")).map_err(|e| io("bin", e))?;
    std::fs::copy(busybox, root.join("bin/busybox")).map_err(|e| io("busybox", e))?;
    for applet in ["sh", "cat", "ls", "grep", "readlink", "echo", "test"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).map_err(|e| io(applet, e))?;
    }
    Ok(root)
}

fn filesystem_linux(ctx: &Ctx) -> Result<(), String> {
    let Some(busybox) = static_busybox() else {
        return Err(format!(
            "{SKIP}no statically linked busybox at /bin/busybox or /usr/bin/busybox to build a rootfs"
        ));
    };
    let root = busybox_rootfs(ctx, &busybox)?;
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt").map_err(|e| e.to_string())?;
    let mut spec = ctx.spec(
        shell("readlink /proc/self/ns/mnt; echo \"sandbox=$MESOS_SANDBOX\"; echo probe > /mnt/mesos/sandbox/probe; ls /"),
        "cpus:0.25;mem:64",
        "",
    );
    spec.rootfs = Some(root.display().to_string());
    let result = (|| {
        let outcome = ctx.run_to_end(&spec)?;
        let stdout = output(&outcome, "stdout");
        ensure(outcome.exit_status == 0, || {
            format!("the command exited with {}: {}", outcome.exit_status, output(&outcome, "stderr").trim())
        })?;
        let mut lines = stdout.lines();
        let mnt = lines.next().unwrap_or_default();
        ensure(!mnt.is_empty() && Path::new(mnt) != host_mnt, || {
            format!("the command's mount namespace is '{mnt}', the harness's {}", host_mnt.display())
        })?;
        ensure(lines.next() == Some("sandbox=/mnt/mesos/sandbox"), || {
            format!("MESOS_SANDBOX is not /mnt/mesos/sandbox: {stdout:?}")
        })?;
        let probe = Path::new(&outcome.sandbox).join("probe");
        ensure(std::fs::read_to_string(&probe).is_ok_and(|t| t == "probe\n"), || {
            format!("a file written to /mnt/mesos/sandbox is not in the sandbox ({})", probe.display())
        })?;
        let listing: Vec<&str> = lines.collect();
        ensure(listing.contains(&"bin") && !listing.contains(&"usr") && !listing.contains(&"etc"), || {
            format!("/ in the container is not the rootfs: {listing:?}")
        })
    })();
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// Polls one isolator's usage of a running busy loop until `done` holds (30 s at most).
fn usage_of(
    ctx: &Ctx,
    module: &str,
    done: impl Fn(&ResourceStatistics) -> bool,
    what: &str,
) -> Result<(), String> {
    let engine = ctx.engine()?;
    let isolator = engine
        .modules
        .isolators
        .iter()
        .find(|i| i.name() == module)
        .ok_or_else(|| format!("{module} is not among the created isolators"))?;
    let spec = ctx.spec(shell("while :; do :; done"), "cpus:0.25;mem:64", "");
    ctx.with_running(&spec, |launched| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let usage = isolator.usage(&launched.container_id).map_err(|e| e.to_string())?;
            if done(&usage) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{module} did not report {what} within 30s: {usage:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn posix_cpu_mem(ctx: &Ctx) -> Result<(), String> {
    usage_of(
        ctx,
        "org_apache_mesos_PosixCpuIsolator",
        |u| u.cpus_user_time_secs.unwrap_or(0.0) + u.cpus_system_time_secs.unwrap_or(0.0) > 0.0,
        "CPU time for a busy loop",
    )
}

fn posix_mem(ctx: &Ctx) -> Result<(), String> {
    usage_of(
        ctx,
        "org_apache_mesos_PosixMemIsolator",
        |u| u.mem_rss_bytes.unwrap_or(0) > 0,
        "a resident set for a running shell",
    )
}

fn posix_rlimits(ctx: &Ctx) -> Result<(), String> {
    let mut spec = ctx.spec(shell("ulimit -n; ulimit -H -n"), "", "");
    spec.container_info = Some(ContainerInfo {
        rlimit_info: Some(RLimitInfo {
            rlimits: vec![RLimit { kind: "RLMT_NOFILE".into(), soft: Some(256), hard: Some(512) }],
        }),
        ..Default::default()
    });
    let stdout = stdout_of(ctx, &spec)?;
    let seen: Vec<&str> = stdout.lines().collect();
    ensure(seen == ["256", "512"], || format!("RLMT_NOFILE 256/512 showed as {seen:?} inside"))
}

fn cgroups_devices(ctx: &Ctx) -> Result<(), String> {
    // Nodes made in the sandbox (mknod of any device is on the list): /dev/null's numbers open,
    // /dev/kmsg's (c 1:11: readable by root on any kernel with printk, not on the list) do not.
    let script = "mknod ./null-node c 1 3 && mknod ./kmsg-node c 1 11 || exit 3; \
                  if (exec 3< ./null-node) 2>/dev/null; then echo null-opened; fi; \
                  if (exec 3< ./kmsg-node) 2>/dev/null; then echo kmsg-opened; fi; exit 0";
    let stdout = stdout_of(ctx, &ctx.spec(shell(script), "", ""))?;
    ensure(stdout.lines().any(|l| l == "null-opened"), || {
        format!("a node of /dev/null (on the list) could not be opened either: {stdout:?}")
    })?;
    ensure(!stdout.lines().any(|l| l == "kmsg-opened"), || {
        "a node of /dev/kmsg (c 1:11) was opened".to_string()
    })
}

fn cgroups_pids(ctx: &Ctx) -> Result<(), String> {
    // 64 background sleeps under pids:16: a fork fails and the shell gives up, never printing.
    let script = "i=0; while [ $i -lt 64 ]; do sleep 30 & i=$((i+1)); done; echo all-forked";
    let outcome = ctx.run_to_end(&ctx.spec(shell(script), "", "pids:16"))?;
    let stdout = output(&outcome, "stdout");
    ensure(!stdout.contains("all-forked"), || "64 processes were forked under pids:16".to_string())?;
    ensure(outcome.exit_status != 0, || "the shell whose fork was refused exited with 0".to_string())
}

fn linux_capabilities(ctx: &Ctx) -> Result<(), String> {
    let set = || Some(CapabilityInfo { capabilities: vec!["CHOWN".into(), "KILL".into()] });
    let linux =
        LinuxInfo { effective_capabilities: set(), bounding_capabilities: set(), ..Default::default() };
    let spec = with_linux_info(ctx.spec(shell("cat /proc/self/status"), "", ""), linux);
    let status = stdout_of(ctx, &spec)?;
    // CAP_CHOWN is bit 0, CAP_KILL bit 5.
    for field in ["CapEff", "CapBnd"] {
        let value = status_field(&status, field);
        ensure(value == Some("0000000000000021"), || {
            format!("{field} is {value:?} for CHOWN and KILL (expected 0000000000000021)")
        })?;
    }
    Ok(())
}

fn linux_nnp(ctx: &Ctx) -> Result<(), String> {
    let status = stdout_of(ctx, &ctx.spec(shell("cat /proc/self/status"), "", ""))?;
    let value = status_field(&status, "NoNewPrivs");
    ensure(value == Some("1"), || format!("NoNewPrivs is {value:?}, expected 1"))
}

fn linux_seccomp(ctx: &Ctx) -> Result<(), String> {
    if ctx.seccomp_dir.is_none() {
        return Err(format!(
            "{SKIP}--seccomp_config_dir names a directory of yours; the kit's profile is only in its own"
        ));
    }
    let linux = LinuxInfo {
        seccomp: Some(SeccompInfo { profile_name: Some(SECCOMP_PROFILE.into()), unconfined: None }),
        ..Default::default()
    };
    let script = "if mkdir ./denied 2>/dev/null; then echo made; else echo refused; fi; \
                  if [ -d ./denied ]; then echo exists; fi; echo > ./allowed && echo wrote";
    let stdout = stdout_of(ctx, &with_linux_info(ctx.spec(shell(script), "", ""), linux))?;
    let seen: Vec<&str> = stdout.lines().collect();
    ensure(seen == ["refused", "wrote"], || {
        format!("under a profile denying mkdir the command printed {seen:?} (expected refused, wrote)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_by_name() {
        let status = "Name:\tcat\nCapEff:\t0000000000000021\nNoNewPrivs:\t1\n";
        assert_eq!(status_field(status, "CapEff"), Some("0000000000000021"));
        assert_eq!(status_field(status, "NoNewPrivs"), Some("1"));
        assert_eq!(status_field(status, "CapBnd"), None);
    }

    #[test]
    fn a_loader_makes_an_elf_dynamic() {
        // An ELF64 header with one program header at 0x40, of 56 bytes.
        let mut elf = vec![0u8; 0x40 + 56];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        elf[0x40..0x44].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        assert!(is_static_elf64(&elf));
        elf[0x40..0x44].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        assert!(!is_static_elf64(&elf));
        assert!(!is_static_elf64(b"#!/bin/sh\n"));
        assert!(!is_static_elf64(&elf[..0x50]), "a cut program header table is not trusted");
    }
}
