//! `cgroups/pids` and `cgroups/devices` through the whole harness: the real `agent-harness run`
//! with `--limits=pids:16` holding a fork bomb at the limit, Mesos's device whitelist refusing a
//! loop device inside the container, and `usage` of a running container (processes, threads).
//!
//! The commands are busybox-compatible shell. A refused fork ends dash and busybox sh, so the
//! bomb runs in a subshell and the outer shell reports with builtins only (`read`, `echo`), which
//! need no fork in a full cgroup.

use integration::isolators::{DEVICES, PID, PIDS};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, container_spec, ensure, usage_until};

fn main() {
    let mut suite = Suite::new();
    suite.test("run_with_a_pids_limit_holds_a_fork_bomb", &[Need::Containers, Need::Pids], fork_bomb);
    suite.test("pids_usage_while_running", &[Need::Containers, Need::Pids], pids_usage_while_running);
    suite.test("run_with_the_device_whitelist", &[Need::Containers, Need::Devices], device_whitelist);
    suite.test("allowed_devices_add_to_the_whitelist", &[Need::Containers, Need::Devices], allowed_devices);
    suite.run()
}

fn fork_bomb() -> TestResult {
    let sandbox = Sandbox::new()?;
    let file = |name: &str| sandbox.cgroup_file("bomb", "pids", name).display().to_string();
    let markers = sandbox.markers().display().to_string();
    // At most 100 children even if no limit held; with pids:16 the subshell is refused its fork
    // once the container's 16 tasks are there, and exits, which frees exactly its own slot.
    let script = format!(
        "(i=0; while [ $i -lt 100 ]; do sleep 600 & i=$((i+1)); echo $i > {markers}/forked; done) 2> {markers}/err; \
         read -r current < {current}; read -r max < {max}; echo current=$current max=$max; \
         for f in {events} {leaf_events}; do [ -f $f ] && while read -r key value; do [ \"$key\" = max ] && echo refused=$value; done < $f; done; true",
        current = file("pids.current"),
        max = file("pids.max"),
        events = file("pids.events"),
        // Before Linux 6.13 a refusal is counted where the forking task is: on v2, the leaf.
        leaf_events = sandbox.cgroup_file("bomb", "pids", "leaf/pids.events").display(),
    );
    let output =
        sandbox.run(&[PIDS, PID], &["--container_id=bomb", "--limits=pids:16"], &["sh", "-c", &script])?;
    output.expect_success()?;
    let mut lines = output.stdout.lines();
    ensure!(lines.next() == Some("current=15 max=16"), "stdout {:?}", output.stdout);
    let refused: u64 =
        lines.filter_map(|l| l.strip_prefix("refused=")).filter_map(|n| n.parse::<u64>().ok()).sum();
    ensure!(refused >= 1, "no refused fork in {:?}", output.stdout);
    let err = std::fs::read_to_string(sandbox.markers().join("err"))?;
    ensure!(err.to_lowercase().contains("fork"), "the subshell said {err:?}");
    let forked: u32 = std::fs::read_to_string(sandbox.markers().join("forked"))?.trim().parse()?;
    ensure!((1..16).contains(&forked), "{forked} sleeps started under pids:16");
    ensure!(output.error_lines().is_empty(), "Error lines: {:?}", output.stderr);
    sandbox.assert_clean()
}

fn pids_usage_while_running() -> TestResult {
    let sandbox = Sandbox::new()?;
    let spec = container_spec("c1", "sleep 600 & sleep 600 & wait", "", "pids:100")?;
    let (usage, _) = sandbox.in_container(&[PIDS, PID], &spec, |engine, launched| {
        let max = sandbox.read_cgroup("c1", "pids", "pids.max")?;
        ensure!(max == "100", "pids.max {max}");
        usage_until(engine, &launched.container_id, "the shell and its two sleeps", |u| {
            u.processes.is_some_and(|p| p >= 3)
        })
    })?;
    ensure!(usage.threads.is_some_and(|t| t >= usage.processes.unwrap_or(0)), "{usage:?}");
    sandbox.assert_clean()
}

fn device_whitelist() -> TestResult {
    let sandbox = Sandbox::new()?;
    let m = sandbox.markers().display().to_string();
    // The issue's check: a loop device node may be made (`b *:* m`) but not opened.
    let script = format!(
        "echo x > /dev/null && echo null; head -c 4 /dev/urandom > /dev/null && echo urandom; \
         mknod {m}/loop b 7 0 && echo mknod; \
         dd if={m}/loop of=/dev/null count=1 2>&1 | grep -q 'Operation not permitted' && echo loop-denied; \
         rm -f {m}/loop"
    );
    let output = sandbox.run(&[DEVICES, PID], &[], &["sh", "-c", &script])?;
    output.expect_success()?;
    ensure!(output.stdout == "null\nurandom\nmknod\nloop-denied\n", "stdout {:?}", output.stdout);
    ensure!(output.error_lines().is_empty(), "Error lines: {:?}", output.stderr);
    sandbox.assert_clean()
}

/// `--allowed_devices` (the devices isolator's `allowed_devices`): the loop device the whitelist
/// refuses opens once it is allowed for reading, and only for reading.
fn allowed_devices() -> TestResult {
    let base = std::env::temp_dir().join(format!("allowed-devices-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    let node = base.join("loop0");
    let made = std::process::Command::new("mknod").arg(&node).args(["b", "7", "0"]).status()?;
    ensure!(made.success(), "mknod {} b 7 0: {made}", node.display());
    let whitelist = format!(
        r#"{{"allowed_devices":[{{"device":{{"path":"{}"}},"access":{{"read":true}}}}]}}"#,
        node.display()
    );
    let options =
        SandboxOptions { parameters: vec![(DEVICES, "allowed_devices", whitelist)], ..Default::default() };
    let result = (|| {
        let sandbox = Sandbox::with(options)?;
        let m = sandbox.markers().display().to_string();
        // Unbound, the loop device reads as empty or fails with ENXIO: anything but EPERM.
        let script = format!(
            "mknod {m}/loop b 7 0 || exit 3; \
             (exec 3< {m}/loop) 2>&1 | grep -q 'not permitted' && echo read-denied; \
             (exec 3> {m}/loop) 2>&1 | grep -q 'not permitted' && echo write-denied; \
             rm -f {m}/loop; true"
        );
        let output = sandbox.run(&[DEVICES, PID], &[], &["sh", "-c", &script])?;
        output.expect_success()?;
        ensure!(output.stdout == "write-denied\n", "stdout {:?}", output.stdout);
        sandbox.assert_clean()
    })();
    std::fs::remove_dir_all(&base)?;
    result
}
