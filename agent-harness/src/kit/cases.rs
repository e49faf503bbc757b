//! The lifecycle cases of `agent-harness test`. Each holds for any isolator, whatever it isolates;
//! the cases tied to a resource run only when an isolator reports a limit for that resource in its
//! `usage` (`cpus_limit`, `mem_limit_bytes`, `disk_limit_bytes`), i.e. when it handles it.

use std::time::{Duration, Instant};

use module_abi::{CommandInfo, ContainerId, Reason, Resources};

use super::Ctx;
use super::leaks::leftovers;
use crate::engine::recover::recover;
use crate::engine::{Ending, Engine, ModuleInstances};

/// A resource a case needs an isolator to handle, or the isolator module it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Cpus,
    Mem,
    Disk,
    /// The module, among the isolators under test (`--isolation`, resolved).
    Isolator(&'static str),
}

/// One case.
pub struct Case {
    pub name: &'static str,
    pub needs: Needs,
    pub run: fn(&Ctx) -> Result<(), String>,
}

/// Every case, in the order they run.
pub const CASES: &[Case] = &[
    Case { name: "modules_load_and_are_created", needs: Needs::Nothing, run: modules_load_and_are_created },
    Case { name: "cleanup_of_an_unknown_container_succeeds", needs: Needs::Nothing, run: cleanup_unknown },
    Case { name: "prepare_isolate_cleanup_for_a_short_command", needs: Needs::Nothing, run: short_command },
    Case { name: "cleanup_runs_when_the_command_fails_to_start", needs: Needs::Nothing, run: failed_start },
    Case { name: "usage_is_valid_while_the_command_runs", needs: Needs::Nothing, run: usage_while_running },
    Case { name: "update_is_accepted", needs: Needs::Nothing, run: update_is_accepted },
    Case { name: "two_containers_keep_their_own_state", needs: Needs::Nothing, run: two_containers },
    Case { name: "recover_with_the_container_still_running", needs: Needs::Nothing, run: recover_running },
    Case { name: "recover_with_the_container_gone", needs: Needs::Nothing, run: recover_gone },
    Case { name: "a_cpus_limit_is_enforced", needs: Needs::Cpus, run: cpus_limit_enforced },
    Case { name: "a_memory_limit_gives_the_oom_limitation", needs: Needs::Mem, run: memory_limit_oom },
    Case { name: "a_disk_limit_is_enforced", needs: Needs::Disk, run: disk_limit_enforced },
    Case { name: "nothing_is_left_on_the_machine", needs: Needs::Nothing, run: nothing_left },
];

/// A command run through `/bin/sh -c`.
fn shell(script: &str) -> CommandInfo {
    CommandInfo {
        shell: false,
        value: "/bin/sh".into(),
        arguments: vec!["sh".into(), "-c".into(), script.into()],
        environment: Vec::new(),
    }
}

fn resources(text: &str) -> Resources {
    Resources::parse(text).unwrap_or_default()
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn modules_load_and_are_created(ctx: &Ctx) -> Result<(), String> {
    ctx.engine().map(drop)
}

fn cleanup_unknown(ctx: &Ctx) -> Result<(), String> {
    let engine = ctx.engine()?;
    let unknown = ContainerId::new(ctx.new_id());
    for isolator in &engine.modules.isolators {
        isolator.cleanup(&unknown).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn short_command(ctx: &Ctx) -> Result<(), String> {
    let outcome = ctx.run_to_end(&ctx.spec(shell("exit 0"), "", ""))?;
    ensure(outcome.exit_status == 0, || format!("the command exited with {}", outcome.exit_status))
}

fn failed_start(ctx: &Ctx) -> Result<(), String> {
    let command = CommandInfo {
        value: "/nonexistent/agent-harness-test/program".into(),
        arguments: vec!["program".into()],
        ..Default::default()
    };
    // A launch error or a 127 are both a failed start; either way cleanup must have run.
    match ctx.run_to_end(&ctx.spec(command, "", "")) {
        Ok(outcome) => ensure(outcome.exit_status != 0, || "a missing program exited with 0".to_string()),
        Err(e) if e.starts_with("Failed to launch container") && !e.contains("and then:") => Ok(()),
        Err(e) => Err(e),
    }
}

fn usage_while_running(ctx: &Ctx) -> Result<(), String> {
    let engine = ctx.engine()?;
    let spec = ctx.spec(shell("sleep 30"), "cpus:0.5;mem:64", "");
    ctx.with_running(&spec, |launched| {
        std::thread::sleep(Duration::from_millis(200));
        for isolator in &engine.modules.isolators {
            let usage = isolator.usage(&launched.container_id).map_err(|e| e.to_string())?;
            let value = serde_json::to_value(&usage).map_err(|e| e.to_string())?;
            for (field, v) in value.as_object().into_iter().flatten() {
                let ok = v.as_f64().is_some_and(|x| x.is_finite() && x >= 0.0);
                ensure(ok, || format!("{} reported {field} = {v}", isolator.name()))?;
            }
        }
        Ok(())
    })
}

fn update_is_accepted(ctx: &Ctx) -> Result<(), String> {
    let engine = ctx.engine()?;
    let spec = ctx.spec(shell("sleep 30"), "cpus:0.5;mem:64", "cpus:1;mem:128");
    ctx.with_running(&spec, |launched| {
        engine
            .update(&launched.container_id, &resources("cpus:1;mem:128"), &resources("cpus:2;mem:256"))
            .map_err(|e| e.to_string())
    })
}

fn two_containers(ctx: &Ctx) -> Result<(), String> {
    let engine = ctx.engine()?;
    let first = ctx.launch(&ctx.spec(shell("sleep 30"), "cpus:0.5;mem:64", ""))?;
    let second = ctx.launch(&ctx.spec(shell("sleep 30"), "cpus:0.25;mem:32", ""))?;
    for launched in [&first, &second] {
        for isolator in &engine.modules.isolators {
            isolator.usage(&launched.container_id).map_err(|e| e.to_string())?;
        }
    }
    let second_id = second.container_id.clone();
    ctx.finish(first, Ending::Stopped(libc::SIGKILL))?;
    let still_running = engine.modules.containerizer.wait(&second_id).map_err(|e| e.to_string())?.is_none();
    ensure(still_running, || "destroying the first container ended the second".to_string())?;
    for isolator in &engine.modules.isolators {
        isolator
            .usage(&second_id)
            .map_err(|e| format!("after the first container was cleaned up, usage of the second: {e}"))?;
    }
    ctx.finish(second, Ending::Stopped(libc::SIGKILL)).map(drop)
}

/// Launches a container with a separate engine and work directory, "kills" that harness (drops
/// everything without cleanup), and recovers with fresh module instances.
fn recover_after(ctx: &Ctx, script: &str, wait_for_exit: bool, expected: &str) -> Result<(), String> {
    let work_dir = ctx.work_dir.join(format!("recover-{}", ctx.new_id()));
    let (manager, set) = (&ctx.manager, &ctx.set);
    let instances = ModuleInstances::create(manager, set.clone()).map_err(|e| e.to_string())?;
    let first = Engine::new(instances, &work_dir);
    let spec = ctx.spec(shell(script), "cpus:0.25;mem:32", "");
    let launched = ctx.runtime.block_on(async {
        let launched = first.launch(&spec).map_err(|e| e.to_string())?;
        if wait_for_exit {
            match tokio::time::timeout(Duration::from_secs(60), first.supervise(&launched)).await {
                Ok(Ending::Exited(_)) => {}
                Ok(other) => return Err(format!("expected the command to exit, got {other:?}")),
                Err(_) => return Err("the command did not exit within 60s".to_string()),
            }
        }
        Ok::<_, String>(launched)
    });
    let launched = match launched {
        Ok(launched) => launched,
        Err(e) => {
            first.discard(&spec.container_id);
            return Err(e);
        }
    };
    drop(launched);
    drop(first);
    let report = ctx.runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), recover(&work_dir, None, false)).await
    });
    let report = match report {
        Ok(Ok(report)) => report,
        failed => {
            rescue(ctx, &work_dir, &spec.container_id);
            return Err(match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "recover did not finish within 120s".to_string(),
            });
        }
    };
    let Some(entry) = report.iter().find(|r| r.container_id == spec.container_id.value) else {
        rescue(ctx, &work_dir, &spec.container_id);
        return Err("recover did not report the container".to_string());
    };
    if !entry.errors.is_empty() {
        rescue(ctx, &work_dir, &spec.container_id);
        return Err(format!("recover: {}", entry.errors.join("; ")));
    }
    ensure(entry.action == expected, || format!("recover said '{}', expected '{expected}'", entry.action))
}

/// After a failed recovery the kit still must not leave the container behind: let the
/// containerizer alone learn the checkpointed container (it needs that to find its processes),
/// then destroy it and clean up every isolator.
fn rescue(ctx: &Ctx, work_dir: &std::path::Path, id: &ContainerId) {
    let Ok(instances) = ModuleInstances::create(&ctx.manager, ctx.set.clone()) else { return };
    let engine = Engine::new(instances, work_dir);
    let states = crate::engine::CheckpointDir::new(work_dir)
        .read_all()
        .unwrap_or_default()
        .iter()
        .filter_map(crate::engine::Checkpoint::state)
        .collect();
    let _ = engine.modules.containerizer.recover(states);
    engine.discard(id);
}

fn recover_running(ctx: &Ctx) -> Result<(), String> {
    recover_after(ctx, "sleep 1", false, "ran to its end")
}

fn recover_gone(ctx: &Ctx) -> Result<(), String> {
    recover_after(ctx, "exit 3", true, "exited")
}

fn cpus_limit_enforced(ctx: &Ctx) -> Result<(), String> {
    let engine = ctx.engine()?;
    let spec = ctx.spec(shell("while :; do :; done"), "cpus:0.25", "cpus:0.25");
    ctx.with_running(&spec, |launched| {
        let start = Instant::now();
        let before = engine.usage(&launched.container_id);
        std::thread::sleep(Duration::from_secs(2));
        let after = engine.usage(&launched.container_id);
        let cpu = |u: &module_abi::ResourceStatistics| {
            u.cpus_user_time_secs.unwrap_or(0.0) + u.cpus_system_time_secs.unwrap_or(0.0)
        };
        let share = (cpu(&after) - cpu(&before)) / start.elapsed().as_secs_f64();
        ensure((0.1..=0.45).contains(&share), || {
            format!("a busy loop under cpus:0.25 used {share:.2} of a core (expected about 0.25)")
        })
    })
}

fn memory_limit_oom(ctx: &Ctx) -> Result<(), String> {
    let outcome = ctx.run_to_end(&ctx.spec(shell("head -c 200m /dev/zero | tail"), "mem:32", "mem:32"))?;
    let limitation = outcome.limitation.ok_or_else(|| {
        format!("allocating 200MB under mem:32 gave no limitation (exit status {})", outcome.exit_status)
    })?;
    ensure(limitation.reason == Some(Reason::REASON_CONTAINER_LIMITATION_MEMORY), || {
        format!("the limitation's reason is {:?}", limitation.reason)
    })
}

fn disk_limit_enforced(ctx: &Ctx) -> Result<(), String> {
    let spec = ctx.spec(shell("head -c 20m /dev/zero > fill && sleep 5"), "disk:1", "disk:1");
    let outcome = ctx.run_to_end(&spec)?;
    let limited =
        outcome.limitation.is_some_and(|l| l.reason == Some(Reason::REASON_CONTAINER_LIMITATION_DISK));
    ensure(limited || outcome.exit_status != 0, || {
        "writing 20MB under disk:1 neither failed nor gave a disk limitation".to_string()
    })
}

fn nothing_left(ctx: &Ctx) -> Result<(), String> {
    let found = leftovers(&ctx.ids(), &ctx.work_dir);
    ensure(found.is_empty(), || format!("left behind: {}", found.join(", ")))
}

/// Supervises a container until its command ends (60s at most; then it counts as failed).
pub(super) async fn supervise_briefly(engine: &Engine, launched: &crate::engine::Launched) -> Ending {
    match tokio::time::timeout(Duration::from_secs(60), engine.supervise(launched)).await {
        Ok(ending) => ending,
        Err(_) => Ending::Failed("the command did not end within 60s".to_string()),
    }
}
