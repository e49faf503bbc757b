//! The guests' root file system: one uncompressed newc initramfs, shared by every guest of a run
//! (what differs between guests is the kernel command line, read by the init).
//!
//! Contents:
//! - busybox-static at `/bin/busybox` with a link per applet in `/bin`, and `/init`;
//! - host tools the tests call where busybox's applet differs from what the tests were written
//!   against (util-linux's `unshare` and `nsenter`, iproute2's `ip`) or does not exist (xfsprogs),
//!   each at its host path, which comes first in the guest's `PATH`;
//! - the project's binaries and module libraries at their host paths (the test binaries have the
//!   helper's absolute path compiled in, and the harness finds the module libraries beside itself);
//! - every shared library these link, as `ldd` names it;
//! - the kernel modules, and `/vm-tests/modules` listing them in load order;
//! - `/vm-tests/suites` (name and path per line), `/vm-tests/scenarios`, `/vm-tests/config`.

use std::collections::BTreeSet;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::artifacts::Artifacts;
use crate::cpio::Archive;
use crate::kernel::Kernel;

const INIT: &str = include_str!("../guest/init");
const SCENARIOS: &str = include_str!("../guest/scenarios");

/// Host tools copied into the guest when the host has them (all optional).
const HOST_TOOLS: &[&str] =
    &["unshare", "nsenter", "ip", "mkfs.xfs", "xfs_quota", "xfs_io", "mkfs.ext4", "tune2fs", "setquota"];

/// Where the busybox-static package installs busybox.
const BUSYBOX: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];

/// The first of `names` found in `PATH` (the full path as found, not canonicalised: the guest's
/// PATH order is what makes the host tool win over busybox).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".to_owned());
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// busybox-static's binary (the dynamic `busybox` package would need its libraries too).
pub fn busybox() -> Result<PathBuf> {
    for candidate in BUSYBOX {
        let path = Path::new(candidate);
        if path.is_file() && shared_libraries(path)?.is_empty() {
            return Ok(path.to_owned());
        }
    }
    bail!("no static busybox at {} (apt-get install busybox-static)", BUSYBOX.join(" or "))
}

/// The shared libraries `ldd` names for `file` (the dynamic loader included); none for a static
/// binary or a file that is not ELF.
fn shared_libraries(file: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(file).output().context("running ldd")?;
    if !out.status.success() {
        // "not a dynamic executable"
        return Ok(Vec::new());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// `file` without its debug information (release builds keep line tables: 19 MB of a test
/// binary's 21 MB), as a temporary copy at `scratch`; the file itself when `strip` is missing or
/// fails. Symbols stay, so a backtrace in the guest still names functions.
fn strip_debug(file: &Path, scratch: &Path) -> PathBuf {
    let stripped = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(scratch)
        .arg(file)
        .status()
        .is_ok_and(|s| s.success());
    if stripped { scratch.to_owned() } else { file.to_owned() }
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().with_context(|| format!("not a UTF-8 path: {}", path.display()))
}

/// Writes the initramfs to `out`.
pub fn build(out: &Path, kernel: &Kernel, artifacts: &Artifacts) -> Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut archive = Archive::new(BufWriter::new(file));
    for dir in ["proc", "sys", "dev", "tmp", "run", "root", "mnt", "var/lib", "sys/fs/cgroup"] {
        archive.dir(dir)?;
    }
    archive.file("init", 0o755, INIT.as_bytes())?;
    archive.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )?;
    archive.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n")?;
    archive.file("etc/hostname", 0o644, b"vm-tests-guest\n")?;

    let busybox = busybox()?;
    archive.copy("bin/busybox", &busybox)?;
    let applets = crate::util::run_output(Command::new(&busybox).arg("--list"))?;
    for applet in applets.lines().map(str::trim).filter(|a| !a.is_empty() && *a != "busybox") {
        archive.symlink(&format!("bin/{applet}"), "busybox")?;
    }

    let mut elves: Vec<PathBuf> = artifacts.files.clone();
    elves.extend(artifacts.suites.iter().map(|s| s.path.clone()));
    elves.extend(HOST_TOOLS.iter().filter_map(|t| which(t)));
    elves.sort();
    elves.dedup();
    let mut libraries = BTreeSet::new();
    let stripped = out.with_extension("stripped");
    for elf in &elves {
        let source = artifacts.source(elf);
        archive.copy(path_str(elf)?, &strip_debug(source, &stripped))?;
        libraries.extend(shared_libraries(source)?);
    }
    let _ = std::fs::remove_file(&stripped);
    for library in &libraries {
        if !elves.contains(library) {
            archive.copy(path_str(library)?, library)?;
        }
    }

    let mut modules = String::new();
    for module in &kernel.modules {
        let guest = format!(
            "/lib/modules/{}/{}",
            kernel.release,
            path_str(module.file_name().map(Path::new).unwrap_or(module))?
        );
        archive.copy(&guest, module)?;
        modules.push_str(&guest);
        modules.push('\n');
    }
    archive.file("vm-tests/modules", 0o644, modules.as_bytes())?;

    let mut suites = String::new();
    for suite in &artifacts.suites {
        suites.push_str(&format!("{} {}\n", suite.name, path_str(&suite.path)?));
    }
    suites.push_str("agent-harness::scenarios /vm-tests/scenarios\n");
    archive.file("vm-tests/suites", 0o644, suites.as_bytes())?;
    archive.file("vm-tests/scenarios", 0o755, SCENARIOS.as_bytes())?;
    archive.file(
        "vm-tests/config",
        0o644,
        format!("HARNESS={}\n", path_str(&artifacts.harness)?).as_bytes(),
    )?;
    archive.finish()?;
    Ok(())
}
