//! `vm-tests`: boots Debian kernels under qemu (TCG) and runs the project's privileged suites
//! inside them, one guest per cgroup configuration:
//!
//! - `v2`: pure cgroup v2 at `/sys/fs/cgroup` (what current distributions run);
//! - `v1`: the hybrid layout of the development hosts (v1 controllers, cgroup2 at `.../unified`),
//!   so cgroup v1 is also tested on a second kernel;
//! - `v2-6.12`: pure cgroup v2 on the newer kernel Debian 12 offers (`linux-image-6.12-amd64`),
//!   where eBPF device filters and seccomp meet a current kernel.
//!
//! Each kernel is fetched once and gets its own initramfs (its modules differ).
//!
//! Each guest runs the `kernel` suites of cgroupfs, the cgroups and namespaces isolators and the
//! Linux containerizer, every `integration` suite, this crate's `selftest`, and `agent-harness run`
//! scenarios (see `guest/scenarios`). The whole run: build (`--release`), fetch the kernel (cached),
//! write the initramfs, boot the guests (each under a watchdog), print `N passed, N failed` per
//! guest, and exit non-zero when any guest failed, crashed or timed out.
//!
//! A Rust binary rather than a shell script: the runner's real work is a watchdog around a child
//! process, streaming and parsing its console, counting, and mapping outcomes to an exit status,
//! and each of those is easier to read and to unit-test in Rust (see `report.rs`); the shell is
//! kept for the guest side, where busybox is all there is. Run it with `vm-tests/run` (a
//! one-line wrapper around `cargo run --release -p vm-tests`).
//!
//! Both guests boot at once by default (`--jobs 2`), each with 2 vCPUs and 1 GB: on a 2-core host
//! that took 87 s for the pair, against 153 s one after the other; `--cpus 1` is faster still
//! (66 s) but would hide races that need a second CPU. With a warm cargo cache the whole command
//! takes about 95 s; the kernel is fetched once and cached under `<target>/vm-tests/kernel/`.
//!
//! `--self-test` proves the failure paths instead: a guest whose self-test asserts something false
//! on purpose must be reported as failed, and a guest that hangs on purpose must be killed by the
//! watchdog and reported as timed out. The same faults can be injected into a normal run with
//! `VM_TESTS_SELFTEST_FAIL=1` or `VM_TESTS_SELFTEST_HANG=1` (the run must then fail).

mod artifacts;
mod cpio;
mod initramfs;
mod kernel;
mod qemu;
mod report;
mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use qemu::{Ending, GuestRun, GuestSpec};

const USAGE: &str = "\
usage: vm-tests [--guest v2|v1|v2-6.12]... [--jobs N] [--timeout SECS] [--cpus N] [--memory MB] [--self-test]

  --guest NAME     boot only this guest (repeatable; default: every guest)
  --jobs N         guests booted at once (default 2: all of them)
  --timeout SECS   the watchdog per guest (default 480)
  --cpus N         vCPUs per guest (default 2)
  --memory MB      memory per guest (default 1024)
  --self-test      check the failure paths instead (a failing guest fails the run, a hung guest is
                   killed by the watchdog)
env: VM_TESTS_SELFTEST_FAIL=1 / VM_TESTS_SELFTEST_HANG=1 inject those faults into a normal run";

#[derive(Debug)]
struct Options {
    guests: Vec<String>,
    jobs: usize,
    timeout: Duration,
    cpus: u32,
    memory_mb: u32,
    self_test: bool,
}

fn parse_options(args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        guests: Vec::new(),
        jobs: 2,
        timeout: Duration::from_secs(480),
        cpus: 2,
        memory_mb: 1024,
        self_test: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--guest" => options.guests.push(value("--guest")?),
            "--jobs" => options.jobs = value("--jobs")?.parse().context("--jobs")?,
            "--timeout" => {
                options.timeout = Duration::from_secs(value("--timeout")?.parse().context("--timeout")?)
            }
            "--cpus" => options.cpus = value("--cpus")?.parse().context("--cpus")?,
            "--memory" => options.memory_mb = value("--memory")?.parse().context("--memory")?,
            "--self-test" => options.self_test = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    options.jobs = options.jobs.max(1);
    Ok(options)
}

/// The guest configurations of a normal run.
fn guests(options: &Options) -> Result<Vec<GuestSpec>> {
    let mut injected = Vec::new();
    if std::env::var("VM_TESTS_SELFTEST_FAIL").is_ok_and(|v| v == "1") {
        injected.push("vmtests.selftest=fail".to_owned());
    }
    if std::env::var("VM_TESTS_SELFTEST_HANG").is_ok_and(|v| v == "1") {
        injected.push("vmtests.selftest=hang".to_owned());
    }
    let spec = |name: &str, cgroup: &str, kernel: &'static str, description: &str| {
        let mut cmdline = vec![format!("vmtests.cgroup={cgroup}")];
        cmdline.extend(injected.iter().cloned());
        GuestSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            cmdline,
            timeout: options.timeout,
            memory_mb: options.memory_mb,
            cpus: options.cpus,
            kernel,
        }
    };
    let all = vec![
        spec("v2", "v2", kernel::DEFAULT_META, "pure cgroup v2 at /sys/fs/cgroup"),
        spec(
            "v1",
            "v1",
            kernel::DEFAULT_META,
            "cgroup v1, hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified",
        ),
        spec("v2-6.12", "v2", kernel::NEWER_META, "pure cgroup v2 on Debian's 6.12 kernel"),
    ];
    for wanted in &options.guests {
        if !all.iter().any(|g| &g.name == wanted) {
            bail!("unknown guest '{wanted}' (known: v2, v1, v2-6.12)");
        }
    }
    Ok(all.into_iter().filter(|g| options.guests.is_empty() || options.guests.contains(&g.name)).collect())
}

/// The host commands the runner needs, and the Debian packages that provide them.
const HOST_TOOLS: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("modprobe", "kmod"),
    ("depmod", "kmod"),
    ("xz", "xz-utils"),
    ("apt-get", "apt"),
    ("dpkg", "dpkg"),
    ("ldd", "libc-bin"),
];

fn on_path(tool: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.map(|d| d.join(tool)).any(|p| p.is_file())
}

/// Installs what is missing with apt when running as root (CI), else says what to install.
fn ensure_host_tools() -> Result<()> {
    let mut missing: Vec<&str> =
        HOST_TOOLS.iter().filter(|(tool, _)| !on_path(tool)).map(|(_, package)| *package).collect();
    if initramfs::busybox().is_err() {
        missing.push("busybox-static");
    }
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !on_path("apt-get") {
        bail!("missing host tools; install them with: {command}");
    }
    eprintln!("vm-tests: {command}");
    let install = || {
        util::run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        util::run(Command::new("apt-get").args(["update", "-q"]))?;
        install()?;
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    // vm-tests/ is one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_owned()
}

/// A kernel image and the initramfs built for it.
#[derive(Debug, Clone)]
struct BootImages {
    kernel: PathBuf,
    initrd: PathBuf,
}

/// Boots `specs`, at most `jobs` at once, each with the images of its kernel, and returns them in
/// order.
fn boot_all(
    specs: &[GuestSpec],
    jobs: usize,
    images: &std::collections::BTreeMap<&'static str, BootImages>,
    logs: &Path,
) -> Vec<Result<GuestRun>> {
    let mut results = Vec::new();
    for chunk in specs.chunks(jobs) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|spec| {
                    scope.spawn(move || {
                        let images = images
                            .get(spec.kernel)
                            .with_context(|| format!("no kernel prepared for {}", spec.kernel))?;
                        qemu::boot(spec, &images.kernel, &images.initrd, logs)
                    })
                })
                .collect();
            for handle in handles {
                results.push(
                    handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the guest's thread panicked"))),
                );
            }
        });
    }
    results
}

fn print_summary(run: &GuestRun) {
    let verdict = match run.failure() {
        None => "PASS".to_owned(),
        Some(why) => format!("FAIL: {why}"),
    };
    println!();
    println!(
        "vm-tests: guest {} ({}), {:.1} s, {verdict}",
        run.spec.name,
        run.spec.description,
        run.elapsed.as_secs_f64()
    );
    for suite in &run.report.suites {
        let ignored = if suite.ignored > 0 { format!(", {} skipped", suite.ignored) } else { String::new() };
        println!(
            "  {:<32} {} passed, {} failed{ignored}  ({:.1} s)",
            suite.name, suite.passed, suite.failed, suite.seconds
        );
        for failure in &suite.failures {
            println!("    failed: {failure}");
        }
    }
    for setup in &run.report.setup_failures {
        println!("  setup failed: {setup}");
    }
    println!("  log: {}", run.log.display());
    println!("{}: {}", run.spec.name, run.counts());
}

/// The failure-path checks of `--self-test`.
fn self_test(
    options: &Options,
    images: &std::collections::BTreeMap<&'static str, BootImages>,
    logs: &Path,
) -> Result<bool> {
    let spec = |name: &str, description: &str, words: &[&str], timeout: u64| GuestSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        cmdline: words.iter().map(|w| w.to_string()).collect(),
        timeout: Duration::from_secs(timeout),
        memory_mb: options.memory_mb,
        cpus: options.cpus,
        kernel: kernel::DEFAULT_META,
    };
    let specs = [
        spec(
            "selftest-fail",
            "a deliberately broken assertion",
            &["vmtests.cgroup=v2", "vmtests.selftest=fail", "vmtests.only=vm-tests::selftest"],
            120,
        ),
        spec(
            "selftest-hang",
            "a guest that hangs on purpose",
            &["vmtests.cgroup=v2", "vmtests.selftest=hang"],
            30,
        ),
    ];
    let runs = boot_all(&specs, options.jobs, images, logs);
    let mut ok = true;
    for run in runs {
        let run = run?;
        print_summary(&run);
        let (expected, as_expected) = match run.spec.name.as_str() {
            "selftest-fail" => (
                "reported as failed, with the broken assertion counted",
                run.failure().is_some() && run.ending == Ending::Exited(3) && run.report.failed() >= 1,
            ),
            _ => ("killed by the watchdog and reported as timed out", run.ending == Ending::TimedOut),
        };
        let verdict = if as_expected { "ok" } else { "NOT AS EXPECTED" };
        println!("vm-tests: self-test {}: {expected}: {verdict}", run.spec.name);
        ok &= as_expected;
    }
    Ok(ok)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("vm-tests: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<bool> {
    let options = parse_options(std::env::args().skip(1))?;
    let start = Instant::now();
    ensure_host_tools()?;
    let workspace = workspace_root();
    let cache = artifacts::target_dir(&workspace)?.join("vm-tests");
    let logs = cache.join("logs");
    std::fs::create_dir_all(&logs)?;

    let specs = if options.self_test { Vec::new() } else { guests(&options)? };
    let mut metas: Vec<&'static str> = specs.iter().map(|s| s.kernel).collect();
    if options.self_test {
        metas.push(kernel::DEFAULT_META);
    }
    metas.sort();
    metas.dedup();
    let artifacts = artifacts::build(&workspace)?;
    let mut images = std::collections::BTreeMap::new();
    for meta in metas {
        let kernel = kernel::prepare(&cache, meta)?;
        let initrd = cache.join(format!("initramfs-{}.cpio", kernel.release));
        initramfs::build(&initrd, &kernel, &artifacts)?;
        let size = std::fs::metadata(&initrd)?.len();
        eprintln!(
            "vm-tests: kernel {} ({}), initramfs {} MB, {} suites; ready in {:.1} s",
            kernel.release,
            kernel.image.display(),
            size >> 20,
            artifacts.suites.len() + 1,
            start.elapsed().as_secs_f64()
        );
        images.insert(meta, BootImages { kernel: kernel.image, initrd });
    }

    if options.self_test {
        let ok = self_test(&options, &images, &logs)?;
        println!(
            "vm-tests: self-test {} in {:.1} s",
            if ok { "passed" } else { "FAILED" },
            start.elapsed().as_secs_f64()
        );
        return Ok(ok);
    }

    let runs = boot_all(&specs, options.jobs, &images, &logs);
    let mut ok = true;
    let mut summaries = Vec::new();
    for (spec, run) in specs.iter().zip(runs) {
        match run {
            Ok(run) => {
                print_summary(&run);
                ok &= run.failure().is_none();
                summaries.push(format!(
                    "{}: {}{}",
                    run.spec.name,
                    run.counts(),
                    match run.failure() {
                        None => String::new(),
                        Some(why) => format!(" ({why})"),
                    }
                ));
            }
            Err(e) => {
                ok = false;
                summaries.push(format!("{}: could not boot: {e:#}", spec.name));
            }
        }
    }
    println!();
    for line in &summaries {
        println!("vm-tests: {line}");
    }
    println!("vm-tests: {} in {:.1} s", if ok { "passed" } else { "FAILED" }, start.elapsed().as_secs_f64());
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_guests() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>().into_iter();
        let options = parse_options(args("--guest v1 --jobs 2 --timeout 60")).unwrap();
        assert_eq!(options.jobs, 2);
        let specs = guests(&options).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].cmdline[0], "vmtests.cgroup=v1");
        assert_eq!(specs[0].timeout, Duration::from_secs(60));
        assert!(guests(&parse_options(args("--guest v3")).unwrap()).is_err());
        assert!(parse_options(args("--bogus")).is_err());
    }
}
