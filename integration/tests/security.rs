//! What a container's process cannot reach, through `agent-harness run` with the default
//! isolation: the host's pid namespace (it sees only its own processes), the cgroup limits that
//! contain it (its own cgroup's and its parent's: the cgroup file systems are read-only inside, on
//! v1 and v2), and the harness's checkpoints (`<work_dir>/meta` is an empty read-only tmpfs
//! inside). Root in the container keeps `CAP_SYS_ADMIN` unless `linux/capabilities` drops it, and
//! with it could unmount these in its own mount namespace; the last case drops it and checks that
//! the masks then hold against `umount` and a read-write remount.

use cgroupfs::CgroupMode;
use integration::isolators::{CAPABILITIES, DEFAULT};
use integration::{Need, Sandbox, SandboxOptions, Suite, TestResult, ensure};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("the_host_pid_namespace_is_out_of_reach", containers, pid_namespace);
    suite.test("the_containing_cgroup_limits_cannot_be_written", containers, cgroup_limits);
    suite.test("the_checkpoints_cannot_be_read", containers, checkpoints);
    suite.test("without_sys_admin_the_masks_cannot_be_undone", containers, without_sys_admin);
    suite.run()
}

/// Runs `script` in container `c1` with `isolation`; its stdout (the sandbox's file).
fn run_script(sandbox: &Sandbox, isolation: &[&str], script: &str) -> TestResult<String> {
    let output = sandbox.run(isolation, &["--json", "--container_id=c1"], &["sh", "-c", script])?;
    output.expect_success()?;
    Ok(std::fs::read_to_string(sandbox.sandbox_dir("c1").join("stdout"))?)
}

fn pid_namespace() -> TestResult {
    let sandbox = Sandbox::new()?;
    let host = std::fs::read_link("/proc/self/ns/pid")?;
    let me = std::process::id();
    let script = format!(
        "readlink /proc/self/ns/pid; echo self=$$; [ -e /proc/{me} ] && echo sees-the-test; \
         kill -0 {me} 2>/dev/null && echo signals-the-test; echo end"
    );
    let out = run_script(&sandbox, DEFAULT, &script)?;
    let lines: Vec<&str> = out.lines().collect();
    ensure!(lines.first().is_some_and(|ns| *ns != host.to_string_lossy()), "the host's pid namespace: {out}");
    // The containerizer's helper is the namespace's init (1); the command comes right after it.
    let own = lines.iter().find_map(|l| l.strip_prefix("self=")).and_then(|p| p.parse::<u32>().ok());
    ensure!(own.is_some_and(|pid| pid < 10), "not a fresh pid namespace's process: {out}");
    ensure!(!out.contains("sees-the-test") && !out.contains("signals-the-test"), "reaches the host: {out}");
    ensure!(lines.last() == Some(&"end"), "the script did not finish: {out}");
    sandbox.assert_clean()
}

fn cgroup_limits() -> TestResult {
    let sandbox = Sandbox::new()?;
    let (memory, cpu) = match sandbox.host.mode {
        CgroupMode::V1 => ("memory.limit_in_bytes", "cpu.shares"),
        CgroupMode::V2 => ("memory.max", "cpu.weight"),
    };
    let own = [sandbox.cgroup_file("c1", "memory", memory), sandbox.cgroup_file("c1", "cpu", cpu)];
    let parents: Vec<_> =
        own.iter().filter_map(|f| Some(f.parent()?.parent()?.join(f.file_name()?))).collect();
    let mut script = String::new();
    for file in own.iter().chain(&parents) {
        let file = file.display();
        script.push_str(&format!("if echo 2 > {file}; then echo wrote {file}; fi 2>/dev/null; "));
    }
    script.push_str("echo end");
    let output = sandbox.run(
        DEFAULT,
        &["--json", "--container_id=c1", "--resources=cpus:0.5;mem:64"],
        &["sh", "-c", &script],
    )?;
    output.expect_success()?;
    let out = std::fs::read_to_string(sandbox.sandbox_dir("c1").join("stdout"))?;
    ensure!(!out.contains("wrote"), "a limit was written from inside: {out}");
    ensure!(out.trim_end().ends_with("end"), "the script did not finish: {out}");
    let stderr = std::fs::read_to_string(sandbox.sandbox_dir("c1").join("stderr"))?;
    ensure!(!stderr.contains("No such file"), "the script named files that are not there: {stderr}");
    sandbox.assert_clean()
}

fn checkpoints() -> TestResult {
    let sandbox = Sandbox::new()?;
    let checkpoint = sandbox.checkpoint("c1");
    let meta = sandbox.work_dir.join("meta");
    let script = format!(
        "cat {} >/dev/null 2>&1 && echo read-it; ls -A {} | wc -l; touch {}/x 2>/dev/null && echo wrote; echo end",
        checkpoint.display(),
        meta.display(),
        meta.display()
    );
    let out = run_script(&sandbox, DEFAULT, &script)?;
    ensure!(!out.contains("read-it") && !out.contains("wrote"), "the checkpoints are reachable: {out}");
    ensure!(out.lines().next().map(str::trim) == Some("0"), "meta/ is not empty inside: {out}");
    ensure!(out.trim_end().ends_with("end"), "the script did not finish: {out}");
    sandbox.assert_clean()
}

fn without_sys_admin() -> TestResult {
    let options = SandboxOptions {
        effective_capabilities: Some("CHOWN,DAC_OVERRIDE,KILL".into()),
        bounding_capabilities: Some("CHOWN,DAC_OVERRIDE,KILL".into()),
        ..Default::default()
    };
    let sandbox = Sandbox::with(options)?;
    let meta = sandbox.work_dir.join("meta");
    let memory = sandbox.cgroup_file("c1", "memory", "x");
    let memory =
        memory.parent().and_then(|p| p.parent()).and_then(|p| p.parent()).ok_or("no cgroup mount")?;
    let script = format!(
        "umount {meta} 2>/dev/null && echo unmounted-meta; mount -o remount,rw {memory} 2>/dev/null && \
         echo remounted; umount {memory} 2>/dev/null && echo unmounted-cgroup; \
         cat {checkpoint} >/dev/null 2>&1 && echo read-it; echo end",
        meta = meta.display(),
        memory = memory.display(),
        checkpoint = sandbox.checkpoint("c1").display()
    );
    let isolation: Vec<&str> = DEFAULT.iter().copied().chain([CAPABILITIES]).collect();
    let out = run_script(&sandbox, &isolation, &script)?;
    for undone in ["unmounted-meta", "remounted", "unmounted-cgroup", "read-it"] {
        ensure!(!out.contains(undone), "{undone} without CAP_SYS_ADMIN: {out}");
    }
    ensure!(out.trim_end().ends_with("end"), "the script did not finish: {out}");
    sandbox.assert_clean()
}
