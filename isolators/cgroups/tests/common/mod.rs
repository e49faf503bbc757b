//! Helpers of the kernel tests: skip reasons decided when the list is built, a self-cleaning
//! cgroups root per test, and children that block on stdin until they have been isolated.

use std::io::Write;
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cgroupfs::{Hierarchies, ScratchRoot};
use libtest_mimic::Failed;
use module_abi::{ContainerConfig, Parameter, Resources};

pub const MB: u64 = 1024 * 1024;
pub type TestResult = Result<(), Failed>;

#[macro_export]
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// Why a test needing `needed` cannot run here, or `None`.
pub use cgroupfs::testing::skip_reason;

/// A unique cgroups root per test; its `Drop` kills and removes whatever a failed test left.
pub fn test_root(hierarchies: &Hierarchies) -> ScratchRoot {
    ScratchRoot::new(hierarchies, "cgroups-isolator-test")
}

/// The `cgroups_root` parameter of `root`, plus `extra`.
pub fn parameters(root: &ScratchRoot, extra: &[(&str, &str)]) -> Vec<Parameter> {
    let mut params = vec![Parameter { key: "cgroups_root".into(), value: root.name.clone() }];
    params.extend(extra.iter().map(|(k, v)| Parameter { key: (*k).into(), value: (*v).into() }));
    params
}

/// A container config with these requests and limits (Mesos text form).
pub fn config(resources: &str, limits: &str) -> ContainerConfig {
    ContainerConfig {
        resources: Resources::parse(resources).expect("resources"),
        limits: Resources::parse(limits).expect("limits"),
        directory: std::env::temp_dir().display().to_string(),
        ..Default::default()
    }
}

/// `sh -c 'read x; <workload>'`: blocked on stdin until [`Kid::release`]. Killed and reaped on drop.
pub struct Kid {
    child: Child,
    status: Option<ExitStatus>,
}

impl Kid {
    pub fn spawn(workload: &str) -> Result<Kid, Failed> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("read x; {workload}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Kid { child, status: None })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn release(&mut self) -> TestResult {
        let mut stdin = self.child.stdin.take().ok_or("child has no stdin")?;
        stdin.write_all(b"go\n")?;
        Ok(())
    }

    /// Waits (bounded) for the child to end.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, Failed> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.status = Some(status);
                return Ok(status);
            }
            check_deadline(deadline, "the child to exit")?;
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn expect_sigkill(&mut self) -> TestResult {
        let status = self.wait(Duration::from_secs(10))?;
        check!(
            status.signal() == Some(nix::sys::signal::Signal::SIGKILL as i32),
            "child ended with {status}, not SIGKILL"
        );
        Ok(())
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn check_deadline(deadline: Instant, what: &str) -> TestResult {
    if Instant::now() >= deadline {
        return Err(format!("timed out waiting for {what}").into());
    }
    Ok(())
}

/// Polls `probe` every 20 ms until it yields a value or `timeout` passes.
pub fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<Option<T>, Failed>,
) -> Result<T, Failed> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        check_deadline(deadline, what)?;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `fd` becomes readable within `timeout`.
pub fn readable(fd: RawFd, timeout: Duration) -> Result<bool, Failed> {
    // SAFETY: `fd` is the isolator's watch descriptor; the isolator keeps it open until the
    // container's cleanup, which happens after this borrow ends.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    Ok(nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(millis))? > 0)
}
