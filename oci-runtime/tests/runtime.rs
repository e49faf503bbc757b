//! The `isolation-runc` binary driven as containerd's shim drives it, with bundles made here (a
//! busybox rootfs and a `config.json` shaped like `ctr run`'s), on the real kernel, no
//! containerd: create, state, start, kill, delete; limits seen from inside; exec; ps; pause and
//! resume; update; and the errors the shim keys on. Every test ends with nothing left (cgroups,
//! processes, mounts, state).
//!
//! The test process is a child subreaper, as the shim is: the container's init, a child of
//! `create`, becomes its child when `create` exits, and the tests reap it to read its exit status.
//!
//! Build first (`cargo build --release --workspace`): the tests drive the built binary, helper
//! and module libraries.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration::{Failed, Need, Sandbox, Suite};
use serde_json::{Value, json};

type TestResult<T = ()> = Result<T, Failed>;

/// Where busybox is looked for (a static one: the rootfs has no libraries).
const BUSYBOX: [&str; 3] = ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"];

fn busybox() -> Option<PathBuf> {
    BUSYBOX.iter().map(PathBuf::from).find(|p| std::fs::read(p).is_ok_and(|elf| is_static(&elf)))
}

/// Whether a 64-bit little-endian ELF has no program interpreter (`PT_INTERP`).
fn is_static(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u64_at =
        |o: usize| elf.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize);
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    (0..count).all(|i| elf.get(phoff + i * size..phoff + i * size + 4) != Some(&3u32.to_le_bytes()[..]))
}

/// One test's container: its sandbox (cgroups root, temp dir), a bundle, the runtime's root.
struct Bundle {
    sandbox: Sandbox,
    dir: PathBuf,
    root: PathBuf,
    id: String,
}

impl Bundle {
    /// A bundle running `script` under `sh -c`, with `patch` merged into its config.
    fn new(id: &str, script: &str, patch: Value) -> TestResult<Bundle> {
        let sandbox = Sandbox::new()?;
        let dir = sandbox.base.join("bundle");
        let bin = dir.join("rootfs/bin");
        std::fs::create_dir_all(&bin)?;
        for d in ["proc", "sys", "dev", "etc", "tmp", "run"] {
            std::fs::create_dir_all(dir.join("rootfs").join(d))?;
        }
        let source = busybox().ok_or("no static busybox")?;
        std::fs::copy(&source, bin.join("busybox"))?;
        for applet in
            ["sh", "cat", "sleep", "echo", "hostname", "tail", "grep", "ls", "id", "seq", "wc", "head"]
        {
            std::os::unix::fs::symlink("busybox", bin.join(applet))?;
        }
        let mut config = ctr_run_config(&format!("/{}/{id}", sandbox.name), script);
        merge(&mut config, &patch);
        std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
        let root = sandbox.base.join("state");
        Ok(Bundle { sandbox, dir, root, id: id.to_owned() })
    }

    fn runtime(&self) -> PathBuf {
        self.sandbox.artifacts.dir.join("isolation-runc")
    }

    /// Runs the runtime with `args` (after `--root`), stdin from `stdin`, output to files of its
    /// own (a container's init must never hold one of our pipes).
    fn run_with(&self, args: &[&str], stdin: Option<&str>) -> TestResult<Output> {
        let out = self.sandbox.base.join("runtime.out");
        let err = self.sandbox.base.join("runtime.err");
        let mut command = Command::new(self.runtime());
        command.arg("--root").arg(&self.root).args(args).current_dir(&self.dir);
        command.stdout(std::fs::File::create(&out)?).stderr(std::fs::File::create(&err)?);
        let status = match stdin {
            Some(text) => {
                command.stdin(Stdio::piped());
                let mut child = command.spawn()?;
                std::io::Write::write_all(&mut child.stdin.take().ok_or("no stdin")?, text.as_bytes())?;
                child.wait()?
            }
            None => command.stdin(Stdio::null()).status()?,
        };
        Ok(Output { status, stdout: std::fs::read(&out)?, stderr: std::fs::read(&err)? })
    }

    fn run(&self, args: &[&str]) -> TestResult<Output> {
        self.run_with(args, None)
    }

    /// Runs the runtime and requires success; its stdout.
    fn ok(&self, args: &[&str]) -> TestResult<String> {
        let output = self.run(args)?;
        if !output.status.success() {
            return Err(format!(
                "isolation-runc {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs the runtime and requires a one-line failure; that line.
    fn fails(&self, args: &[&str]) -> TestResult<String> {
        let output = self.run(args)?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.code() != Some(1) || stderr.lines().count() != 1 {
            return Err(format!(
                "isolation-runc {args:?}: expected one error line and exit 1, got {:?}: {stderr}",
                output.status
            )
            .into());
        }
        Ok(stderr)
    }

    fn status(&self) -> TestResult<String> {
        let state: Value = serde_json::from_str(&self.ok(&["state", &self.id])?)?;
        Ok(state["status"].as_str().unwrap_or_default().to_owned())
    }

    /// `create` with a pid file, the container's stdout and stderr in files; the init's pid.
    fn create(&self) -> TestResult<i32> {
        let pid_file = self.sandbox.base.join("pid");
        let out = std::fs::File::create(self.stdout_path())?;
        let err = std::fs::File::create(self.sandbox.base.join("container.err"))?;
        let output = Command::new(self.runtime())
            .arg("--root")
            .arg(&self.root)
            .args(["create", "--bundle"])
            .arg(&self.dir)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()?;
        if !output.success() {
            let err = std::fs::read_to_string(self.sandbox.base.join("container.err"))?;
            return Err(format!("create failed: {err}").into());
        }
        Ok(std::fs::read_to_string(pid_file)?.trim().parse()?)
    }

    fn stdout_path(&self) -> PathBuf {
        self.sandbox.base.join("container.out")
    }

    /// Waits (bounded, to turn a hang into a failure) until the container's stdout holds `text`.
    fn wait_for_output(&self, text: &str) -> TestResult<String> {
        self.wait_for(&self.stdout_path(), text)
    }

    /// Waits (bounded) until `file` holds `text`.
    fn wait_for(&self, file: &std::path::Path, text: &str) -> TestResult<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = std::fs::read_to_string(file).unwrap_or_default();
            if out.contains(text) {
                return Ok(out);
            }
            if Instant::now() > deadline {
                let err =
                    std::fs::read_to_string(self.sandbox.base.join("container.err")).unwrap_or_default();
                return Err(format!("no '{text}' in the container's output: {out:?}; stderr {err:?}").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `delete`, then nothing of the container may be left.
    fn delete_and_check(&self, force: bool) -> TestResult {
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(&self.id);
        self.ok(&args)?;
        if self.root.join(&self.id).exists() {
            return Err(format!("the state directory {} is left", self.root.join(&self.id).display()).into());
        }
        self.sandbox.assert_clean()
    }
}

/// Reaps the init (our child: we are a subreaper); its exit status, shell style.
fn reap(pid: i32) -> TestResult<i32> {
    match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)? {
        nix::sys::wait::WaitStatus::Exited(_, code) => Ok(code),
        nix::sys::wait::WaitStatus::Signaled(_, signal, _) => Ok(128 + signal as i32),
        other => Err(format!("unexpected wait status {other:?}").into()),
    }
}

/// `ctr run`'s config for a busybox container (containerd 1.6's default spec), plus CRI's
/// `cgroup` mount.
fn ctr_run_config(cgroups_path: &str, script: &str) -> Value {
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE"
    ]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", script],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            // Not in ctr's spec but in CRI's.
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

fn merge(value: &mut Value, patch: &Value) {
    match (value, patch) {
        (Value::Object(value), Value::Object(patch)) => {
            for (key, patch) in patch {
                merge(value.entry(key.clone()).or_insert(Value::Null), patch);
            }
        }
        (value, patch) => *value = patch.clone(),
    }
}

fn check(condition: bool, what: impl FnOnce() -> String) -> TestResult {
    if condition { Ok(()) } else { Err(what().into()) }
}

/// create, state, start, the limits in the container's cgroups and as seen from inside, kill,
/// the exit status, delete, nothing left.
fn lifecycle_with_limits() -> TestResult {
    let script = "echo cgroup=$(grep memory /proc/self/cgroup); echo host=$(hostname); echo nofile=$(ulimit -n); \
                  echo ro=$(grep ' /proc/sys ' /proc/mounts | grep -c ro,); \
                  echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null); \
                  echo ready; exec sleep 1000";
    let patch = json!({"hostname": "box", "linux": {"resources": {
        "memory": {"limit": 67108864, "reservation": 33554432},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
        "pids": {"limit": 20}
    }}});
    let b = Bundle::new("life", script, patch)?;
    let pid = b.create()?;
    check(b.status()? == "created", || "not created".into())?;
    let state: Value = serde_json::from_str(&b.ok(&["state", "life"])?)?;
    check(state["pid"] == pid && state["id"] == "life", || format!("state {state}"))?;
    check(std::fs::read_to_string(b.stdout_path())?.is_empty(), || "the command ran before start".into())?;
    b.ok(&["start", "life"])?;
    let out = b.wait_for_output("ready")?;
    check(b.status()? == "running", || "not running".into())?;
    let s = &b.sandbox;
    check(
        out.contains(&format!("cgroup=4:memory:/{}/life", s.name))
            || out.contains(&format!(":memory:/{}/life", s.name)),
        || format!("not in its memory cgroup: {out}"),
    )?;
    check(out.contains("host=box"), || format!("hostname: {out}"))?;
    check(out.contains("nofile=1024"), || format!("rlimit: {out}"))?;
    check(out.contains("ro=1"), || format!("/proc/sys is not read-only: {out}"))?;
    check(out.contains("limit=67108864"), || format!("the cgroup mount does not show the limit: {out}"))?;
    check(s.read_cgroup("life", "memory", "memory.limit_in_bytes")? == "67108864", || "memory limit".into())?;
    check(s.read_cgroup("life", "cpu", "cpu.shares")? == "512", || "cpu shares".into())?;
    check(s.read_cgroup("life", "cpu", "cpu.cfs_quota_us")? == "50000", || "cfs quota".into())?;
    check(s.read_cgroup("life", "pids", "pids.max")? == "20", || "pids.max".into())?;
    let ps: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", "life"])?)?;
    check(ps.contains(&pid) && ps.len() == 2, || format!("ps {ps:?}"))?;
    b.ok(&["kill", "life", "TERM"])?;
    check(reap(pid)? == 143, || "not ended by SIGTERM".into())?;
    check(b.status()? == "stopped", || "not stopped".into())?;
    check(b.fails(&["kill", "life", "9"])?.contains("container not running"), || {
        "kill of a stopped container".into()
    })?;
    b.delete_and_check(false)
}

/// From inside: a fork past `pids.limit` fails; memory past `memory.limit` is the OOM killer's.
fn limits_hold_inside() -> TestResult {
    let b = Bundle::new(
        "pids",
        "i=0; while [ $i -lt 12 ]; do sleep 1000 & i=$((i+1)); done; wait",
        json!({"linux": {"resources": {"pids": {"limit": 8}}}}),
    )?;
    let pid = b.create()?;
    b.ok(&["start", "pids"])?;
    // busybox's sh says so when a fork fails (EAGAIN), and stops forking.
    b.wait_for(&b.sandbox.base.join("container.err"), "can't fork")?;
    let current: u64 = b.sandbox.read_cgroup("pids", "pids", "pids.current")?.parse()?;
    check(current <= 8, || format!("{current} tasks under pids.max 8"))?;
    // The shell may already have given up after the refused fork.
    b.run(&["kill", "--all", "pids", "KILL"])?;
    reap(pid)?;
    b.delete_and_check(false)?;

    let b = Bundle::new(
        "oom",
        "echo ready; tail /dev/zero",
        json!({"linux": {"resources": {"memory": {"limit": 33554432}}}}),
    )?;
    let pid = b.create()?;
    b.ok(&["start", "oom"])?;
    let status = reap(pid)?;
    check(status == 137, || {
        format!("tail /dev/zero under 32 MB ended with {status}, not the OOM killer's SIGKILL")
    })?;
    let failcnt: u64 = b.sandbox.read_cgroup("oom", "memory", "memory.failcnt")?.parse()?;
    check(failcnt > 0, || "memory.failcnt is 0".into())?;
    b.delete_and_check(false)
}

/// exec (waited and detached) in the container's namespaces and cgroups; pause and resume;
/// update; delete --force of a running container.
fn exec_pause_update() -> TestResult {
    let b = Bundle::new("ex", "echo ready; exec sleep 1000", json!({"hostname": "exbox"}))?;
    let pid = b.create()?;
    b.ok(&["start", "ex"])?;
    b.wait_for_output("ready")?;
    let process = json!({
        "args": ["sh", "-c", "echo $(hostname) $(grep memory /proc/self/cgroup) pid1=$(cat /proc/1/cmdline | head -c 19); exit 7"],
        "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    });
    let process_file = b.sandbox.base.join("process.json");
    std::fs::write(&process_file, process.to_string())?;
    let process_arg = process_file.display().to_string();
    let output = b.run(&["exec", "--process", &process_arg, "ex"])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    check(output.status.code() == Some(7), || {
        format!("exec status {:?}: {}", output.status, String::from_utf8_lossy(&output.stderr))
    })?;
    check(
        stdout.contains("exbox")
            && stdout.contains(&format!("/{}/ex", b.sandbox.name))
            && stdout.contains("pid1=mesos-containerizer"),
        || format!("exec ran outside the container: {stdout}"),
    )?;

    let pid_file = b.sandbox.base.join("exec.pid").display().to_string();
    std::fs::write(
        &process_file,
        json!({"args": ["sleep", "1000"], "env": ["PATH=/bin"], "cwd": "/"}).to_string(),
    )?;
    b.ok(&["exec", "--detach", "--pid-file", &pid_file, "--process", &process_arg, "ex"])?;
    let exec_pid: i32 = std::fs::read_to_string(&pid_file)?.trim().parse()?;
    let ps: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", "ex"])?)?;
    check(ps.contains(&exec_pid), || format!("the detached process {exec_pid} is not in ps {ps:?}"))?;

    b.ok(&["pause", "ex"])?;
    check(b.status()? == "paused", || "not paused".into())?;
    check(
        b.sandbox.read_cgroup("ex", "freezer", "freezer.state").map(|s| s == "FROZEN").unwrap_or(true),
        || "not frozen".into(),
    )?;
    b.ok(&["resume", "ex"])?;
    check(b.status()? == "running", || "not resumed".into())?;

    let update = b.run_with(
        &["update", "--resources", "-", "ex"],
        Some(r#"{"memory":{"limit":134217728},"pids":{"limit":30}}"#),
    )?;
    check(update.status.success(), || format!("update: {}", String::from_utf8_lossy(&update.stderr)))?;
    check(b.sandbox.read_cgroup("ex", "memory", "memory.limit_in_bytes")? == "134217728", || {
        "memory limit not updated".into()
    })?;
    check(b.sandbox.read_cgroup("ex", "pids", "pids.max")? == "30", || "pids.max not updated".into())?;

    // A second container joining this one's uts and network namespaces by path, as a pod's
    // containers join its sandbox's.
    let joiner = Bundle::new(
        "joiner",
        "echo host=$(hostname) links=$(ls /sys/class/net | wc -w); echo ready",
        json!({"linux": {"namespaces": [
            {"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
            {"type": "uts", "path": format!("/proc/{pid}/ns/uts")},
            {"type": "network", "path": format!("/proc/{pid}/ns/net")}
        ]}}),
    )?;
    let joiner_pid = joiner.create()?;
    joiner.ok(&["start", "joiner"])?;
    let out = joiner.wait_for_output("ready")?;
    check(out.contains("host=exbox links=1"), || format!("not in the first container's namespaces: {out}"))?;
    reap(joiner_pid)?;
    joiner.delete_and_check(false)?;

    check(b.fails(&["delete", "ex"])?.contains("not stopped"), || "delete of a running container".into())?;
    b.delete_and_check(true)?;
    // The detached process came to us (the subreaper) too, and the init of its pid namespace
    // ends only once it has been reaped, as with runc under containerd's shim.
    reap(exec_pid)?;
    reap(pid)?;
    Ok(())
}

/// `process.terminal` with `--console-socket`: the pty master comes over the socket, the command
/// writes to the terminal.
fn terminal_over_the_console_socket() -> TestResult {
    let b = Bundle::new("tty", "echo on-the-terminal", json!({"process": {"terminal": true}}))?;
    let socket = b.sandbox.base.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket)?;
    let socket_arg = socket.display().to_string();
    let dir = b.dir.display().to_string();
    let pid_file = b.sandbox.base.join("pid").display().to_string();
    b.ok(&["create", "--bundle", &dir, "--console-socket", &socket_arg, "--pid-file", &pid_file, "tty"])?;
    let pid: i32 = std::fs::read_to_string(&pid_file)?.trim().parse()?;
    let (stream, _) = listener.accept()?;
    let mut name = [0u8; 64];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let message = nix::sys::socket::recvmsg::<()>(
        std::os::fd::AsRawFd::as_raw_fd(&stream),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::empty(),
    )?;
    let master = message
        .cmsgs()?
        .find_map(|c| match c {
            nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .ok_or("no descriptor came over the console socket")?;
    // SAFETY: the descriptor was just received and nothing else owns it.
    let mut master = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(master) };
    b.ok(&["start", "tty"])?;
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    // Read until the text came (the read fails with EIO once the last slave is closed).
    while !String::from_utf8_lossy(&out).contains("on-the-terminal") {
        match std::io::Read::read(&mut master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    check(String::from_utf8_lossy(&out).contains("on-the-terminal"), || format!("terminal output {out:?}"))?;
    check(reap(pid)? == 0, || "the command failed".into())?;
    drop(master);
    b.delete_and_check(false)
}

/// The errors engines key on, each one line and exit 1, with nothing left behind.
fn errors_are_one_line() -> TestResult {
    let b = Bundle::new("bad", "true", json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}}))?;
    let log = b.sandbox.base.join("log.json").display().to_string();
    let err = b.fails(&[
        "--log",
        &log,
        "--log-format",
        "json",
        "create",
        "--bundle",
        &b.dir.display().to_string(),
        "bad",
    ])?;
    check(err.contains("config.json: linux.seccomp: not supported"), || err.clone())?;
    let last: Value =
        serde_json::from_str(std::fs::read_to_string(&log)?.lines().last().ok_or("empty log")?)?;
    check(
        last["level"] == "error" && last["msg"].as_str().is_some_and(|m| m.contains("linux.seccomp")),
        || format!("log {last}"),
    )?;
    check(!b.root.join("bad").exists(), || "a failed create left its state".into())?;
    for args in [&["state", "nope"][..], &["delete", "nope"], &["kill", "nope", "TERM"], &["start", "nope"]] {
        let err = b.fails(args)?;
        check(err.contains("container \"nope\" does not exist"), || format!("{args:?}: {err}"))?;
    }
    check(b.fails(&["state", "--bogus", "x"])?.contains("--bogus"), || "unknown flag".into())?;
    check(b.fails(&["--systemd-cgroup", "state", "x"])?.contains("systemd"), || "systemd".into())?;
    check(b.fails(&["kill", "x", "SIGNOPE"])?.contains("invalid signal"), || "signal".into())?;
    let features: Value = serde_json::from_str(&b.ok(&["features"])?)?;
    check(features["linux"]["cgroup"]["systemd"] == false, || format!("{features}"))?;
    b.sandbox.assert_clean()
}

fn main() {
    // As containerd's shim is: the container's init comes to us when `create` exits.
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("cannot become a child subreaper: {e}");
        std::process::exit(1);
    }
    let mut suite = Suite::new();
    let busybox_reason = busybox().is_none().then(|| format!("no static busybox at {}", BUSYBOX.join(", ")));
    let mut add = |name: &str, needs: &[Need], test: fn() -> TestResult| match &busybox_reason {
        Some(reason) => suite.skip(name, reason),
        None => suite.test(name, needs, test),
    };
    add(
        "lifecycle_with_limits",
        &[Need::Containers, Need::Cfs, Need::Pids, Need::Devices],
        lifecycle_with_limits,
    );
    add("limits_hold_inside", &[Need::Containers, Need::Pids], limits_hold_inside);
    add("exec_pause_update", &[Need::Containers, Need::Pids], exec_pause_update);
    add("errors_are_one_line", &[Need::Containers], errors_are_one_line);
    add("terminal_over_the_console_socket", &[Need::Containers], terminal_over_the_console_socket);
    suite.run()
}
