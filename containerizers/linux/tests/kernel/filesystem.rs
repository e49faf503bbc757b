//! The filesystem isolators with the containerizer, on the real kernel: `filesystem/linux`'s
//! launch info (taken from its `prepare`, merged with `namespaces/pid`'s where a test wants a pid
//! namespace) launches a real container, whose command checks from inside what it sees: the
//! rootfs as `/`, a `/proc` of its own, a minimal `/dev`, a read-only `/sys`, its volumes and its
//! sandbox. Afterwards nothing is mounted under the rootfs, the sandbox or the volumes.
//!
//! The rootfs is built per test from busybox-static (`/bin/busybox` and a symlink per applet), and
//! container commands use only busybox applets, so the tests run the same in the vm-tests
//! guests. Without `/bin/busybox` (static) they are listed as ignored, with the reason.

use std::path::{Path, PathBuf};

use filesystem_isolator::{LinuxFilesystemIsolator, PosixFilesystemIsolator};
use libtest_mimic::{Completion, Failed, Trial};
use module_abi::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerLaunchInfo, Containerizer, LaunchRequest, Module,
    Volume,
};
use namespaces_isolator::NamespacesPidIsolator;

use crate::fixture::{DynIsolator, Fixture, exited, merge, msg, shell};
use crate::{Test, TestResult};

/// Where busybox-static is installed.
const BUSYBOX: &str = "/bin/busybox";

/// The tests of this file.
const TESTS: [(&str, Test); 10] = [
    ("filesystem_rootfs_is_the_containers_root", rootfs_is_the_containers_root),
    ("filesystem_a_read_only_rootfs", a_read_only_rootfs),
    ("filesystem_a_minimal_dev_and_a_read_only_sys", a_minimal_dev_and_a_read_only_sys),
    ("filesystem_volumes_read_only_and_read_write", volumes_read_only_and_read_write),
    ("filesystem_symlinks_in_the_rootfs_stay_inside", symlinks_in_the_rootfs_stay_inside),
    ("filesystem_pid_isolators_proc_lands_in_the_rootfs", pid_isolators_proc_lands_in_the_rootfs),
    ("filesystem_two_containers_share_a_rootfs", two_containers_share_a_rootfs),
    ("filesystem_bad_rootfs_is_refused", bad_rootfs_is_refused),
    ("filesystem_without_a_rootfs_volumes_and_mesos_sandbox", without_a_rootfs_volumes_and_mesos_sandbox),
    ("filesystem_posix_sets_mesos_sandbox", posix_sets_mesos_sandbox),
];

/// The trials of this file: ignored with `suite_reason` (the whole suite cannot run) or with
/// this file's own reason (no busybox-static), else run.
pub fn trials(suite_reason: Option<&str>) -> Vec<Trial> {
    let reason = suite_reason.map(str::to_owned).or_else(cannot_run);
    TESTS
        .into_iter()
        .map(|(name, test)| match &reason {
            None => Trial::test(name, test),
            Some(reason) => {
                let (kind, reason) = (reason.split(" (").next().unwrap_or(reason).to_owned(), reason.clone());
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
                    .with_ignored_flag(true)
                    .with_kind(kind)
            }
        })
        .collect()
}

fn cannot_run() -> Option<String> {
    let usable = std::fs::read(BUSYBOX).ok().is_some_and(|elf| is_static_elf64(&elf));
    (!usable).then(|| format!("needs busybox-static at {BUSYBOX} (apt-get install busybox-static)"))
}

/// Whether `elf` is a 64-bit little-endian ELF without an interpreter (`PT_INTERP`): a static
/// binary, which runs in a rootfs that holds nothing else.
fn is_static_elf64(elf: &[u8]) -> bool {
    let u16_at = |at: usize| elf.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| elf.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at = |at: usize| elf.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    const PT_INTERP: u32 = 3;
    (0..phnum).all(|i| u32_at(phoff as usize + i * phentsize).is_some_and(|kind| kind != PT_INTERP))
}

// ---------------------------------------------------------------------------------------------
// The world of one test: a busybox rootfs and host directories for volumes, under the fixture's
// base directory (removed by `Fixture::finish` once it has checked that nothing is mounted).

/// Builds `<base>/rootfs`: `/bin/busybox`, a link per applet, `/marker`, and `/etc`, `/tmp`,
/// `/proc` (`/sys`, `/dev` and `/mnt` are left for the helper to create).
fn build_rootfs(base: &Path) -> Result<PathBuf, Failed> {
    let rootfs = base.join("rootfs");
    for dir in ["bin", "etc", "tmp", "proc"] {
        std::fs::create_dir_all(rootfs.join(dir))?;
    }
    // A copy, not a link: the container is root and could write to its /bin/busybox.
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox"))?;
    let list = std::process::Command::new(BUSYBOX).arg("--list").output()?;
    ensure!(list.status.success(), "busybox --list failed");
    for applet in String::from_utf8_lossy(&list.stdout).lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))?;
    }
    std::fs::write(rootfs.join("marker"), "rootfs-marker\n")?;
    Ok(rootfs)
}

/// `<base>/host/<name>`, a host directory holding `hello` for volumes.
fn host_dir(base: &Path, name: &str) -> Result<PathBuf, Failed> {
    let dir = base.join("host").join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("hello"), format!("hello from {name}\n"))?;
    Ok(dir)
}

fn volume(container_path: &str, host_path: &Path, mode: &str) -> Volume {
    Volume {
        mode: Some(mode.to_owned()),
        container_path: container_path.to_owned(),
        host_path: Some(host_path.display().to_string()),
    }
}

/// The container config the harness would give the isolators: the sandbox (created, as the
/// harness does before `prepare`), the rootfs and the volumes.
fn config(
    f: &Fixture,
    id: &str,
    script: &str,
    rootfs: Option<&Path>,
    volumes: Vec<Volume>,
) -> Result<ContainerConfig, Failed> {
    std::fs::create_dir_all(f.sandbox(id))?;
    Ok(ContainerConfig {
        command: shell(script),
        directory: f.sandbox(id).display().to_string(),
        rootfs: rootfs.map(|r| r.display().to_string()),
        container_info: Some(ContainerInfo { volumes, ..Default::default() }),
        ..Default::default()
    })
}

/// prepare (every isolator, merged in order) -> the request the containerizer launches.
fn request(
    id: &str,
    config: ContainerConfig,
    isolators: &[&dyn DynIsolator],
) -> Result<LaunchRequest, Failed> {
    let container_id = ContainerId::new(id);
    let mut launch_info = ContainerLaunchInfo::default();
    for isolator in isolators {
        if let Some(info) = isolator.prepare(&container_id, &config).map_err(msg)? {
            launch_info.rootfs = launch_info.rootfs.take().or(info.rootfs.clone());
            launch_info.working_directory =
                launch_info.working_directory.take().or(info.working_directory.clone());
            merge(&mut launch_info, info);
        }
    }
    Ok(LaunchRequest {
        container_id,
        container_config: config,
        launch_info,
        attach_output: false,
        inherit_stdio: false,
        release_fifo: None,
    })
}

/// Mount points under any of `dirs` in this (the host's) mount table.
fn mounts_under(dirs: &[&Path]) -> Result<Vec<String>, Failed> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")?;
    // The tests' paths have no space or other byte mountinfo escapes, so the field is the path.
    Ok(table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| dirs.iter().any(|dir| Path::new(point).starts_with(dir)))
        .map(str::to_owned)
        .collect())
}

fn nothing_mounted_under(dirs: &[&Path], when: &str) -> TestResult {
    let left = mounts_under(dirs)?;
    ensure!(left.is_empty(), "{when}, the host's mount table holds {left:?}");
    Ok(())
}

/// Waits (bounded) until `path` exists: a container signalling that it got somewhere.
fn wait_for(path: &Path) -> TestResult {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        ensure!(std::time::Instant::now() < deadline, "{} did not appear", path.display());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

fn linux_isolator() -> Result<LinuxFilesystemIsolator, Failed> {
    LinuxFilesystemIsolator::create(vec![]).map_err(msg)
}

fn stdout_lines(f: &Fixture, id: &str) -> Vec<String> {
    f.read(id, "stdout").lines().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------------------------

/// `/` is the rootfs (its marker; the host's sandbox path is not there: Mesos's
/// `ROOT_ChangeRootFilesystem`), `/proc` shows only the container, and the sandbox is at
/// `/mnt/mesos/sandbox`, which is also `$MESOS_SANDBOX` and the working directory (Mesos's
/// `ROOT_SandboxEnvironmentVariable`).
fn rootfs_is_the_containers_root() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let script = format!(
        "cat /marker; \
         [ ! -d '{sandbox}' ] && echo no-host-sandbox; \
         echo \"sandbox=$MESOS_SANDBOX\"; pwd; \
         echo from-inside > /mnt/mesos/sandbox/inside.txt; \
         ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; \
         tr '\\0' ' ' < /proc/1/cmdline; echo; \
         [ -e /proc/{host_pid} ] || echo no-host-pid",
        sandbox = f.sandbox("c1").display(),
        host_pid = std::process::id(),
    );
    let (fs, pid_isolator) = (linux_isolator()?, NamespacesPidIsolator::create(vec![]).map_err(msg)?);
    let isolators: [&dyn DynIsolator; 2] = [&fs, &pid_isolator];
    let request = request("c1", config(&f, "c1", &script, Some(&rootfs), vec![])?, &isolators)?;
    let pid = f.start_request(&request, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let lines = stdout_lines(&f, "c1");
    ensure!(lines.first().map(String::as_str) == Some("rootfs-marker"), "/ is not the rootfs: {lines:?}");
    ensure!(
        lines.get(1).map(String::as_str) == Some("no-host-sandbox"),
        "the host's sandbox path is visible: {lines:?}"
    );
    ensure!(
        lines.get(2).map(String::as_str) == Some("sandbox=/mnt/mesos/sandbox"),
        "MESOS_SANDBOX: {lines:?}"
    );
    ensure!(lines.get(3).map(String::as_str) == Some("/mnt/mesos/sandbox"), "working directory: {lines:?}");
    let pids: Vec<u32> = lines
        .get(4)
        .map(|l| l.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    ensure!(pids.first() == Some(&1) && pids.iter().all(|p| *p < 20), "/proc lists {pids:?}");
    ensure!(
        lines.get(5).is_some_and(|l| l.contains("mesos-containerizer")),
        "pid 1 is not the helper: {lines:?}"
    );
    ensure!(
        lines.get(6).map(String::as_str) == Some("no-host-pid"),
        "the host's pids are visible: {lines:?}"
    );
    let inside = std::fs::read_to_string(f.sandbox("c1").join("inside.txt")).unwrap_or_default();
    ensure!(inside == "from-inside\n", "/mnt/mesos/sandbox is not the sandbox: {inside:?}");
    nothing_mounted_under(&[&rootfs, &f.sandbox("c1")], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// `/dev` holds only the standard nodes and links, which work (Mesos's
/// `ROOT_PseudoDevicesWithRootFilesystem`); `/dev/pts` and `/dev/shm` are their own; `/sys` is
/// read-only.
fn a_minimal_dev_and_a_read_only_sys() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let script = "ls -A /dev | tr '\\n' ' '; echo; \
         dd if=/dev/zero of=/dev/null bs=1024 count=1 2>/dev/null && \
         dd if=/dev/random of=/dev/null bs=1024 count=1 2>/dev/null && \
         dd if=/dev/urandom of=/dev/null bs=1024 count=1 2>/dev/null && \
         dd if=/dev/full of=/dev/null bs=1024 count=1 2>/dev/null && echo devices-work; \
         if echo x > /dev/full 2>/dev/null; then echo full-takes-writes; else echo full-is-full; fi; \
         for link in ptmx fd stdin stdout stderr; do readlink /dev/$link; done | tr '\\n' ' '; echo; \
         echo through-dev-stdout >> /dev/stdout; \
         awk '$2 == \"/dev/pts\" || $2 == \"/dev/shm\" || $2 == \"/dev\" {print $2 \"=\" $3}' /proc/mounts | sort | tr '\\n' ' '; echo; \
         touch /dev/shm/x && echo shm-writable; \
         if touch /sys/x 2>/dev/null || mkdir /sys/kernel/x 2>/dev/null; then echo sys-writable; else echo sys-refuses-writes; fi; \
         awk '$2 == \"/sys\" {split($4, o, \",\"); print \"sys=\" o[1]}' /proc/mounts";
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let request = request("c1", config(&f, "c1", script, Some(&rootfs), vec![])?, &isolators)?;
    let pid = f.start_request(&request, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let lines = stdout_lines(&f, "c1");
    let expected = [
        "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ",
        "devices-work",
        "full-is-full",
        "pts/ptmx /proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 ",
        "through-dev-stdout",
        "/dev/pts=devpts /dev/shm=tmpfs /dev=tmpfs ",
        "shm-writable",
        "sys-refuses-writes",
        "sys=ro",
    ];
    ensure!(lines == expected, "inside the container:\n{lines:#?}\nexpected:\n{expected:#?}");
    nothing_mounted_under(&[&rootfs, &f.sandbox("c1")], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// A read-only volume refuses writes, a read-write one takes them (seen on the host), a relative
/// container path is under the sandbox, a file can be a volume; while the container runs, none of
/// its mounts is in the host's mount table.
fn volumes_read_only_and_read_write() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let (ro, rw, scratch) =
        (host_dir(&f.base, "ro")?, host_dir(&f.base, "rw")?, host_dir(&f.base, "scratch")?);
    let host_file = f.base.join("host/config.txt");
    std::fs::write(&host_file, "a host file\n")?;
    let volumes = vec![
        volume("/data/ro", &ro, "RO"),
        volume("/data/rw", &rw, "RW"),
        volume("scratch", &scratch, "RW"),
        volume("/etc/config.txt", &host_file, "RO"),
    ];
    let script = "cat /data/ro/hello; \
         if echo x > /data/ro/new 2>/dev/null; then echo ro-takes-writes; else echo ro-refuses-writes; fi; \
         echo written-inside > /data/rw/new && echo rw-takes-writes; \
         echo in-scratch > \"$MESOS_SANDBOX/scratch/new\" && cat scratch/hello; \
         cat /etc/config.txt; \
         if echo x >> /etc/config.txt 2>/dev/null; then echo file-takes-writes; else echo file-refuses-writes; fi; \
         touch /mnt/mesos/sandbox/running; \
         while [ ! -e /mnt/mesos/sandbox/go ]; do sleep 0.05; done";
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let request = request("c1", config(&f, "c1", script, Some(&rootfs), volumes)?, &isolators)?;
    let pid = f.start_request(&request, &isolators)?;
    wait_for(&f.sandbox("c1").join("running"))?;
    nothing_mounted_under(&[&f.base], "while the container runs")?;
    std::fs::write(f.sandbox("c1").join("go"), "")?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let lines = stdout_lines(&f, "c1");
    let expected = [
        "hello from ro",
        "ro-refuses-writes",
        "rw-takes-writes",
        "hello from scratch",
        "a host file",
        "file-refuses-writes",
    ];
    ensure!(lines == expected, "inside the container:\n{lines:#?}\nexpected:\n{expected:#?}");
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    ensure!(read(rw.join("new")) == "written-inside\n", "the read-write volume's write is not on the host");
    ensure!(read(scratch.join("new")) == "in-scratch\n", "the sandbox volume's write is not on the host");
    ensure!(!ro.join("new").exists(), "the read-only volume took a write");
    ensure!(read(host_file.clone()) == "a host file\n", "the read-only file volume changed");
    ensure!(f.sandbox("c1").join("scratch").is_dir(), "the sandbox mount point was not made in the sandbox");
    nothing_mounted_under(&[&f.base], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// `read_only_rootfs`: the container's `/` refuses writes and shows as `ro`, while the mounts on
/// top of it (the sandbox, a read-write volume, `/dev`) still take them; on the host the rootfs
/// stays writable and nothing is left mounted.
fn a_read_only_rootfs() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let rw = host_dir(&f.base, "rw")?;
    let script = "if echo x > /new 2>/dev/null; then echo root-takes-writes; else echo root-refuses-writes; fi; \
         if touch /tmp/new 2>/dev/null; then echo tmp-takes-writes; else echo tmp-refuses-writes; fi; \
         awk '$2 == \"/\" {split($4, o, \",\"); print \"root-\" o[1]}' /proc/mounts; \
         echo in-sandbox > /mnt/mesos/sandbox/new && echo sandbox-takes-writes; \
         echo in-volume > /data/rw/new && echo volume-takes-writes; \
         echo x > /dev/null && echo dev-null-takes-writes";
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let volumes = vec![volume("/data/rw", &rw, "RW")];
    let mut request = request("c1", config(&f, "c1", script, Some(&rootfs), volumes)?, &isolators)?;
    request.launch_info.read_only_rootfs = Some(true);
    // Numeric, in a rootfs without /etc/passwd: no entry, and no error (runc's rule).
    request.launch_info.user = Some("0:0".into());
    let pid = f.start_request(&request, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let lines = stdout_lines(&f, "c1");
    let expected = [
        "root-refuses-writes",
        "tmp-refuses-writes",
        "root-ro",
        "sandbox-takes-writes",
        "volume-takes-writes",
        "dev-null-takes-writes",
    ];
    ensure!(lines == expected, "inside the container:\n{lines:#?}\nexpected:\n{expected:#?}");
    ensure!(!rootfs.join("new").exists(), "the read-only rootfs took a write");
    ensure!(std::fs::read_to_string(f.sandbox("c1").join("new"))? == "in-sandbox\n", "no sandbox write");
    ensure!(std::fs::read_to_string(rw.join("new"))? == "in-volume\n", "no volume write");
    std::fs::write(rootfs.join("host-write"), "")
        .map_err(|e| format!("the rootfs is no longer writable on the host: {e}"))?;
    nothing_mounted_under(&[&f.base], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// Symlinks in the rootfs that point outside it (`..` past its top, an absolute link to `/`)
/// carry a volume's mount to the path they name inside the rootfs, never onto the host; one
/// whose target does not exist inside the rootfs fails the container with a clear error.
fn symlinks_in_the_rootfs_stay_inside() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let data = host_dir(&f.base, "data")?;
    // Names that would show up at the host's `/` if a symlink were followed out of the rootfs.
    let (name1, name2) =
        (format!("fsiso-escape1-{}", std::process::id()), format!("fsiso-escape2-{}", std::process::id()));
    std::os::unix::fs::symlink("../../../../../../../../..", rootfs.join("up"))?;
    std::os::unix::fs::symlink("/", rootfs.join("slash"))?;
    let volumes =
        vec![volume(&format!("/up/{name1}"), &data, "RO"), volume(&format!("/slash/{name2}"), &data, "RO")];
    let script = format!("cat /{name1}/hello /{name2}/hello");
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let first = request("c1", config(&f, "c1", &script, Some(&rootfs), volumes)?, &isolators)?;
    let pid = f.start_request(&first, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    ensure!(
        f.read("c1", "stdout") == "hello from data\nhello from data\n",
        "stdout {:?}",
        f.read("c1", "stdout")
    );
    for name in [&name1, &name2] {
        ensure!(!Path::new("/").join(name).exists(), "a mount point was created at the host's /{name}");
        ensure!(rootfs.join(name).is_dir(), "the mount point is not at the rootfs's /{name}");
    }

    // An absolute link to a host directory that the rootfs does not have: refused, nothing made.
    let outside = f.base.join("outside");
    std::fs::create_dir_all(&outside)?;
    std::os::unix::fs::symlink(&outside, rootfs.join("elsewhere"))?;
    let volumes = vec![volume("/elsewhere/vol", &data, "RW")];
    let second = request("c2", config(&f, "c2", "echo ran", Some(&rootfs), volumes)?, &isolators)?;
    let pid2 = f.start_request(&second, &isolators)?;
    ensure!(f.run_to_end("c2")? == exited(1), "the container ran: {}", f.read("c2", "stdout"));
    let stderr = f.read("c2", "stderr");
    ensure!(
        stderr.contains("/elsewhere") && stderr.contains("symlink to a path that does not exist"),
        "stderr {stderr:?}"
    );
    ensure!(f.read("c2", "stdout").is_empty(), "the command ran");
    ensure!(!outside.join("vol").exists(), "a mount point was created outside the rootfs");
    nothing_mounted_under(&[&f.base], "after the containers ended")?;
    f.finish(&["c1", "c2"], &[pid, pid2])
}

/// `namespaces/pid`'s `/proc` mount (target `/proc`) lands on the container's `/proc` with a
/// rootfs, even without `filesystem/linux`'s own.
fn pid_isolators_proc_lands_in_the_rootfs() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let pid_isolator = NamespacesPidIsolator::create(vec![]).map_err(msg)?;
    let isolators: [&dyn DynIsolator; 1] = [&pid_isolator];
    let script =
        "ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; tr '\\0' ' ' < /proc/1/cmdline";
    let mut request = request("c1", config(&f, "c1", script, Some(&rootfs), vec![])?, &isolators)?;
    request.launch_info.rootfs = Some(rootfs.display().to_string());
    request.launch_info.working_directory = Some("/".into());
    // The helper gives the command /dev/null as its stdin, opened in the rootfs.
    #[allow(clippy::unnecessary_cast)]
    request.launch_info.mounts.push(module_abi::ContainerMountInfo {
        target: "/dev/null".into(),
        source: Some("/dev/null".into()),
        fs_type: None,
        flags: libc::MS_BIND as u64,
        options: None,
    });
    let pid = f.start_request(&request, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let lines = stdout_lines(&f, "c1");
    let pids: Vec<u32> = lines
        .first()
        .map(|l| l.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    ensure!(pids.first() == Some(&1) && pids.iter().all(|p| *p < 20), "/proc lists {pids:?}");
    ensure!(
        lines.get(1).is_some_and(|l| l.contains("mesos-containerizer")),
        "pid 1 is not the helper: {lines:?}"
    );
    nothing_mounted_under(&[&rootfs], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// Two containers on one rootfs at once (Mesos's `ROOT_MultipleContainers`): each sees its own
/// sandbox only; destroying the first leaves the second running.
fn two_containers_share_a_rootfs() -> TestResult {
    let f = Fixture::new()?;
    let rootfs = build_rootfs(&f.base)?;
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let waits = "echo $(awk '$2 == \"/mnt/mesos/sandbox\"' /proc/mounts | wc -l) > /mnt/mesos/sandbox/count; \
         while [ ! -e /mnt/mesos/sandbox/go ]; do sleep 0.05; done; cat /marker";
    let first = request("c1", config(&f, "c1", "sleep 1000", Some(&rootfs), vec![])?, &isolators)?;
    let pid1 = f.start_request(&first, &isolators)?;
    let second = request("c2", config(&f, "c2", waits, Some(&rootfs), vec![])?, &isolators)?;
    let pid2 = f.start_request(&second, &isolators)?;
    wait_for(&f.sandbox("c2").join("count"))?;
    f.containerizer.destroy(&ContainerId::new("c1")).map_err(msg)?;
    std::fs::write(f.sandbox("c2").join("go"), "")?;
    ensure!(f.run_to_end("c2")? == exited(0), "stderr: {}", f.read("c2", "stderr"));
    ensure!(f.read("c2", "stdout") == "rootfs-marker\n", "stdout {:?}", f.read("c2", "stdout"));
    let count = std::fs::read_to_string(f.sandbox("c2").join("count"))?;
    ensure!(count == "1\n", "the second container sees {count:?} sandbox mounts");
    nothing_mounted_under(&[&f.base], "after the containers ended")?;
    f.finish(&["c2"], &[pid1, pid2])
}

/// The containerizer refuses a rootfs it cannot enter before anything is cloned.
fn bad_rootfs_is_refused() -> TestResult {
    let f = Fixture::new()?;
    let file = f.base.join("not-a-directory");
    std::fs::write(&file, "")?;
    let info = |rootfs: &str, namespaces: Vec<i32>| ContainerLaunchInfo {
        rootfs: Some(rootfs.to_owned()),
        clone_namespaces: namespaces,
        working_directory: Some("/".into()),
        ..Default::default()
    };
    let launch = |id: &str, info: ContainerLaunchInfo| {
        f.containerizer.launch(&f.request(id, shell("true"), info)).map(drop).map_err(|e| e.to_string())
    };
    let ns = || vec![libc::CLONE_NEWNS];
    let err = launch("c1", info(&file.display().to_string(), ns())).unwrap_err();
    ensure!(
        err == format!(
            "invalid launch of container 'c1': the rootfs '{}' is not a directory",
            file.display()
        ),
        "{err}"
    );
    let err = launch("c2", info("/nonexistent/rootfs", ns())).unwrap_err();
    ensure!(err.contains("the rootfs '/nonexistent/rootfs' cannot be used"), "{err}");
    let err = launch("c3", info(&f.base.display().to_string(), vec![libc::CLONE_NEWPID])).unwrap_err();
    ensure!(err.contains("a rootfs needs a mount namespace (CLONE_NEWNS"), "{err}");
    f.finish(&[], &[])
}

/// Without a rootfs: a mount namespace of its own (its volume mounts never reach the host's
/// table), volumes at host paths (relative under the sandbox, absolute where they exist), and
/// `MESOS_SANDBOX` the sandbox's host path.
fn without_a_rootfs_volumes_and_mesos_sandbox() -> TestResult {
    let f = Fixture::new()?;
    let data = host_dir(&f.base, "data")?;
    let mount_point = f.base.join("mount-point");
    std::fs::create_dir_all(&mount_point)?;
    let volumes = vec![volume("vol", &data, "RW"), volume(&mount_point.display().to_string(), &data, "RO")];
    let sandbox = f.sandbox("c1");
    let script = format!(
        "echo \"$MESOS_SANDBOX\"; pwd; cat vol/hello; cat {mp}/hello; \
         if echo x > {mp}/new 2>/dev/null; then echo ro-takes-writes; else echo ro-refuses-writes; fi; \
         touch running; while [ ! -e go ]; do sleep 0.05; done",
        mp = mount_point.display()
    );
    let fs = linux_isolator()?;
    let isolators: [&dyn DynIsolator; 1] = [&fs];
    let request = request("c1", config(&f, "c1", &script, None, volumes)?, &isolators)?;
    let pid = f.start_request(&request, &isolators)?;
    wait_for(&sandbox.join("running"))?;
    nothing_mounted_under(&[&f.base], "while the container runs")?;
    std::fs::write(sandbox.join("go"), "")?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let sandbox_text = sandbox.display().to_string();
    let expected = [
        sandbox_text.as_str(),
        sandbox_text.as_str(),
        "hello from data",
        "hello from data",
        "ro-refuses-writes",
    ];
    let lines = stdout_lines(&f, "c1");
    ensure!(lines == expected, "inside the container:\n{lines:#?}\nexpected:\n{expected:#?}");
    nothing_mounted_under(&[&f.base], "after the container ended")?;
    f.finish(&["c1"], &[pid])
}

/// `filesystem/posix` only tells the command where its sandbox is.
fn posix_sets_mesos_sandbox() -> TestResult {
    let f = Fixture::new()?;
    let posix = PosixFilesystemIsolator::create(vec![]).map_err(msg)?;
    let isolators: [&dyn DynIsolator; 1] = [&posix];
    let request = request("c1", config(&f, "c1", "echo \"$MESOS_SANDBOX\"; pwd", None, vec![])?, &isolators)?;
    let pid = f.start_request(&request, &isolators)?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let sandbox = f.sandbox("c1").display().to_string();
    ensure!(
        f.read("c1", "stdout") == format!("{sandbox}\n{sandbox}\n"),
        "stdout {:?}",
        f.read("c1", "stdout")
    );
    f.finish(&["c1"], &[pid])
}
