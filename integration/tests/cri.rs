//! containerd's CRI plugin (what a kubelet speaks) running pods through the OCI runtime under
//! test, its default runtime handler: a host-network pod sandbox (the busybox image tagged as the
//! pause image) and a container with memory and cpu limits, read back from inside through
//! ExecSync, ContainerStats, UpdateContainerResources seen inside and on the host, stop and
//! remove; and a container killed by its memory limit, reported by CRI as `OOMKilled`. Each test
//! starts its own containerd and ends with [`Containerd::stop`]: nothing left.

use std::time::Duration;

use serde_json::{Value, json};

use integration::containerd::{Containerd, ContainerdOptions, Cri, RUNTIME_HANDLER, image, int};
use integration::{MB, Need, Suite, TestResult, ensure, wait_until};

fn main() {
    let mut suite = Suite::new();
    let needs = &[Need::Containers, Need::Cri];
    suite.test("pod_and_container_exec_stats_update_stop_remove", needs, pod_and_container);
    suite.test("oom_killed_container", needs, oom_killed_container);
    suite.run()
}

/// How long a container gets to reach a state.
const STATE_WAIT: Duration = Duration::from_secs(60);

/// A host-network pod in the sandbox's cgroups root (no CNI here, and no hostname for such pods).
fn pod_config(containerd: &Containerd, name: &str) -> Value {
    json!({
        "metadata": {"name": name, "uid": format!("{}-{name}", containerd.namespace()), "namespace": "default"},
        "linux": {
            "cgroup_parent": format!("/{}", containerd.namespace()),
            "security_context": {"namespace_options": {"network": "NODE"}},
        },
    })
}

/// RunPodSandbox with the runtime under test's handler; the pod's id.
fn run_pod(cri: &mut Cri, config: &Value) -> TestResult<String> {
    let pod = cri.runtime("RunPodSandbox", json!({"config": config, "runtime_handler": RUNTIME_HANDLER}))?;
    Ok(pod["pod_sandbox_id"].as_str().ok_or("RunPodSandbox: no pod_sandbox_id")?.to_owned())
}

/// CreateContainer and StartContainer; the container's id.
fn start_container(cri: &mut Cri, pod: &str, pod_config: &Value, config: Value) -> TestResult<String> {
    let created = cri.runtime(
        "CreateContainer",
        json!({"pod_sandbox_id": pod, "sandbox_config": pod_config, "config": config}),
    )?;
    let id = created["container_id"].as_str().ok_or("CreateContainer: no container_id")?.to_owned();
    cri.runtime("StartContainer", json!({"container_id": id}))?;
    Ok(id)
}

fn status(cri: &mut Cri, id: &str) -> TestResult<Value> {
    Ok(cri.runtime("ContainerStatus", json!({"container_id": id}))?["status"].clone())
}

/// Stops and removes the pod, then checks that CRI lists nothing.
fn remove_pod(cri: &mut Cri, pod: &str) -> TestResult {
    cri.runtime("StopPodSandbox", json!({"pod_sandbox_id": pod}))?;
    cri.runtime("RemovePodSandbox", json!({"pod_sandbox_id": pod}))?;
    let pods = cri.runtime("ListPodSandbox", json!({}))?;
    ensure!(pods.get("items").is_none_or(|i| i.as_array().is_some_and(Vec::is_empty)), "pods left: {pods}");
    let containers = cri.runtime("ListContainers", json!({}))?;
    ensure!(
        containers.get("containers").is_none_or(|c| c.as_array().is_some_and(Vec::is_empty)),
        "containers left: {containers}"
    );
    Ok(())
}

/// Prints the container's memory limit and cpu quota as `key=value` lines (cgroup v1 or v2).
const LIMITS: &str = r#"
echo cgroup=$(grep -E '^(0::|[0-9]+:([^:]*,)?memory(,[^:]*)?:)' /proc/self/cgroup | head -n1 | cut -d: -f3)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo memory=$(cat /sys/fs/cgroup/memory.max)
  echo cpu=$(cat /sys/fs/cgroup/cpu.max | tr ' ' /)
else
  echo memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)/$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)
fi
"#;

fn value<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(&format!("{key}=")))
}

/// ExecSync of `sh -c script`: (stdout, exit code).
fn exec(cri: &mut Cri, id: &str, script: &str) -> TestResult<(String, i64)> {
    let out =
        cri.runtime("ExecSync", json!({"container_id": id, "cmd": ["sh", "-c", script], "timeout": 60}))?;
    Ok((out["stdout"].as_str().unwrap_or_default().to_owned(), out["exit_code"].as_i64().unwrap_or(0)))
}

fn pod_and_container() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions { cri: true })?;
    let mut cri = Cri::connect(&containerd)?;
    let version = cri.runtime("Version", json!({}))?;
    ensure!(version["runtime_api_version"] == "v1", "Version: {version}");
    let images = cri.image("ListImages", json!({}))?.to_string();
    ensure!(images.contains(image::IMAGE) && images.contains(image::PAUSE_IMAGE), "ListImages: {images}");

    let config = pod_config(&containerd, "pod");
    let pod = run_pod(&mut cri, &config)?;
    let memory = 64 * MB;
    let container = json!({
        "metadata": {"name": "limited"},
        "image": {"image": image::IMAGE},
        "command": ["sleep", "1000"],
        "linux": {"resources": {
            "memory_limit_in_bytes": memory, "cpu_period": 100_000, "cpu_quota": 50_000, "cpu_shares": 512,
        }},
    });
    let id = start_container(&mut cri, &pod, &config, container)?;
    ensure!(
        status(&mut cri, &id)?["state"] == "CONTAINER_RUNNING",
        "not running: {}",
        status(&mut cri, &id)?
    );

    // The limits, from inside (CRI mounts the container's cgroups at /sys/fs/cgroup).
    let (out, code) = exec(&mut cri, &id, LIMITS)?;
    ensure!(code == 0, "ExecSync exit {code}: {out}");
    let cgroup = format!("/{}/{id}", containerd.namespace());
    ensure!(value(&out, "cgroup") == Some(cgroup.as_str()), "not in {cgroup}: {out}");
    ensure!(value(&out, "memory") == Some(memory.to_string().as_str()), "memory limit: {out}");
    ensure!(value(&out, "cpu") == Some("50000/100000"), "cpu quota/period: {out}");
    if let Some(shares) = value(&out, "shares") {
        ensure!(shares == "512", "cpu shares: {out}");
    }
    let (_, code) = exec(&mut cri, &id, "exit 7")?;
    ensure!(code == 7, "ExecSync of `exit 7`: exit code {code}");

    // Stats: containerd reads them from the container's cgroups.
    let stats = cri.runtime("ContainerStats", json!({"container_id": id}))?;
    let usage = int(&stats["stats"]["memory"]["usage_bytes"]).unwrap_or(0);
    let available = int(&stats["stats"]["memory"]["available_bytes"]).unwrap_or(u64::MAX);
    let cpu = int(&stats["stats"]["cpu"]["usage_core_nano_seconds"]).unwrap_or(0);
    ensure!(usage > 0 && available <= memory && cpu > 0, "ContainerStats: {stats}");

    // Update: seen inside, on the host and in the status.
    let bigger = 128 * MB;
    let update = json!({"memory_limit_in_bytes": bigger, "cpu_period": 100_000, "cpu_quota": 25_000, "cpu_shares": 256});
    cri.runtime("UpdateContainerResources", json!({"container_id": id, "linux": update}))?;
    let (out, _) = exec(&mut cri, &id, LIMITS)?;
    ensure!(value(&out, "memory") == Some(bigger.to_string().as_str()), "memory limit after update: {out}");
    ensure!(value(&out, "cpu") == Some("25000/100000"), "cpu quota after update: {out}");
    if containerd.sandbox.host.mode_name() == "v1" {
        let limit = containerd.sandbox.read_cgroup(&id, "memory", "memory.limit_in_bytes")?;
        ensure!(limit == bigger.to_string(), "host memory.limit_in_bytes {limit} after update");
    }
    let resources = &status(&mut cri, &id)?["resources"]["linux"];
    ensure!(int(&resources["memory_limit_in_bytes"]) == Some(bigger), "status resources: {resources}");

    // Stop (sleep ignores SIGTERM as a pid namespace's init: SIGKILL after the timeout), remove.
    cri.runtime("StopContainer", json!({"container_id": id, "timeout": 2}))?;
    let stopped = status(&mut cri, &id)?;
    ensure!(stopped["state"] == "CONTAINER_EXITED", "after StopContainer: {stopped}");
    cri.runtime("RemoveContainer", json!({"container_id": id}))?;
    let gone = cri.call("RuntimeService", "ContainerStatus", json!({"container_id": id}))?;
    ensure!(gone.as_ref().is_err_and(|e| e.code == "NOT_FOUND"), "ContainerStatus after remove: {gone:?}");
    // The pod's sandbox shares the container's cgroups root: the container's delete leaves it be.
    let sandbox = cri.runtime("PodSandboxStatus", json!({"pod_sandbox_id": pod}))?;
    // (SANDBOX_READY is the enum's zero, which the JSON leaves out.)
    let state = sandbox["status"]["state"].as_str().unwrap_or("SANDBOX_READY");
    ensure!(state == "SANDBOX_READY", "the pod after its container's removal: {sandbox}");
    remove_pod(&mut cri, &pod)?;
    drop(cri);
    containerd.stop()
}

fn oom_killed_container() -> TestResult {
    let containerd = Containerd::start(ContainerdOptions { cri: true })?;
    let mut cri = Cri::connect(&containerd)?;
    let config = pod_config(&containerd, "oom");
    let pod = run_pod(&mut cri, &config)?;
    let container = json!({
        "metadata": {"name": "hog"},
        "image": {"image": image::IMAGE},
        "command": ["tail", "/dev/zero"],
        "linux": {"resources": {"memory_limit_in_bytes": 32 * MB}},
    });
    let id = start_container(&mut cri, &pod, &config, container)?;
    let mut last = Value::Null;
    wait_until("the container to exit", STATE_WAIT, || {
        last = status(&mut cri, &id)?;
        Ok(last["state"] == "CONTAINER_EXITED")
    })?;
    ensure!(last["reason"] == "OOMKilled" && last["exit_code"] == 137, "not OOMKilled: {last}");
    cri.runtime("RemoveContainer", json!({"container_id": id}))?;
    remove_pod(&mut cri, &pod)?;
    drop(cri);
    containerd.stop()
}
