//! Both modules on real processes of this machine: a shell with two children and a busy loop,
//! measured through the `Isolator` trait as the harness would, then killed; the test checks that
//! none of its processes is left. Nothing here needs privileges, so nothing is skipped.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use module_abi::{ContainerConfig, ContainerId, ContainerState, Isolator, Module, ResourceStatistics};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use posix_isolator::{PosixCpuIsolator, PosixMemIsolator};

type TestResult = Result<(), Failed>;

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("usage_of_a_process_tree", usage_of_a_process_tree),
        Trial::test("recovered_container_is_measured", recovered_container_is_measured),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// `sh -c 'read x; <workload>'`, blocked on stdin until released; killed with its process group.
struct Tree {
    child: Child,
}

impl Tree {
    fn spawn(workload: &str) -> Result<Tree, Failed> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("read x; {workload}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Tree { child })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn release(&mut self) -> TestResult {
        self.child.stdin.take().ok_or("no stdin")?.write_all(b"go\n")?;
        Ok(())
    }

    /// SIGKILLs the whole process group and checks that none of it is left.
    fn kill(mut self) -> TestResult {
        let group = self.pid();
        killpg(Pid::from_raw(group), Signal::SIGKILL)?;
        self.child.wait()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_alive(group) {
            check!(Instant::now() < deadline, "processes of group {group} are still there");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// Whether any live (not zombie) process is in the process group `group`.
fn group_alive(group: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 3 (state) and 5 (pgrp) of proc(5).
        fields.first() != Some(&"Z") && fields.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(group)
    })
}

fn eventually(
    what: &str,
    mut probe: impl FnMut() -> Result<Option<ResourceStatistics>, Failed>,
) -> Result<ResourceStatistics, Failed> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(usage) = probe()? {
            return Ok(usage);
        }
        check!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mesos's ROOT_UserCpuUsage and ROOT_MemUsage with posix/cpu and posix/mem: a busy loop shows
/// user time, the tree's three processes are counted, and its resident memory is there.
fn usage_of_a_process_tree() -> TestResult {
    let cpu = PosixCpuIsolator::create(Vec::new())?;
    let mem = PosixMemIsolator::create(Vec::new())?;
    let id = ContainerId::new("tree");
    cpu.prepare(&id, &ContainerConfig::default())?;
    mem.prepare(&id, &ContainerConfig::default())?;
    check!(cpu.usage(&id)? == ResourceStatistics::default(), "usage before isolate");
    check!(mem.usage(&id)? == ResourceStatistics::default(), "usage before isolate");
    let mut tree = Tree::spawn("sleep 60 & sleep 60 & while :; do :; done")?;
    cpu.isolate(&id, tree.pid())?;
    mem.isolate(&id, tree.pid())?;
    tree.release()?;
    let usage = eventually("0.125 s of user time and three processes", || {
        let usage = cpu.usage(&id)?;
        let busy = usage.cpus_user_time_secs.is_some_and(|t| t >= 0.125);
        Ok((busy && usage.processes == Some(3)).then_some(usage))
    })?;
    check!(usage.threads.is_some_and(|t| t >= 3), "{usage:?}");
    check!(usage.cpus_system_time_secs.is_some() && usage.timestamp.is_some(), "{usage:?}");
    check!(usage.mem_rss_bytes.is_none(), "posix/cpu reported memory: {usage:?}");
    let memory = mem.usage(&id)?;
    check!(memory.mem_rss_bytes.is_some_and(|b| b > 0), "{memory:?}");
    check!(memory.cpus_user_time_secs.is_none() && memory.processes.is_none(), "{memory:?}");
    check!(cpu.watch(&id)?.is_none() && mem.limitation(&id)?.is_none(), "a posix isolator limited");

    tree.kill()?;
    check!(cpu.usage(&id).is_err(), "usage of a container whose processes are gone");
    cpu.cleanup(&id)?;
    mem.cleanup(&id)?;
    check!(cpu.usage(&id)? == ResourceStatistics::default(), "usage after cleanup");
    Ok(())
}

fn recovered_container_is_measured() -> TestResult {
    let mut tree = Tree::spawn("sleep 60")?;
    tree.release()?;
    let mem = PosixMemIsolator::create(Vec::new())?;
    let id = ContainerId::new("recovered");
    let state =
        ContainerState { container_id: id.clone(), pid: tree.pid(), directory: "/tmp".into(), config: None };
    mem.recover(vec![state], vec![ContainerId::new("orphan")])?;
    let usage = eventually("resident memory", || {
        let usage = mem.usage(&id)?;
        Ok(usage.mem_rss_bytes.is_some_and(|b| b > 0).then_some(usage))
    })?;
    check!(usage.timestamp.is_some(), "{usage:?}");
    mem.cleanup(&id)?;
    tree.kill()
}
