//! Privileged tests of the Linux containerizer on the real kernel, driven through its Rust
//! `Containerizer` trait (with the namespace isolators' `prepare`/`isolate` where a test needs
//! them). Each test uses its own cgroups root `containerizer-test-<pid>-<n>`, runtime directory and
//! sandbox, and checks at its end that no cgroup, process, mount or runtime file of its own is left.
//!
//! Whether a test can run here is decided when the tests are listed: without root or without a
//! freezer (v1) or cgroup2 (v2) hierarchy it is listed as ignored with the reason, and never counted
//! as passed.

use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use linux_containerizer::LinuxContainerizer;
use module_abi::{
    CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, ContainerTermination,
    Containerizer, Isolator, LaunchRequest, Module, Parameter,
};
use namespaces_isolator::{NamespacesNetIsolator, NamespacesPidIsolator, NamespacesUtsIsolator};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

type TestResult = Result<(), Failed>;
type Test = fn() -> TestResult;

/// Env var that turns this binary into a short-lived launcher (see `launch_and_leave`).
const LAUNCH_AND_LEAVE: &str = "LINUX_CONTAINERIZER_TEST_LAUNCH_AND_LEAVE";

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*).into());
        }
    };
}

#[path = "kernel/fixture.rs"]
mod fixture;
#[path = "kernel/process.rs"]
mod process;

#[path = "kernel/filesystem.rs"]
mod filesystem;

use fixture::*;

// ---------------------------------------------------------------------------------------------

fn output_and_exit_code() -> TestResult {
    let f = Fixture::new()?;
    let pid = f.start("c1", shell("echo hello; echo oops >&2; exit 3"), &[])?;
    let termination = f.run_to_end("c1")?;
    ensure!(termination == exited(3), "termination {termination:?}");
    ensure!(f.read("c1", "stdout") == "hello\n", "stdout {:?}", f.read("c1", "stdout"));
    ensure!(f.read("c1", "stderr") == "oops\n", "stderr {:?}", f.read("c1", "stderr"));
    let status = f.containerizer.status(&ContainerId::new("c1")).map_err(msg)?;
    ensure!(status.executor_pid == Some(pid), "status {status:?}");
    f.finish(&["c1"], &[pid])
}

/// Attached, the output still goes only to the sandbox (the host follows the files), and the
/// helper, the container's init, holds none of the host's streams: a reader outside that stalls
/// can never block it.
fn attached_output_still_lands_in_the_sandbox() -> TestResult {
    let f = Fixture::new()?;
    // Runs until the test has looked at the helper's descriptors (it runs in the sandbox).
    let script = "echo attached; echo attached-err >&2; while [ ! -e looked ]; do sleep 0.05; done; exit 0";
    let mut request = f.request("c1", shell(script), Default::default());
    request.attach_output = true;
    let pid = f.start_request(&request, &[])?;
    // The clone's child arranges its descriptors before it execs the helper, asynchronously to the
    // launch returning: once the command has written, they are the helper's for sure (a slow qemu
    // guest showed the host's own stdout before that).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while f.read("c1", "stdout").is_empty() {
        ensure!(std::time::Instant::now() < deadline, "the command wrote nothing within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let link = |fd: i32| std::fs::read_link(format!("/proc/{pid}/fd/{fd}"));
    let (stdout, stderr) = (link(1), link(2));
    std::fs::write(f.sandbox("c1").join("looked"), "")?;
    ensure!(f.run_to_end("c1")? == exited(0), "not exit 0");
    let (stdout, stderr) = (stdout?, stderr?);
    ensure!(stdout == std::path::Path::new("/dev/null"), "the helper's stdout is {}", stdout.display());
    ensure!(stderr == f.sandbox("c1").join("stderr"), "the helper's stderr is {}", stderr.display());
    ensure!(f.read("c1", "stdout") == "attached\n", "stdout {:?}", f.read("c1", "stdout"));
    ensure!(f.read("c1", "stderr") == "attached-err\n", "stderr {:?}", f.read("c1", "stderr"));
    f.finish(&["c1"], &[pid])
}

fn signal_comes_back_as_signal() -> TestResult {
    let f = Fixture::new()?;
    let pid = f.start("c1", shell("kill -TERM $$; sleep 5"), &[])?;
    let termination = f.run_to_end("c1")?;
    ensure!(
        termination == ContainerTermination { exit_code: None, signal: Some(libc::SIGTERM) },
        "{termination:?}"
    );
    f.finish(&["c1"], &[pid])
}

fn pid_namespace_shows_only_the_container() -> TestResult {
    let f = Fixture::new()?;
    let pid_isolator = NamespacesPidIsolator::create(vec![]).map_err(msg)?;
    let script = "echo $$; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; tr '\\0' ' ' < /proc/1/cmdline";
    let pid = f.start("c1", shell(script), &[&pid_isolator])?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let out = f.read("c1", "stdout");
    let lines: Vec<&str> = out.lines().collect();
    ensure!(lines.first() == Some(&"2"), "the command is not pid 2: {out:?}");
    // pid 1 the helper, 2 the shell, then ls / grep / sort / tr of the pipeline: nothing of the host.
    let pids: Vec<i32> =
        lines.get(1).unwrap_or(&"").split_whitespace().filter_map(|p| p.parse().ok()).collect();
    ensure!(
        pids.first() == Some(&1) && pids.contains(&2) && pids.iter().all(|p| *p < 10),
        "/proc lists {pids:?}"
    );
    ensure!(
        lines.get(2).is_some_and(|l| l.contains("mesos-containerizer")),
        "pid 1 is not the helper: {out:?}"
    );
    f.finish(&["c1"], &[pid])
}

fn uts_namespace_sets_the_hostname() -> TestResult {
    let f = Fixture::new()?;
    let host = nix::unistd::gethostname()?.into_string().unwrap_or_default();
    let uts = NamespacesUtsIsolator::create(vec![Parameter {
        key: "hostname".into(),
        value: "box-under-test".into(),
    }])
    .map_err(msg)?;
    let pid = f.start("c1", shell("cat /proc/sys/kernel/hostname"), &[&uts])?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    ensure!(f.read("c1", "stdout") == "box-under-test\n", "hostname {:?}", f.read("c1", "stdout"));
    let after = nix::unistd::gethostname()?.into_string().unwrap_or_default();
    ensure!(after == host, "the host's hostname changed to {after}");
    f.finish(&["c1"], &[pid])
}

fn net_namespace_has_only_lo_up() -> TestResult {
    let f = Fixture::new()?;
    let net = NamespacesNetIsolator::create(vec![]).map_err(msg)?;
    // /proc/net/dev lists the interfaces of the reader's network namespace; operstate of lo is
    // UNKNOWN when up and DOWN when down, so ask the flags through /sys of a fresh sysfs instead.
    let script = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; \
                  mount -t sysfs sysfs /sys && cat /sys/class/net/lo/flags";
    let mut request = f.request("c1", shell(script), ContainerLaunchInfo::default());
    merge(
        &mut request.launch_info,
        Isolator::prepare(&net, &request.container_id, &request.container_config).map_err(msg)?.unwrap(),
    );
    // A mount namespace of its own for the fresh sysfs.
    request.launch_info.clone_namespaces.push(libc::CLONE_NEWNS);
    let pid = f.start_request(&request, &[&net])?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let out = f.read("c1", "stdout");
    let lines: Vec<&str> = out.lines().collect();
    ensure!(lines.len() == 2 && lines[0] == "lo", "interfaces: {out:?}");
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).map_err(msg)?;
    ensure!(flags & libc::IFF_UP as u32 != 0, "lo is not up: flags {:#x}", flags);
    f.finish(&["c1"], &[pid])
}

fn destroy_kills_a_tree_of_four() -> TestResult {
    let f = Fixture::new()?;
    // Two background children, one double-forked (its parent exits at once, so it is re-parented),
    // and one in the foreground: four sleeps plus the shell. The trailing `true` keeps the shell:
    // busybox ash (the guests' /bin/sh) would otherwise exec the last command in its place.
    let script = "sleep 1000 & sleep 1000 & (sleep 1000 &) ; sleep 1000; true";
    let pid = f.start("c1", shell(script), &[])?;
    let dir = f.containerizer.cgroup_dirs(&ContainerId::new("c1")).map_err(msg)?[0].clone();
    // On cgroup v2 the processes are in the cgroup's leaf (no internal processes), on v1 in it.
    let procs = [dir.join("cgroup.procs"), dir.join(cgroupfs::LEAF).join("cgroup.procs")];
    let deadline = Instant::now() + Duration::from_secs(10);
    let pids: Vec<i32> = loop {
        let pids: Vec<i32> = procs
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .flat_map(|text| text.lines().filter_map(|l| l.parse().ok()).collect::<Vec<i32>>())
            .collect();
        let sleeps = pids
            .iter()
            .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep"))
            .count();
        if sleeps == 4 {
            break pids;
        }
        ensure!(Instant::now() < deadline, "only {sleeps} sleeps started: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    ensure!(pids.len() == 6, "expected the helper, the shell and four sleeps, got {pids:?}");
    ensure!(f.containerizer.wait(&ContainerId::new("c1")).map_err(msg)?.is_none(), "wait says it ended");
    f.containerizer.destroy(&ContainerId::new("c1")).map_err(msg)?;
    let termination = f.containerizer.wait(&ContainerId::new("c1")).map_err(msg)?;
    ensure!(
        termination == Some(ContainerTermination { exit_code: None, signal: Some(libc::SIGKILL) }),
        "{termination:?}"
    );
    f.finish(&[], &pids)?;
    let _ = pid;
    Ok(())
}

fn command_waits_for_exec() -> TestResult {
    let f = Fixture::new()?;
    let marker = f.sandbox("c1").join("started");
    let request = f.request("c1", shell(&format!("touch {}", marker.display())), Default::default());
    let id = request.container_id.clone();
    let pid = f.containerizer.launch(&request).map_err(msg)?;
    std::thread::sleep(Duration::from_millis(300));
    ensure!(!marker.exists(), "the command ran before exec");
    ensure!(f.containerizer.wait(&id).map_err(msg)?.is_none(), "wait reports an end before exec");
    f.containerizer.exec(&id).map_err(msg)?;
    ensure!(f.containerizer.exec(&id).is_err(), "a second exec was accepted");
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    ensure!(marker.exists(), "the command did not run after exec");
    f.finish(&["c1"], &[pid])
}

/// With a release FIFO, `exec` lets the helper set up, and the command waits until a reader (an
/// OCI runtime's `start`, a process of its own) takes the FIFO's byte.
fn release_fifo_holds_the_command_until_a_reader() -> TestResult {
    let f = Fixture::new()?;
    let marker = f.sandbox("c1").join("started");
    let dir = f.sandbox("c1").parent().map(PathBuf::from).ok_or("no sandbox parent")?;
    std::fs::create_dir_all(&dir)?;
    let fifo = dir.join("c1.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))?;
    let mut request = f.request("c1", shell(&format!("touch {}", marker.display())), Default::default());
    request.release_fifo = Some(fifo.display().to_string());
    let id = request.container_id.clone();
    let pid = f.containerizer.launch(&request).map_err(msg)?;
    f.containerizer.exec(&id).map_err(msg)?;
    std::thread::sleep(Duration::from_millis(300));
    ensure!(!marker.exists(), "the command ran before the FIFO was read");
    ensure!(f.containerizer.wait(&id).map_err(msg)?.is_none(), "the helper ended before the FIFO was read");
    // Blocks until the helper opens it for writing, then takes its byte.
    let mut byte = [0u8; 1];
    let n = std::io::Read::read(&mut std::fs::File::open(&fifo)?, &mut byte)?;
    ensure!(n == 1, "the helper wrote {n} bytes to the FIFO");
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    ensure!(marker.exists(), "the command did not run after the FIFO was read");
    std::fs::remove_file(&fifo)?;
    f.finish(&["c1"], &[pid])
}

fn destroy_before_exec_never_runs_the_command() -> TestResult {
    let f = Fixture::new()?;
    let marker = f.sandbox("c1").join("started");
    let request = f.request("c1", shell(&format!("touch {}", marker.display())), Default::default());
    let pid = f.containerizer.launch(&request).map_err(msg)?;
    f.finish(&["c1"], &[pid])?;
    ensure!(!marker.exists(), "the command ran without exec");
    Ok(())
}

fn missing_program_exits_127() -> TestResult {
    let f = Fixture::new()?;
    let absolute = CommandInfo { value: "/nonexistent/program".into(), ..Default::default() };
    let pid1 = f.start("c1", absolute, &[])?;
    ensure!(f.run_to_end("c1")? == exited(127), "not 127");
    let stderr = f.read("c1", "stderr");
    ensure!(
        stderr.contains("failed to execute '/nonexistent/program'") && stderr.contains("No such file"),
        "stderr {stderr:?}"
    );
    let on_path = CommandInfo {
        value: "no-such-program-xyz".into(),
        arguments: vec!["x".into()],
        ..Default::default()
    };
    let pid2 = f.start("c2", on_path, &[])?;
    ensure!(f.run_to_end("c2")? == exited(127), "not 127 through PATH");
    f.finish(&["c1", "c2"], &[pid1, pid2])
}

fn bad_requests_are_refused_cleanly() -> TestResult {
    let f = Fixture::new()?;
    let pid = f.start("c1", shell("sleep 1000"), &[])?;
    let again = f.containerizer.launch(&f.request("c1", shell("true"), Default::default())).unwrap_err();
    ensure!(again.to_string() == "Container 'c1' already exists", "{again}");
    let mounts = ContainerLaunchInfo {
        mounts: vec![module_abi::ContainerMountInfo {
            target: "/proc".into(),
            source: Some("proc".into()),
            fs_type: Some("proc".into()),
            flags: 0,
            options: None,
        }],
        ..Default::default()
    };
    let err = f.containerizer.launch(&f.request("c2", shell("true"), mounts)).unwrap_err();
    ensure!(err.to_string().contains("CLONE_NEWNS"), "{err}");
    f.containerizer.destroy(&ContainerId::new("never-launched")).map_err(msg)?;
    let mut params = Fixture::parameters("unused", &f.base);
    params[0].value = "/nonexistent/libexec".into();
    let missing = LinuxContainerizer::create(params).map_err(msg)?;
    let err = missing.launch(&f.request("c3", shell("true"), Default::default())).unwrap_err().to_string();
    ensure!(err.contains("/nonexistent/libexec/mesos-containerizer"), "{err}");
    f.finish(&["c1"], &[pid])
}

fn signals_are_forwarded_to_the_command() -> TestResult {
    let f = Fixture::new()?;
    let script = "trap 'echo got-term; exit 42' TERM; echo ready; sleep 1000 & wait";
    let pid = f.start("c1", shell(script), &[])?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.read("c1", "stdout") != "ready\n" {
        ensure!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    // To the helper (the container's init), which forwards it to the command.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM)?;
    ensure!(f.run_to_end("c1")? == exited(42), "stdout {:?}", f.read("c1", "stdout"));
    ensure!(f.read("c1", "stdout") == "ready\ngot-term\n", "stdout {:?}", f.read("c1", "stdout"));
    f.finish(&["c1"], &[pid])
}

fn environment_working_directory_and_rlimits() -> TestResult {
    let f = Fixture::new()?;
    let var =
        |name: &str, value: &str| module_abi::EnvironmentVariable { name: name.into(), value: value.into() };
    let mut command = shell("echo $FOO $BAR; pwd; ulimit -n; echo $PATH");
    command.environment = vec![var("FOO", "from-command"), var("BAR", "command")];
    let info = ContainerLaunchInfo {
        environment: vec![var("BAR", "from-isolator")],
        working_directory: Some("/tmp".into()),
        rlimits: vec![module_abi::RLimit { kind: "RLMT_NOFILE".into(), soft: Some(100), hard: Some(200) }],
        ..Default::default()
    };
    let pid = f.start_request(&f.request("c1", command, info), &[])?;
    ensure!(f.run_to_end("c1")? == exited(0), "stderr: {}", f.read("c1", "stderr"));
    let expected =
        format!("from-command from-isolator\n/tmp\n100\n{}\n", linux_containerizer::spec::DEFAULT_PATH);
    ensure!(f.read("c1", "stdout") == expected, "stdout {:?}", f.read("c1", "stdout"));
    f.finish(&["c1"], &[pid])
}

/// Calls one slot of the containerizer table with a JSON request; the JSON result or the error.
fn call(
    slot: Option<module_abi::CallFn>,
    instance: *mut std::ffi::c_void,
    request: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let request = request.to_string();
    let mut buffer = Vec::new();
    let output = module_abi::Output::collector(&mut buffer);
    let slot = slot.ok_or("the table lacks a slot")?;
    // SAFETY: the slot came from the module's own table, `instance` from its `create`, the request
    // and output outlive the call.
    let status = unsafe { slot(instance, request.as_ptr(), request.len(), &output) };
    let text = String::from_utf8_lossy(&buffer).into_owned();
    if status != module_abi::STATUS_OK {
        return Err(text);
    }
    Ok(if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    })
}

/// The module as the harness sees it: dlopen'ed from `target/<profile>`, created without
/// `launcher_dir` (so the helper is found next to the .so through dladdr), driven through the C
/// table with JSON.
fn module_through_the_c_abi() -> TestResult {
    let f = Fixture::new()?;
    let library = helper_dir().join("liblinux_containerizer.so");
    let path = std::ffi::CString::new(library.display().to_string())?;
    // SAFETY: loading our own module library; its initialisers are Rust statics only.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    ensure!(!handle.is_null(), "dlopen {} failed", library.display());
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"org_apache_mesos_LinuxContainerizer".as_ptr()) };
    ensure!(!symbol.is_null(), "no org_apache_mesos_LinuxContainerizer symbol");
    // SAFETY: the symbol is the module's `ModuleDescriptor` static (declare_module!).
    let descriptor = unsafe { &*symbol.cast::<module_abi::ModuleDescriptor>() };
    ensure!(descriptor.magic == module_abi::MODULE_MAGIC, "bad magic");
    // SAFETY: a Containerizer descriptor's table is a ContainerizerTable.
    let table = unsafe { &*descriptor.table.cast::<module_abi::ContainerizerTable>() };
    let params: Vec<Parameter> =
        Fixture::parameters(&f.root, &f.base).into_iter().filter(|p| p.key != "launcher_dir").collect();
    let params = serde_json::to_string(&params)?;
    let mut instance = std::ptr::null_mut();
    let mut error = Vec::new();
    let output = module_abi::Output::collector(&mut error);
    let create = descriptor.create.ok_or("no create")?;
    // SAFETY: the create slot of the descriptor, with live buffers.
    let status = unsafe { create(params.as_ptr(), params.len(), &mut instance, &output) };
    ensure!(status == module_abi::STATUS_OK, "create: {}", String::from_utf8_lossy(&error));

    let request =
        serde_json::to_value(f.request("c1", shell("echo through-the-abi; exit 5"), Default::default()))?;
    let id = serde_json::json!({ "container_id": { "value": "c1" } });
    let launched = call(table.launch, instance, &request)?;
    let pid = launched["pid"].as_i64().ok_or("launch gave no pid")? as i32;
    call(table.exec, instance, &id)?;
    let fd = call(table.watch, instance, &id)?["fd"].as_i64().ok_or("watch gave no fd")? as i32;
    // SAFETY: the module keeps the descriptor open until destroy.
    let mut fds = [PollFd::new(unsafe { BorrowedFd::borrow_raw(fd) }, PollFlags::POLLIN)];
    ensure!(poll(&mut fds, PollTimeout::from(20_000u16))? == 1, "the container did not end");
    let termination = call(table.wait, instance, &id)?;
    ensure!(termination == serde_json::json!({ "exit_code": 5 }), "termination {termination}");
    ensure!(f.read("c1", "stdout") == "through-the-abi\n", "stdout {:?}", f.read("c1", "stdout"));
    call(table.destroy, instance, &id)?;
    if let Some(destroy) = descriptor.destroy {
        // SAFETY: the instance from create, not used again; the library itself is never unloaded.
        unsafe { destroy(instance) };
    }
    f.finish(&[], &[pid])
}

/// Run in a child process of the test: launch and release a container, print its pid, and exit
/// without destroying it, as a harness that gets killed would.
fn launch_and_leave(spec: &str) -> ! {
    let (root, base, id, script) = {
        let parts: Vec<&str> = spec.splitn(4, '\n').collect();
        (parts[0], PathBuf::from(parts[1]), parts[2], parts[3])
    };
    let containerizer = Fixture::containerizer_for(root, &base).expect("containerizer");
    let request = LaunchRequest {
        container_id: ContainerId::new(id),
        container_config: ContainerConfig {
            command: shell(script),
            directory: base.join("sandboxes").join(id).display().to_string(),
            ..Default::default()
        },
        launch_info: ContainerLaunchInfo::default(),
        attach_output: false,
        inherit_stdio: false,
        release_fifo: None,
    };
    let pid = containerizer.launch(&request).expect("launch");
    containerizer.exec(&request.container_id).expect("exec");
    println!("{pid}");
    std::process::exit(0);
}

fn recover_after_the_host_is_gone() -> TestResult {
    let f = Fixture::new()?;
    let launch = |id: &str, script: &str| -> Result<i32, Failed> {
        let spec = format!("{}\n{}\n{id}\n{script}", f.root, f.base.display());
        let out =
            std::process::Command::new(std::env::current_exe()?).env(LAUNCH_AND_LEAVE, spec).output()?;
        ensure!(out.status.success(), "launcher failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(msg)
    };
    let pid1 = launch("c1", "sleep 0.5; exit 7")?;
    let pid2 = launch("c2", "sleep 1000")?;
    // An orphan: a container cgroup nobody checkpointed.
    let orphan_dir = f.freezer_root()?[0].join("orphan");
    std::fs::create_dir_all(&orphan_dir)?;

    let states = [("c1", pid1), ("c2", pid2)]
        .iter()
        .map(|(id, pid)| ContainerState {
            container_id: ContainerId::new(*id),
            pid: *pid,
            directory: f.sandbox(id).display().to_string(),
            config: None,
        })
        .collect();
    let orphans = f.containerizer.recover(states).map_err(msg)?;
    ensure!(orphans == vec![ContainerId::new("orphan")], "orphans {orphans:?}");
    ensure!(f.containerizer.wait(&ContainerId::new("c2")).map_err(msg)?.is_none(), "c2 should run");
    ensure!(f.run_to_end("c1")? == exited(7), "c1 did not report exit 7");
    ensure!(
        f.containerizer.status(&ContainerId::new("c2")).map_err(msg)?.executor_pid == Some(pid2),
        "status of a recovered container"
    );
    f.containerizer.destroy(&ContainerId::new("orphan")).map_err(msg)?;
    ensure!(!orphan_dir.exists(), "the orphan's cgroup is left");
    f.finish(&["c1", "c2"], &[pid1, pid2])
}

// ---------------------------------------------------------------------------------------------

/// Why the privileged tests cannot run here, if they cannot.
fn cannot_run() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (namespaces, mounts and cgroups)".to_owned());
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let v2_root = mountinfo.lines().any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    let freezer = mountinfo.lines().any(|l| {
        l.contains(" - cgroup ")
            && l.split(' ').next_back().is_some_and(|o| o.split(',').any(|o| o == "freezer"))
    });
    if !v2_root && !freezer {
        return Some("needs a cgroup v1 freezer hierarchy or cgroup2 at /sys/fs/cgroup".to_owned());
    }
    None
}

fn main() {
    if let Ok(spec) = std::env::var(LAUNCH_AND_LEAVE) {
        launch_and_leave(&spec);
    }
    let args = Arguments::from_args();
    let tests: Vec<(&str, Test)> = vec![
        ("output_and_exit_code", output_and_exit_code),
        ("attached_output_still_lands_in_the_sandbox", attached_output_still_lands_in_the_sandbox),
        ("signal_comes_back_as_signal", signal_comes_back_as_signal),
        ("pid_namespace_shows_only_the_container", pid_namespace_shows_only_the_container),
        ("uts_namespace_sets_the_hostname", uts_namespace_sets_the_hostname),
        ("net_namespace_has_only_lo_up", net_namespace_has_only_lo_up),
        ("destroy_kills_a_tree_of_four", destroy_kills_a_tree_of_four),
        ("command_waits_for_exec", command_waits_for_exec),
        ("release_fifo_holds_the_command_until_a_reader", release_fifo_holds_the_command_until_a_reader),
        ("destroy_before_exec_never_runs_the_command", destroy_before_exec_never_runs_the_command),
        ("missing_program_exits_127", missing_program_exits_127),
        ("bad_requests_are_refused_cleanly", bad_requests_are_refused_cleanly),
        ("recover_after_the_host_is_gone", recover_after_the_host_is_gone),
        ("module_through_the_c_abi", module_through_the_c_abi),
        ("signals_are_forwarded_to_the_command", signals_are_forwarded_to_the_command),
        ("environment_working_directory_and_rlimits", environment_working_directory_and_rlimits),
    ];
    let reason = cannot_run();
    let mut trials: Vec<Trial> = tests
        .into_iter()
        .map(|(name, test)| match &reason {
            None => Trial::test(name, test),
            Some(reason) => {
                let kind = reason_kind(reason);
                let reason = reason.clone();
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
                    .with_ignored_flag(true)
                    .with_kind(kind)
            }
        })
        .collect();
    trials.extend(filesystem::trials(reason.as_deref()));
    trials.extend(process::trials(reason.as_deref()));
    libtest_mimic::run(&args, trials).exit();
}

/// A short tag for the listing (`[needs root] name`).
fn reason_kind(reason: &str) -> String {
    reason.split(" (").next().unwrap_or(reason).to_owned()
}
