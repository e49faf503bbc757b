//! The fixture checks itself: `assert_clean` sees what a killed harness leaves (cgroups,
//! processes, a checkpoint, the containerizer's runtime dir), and the sandbox's `Drop` removes all
//! of it, so a failing test does not leak into the next.

use std::time::Duration;

use integration::isolators::DEFAULT;
use integration::{Need, Sandbox, Suite, TestResult, ensure, wait_until};

fn main() {
    let mut suite = Suite::new();
    suite.test(
        "assert_clean_sees_and_drop_removes_a_leaked_container",
        &[Need::Containers],
        leaked_container,
    );
    suite.run()
}

fn leaked_container() -> TestResult {
    let sandbox = Sandbox::new()?;
    let started = sandbox.markers().join("started");
    let script = format!("echo started > {}; sleep 600", started.display());
    let mut harness = sandbox.spawn_run(DEFAULT, &["--container_id=leak"], &["sh", "-c", &script])?;
    wait_until("the command running", Duration::from_secs(300), || {
        harness.expect_running()?;
        Ok(started.exists())
    })?;
    harness.kill()?;

    let Err(failure) = sandbox.assert_clean() else {
        return Err("assert_clean passed with a container left running".into());
    };
    let failure = failure.message().unwrap_or_default().to_owned();
    for left in ["cgroup left", "process left", "checkpoint left", "runtime dir left"] {
        ensure!(failure.contains(left), "assert_clean did not report a {left}: {failure}");
    }

    let (name, roots, base) = (sandbox.name.clone(), sandbox.root_dirs(), sandbox.base.clone());
    drop(sandbox);
    let dirs: Vec<_> = roots.into_iter().filter(|d| d.exists()).collect();
    ensure!(dirs.is_empty(), "cgroups left after drop: {dirs:?}");
    let processes = integration::processes_in(&name);
    ensure!(processes.is_empty(), "processes left after drop: {processes:?}");
    ensure!(!base.exists(), "{} left after drop", base.display());
    Ok(())
}
