//! The project's binaries for the guests, built by cargo (`--release`: TCG runs debug builds
//! several times slower) and found from its JSON messages rather than guessed paths.
//!
//! The privileged suites are the `kernel` test binaries of the crates that touch the kernel, every
//! test binary of `integration` once that crate exists, and this crate's `selftest` (one test that
//! proves the plumbing, and fails or hangs on purpose when asked to). Besides them the guests get
//! every module library, `agent-harness` and `mesos-containerizer`. The guests' helper is the one
//! the package ships, the static musl build of scripts/build-helper.sh, put at the path of the
//! build's own (where the tests look for it): the host's nextest runs cover the glibc build, the
//! guests' runs the shipped one, on every kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Packages whose `kernel` test binary is a privileged suite.
const KERNEL_SUITES: &[&str] = &[
    "cgroupfs",
    "cgroups_isolator",
    "namespaces-isolator",
    "linux-isolators",
    "linux-containerizer",
    "disk_isolator",
];

/// The package whose every test binary is a privileged suite (when it is in the workspace).
const INTEGRATION: &str = "integration";

/// Benchmarks: never run in the guests.
const BENCH: &str = "bench";

/// This crate, for the `selftest` suite.
const SELF: &str = "vm-tests";

/// A test binary the guests run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// `<package>::<target>`, as printed in the summaries.
    pub name: String,
    pub path: PathBuf,
}

/// Everything the guests need from the build.
#[derive(Debug, Default)]
pub struct Artifacts {
    pub suites: Vec<Suite>,
    /// `agent-harness`, for the scenarios.
    pub harness: PathBuf,
    /// Every binary and module library, placed in the guest at the same absolute path.
    pub files: Vec<PathBuf>,
    /// The file the guests get at the path of the build's launch helper: the shipped helper.
    pub helper: Option<(PathBuf, PathBuf)>,
}

impl Artifacts {
    /// The host file whose bytes the guest gets at `path`, one of [`Artifacts::files`].
    pub fn source<'a>(&'a self, path: &'a Path) -> &'a Path {
        match &self.helper {
            Some((build, shipped)) if build == path => shipped,
            _ => path,
        }
    }
}

/// The launch helper the package ships, built by scripts/build-helper.sh (which prints its path).
fn shipped_helper(workspace: &Path) -> Result<PathBuf> {
    let script = workspace.join("scripts/build-helper.sh");
    eprintln!("vm-tests: {}", script.display());
    let out = Command::new(&script)
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed: {}", script.display(), out.status);
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let path = PathBuf::from(path);
    if !path.is_file() {
        bail!("{} printed {:?}, which is not a file", script.display(), path.display());
    }
    Ok(path)
}

/// Workspace packages, from `cargo metadata`.
fn workspace_packages(workspace: &Path) -> Result<Vec<String>> {
    let out = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", out.status);
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let packages = metadata["packages"].as_array().context("cargo metadata: no packages")?;
    Ok(packages.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect())
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir(workspace: &Path) -> Result<PathBuf> {
    let out = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(workspace)
        .output()
        .context("running cargo metadata")?;
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(PathBuf::from(metadata["target_directory"].as_str().context("cargo metadata: no target_directory")?))
}

/// One cargo build; returns its `compiler-artifact` messages.
fn cargo_build(workspace: &Path, args: &[&str]) -> Result<Vec<serde_json::Value>> {
    eprintln!("vm-tests: cargo build {}", args.join(" "));
    let out = Command::new("cargo")
        .arg("build")
        .args(["--release", "--message-format=json-render-diagnostics"])
        .args(args)
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!("cargo build {} failed: {}", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .collect())
}

fn package_name(artifact: &serde_json::Value) -> String {
    // `path+file:///work/main/support/cgroupfs#0.1.0` when the package is named after its
    // directory, `path+file:///work/main/isolators/cgroups#cgroups_isolator@0.1.0` otherwise.
    let id = artifact["package_id"].as_str().unwrap_or_default();
    let (url, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
    match fragment.split_once('@') {
        Some((name, _)) => name.to_owned(),
        None => url.rsplit('/').next().unwrap_or_default().to_owned(),
    }
}

/// Builds the libraries, binaries and suites.
pub fn build(workspace: &Path) -> Result<Artifacts> {
    let packages = workspace_packages(workspace)?;
    let mut artifacts = Artifacts::default();

    // Every library and binary of the workspace except this runner and the benchmarks: the
    // integration tests may load any module library (the examples included).
    let mut args = vec!["--workspace", "--exclude", SELF, "--lib", "--bins"];
    if packages.iter().any(|p| p == BENCH) {
        args.extend(["--exclude", BENCH]);
    }
    for artifact in cargo_build(workspace, &args)? {
        if let Some(exe) = artifact["executable"].as_str() {
            artifacts.files.push(PathBuf::from(exe));
        }
        // Module libraries only: proc-macro crates are `.so` files too.
        let cdylib = artifact["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        for file in artifact["filenames"].as_array().into_iter().flatten().filter_map(|f| f.as_str()) {
            if cdylib && file.ends_with(".so") {
                artifacts.files.push(PathBuf::from(file));
            }
        }
    }
    artifacts.harness = artifacts
        .files
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "agent-harness"))
        .cloned()
        .context("the build produced no agent-harness binary")?;
    let build_helper = artifacts
        .files
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "mesos-containerizer"))
        .cloned()
        .context("the build produced no mesos-containerizer binary")?;
    let shipped = shipped_helper(workspace)?;
    eprintln!(
        "vm-tests: the guests run the shipped helper {} at {}",
        shipped.display(),
        build_helper.display()
    );
    artifacts.helper = Some((build_helper, shipped));

    let mut args: Vec<&str> = Vec::new();
    for package in KERNEL_SUITES.iter().chain([&INTEGRATION, &SELF]) {
        if packages.iter().any(|p| p == package) {
            args.extend(["-p", package]);
        }
    }
    args.extend(["--test", "*"]);
    for artifact in cargo_build(workspace, &args)? {
        let (Some(exe), Some(target)) =
            (artifact["executable"].as_str(), artifact["target"]["name"].as_str())
        else {
            continue;
        };
        if artifact["target"]["kind"] != serde_json::json!(["test"]) {
            continue;
        }
        let package = package_name(&artifact);
        let wanted = match package.as_str() {
            INTEGRATION => true,
            SELF => target == "selftest",
            p => KERNEL_SUITES.contains(&p) && target == "kernel",
        };
        if wanted {
            artifacts.suites.push(Suite { name: format!("{package}::{target}"), path: PathBuf::from(exe) });
        }
    }
    // The self-test first: when the plumbing is broken, that is the first thing to see.
    artifacts.suites.sort_by_key(|s| (!s.name.starts_with(SELF), s.name.clone()));
    Ok(artifacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_ids() {
        let id = |id: &str| serde_json::json!({ "package_id": id });
        assert_eq!(package_name(&id("path+file:///w/support/cgroupfs#0.1.0")), "cgroupfs");
        assert_eq!(
            package_name(&id("path+file:///w/isolators/cgroups#cgroups_isolator@0.1.0")),
            "cgroups_isolator"
        );
    }
}
