//! The guest kernel: Debian's `linux-image-<version>-amd64`, fetched with apt and cached.
//!
//! The package that `linux-image-amd64` currently depends on is downloaded with `apt-get download`
//! (no install: nothing on the host changes), unpacked with `dpkg -x` under
//! `<target>/vm-tests/kernel/<package>/`, and reused by every later run. From the bzImage the
//! uncompressed `vmlinux` is extracted: qemu boots an ELF kernel through its PVH entry point, which
//! skips the real-mode setup and the in-guest decompression (measured with the suites' initramfs:
//! 5.6 s from start to power-off against 8.0 s for the bzImage under TCG). The Debian kernel builds everything as modules, so the ones
//! the suites need are resolved in dependency order with `depmod` and `modprobe --show-depends`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{run, run_output};

/// The modules the guests load (with their dependencies): loop devices and the file systems with
/// project quota for the disk isolators' tests.
const MODULES: &[&str] = &["loop", "xfs", "ext4", "quota_v2"];

/// An unpacked kernel package.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// `6.1.0-56-amd64`.
    pub release: String,
    /// The image qemu boots: `vmlinux` (PVH) or, when extraction failed, the bzImage.
    pub image: PathBuf,
    /// Host paths of the modules to `insmod`, dependencies first.
    pub modules: Vec<PathBuf>,
}

/// The metapackage of Debian's default kernel.
pub const DEFAULT_META: &str = "linux-image-amd64";
/// The metapackage of the newer kernel Debian 12 offers (6.12, from bookworm's updates).
pub const NEWER_META: &str = "linux-image-6.12-amd64";

/// The package `meta` depends on now (`VM_TESTS_KERNEL_PACKAGE` overrides the default kernel's).
fn current_package(meta: &str) -> Result<String> {
    if meta == DEFAULT_META
        && let Ok(package) = std::env::var("VM_TESTS_KERNEL_PACKAGE")
    {
        return Ok(package);
    }
    let out = run_output(Command::new("apt-cache").args(["depends", meta]))?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_owned)
        .with_context(|| {
            format!("apt-cache depends {meta} names no linux-image-*-amd64 (run apt-get update)")
        })
}

/// Fetches (or reuses) the kernel `meta` points to under `cache`.
pub fn prepare(cache: &Path, meta: &str) -> Result<Kernel> {
    let package = match current_package(meta) {
        Ok(package) => package,
        // Offline with a cached kernel: use it.
        Err(e) => newest_cached(cache, meta).with_context(|| format!("{e:#}; and no kernel is cached"))?,
    };
    let dir = cache.join("kernel").join(&package);
    let done = dir.join(".complete");
    if !done.exists() {
        unpack(&package, &dir)?;
        std::fs::write(&done, "")?;
    } else {
        eprintln!("vm-tests: kernel {package} (cached in {})", dir.display());
    }
    let release = package.trim_start_matches("linux-image-").to_owned();
    let vmlinux = dir.join("vmlinux");
    let image = if vmlinux.exists() { vmlinux } else { dir.join(format!("root/boot/vmlinuz-{release}")) };
    let modules = resolve_modules(&dir.join("root"), &release)?;
    Ok(Kernel { release, image, modules })
}

/// The newest cached kernel of the series `meta` stands for (6.12 for the newer one, any other
/// for the default).
fn newest_cached(cache: &Path, meta: &str) -> Option<String> {
    let newer = |name: &str| name.starts_with("linux-image-6.12");
    let mut names: Vec<String> = std::fs::read_dir(cache.join("kernel"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(".complete").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| newer(name) == (meta == NEWER_META))
        .collect();
    names.sort();
    names.pop()
}

fn unpack(package: &str, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let download = dir.join("download");
    std::fs::create_dir_all(&download)?;
    eprintln!("vm-tests: apt-get download {package}");
    let fetch = || run(Command::new("apt-get").args(["download", "-q", package]).current_dir(&download));
    if fetch().is_err() {
        // A fresh machine has no package lists yet, or they name a version the mirror dropped.
        run(Command::new("apt-get").args(["update", "-q"]))?;
        fetch()?;
    }
    let deb = std::fs::read_dir(&download)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb")?;
    let root = dir.join("root");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
    std::fs::remove_dir_all(&download)?;
    let release = package.trim_start_matches("linux-image-");
    run(Command::new("depmod").arg("-b").arg(&root).arg(release))?;
    let bzimage = root.join(format!("boot/vmlinuz-{release}"));
    match extract_vmlinux(&bzimage, &dir.join("vmlinux")) {
        Ok(()) => eprintln!("vm-tests: extracted vmlinux for PVH boot"),
        Err(e) => eprintln!("vm-tests: booting the bzImage ({e:#})"),
    }
    Ok(())
}

/// The compressed payload of a bzImage, found by its magic, decompressed with the matching tool.
/// The decompressor stops at the end of the stream; whatever trails it is ignored.
fn extract_vmlinux(bzimage: &Path, out: &Path) -> Result<()> {
    let data = std::fs::read(bzimage).with_context(|| format!("reading {}", bzimage.display()))?;
    let formats: [(&[u8], &str, &[&str]); 3] = [
        (b"\xfd7zXZ\x00", "xz", &["-dc", "--single-stream"]),
        (b"\x28\xb5\x2f\xfd", "zstd", &["-dcq"]),
        (b"\x1f\x8b\x08", "gzip", &["-dcq"]),
    ];
    for (magic, tool, args) in formats {
        let Some(offset) = data.windows(magic.len()).position(|w| w == magic) else { continue };
        let mut child = Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("running {tool}"))?;
        let mut stdin = child.stdin.take().context("no stdin")?;
        let payload = data[offset..].to_vec();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &payload));
        let output = child.wait_with_output()?;
        let _ = writer.join();
        // The exit status is not checked: gzip and xz complain about the bytes after the stream.
        if output.stdout.starts_with(b"\x7fELF") {
            std::fs::write(out, &output.stdout)?;
            return Ok(());
        }
    }
    bail!("no compressed ELF kernel found in {}", bzimage.display())
}

/// The `.ko` files for [`MODULES`] with their dependencies, in load order, each once.
fn resolve_modules(root: &Path, release: &str) -> Result<Vec<PathBuf>> {
    let mut ordered: Vec<PathBuf> = Vec::new();
    for module in MODULES {
        let out = run_output(Command::new("modprobe").arg("-d").arg(root).args([
            "-S",
            release,
            "--show-depends",
            module,
        ]))?;
        for line in out.lines() {
            // `insmod /path/x.ko opts` for a module, `builtin x` for what the kernel has built in.
            if let Some(path) = line.strip_prefix("insmod ").and_then(|r| r.split_whitespace().next()) {
                let path = PathBuf::from(path);
                if !ordered.contains(&path) {
                    ordered.push(path);
                }
            }
        }
    }
    Ok(ordered)
}
