//! Running the `agent-harness` binary: `run ... --json` and `recover`, with their output parsed,
//! or `run` attached with its output as bytes.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_harness::engine::Outcome;

use crate::TestResult;
use crate::sandbox::Sandbox;

/// How long one harness invocation may take before it counts as hung (generous: 2 cores shared
/// with other tests, or a qemu guest without KVM).
pub const HARNESS_TIMEOUT: Duration = Duration::from_secs(600);

/// The end of one harness process.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    /// The `--json` outcome on stdout: the engine's own [`Outcome`], parsed back.
    pub fn outcome(&self) -> TestResult<Outcome> {
        serde_json::from_str(self.stdout.trim()).map_err(|e| {
            format!("stdout is not a run outcome ({e}): {:?}; stderr: {:?}", self.stdout, self.stderr).into()
        })
    }

    /// The stderr lines that start with `Error`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("Error")).collect()
    }

    /// Exit status 1 and exactly one `Error` line, which contains every one of `needles`.
    pub fn expect_one_error(&self, needles: &[&str]) -> TestResult {
        crate::ensure!(self.code == Some(1), "exit {:?}, not 1; stderr: {:?}", self.code, self.stderr);
        let lines = self.error_lines();
        crate::ensure!(lines.len() == 1, "{} Error lines, not 1; stderr: {:?}", lines.len(), self.stderr);
        for needle in needles {
            crate::ensure!(
                lines[0].contains(needle),
                "the Error line does not name {needle:?}: {:?}",
                lines[0]
            );
        }
        Ok(())
    }

    /// Exit 0 (for a harness that should have succeeded).
    pub fn expect_success(&self) -> TestResult {
        crate::ensure!(
            self.code == Some(0),
            "exit {:?}, not 0; stdout: {:?}; stderr: {:?}",
            self.code,
            self.stdout,
            self.stderr
        );
        Ok(())
    }
}

impl Sandbox {
    /// The harness binary, ready for arguments.
    pub fn harness(&self) -> Command {
        self.harness_at(&self.artifacts.harness())
    }

    /// Another harness binary (one built from other sources), ready for arguments.
    pub fn harness_at(&self, binary: &std::path::Path) -> Command {
        let mut command = Command::new(binary);
        command.stdin(Stdio::null());
        command
    }

    /// `agent-harness run` with this sandbox's manifest and work dir, `--isolation`, the given
    /// flags, then `-- command`.
    pub fn run_command(&self, isolation: &[&str], flags: &[&str], command: &[&str]) -> Command {
        let mut harness = self.harness();
        harness
            .arg("run")
            .arg(self.modules_flag())
            .arg(format!("--work_dir={}", self.work_dir.display()))
            .arg(format!("--isolation={}", isolation.join(",")))
            .args(flags)
            .arg("--")
            .args(command);
        harness
    }

    /// Runs `agent-harness run ...` (see [`Self::run_command`]) to its end.
    pub fn run(&self, isolation: &[&str], flags: &[&str], command: &[&str]) -> TestResult<RunOutput> {
        output(self.run_command(isolation, flags, command))
    }

    /// `agent-harness recover --json` for this sandbox's work dir.
    pub fn recover_command(&self) -> Command {
        let mut harness = self.harness();
        harness
            .arg("recover")
            .arg(self.modules_flag())
            .arg(format!("--work_dir={}", self.work_dir.display()))
            .arg("--json");
        harness
    }

    /// `agent-harness recover --json` (see [`Self::recover_command`]) to its end.
    pub fn recover(&self) -> TestResult<RunOutput> {
        output(self.recover_command())
    }
}

/// Runs `command` to its end with its output captured; a hang past `HARNESS_TIMEOUT` is killed
/// and fails the test.
pub fn output(mut command: Command) -> TestResult<RunOutput> {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    wait_output(child, HARNESS_TIMEOUT).map_err(|e| format!("{command:?}: {e}").into())
}

/// Waits for a child started with piped stdout and stderr, reading both; kills it past `timeout`.
pub fn wait_output(child: Child, timeout: Duration) -> Result<RunOutput, String> {
    let bytes = wait_output_bytes(child, timeout)?;
    Ok(RunOutput {
        code: bytes.code,
        stdout: String::from_utf8_lossy(&bytes.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&bytes.stderr).into_owned(),
    })
}

/// The end of one harness process, its output as bytes (binary output).
#[derive(Debug, Clone)]
pub struct RunBytes {
    /// The exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    /// What came on each pipe the child was started with; empty for one that was not piped.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// [`wait_output`] with the output as bytes. A stream that was not piped reads as empty.
pub fn wait_output_bytes(mut child: Child, timeout: Duration) -> Result<RunBytes, String> {
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {timeout:?}; killed"));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Ok(RunBytes {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// A harness process running in the background; killed (and reaped) when dropped, so a failed
/// test does not leave it running.
#[derive(Debug)]
pub struct Background {
    pub child: Child,
    /// Where its stderr goes, for failure messages.
    pub stderr: std::path::PathBuf,
}

impl Background {
    /// Fails when the process has already ended (it was expected to be running).
    pub fn expect_running(&mut self) -> TestResult {
        if let Some(status) = self.child.try_wait()? {
            let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            return Err(format!("the harness ended early ({status}); stderr: {stderr:?}").into());
        }
        Ok(())
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) -> TestResult {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// Starts `agent-harness run ...` (see [`Self::run_command`]) in the background, its output
    /// going to files under the sandbox.
    pub fn spawn_run(&self, isolation: &[&str], flags: &[&str], command: &[&str]) -> TestResult<Background> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let stderr = self.base.join(format!("harness-{n}.stderr"));
        let child = self
            .run_command(isolation, flags, command)
            .stdout(std::fs::File::create(self.base.join(format!("harness-{n}.stdout")))?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        Ok(Background { child, stderr })
    }
}
