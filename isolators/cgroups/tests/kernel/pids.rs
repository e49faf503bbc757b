//! `cgroups/pids` on the kernel: the limit from the container's limits or the parameter, the
//! counts in `usage`, and a fork bomb held at the limit with `EAGAIN` and destroyed whole.

use std::time::Duration;

use cgroupfs::{CgroupManager, CgroupMode, Controller, Hierarchies, PidsLimit, ScratchRoot};
use cgroups_isolator::CgroupsPidsIsolator;
use libtest_mimic::Trial;
use module_abi::{ContainerId, Isolator, Module, Resources};

use crate::check;
use crate::common::{
    Kid, TestFn, TestResult, config, eventually, module_parameters, skip_reason, spawn_child, trial,
};

const PIDS: &[Controller] = &[Controller::Pids];

/// This host's trials, and on a v1 host their v2 twins, skipped: the unified mount of a hybrid
/// host offers no pids controller.
pub fn trials(hierarchies: &Hierarchies, version: &str) -> Vec<Trial> {
    let tests: [(&str, TestFn); 2] = [
        ("pids_limit_from_limits_or_parameter", limit_from_limits_or_parameter),
        ("pids_fork_bomb_stays_at_the_limit", fork_bomb_stays_at_the_limit),
    ];
    let mut trials = Vec::new();
    for (name, test) in tests {
        trials.push(trial(
            format!("{version}::{name}"),
            skip_reason(hierarchies, PIDS),
            hierarchies.clone(),
            test,
        ));
        if hierarchies.mode() == CgroupMode::V1 {
            let reason = "cgroup v2 path: this host is cgroup v1 and its cgroup2 mount has no pids controller \
                          (runs in the v2 guests)";
            trials.push(trial(format!("v2::{name}"), Some(reason.to_owned()), hierarchies.clone(), test));
        }
    }
    trials
}

fn isolator(
    hierarchies: &Hierarchies,
    root: &ScratchRoot,
    extra: &[(&str, &str)],
) -> Result<CgroupsPidsIsolator, libtest_mimic::Failed> {
    Ok(CgroupsPidsIsolator::create(module_parameters(hierarchies, root, extra))?)
}

fn limit_from_limits_or_parameter(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let pids = isolator(hierarchies, root, &[("pids", "64")])?;
    let (limited, default) = (ContainerId::new("limited"), ContainerId::new("default"));
    pids.prepare(&limited, &config("cpus:1", "pids:16"))?;
    pids.prepare(&default, &config("cpus:1", ""))?;
    let max = |id: &ContainerId| -> Result<PidsLimit, libtest_mimic::Failed> {
        Ok(pids.cgroup(id)?.pids_settings()?.max)
    };
    check!(max(&limited)? == PidsLimit::Tasks(16), "limited: {:?}", max(&limited)?);
    check!(max(&default)? == PidsLimit::Tasks(64), "default: {:?}", max(&default)?);

    let mut kid = Kid::spawn("sleep 60 & sleep 60 & wait")?;
    pids.isolate(&limited, kid.pid())?;
    kid.release()?;
    // Mesos's ROOT_CGROUPS_PidsAndTids: the shell and its two sleeps.
    let usage = eventually(Duration::from_secs(5), "three processes", || {
        let usage = pids.usage(&limited)?;
        Ok((usage.processes == Some(3)).then_some(usage))
    })?;
    check!(usage.threads.is_some_and(|t| t >= 3), "{usage:?}");
    check!(usage.timestamp.is_some(), "{usage:?}");

    pids.update(&limited, &Resources::new(), &Resources::parse("pids:inf")?)?;
    check!(max(&limited)? == PidsLimit::Unlimited, "{:?}", max(&limited)?);
    // Lowered below what runs: allowed; the kernel only refuses new forks.
    pids.update(&limited, &Resources::new(), &Resources::parse("pids:2")?)?;
    let settings = pids.cgroup(&limited)?.pids_settings()?;
    check!(settings.max == PidsLimit::Tasks(2) && settings.current == 3, "{settings:?}");

    let dirs = [pids.cgroup(&limited)?.dirs(), pids.cgroup(&default)?.dirs()].concat();
    pids.cleanup(&limited)?;
    pids.cleanup(&default)?;
    kid.expect_sigkill()?;
    let left: Vec<_> = dirs.iter().filter(|d| d.exists()).collect();
    check!(left.is_empty(), "cleanup left {left:?}");
    Ok(())
}

/// The fork bomb: under `pids:32` forks fail with EAGAIN once 32 tasks are there, the
/// count stays at 32 while it keeps trying, a shell's `while true; do sleep 10 & done` in the
/// same cgroup gets no further, and cleanup kills all of them.
fn fork_bomb_stays_at_the_limit(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let pids = isolator(hierarchies, root, &[])?;
    let id = ContainerId::new("bomb");
    pids.prepare(&id, &config("", "pids:32"))?;
    let cgroup = pids.cgroup(&id)?;
    check!(cgroup.pids_settings()?.max == PidsLimit::Tasks(32), "{:?}", cgroup.pids_settings()?);

    let mut bomb = spawn_child("forkbomb")?;
    pids.isolate(&id, bomb.pid())?;
    bomb.release()?;
    let line = bomb.first_line()?;
    // The bomb and 31 children are 32 tasks.
    check!(line == "EAGAIN after 31 forks", "the fork bomb said {line:?}");
    for _ in 0..10 {
        let settings = cgroup.pids_settings()?;
        check!(settings.current == 32 && settings.refused > 0, "{settings:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Dash and busybox sh give up at the first fork they are refused ("Cannot fork", "can't
    // fork: Resource temporarily unavailable"): the shell's loop ends without a single child.
    let mut sh = Kid::spawn("while true; do sleep 10 & done")?;
    pids.isolate(&id, sh.pid())?;
    sh.release()?;
    let status = sh.wait(Duration::from_secs(10))?;
    check!(!status.success(), "the shell's fork bomb ended with {status}");
    let usage = pids.usage(&id)?;
    check!(usage.processes == Some(32) && usage.threads == Some(32), "{usage:?}");

    let inside = cgroup.pids()?;
    pids.cleanup(&id)?;
    bomb.expect_sigkill()?;
    check!(!cgroup.exists(), "the cgroup is still there");
    eventually(Duration::from_secs(10), "every process of the bomb to be gone", || {
        Ok(inside.iter().all(|pid| gone(*pid)).then_some(()))
    })?;
    Ok(())
}

/// Whether `pid` no longer runs (no such process, or a zombie waiting for its new parent).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}
