//! containerd running containers through the OCI runtime under test (`isolation-runc`, or the
//! binary `OCI_RUNTIME` names): `ctr run --runc-binary` on the busybox image with limits read
//! back from inside the container, a pids limit from a whole spec, an OOM seen by containerd as
//! an event and an exit status, exec, ps, pause, resume, kill and delete, and a failing command
//! reported back through the shim. Each test starts its own containerd and ends with
//! [`Containerd::stop`]: no process, mount, cgroup, runtime state, shim socket or fifo left.

use std::time::Duration;

use integration::containerd::{Containerd, ContainerdOptions, Events, image};
use integration::{MB, Need, Suite, TestResult, ensure, processes_in, wait_until};

fn main() {
    let mut suite = Suite::new();
    let needs = &[Need::Containers, Need::Containerd];
    suite.test("ctr_run_with_limits_seen_inside", needs, ctr_run_with_limits_seen_inside);
    suite.test("pids_limit_from_a_whole_spec", &[Need::Containers, Need::Containerd, Need::Pids], pids_limit);
    suite.test("oom_is_an_event_and_exit_137", needs, oom_is_an_event_and_exit_137);
    suite.test("exec_ps_pause_resume_kill_delete", needs, exec_ps_pause_resume_kill_delete);
    suite.test("a_failing_command_is_reported_and_nothing_left", needs, a_failing_command_is_reported);
    suite.test("a_container_left_running_fails_the_check", needs, a_container_left_running_fails_the_check);
    suite.run()
}

/// How long a task gets to reach a state.
const STATE_WAIT: Duration = Duration::from_secs(60);

/// `ctr run --mount` of the container's own cgroups at `/sys/fs/cgroup`, read-only (what Docker
/// and CRI give every container).
const CGROUP_MOUNT: &str = "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec";

/// Prints the container's limits as `key=value` lines, from its cgroup files (v1 or v2) and
/// `/proc/self/cgroup`.
const LIMITS: &str = r#"
echo cgroup=$(grep -E '^(0::|[0-9]+:([^:]*,)?memory(,[^:]*)?:)' /proc/self/cgroup | head -n1 | cut -d: -f3)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo memory=$(cat /sys/fs/cgroup/memory.max)
  echo cpu=$(cat /sys/fs/cgroup/cpu.max | tr ' ' /)
  echo pids=$(cat /sys/fs/cgroup/pids.max)
else
  echo memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)/$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)
  echo pids=$(cat /sys/fs/cgroup/pids/pids.max)
fi
"#;

/// The value of `key=` in the container's output.
fn value<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(&format!("{key}=")))
}

fn ctr_run_with_limits_seen_inside() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let memory = (64 * MB).to_string();
    let flags =
        ["--rm", "--memory-limit", &memory, "--cpus", "0.5", "--cpu-shares", "512", "--mount", CGROUP_MOUNT];
    let out = containerd.run("limits", &flags, &["sh", "-c", LIMITS])?;
    ensure!(
        out.code == Some(0),
        "ctr run: exit {:?}; stdout {:?}; stderr {:?}",
        out.code,
        out.stdout,
        out.stderr
    );
    let stdout = out.stdout;
    // ctr's default cgroups path is /<namespace>/<id>.
    let cgroup = format!("/{}/limits", containerd.namespace());
    ensure!(value(&stdout, "cgroup") == Some(cgroup.as_str()), "not in {cgroup}: {stdout}");
    ensure!(value(&stdout, "memory") == Some(memory.as_str()), "memory limit: {stdout}");
    ensure!(value(&stdout, "cpu") == Some("50000/100000"), "cpu quota/period: {stdout}");
    if let Some(shares) = value(&stdout, "shares") {
        ensure!(shares == "512", "cpu shares: {stdout}");
    }
    containerd.stop()
}

fn pids_limit() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let rootfs = containerd.sandbox.base.join("rootfs");
    image::write_rootfs(&rootfs)?;
    // Twice the limit's worth of sleeps from a subshell, which busybox's sh leaves when a fork
    // fails; `set --` and `echo` are built in, so the count needs no fork.
    let script = format!(
        "{LIMITS}\n(i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null\n\
         echo forks=$?\nset -- /proc/[0-9]*; echo processes=$#"
    );
    let mut spec = containerd.default_spec()?;
    spec["root"] = serde_json::json!({"path": rootfs, "readonly": false});
    spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
    spec["process"]["env"] = serde_json::json!(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    spec["process"]["terminal"] = serde_json::json!(false);
    spec["linux"]["cgroupsPath"] = format!("/{}/pids", containerd.namespace()).into();
    spec["linux"]["resources"]["pids"] = serde_json::json!({"limit": 20});
    spec["mounts"].as_array_mut().ok_or("ctr oci spec: no mounts")?.push(serde_json::json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["ro", "nosuid", "nodev", "noexec"],
    }));
    let spec_path = containerd.sandbox.base.join("pids.json");
    std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec)?)?;
    let out = containerd.run_spec("pids", &spec_path, &["--rm"])?;
    ensure!(
        out.code == Some(0),
        "ctr run --config: exit {:?}; stdout {:?}; stderr {:?}",
        out.code,
        out.stdout,
        out.stderr
    );
    ensure!(value(&out.stdout, "pids") == Some("20"), "pids.max: {}", out.stdout);
    let processes: usize = value(&out.stdout, "processes").and_then(|n| n.parse().ok()).ok_or("no count")?;
    ensure!((2..=20).contains(&processes), "{processes} processes under a limit of 20: {}", out.stdout);
    ensure!(value(&out.stdout, "forks") != Some("0"), "all 40 forks succeeded: {}", out.stdout);
    containerd.stop()
}

fn oom_is_an_event_and_exit_137() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let events = Events::start(&containerd)?;
    let memory = (32 * MB).to_string();
    // `tail` keeps a line that never ends in memory.
    let out = containerd.run("oom", &["-d", "--memory-limit", &memory], &["tail", "/dev/zero"])?;
    ensure!(out.code == Some(0), "ctr run -d: exit {:?}; stderr {:?}", out.code, out.stderr);
    let ns = containerd.namespace().to_owned();
    events.wait_for("the OOM event", STATE_WAIT, |e| {
        e.topic == "/tasks/oom" && e.namespace == ns && e.container_id() == Some("oom")
    })?;
    let exit = events.wait_for("the exit event", STATE_WAIT, |e| {
        e.topic == "/tasks/exit" && e.namespace == ns && e.container_id() == Some("oom")
    })?;
    ensure!(exit.body["exit_status"] == 137, "exit status {} (not SIGKILL's 137)", exit.body["exit_status"]);
    let deleted = containerd.ctr(&["task", "delete", "oom"])?;
    ensure!(deleted.code == Some(0), "ctr task delete: {deleted:?}");
    containerd.ctr_ok(&["container", "delete", "oom"])?;
    drop(events);
    containerd.stop()
}

/// Waits until `ctr task ls` shows the task in `status`.
fn wait_status(containerd: &Containerd, id: &str, status: &str) -> TestResult {
    wait_until(&format!("task {id} {status}"), STATE_WAIT, || {
        Ok(containerd.task_status(id)?.as_deref() == Some(status))
    })
}

fn exec_ps_pause_resume_kill_delete() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let out = containerd.run("life", &["-d"], &["sleep", "1000"])?;
    ensure!(out.code == Some(0), "ctr run -d: exit {:?}; stderr {:?}", out.code, out.stderr);
    wait_status(&containerd, "life", "RUNNING")?;
    let fifo = containerd.fifo_dir.display().to_string();

    // exec: the output comes back, and so does the exit status; the exec'd process is in the
    // container's pid namespace and sees its command. (Under isolation-runc pid 1 is the suite's
    // init, `mesos-containerizer`, with the command as its child, as under Mesos; runc execs the
    // command as pid 1. The README's "Use it from containerd" lists the difference.)
    let exec = |id: &str, script: &str| {
        containerd.ctr(&["task", "exec", "--fifo-dir", &fifo, "--exec-id", id, "life", "sh", "-c", script])
    };
    let out = exec("e1", "echo in; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done")?;
    ensure!(out.code == Some(0), "ctr task exec: exit {:?}; stderr {:?}", out.code, out.stderr);
    ensure!(
        out.stdout.starts_with("in\n") && out.stdout.lines().any(|l| l.trim() == "sleep 1000"),
        "exec output: {:?}",
        out.stdout
    );
    // Nothing of the host is in the container's pid namespace: only its own processes.
    ensure!(!out.stdout.contains("containerd"), "the exec saw the host's processes: {:?}", out.stdout);
    let out = exec("e2", "exit 3")?;
    ensure!(out.code == Some(3), "exec of `exit 3`: exit {:?}; stderr {:?}", out.code, out.stderr);

    // ps: the runtime's `ps --format json` through the shim.
    let ps = containerd.ctr_ok(&["task", "ps", "life"])?;
    ensure!(ps.lines().count() >= 2, "ctr task ps: {ps:?}");

    // pause and resume: the freezer (v1) or cgroup.freeze (v2) of the container's cgroup.
    containerd.ctr_ok(&["task", "pause", "life"])?;
    wait_status(&containerd, "life", "PAUSED")?;
    if containerd.sandbox.host.mode_name() == "v1" {
        let state = containerd.sandbox.read_cgroup("life", "freezer", "freezer.state")?;
        ensure!(state == "FROZEN", "freezer.state {state} while paused");
    }
    containerd.ctr_ok(&["task", "resume", "life"])?;
    wait_status(&containerd, "life", "RUNNING")?;

    // A running task cannot be deleted without force; kill, then delete.
    let out = containerd.ctr(&["task", "delete", "life"])?;
    ensure!(out.code != Some(0), "ctr task delete of a running task succeeded");
    containerd.ctr_ok(&["task", "kill", "--signal", "SIGKILL", "life"])?;
    wait_status(&containerd, "life", "STOPPED")?;
    containerd.ctr_ok(&["task", "delete", "life"])?;
    containerd.ctr_ok(&["container", "delete", "life"])?;

    // delete --force of a running task.
    let out = containerd.run("forced", &["-d"], &["sleep", "1000"])?;
    ensure!(out.code == Some(0), "ctr run -d: exit {:?}; stderr {:?}", out.code, out.stderr);
    wait_status(&containerd, "forced", "RUNNING")?;
    containerd.ctr_ok(&["task", "delete", "--force", "forced"])?;
    containerd.ctr_ok(&["container", "delete", "forced"])?;
    containerd.stop()
}

fn a_failing_command_is_reported() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let out = containerd.run("missing", &["--rm"], &["/no/such/command"])?;
    ensure!(out.code != Some(0), "ctr run of a missing command succeeded: {out:?}");
    ensure!(out.stderr.contains("/no/such/command"), "the error does not name the command: {:?}", out.stderr);
    // ctr leaves the container record when the task could not be made.
    let _ = containerd.ctr(&["container", "delete", "missing"])?;
    containerd.stop()
}

/// The check itself: a test that leaves a container running fails [`Containerd::stop`], and the
/// cleanup after it (containerd's and the sandbox's `Drop`) still leaves nothing.
fn a_container_left_running_fails_the_check() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions::default())?;
    let out = containerd.run("left", &["-d"], &["sleep", "1000"])?;
    ensure!(out.code == Some(0), "ctr run -d: exit {:?}; stderr {:?}", out.code, out.stderr);
    wait_status(&containerd, "left", "RUNNING")?;
    let (name, base, roots) =
        (containerd.namespace().to_owned(), containerd.sandbox.base.clone(), containerd.sandbox.root_dirs());
    let result = containerd.stop();
    let message = result.err().map(|e| e.message().unwrap_or_default().to_owned()).unwrap_or_default();
    ensure!(
        message.contains(&format!("task {name}/left still known")),
        "the check passed or said: {message:?}"
    );
    let processes = processes_in(&name);
    ensure!(processes.is_empty(), "processes left after the cleanup: {processes:?}");
    let cgroups: Vec<_> = roots.iter().filter(|d| d.exists()).collect();
    ensure!(cgroups.is_empty() && !base.exists(), "left after the cleanup: {cgroups:?}, {}", base.display());
    Ok(())
}
