//! `agent-harness run-many`: one persistent harness runs a container per input line, reports each
//! as JSON lines, sweeps usage and destroys on request, and leaves nothing behind.

use std::collections::BTreeMap;

use integration::isolators::DEFAULT;
use integration::{Need, Sandbox, Suite, TestResult, ensure, output};
use serde_json::Value;

fn main() {
    let mut suite = Suite::new();
    suite.test("runs_each_line_in_a_container", &[Need::Containers], runs_each_line_in_a_container);
    suite.run()
}

fn runs_each_line_in_a_container() -> TestResult {
    let sandbox = Sandbox::new()?;
    let file = sandbox.work_dir.join("commands");
    std::fs::create_dir_all(&sandbox.work_dir)?;
    std::fs::write(&file, "/bin/true\n/bin/false\n/bin/sleep 30\n@usage\n@destroy\n@wait\n")?;
    let mut command = sandbox.harness();
    command
        .arg("run-many")
        .arg(sandbox.modules_flag())
        .arg(format!("--work_dir={}", sandbox.work_dir.display()))
        .arg(format!("--isolation={}", DEFAULT.join(",")))
        .arg("--resources=cpus:0.1;mem:32")
        .arg("--container_id_prefix=rm-")
        .arg(format!("--file={}", file.display()));
    let out = output(command)?;
    ensure!(out.code == Some(0), "run-many exited {:?}: {}", out.code, out.stderr);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not JSON lines ({e}): {}", out.stdout))?;
    let of = |kind: &str| events.iter().filter(|e| e["event"] == kind).collect::<Vec<_>>();
    ensure!(of("launched").len() == 3, "three launches: {}", out.stdout);
    let finished: BTreeMap<String, i64> = of("finished")
        .iter()
        .map(|e| {
            (
                e["container_id"].as_str().unwrap_or_default().to_string(),
                e["exit_status"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    ensure!(finished.get("rm-1") == Some(&0), "/bin/true exits 0: {finished:?}");
    ensure!(finished.get("rm-2") == Some(&1), "/bin/false exits 1: {finished:?}");
    ensure!(finished.get("rm-3") == Some(&137), "@destroy kills the sleep: {finished:?}");
    let sweeps = of("usage");
    ensure!(sweeps.len() == 1, "one usage sweep: {}", out.stdout);
    let swept = sweeps[0]["usage"].as_object().map(|m| m.contains_key("rm-3")).unwrap_or(false);
    ensure!(swept, "the sweep covers the live container: {}", sweeps[0]);
    sandbox.assert_clean()
}
