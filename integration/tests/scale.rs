//! Many containers at once: 50 concurrent `agent-harness run` processes sharing one work dir and
//! one cgroups root; all succeed and nothing is left behind.

use std::process::Stdio;
use std::time::Duration;

use integration::isolators::DEFAULT;
use integration::{Need, Sandbox, Suite, TestResult, ensure, wait_output};

const CONTAINERS: usize = 50;

/// Generous: 50 harnesses on 2 cores, or in a qemu guest without KVM.
const TIMEOUT: Duration = Duration::from_secs(900);

fn main() {
    let mut suite = Suite::new();
    suite.test("fifty_containers_at_once", &[Need::Containers], fifty_containers_at_once);
    suite.run()
}

fn fifty_containers_at_once() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut children = Vec::new();
    for n in 0..CONTAINERS {
        let id = format!("--container_id=c{n}");
        let child = sandbox
            .run_command(DEFAULT, &["--json", &id, "--resources=cpus:0.1;mem:32"], &["sleep", "0.2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match child {
            Ok(child) => children.push(child),
            Err(e) => {
                // The started ones are waited for below, so the sandbox's cleanup finds them ended.
                for child in children {
                    let _ = wait_output(child, TIMEOUT);
                }
                return Err(format!("cannot start harness {n}: {e}").into());
            }
        }
    }
    let mut failures = Vec::new();
    for (n, child) in children.into_iter().enumerate() {
        let output = wait_output(child, TIMEOUT)?;
        let exit_status = output.outcome().map(|o| o.exit_status);
        if output.code != Some(0) || !matches!(exit_status, Ok(0)) {
            failures.push(format!(
                "c{n}: exit {:?}, outcome {exit_status:?}, stderr {:?}",
                output.code, output.stderr
            ));
        }
    }
    ensure!(failures.is_empty(), "{} of {CONTAINERS} failed: {}", failures.len(), failures.join("; "));
    sandbox.assert_clean()
}
