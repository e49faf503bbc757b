//! The promise of module-abi 1.0, kept for real: modules built against module-abi as it is now
//! (with and without `compatible()`) load and run a whole lifecycle in a harness whose suite
//! version and module-abi minor version are both higher.
//!
//! The newer harness is built here, from a copy of this workspace's `module-abi`, `agent-harness`
//! and `support` sources with two versions raised (the suite to 9.9.0, module-abi to 1.1.0), into
//! `target/abi-upgrade` (kept between runs, so only the first build is slow). The modules are the
//! ones this workspace built, untouched. Nothing in the version rule is edited or mocked.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration::isolators::{CPU, MEM, PID};
use integration::{Need, Sandbox, Suite, TestResult, ensure, output, workspace_root};
use serde_json::{Value, json};

const NEWER_SUITE: &str = "9.9.0";
const NEWER_ABI: &str = "1.1.0";

fn main() {
    let mut suite = Suite::new();
    suite.test(
        "modules_built_now_run_in_a_harness_with_a_newer_suite_and_module_abi",
        &[Need::Containers, Need::Toolchain],
        modules_run_in_a_newer_harness,
    );
    suite.run()
}

/// Copies `from` to `to`, leaving out build output.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Replaces the one line `old` of `file` with `new`; fails when `old` is not there exactly once.
fn replace_line(file: &Path, old: &str, new: &str) -> TestResult {
    let text = std::fs::read_to_string(file)?;
    ensure!(text.lines().filter(|l| *l == old).count() == 1, "{} has no single line {old:?}", file.display());
    let text: Vec<&str> = text.lines().map(|l| if l == old { new } else { l }).collect();
    std::fs::write(file, text.join("\n") + "\n")?;
    Ok(())
}

/// Builds the newer harness and returns its binary.
fn build_newer_harness() -> TestResult<PathBuf> {
    let root = workspace_root();
    let copy = tempfile_dir("abi-upgrade-src")?;
    for dir in ["module-abi", "agent-harness", "support"] {
        copy_tree(&root.join(dir), &copy.join(dir))?;
    }
    std::fs::copy(root.join("Cargo.lock"), copy.join("Cargo.lock"))?;
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let start = manifest.find("members = [").ok_or("no members list in Cargo.toml")?;
    let end = start + manifest[start..].find(']').ok_or("unterminated members list")? + 1;
    // The harness's path dependencies inside the copy become members by themselves.
    let manifest = format!("{}members = [\"agent-harness\"]{}", &manifest[..start], &manifest[end..]);
    std::fs::write(copy.join("Cargo.toml"), manifest)?;
    let suite_version = format!("version = \"{}\"", env!("CARGO_PKG_VERSION"));
    replace_line(&copy.join("Cargo.toml"), &suite_version, &format!("version = \"{NEWER_SUITE}\""))?;
    let abi_version = format!("version = \"{}\"", module_abi::MODULE_ABI_VERSION);
    replace_line(&copy.join("module-abi/Cargo.toml"), &abi_version, &format!("version = \"{NEWER_ABI}\""))?;

    let target = root.join("target/abi-upgrade");
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--offline",
            "-p",
            "agent-harness",
            "--bin",
            "agent-harness",
            "--manifest-path",
        ])
        .arg(copy.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()?;
    std::fs::remove_dir_all(&copy)?;
    ensure!(
        built.status.success(),
        "building the newer harness failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    Ok(target.join("debug/agent-harness"))
}

fn tempfile_dir(name: &str) -> TestResult<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn modules_run_in_a_newer_harness() -> TestResult {
    let newer = build_newer_harness()?;
    let sandbox = Sandbox::new()?;

    let version = output({
        let mut c = sandbox.harness_at(&newer);
        c.arg("--version");
        c
    })?;
    let expected = format!("agent-harness {NEWER_SUITE} (module-abi {NEWER_ABI}, ABI 1)");
    ensure!(version.stdout.trim() == expected, "--version says {:?}, not {expected:?}", version.stdout);

    // The suite's modules, plus Mesos's test isolators: TestCpuIsolator has a compatible() veto,
    // TestMemIsolator and every suite module have none.
    let mut manifest = sandbox.manifest_json();
    let testisolator = sandbox.artifacts.library("testisolator");
    manifest["libraries"].as_array_mut().ok_or("the manifest has no libraries")?.push(json!({
        "file": testisolator,
        "modules": [{"name": "org_apache_mesos_TestCpuIsolator"}, {"name": "org_apache_mesos_TestMemIsolator"}],
    }));
    std::fs::write(&sandbox.manifest, serde_json::to_vec_pretty(&manifest)?)?;

    let listed = output({
        let mut c = sandbox.harness_at(&newer);
        c.arg("modules").arg(sandbox.modules_flag());
        c
    })?;
    listed.expect_success()?;
    let modules: Vec<Value> = serde_json::from_str(&listed.stdout)?;
    ensure!(modules.len() >= 8, "only {} modules listed: {}", modules.len(), listed.stdout);
    for module in &modules {
        ensure!(
            module["built_against"] == module_abi::MODULE_ABI_VERSION,
            "{} is built against {}, not this workspace's module-abi",
            module["name"],
            module["built_against"]
        );
    }

    let isolation = [CPU, MEM, PID, "org_apache_mesos_TestCpuIsolator", "org_apache_mesos_TestMemIsolator"];
    let mut run = sandbox.harness_at(&newer);
    run.arg("run")
        .arg(sandbox.modules_flag())
        .arg(format!("--work_dir={}", sandbox.work_dir.display()))
        .arg(format!("--isolation={}", isolation.join(",")))
        .args(["--resources=cpus:0.5;mem:64", "--json", "--", "sh", "-c", "echo upgraded; exit 3"]);
    let ran = output(run)?;
    let outcome = ran.outcome()?;
    ensure!(outcome.exit_status == 3, "exit status {} (stderr {:?})", outcome.exit_status, ran.stderr);
    let stdout = std::fs::read_to_string(Path::new(&outcome.sandbox).join("stdout"))?;
    ensure!(stdout == "upgraded\n", "the container wrote {stdout:?}");
    ensure!(outcome.usage.mem_limit_bytes == Some(64 << 20), "usage {:?}", outcome.usage);
    sandbox.assert_clean()
}
