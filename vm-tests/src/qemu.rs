//! One guest boot: qemu under a watchdog, its console streamed to the terminal and parsed.
//!
//! Always `-accel tcg`: `/dev/kvm` exists on the development machines but hangs or fails on a stock
//! kernel, and `kvm:tcg` would pick it. `-nic none` drops the network card, whose iPXE option ROM
//! costs a second of firmware time. `-cpu max` gives the guest every instruction TCG emulates
//! (the default qemu64 model lacks SSE4.2, so `crc32c-intel`, a dependency of xfs's crc32c, would
//! refuse to load). The guest's verdict comes back through `isa-debug-exit`: the
//! init writes its status byte N to port 0xf4 and qemu exits with `(N << 1) | 1`, so 1 means the
//! guest passed, 3 that it failed, and anything else (0 when the kernel panicked or the init died,
//! since `panic=-1` with `-no-reboot` powers off) that it never reported.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::report::{GuestReport, clean};

/// A guest configuration.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Short name (`v2`, `v1`), the console prefix and the log's name.
    pub name: String,
    /// What it is, for the summary.
    pub description: String,
    /// Words for the kernel command line, read by the init (`vmtests.cgroup=v2`, ...).
    pub cmdline: Vec<String>,
    /// The watchdog: qemu is killed after this long.
    pub timeout: Duration,
    pub memory_mb: u32,
    pub cpus: u32,
    /// The Debian metapackage of the kernel it boots ([`crate::kernel::DEFAULT_META`], ...).
    pub kernel: &'static str,
}

/// How qemu ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// qemu exited with this status.
    Exited(i32),
    /// The watchdog killed it.
    TimedOut,
}

/// A finished guest.
#[derive(Debug, Clone)]
pub struct GuestRun {
    pub spec: GuestSpec,
    pub ending: Ending,
    pub report: GuestReport,
    pub elapsed: Duration,
    pub log: PathBuf,
}

impl GuestRun {
    /// The summary counts; a guest that failed without a failing test (a crash, the watchdog)
    /// still shows one failure.
    pub fn counts(&self) -> String {
        let mut report = self.report.clone();
        if self.failure().is_some() && report.failed() == 0 {
            report.setup_failures.push("the guest did not finish".to_owned());
        }
        report.counts()
    }

    /// Why the guest failed, or `None` when it passed: qemu's status, the init's status and the
    /// counts must all agree on success.
    pub fn failure(&self) -> Option<String> {
        match self.ending {
            Ending::TimedOut => {
                Some(format!("timed out after {} s: killed by the watchdog", self.spec.timeout.as_secs()))
            }
            Ending::Exited(1) if self.report.done == Some(0) && self.report.failed() == 0 => None,
            Ending::Exited(1) => Some("the guest reported success but its output shows failures".to_owned()),
            Ending::Exited(3) => Some("the guest reported failure".to_owned()),
            Ending::Exited(code) => {
                Some(format!("qemu exited {code}: the guest crashed or powered off without reporting"))
            }
        }
    }
}

/// Boots `spec` and waits for it (bounded by its watchdog). Console lines are printed with a
/// `[name] ` prefix as they arrive and written to `<log_dir>/<name>.log`.
pub fn boot(spec: &GuestSpec, kernel: &Path, initrd: &Path, log_dir: &Path) -> Result<GuestRun> {
    let log_path = log_dir.join(format!("{}.log", spec.name));
    let mut log = std::io::BufWriter::new(
        std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?,
    );
    // Kernel messages at warning level still reach the console until the init quiets it.
    let append = format!("console=ttyS0 panic=-1 quiet {}", spec.cmdline.join(" "));
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args(["-accel", "tcg", "-cpu", "max", "-nographic", "-no-reboot", "-nic", "none"])
        .args(["-m", &spec.memory_mb.to_string(), "-smp", &spec.cpus.to_string()])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    eprintln!("[{}] booting: {}", spec.name, append);
    let start = Instant::now();
    let mut child = command.spawn().context("starting qemu-system-x86_64")?;

    // Both pipes feed one channel of lines; the main thread owns the clock and the watchdog.
    let (sender, lines) = mpsc::channel::<String>();
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buffer = Vec::new();
            while matches!(reader.read_until(b'\n', &mut buffer), Ok(n) if n > 0) {
                let line = String::from_utf8_lossy(&buffer).trim_end_matches(['\n', '\r']).to_owned();
                buffer.clear();
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);

    let deadline = start + spec.timeout;
    let mut report = GuestReport::default();
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        match lines.recv_timeout(deadline - now) {
            Ok(line) => {
                let line = clean(&line);
                report.line(&line, start.elapsed());
                println!("[{}] {line}", spec.name);
                writeln!(log, "[{:7.2}] {line}", start.elapsed().as_secs_f64())?;
            }
            // Both pipes closed: qemu is gone (or closed them on its way out).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }
    // The pipes can close a moment before qemu is reaped; the watchdog still bounds the wait.
    let ending = loop {
        if timed_out {
            // SIGKILL: a TCG guest stuck in a loop would not react to anything gentler in time.
            let _ = child.kill();
            let _ = child.wait();
            let message = format!("vm-tests: watchdog: killed qemu after {} s", spec.timeout.as_secs());
            println!("[{}] {message}", spec.name);
            writeln!(log, "{message}")?;
            break Ending::TimedOut;
        }
        match child.try_wait().context("waiting for qemu")? {
            Some(status) => break Ending::Exited(status.code().unwrap_or(-1)),
            None if Instant::now() >= deadline => timed_out = true,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let elapsed = start.elapsed();
    report.close(elapsed);
    log.flush()?;
    Ok(GuestRun { spec: spec.clone(), ending, report, elapsed, log: log_path })
}
