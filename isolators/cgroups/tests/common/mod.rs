//! Helpers of the kernel tests: skip reasons decided when the list is built, a self-cleaning
//! cgroups root per test, children that block on stdin until they have been isolated (a shell,
//! or this test binary re-executed to fork until refused), and the trial list.

use std::io::{Read, Write};
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cgroupfs::{Hierarchies, ScratchRoot};
use libtest_mimic::{Completion, Failed, Trial};
use module_abi::{ContainerConfig, Parameter, Resources};

/// The environment variable that makes the test binary a child ([`child`]) instead of the list.
pub const CHILD_ENV: &str = "CGROUPS_ISOLATOR_TEST_CHILD";

/// The most processes the `forkbomb` child makes, should a limit not hold.
pub const FORKBOMB_CAP: u32 = 200;

pub type TestFn = fn(&Hierarchies, &ScratchRoot) -> TestResult;

/// A trial that runs `test` under its own cgroups root, or one listed as ignored with `skip`'s
/// reason in its name (counted as skipped, never passed, even under `--include-ignored`).
pub fn trial(name: String, skip: Option<String>, hierarchies: Hierarchies, test: TestFn) -> Trial {
    match skip {
        Some(reason) => Trial::ignorable_test(format!("{name} [skipped: {reason}]"), move || {
            Ok(Completion::ignored_with(reason))
        })
        .with_ignored_flag(true),
        None => Trial::test(name, move || {
            let root = test_root(&hierarchies);
            test(&hierarchies, &root)?;
            Ok(root.finish()?)
        }),
    }
}

/// `cgroups_root` and, on v2, `cgroups_hierarchy` (the tests on a hybrid host's cgroup2 mount
/// point the modules there), plus `extra`.
pub fn module_parameters(
    hierarchies: &Hierarchies,
    root: &ScratchRoot,
    extra: &[(&str, &str)],
) -> Vec<Parameter> {
    let mut params = parameters(root, extra);
    if let Hierarchies::V2 { root } = hierarchies {
        params.push(Parameter { key: "cgroups_hierarchy".into(), value: root.display().to_string() });
    }
    params
}

/// What the re-executed test binary does: waits for a byte on stdin (so the parent can isolate
/// it first), then, as `forkbomb`, forks children that sleep a minute until a fork is refused,
/// prints `<errno> after <n> forks` once, and keeps trying every millisecond; it stops forking
/// after [`FORKBOMB_CAP`] children should no limit hold.
pub fn child(mode: &str) -> ! {
    let mut byte = [0u8; 1];
    let _ = std::io::stdin().read_exact(&mut byte);
    if mode != "forkbomb" {
        std::process::exit(2);
    }
    let mut forks = 0u32;
    let mut reported = false;
    loop {
        if forks == FORKBOMB_CAP {
            if !reported {
                println!("no refusal after {forks} forks");
                reported = true;
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        // SAFETY: this process is single-threaded (a fresh exec of the test binary that only
        // read stdin), so the child may run any code; it only sleeps and exits.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                std::thread::sleep(Duration::from_secs(60));
                // SAFETY: `_exit` ends the child without running the parent's atexit handlers.
                unsafe { nix::libc::_exit(0) }
            }
            Ok(nix::unistd::ForkResult::Parent { .. }) => forks += 1,
            Err(errno) => {
                if !reported {
                    println!("{errno:?} after {forks} forks");
                    let _ = std::io::stdout().flush();
                    reported = true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// The test binary re-executed as a [`child`] in `mode`, stdout piped, blocked on stdin.
pub fn spawn_child(mode: &str) -> Result<Kid, Failed> {
    let exe = std::env::current_exe()?;
    let child =
        Command::new(exe).env(CHILD_ENV, mode).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    Ok(Kid { child, status: None })
}

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

    /// The first line the child prints (a [`spawn_child`] child, whose stdout is piped).
    pub fn first_line(&mut self) -> Result<String, Failed> {
        let stdout = self.child.stdout.as_mut().ok_or("the child's stdout is not piped")?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
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
