//! Helpers of the kernel tests: skip reasons, a self-cleaning cgroups root per test, and child
//! processes (the test binary re-executed) that wait to be placed in a cgroup before they act.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cgroupfs::{CgroupManager, Controller, Hierarchies, ScratchRoot};
use libtest_mimic::Failed;

pub const MB: u64 = 1024 * 1024;
pub const CHILD_ENV: &str = "CGROUPFS_TEST_CHILD";
pub const KILL_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONTROLLERS: [Controller; 5] =
    [Controller::Cpu, Controller::Cpuacct, Controller::Memory, Controller::Freezer, Controller::Pids];

pub type TestResult = Result<(), Failed>;
pub type TestFn = fn(&Hierarchies, &str) -> TestResult;

#[macro_export]
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if $cond {
        } else {
            return Err(format!($($msg)+).into());
        }
    };
}

/// Why the kernel tests cannot run here (they need every one of [`CONTROLLERS`]).
pub fn skip_reason(hierarchies: &Hierarchies) -> Option<String> {
    cgroupfs::testing::skip_reason(hierarchies, &CONTROLLERS)
}

/// A unique cgroups root per test; its `Drop` kills and removes whatever a failed test left.
pub fn test_root(hierarchies: &Hierarchies) -> ScratchRoot {
    ScratchRoot::new(hierarchies, "cgroupfs-test")
}

/// What a re-executed test binary does: wait for one byte on stdin (so the parent can move it
/// into its cgroup first), then touch 4 MB and spin for 2 s, or allocate 64 MB and touch every page.
pub fn child(mode: &str) -> ! {
    let mut byte = [0u8; 1];
    let _ = std::io::stdin().read_exact(&mut byte);
    match mode {
        "spin" => {
            // v1 does not move memory charges with a task (move_charge_at_immigrate is 0), so
            // only memory touched after the move shows up in the new cgroup.
            let buffer = vec![1u8; 4 * MB as usize];
            std::hint::black_box(&buffer);
            let start = Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_secs(2) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        "alloc" => {
            let buffer = vec![1u8; 64 * MB as usize];
            std::hint::black_box(&buffer);
        }
        _ => {}
    }
    std::process::exit(0)
}

pub fn spawn_child(mode: &str) -> Result<Child, Failed> {
    let exe = std::env::current_exe()?;
    Ok(Command::new(exe).env(CHILD_ENV, mode).stdin(Stdio::piped()).spawn()?)
}

pub fn release(child: &mut Child) -> TestResult {
    child.stdin.take().ok_or("child has no stdin")?.write_all(b"x")?;
    Ok(())
}

pub fn spawn_sleep() -> Result<Child, Failed> {
    Ok(Command::new("sleep").arg("60").spawn()?)
}

pub fn expect_sigkill(child: &mut Child) -> TestResult {
    let status = child.wait()?;
    check!(status.signal() == Some(libc::SIGKILL), "child {} ended with {status}, not SIGKILL", child.id());
    Ok(())
}

/// Runs `sh -c <script>` in `cgroup` (placed before it starts the script) and returns its stdout.
pub fn run_in(cgroup: &impl CgroupManager, script: &str) -> Result<String, Failed> {
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg(format!("read x; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    cgroup.assign(sh.id() as i32)?;
    sh.stdin.take().ok_or("sh has no stdin")?.write_all(b"go\n")?;
    let output = sh.wait_with_output()?;
    check!(output.status.success(), "sh -c {script:?} ended with {}", output.status);
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Polls `done` every 20 ms until it holds; fails, naming `what`, past `timeout`.
pub fn eventually(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) -> TestResult {
    let deadline = Instant::now() + timeout;
    while !done() {
        check!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
