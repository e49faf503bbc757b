//! A module crate built with `panic = "abort"` does not compile through `declare_module!`: with
//! abort, a panic in the module would take the whole host down, where the ABI promises it fails
//! only the call. Checked with a real `cargo check` of a small module crate, once with the
//! setting (it must fail with the macro's message) and once without (it must pass, so the failure
//! is the setting's and nothing else's).

use std::path::{Path, PathBuf};
use std::process::Command;

const MODULE: &str = r#"
use module_abi::{Isolator, Module, Parameters, Result};

pub struct Noop;

impl Module for Noop {
    fn create(_parameters: Parameters) -> Result<Self> {
        Ok(Noop)
    }
}

impl Isolator for Noop {}

module_abi::declare_module! {
    name: org_example_AbortingNoop,
    kind: Isolator,
    module: Noop,
    author_name: "Example",
    author_email: "dev@example.org",
    description: "Built with panic = abort.",
}
"#;

/// Writes the crate into `dir` and runs `cargo check` on it; its success and stderr.
fn check(dir: &Path, profile: &str) -> (bool, String) {
    let abi = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = format!(
        "[package]\nname = \"aborting-module\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nmodule-abi = {{ path = {abi:?} }}\n\n{profile}\n[workspace]\n"
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), MODULE).unwrap();
    // Reuse one target directory across runs, beside the workspace's own.
    let target: PathBuf = abi.parent().unwrap().join("target/panic-abort-check");
    let output = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_module_built_with_panic_abort_does_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stderr) = check(dir.path(), "[profile.dev]\npanic = \"abort\"\n");
    assert!(!ok, "a panic = \"abort\" module compiled");
    assert!(stderr.contains("this module is built with `panic = \"abort\"`"), "{stderr}");

    let (ok, stderr) = check(dir.path(), "");
    assert!(ok, "the same module without panic = \"abort\" must compile: {stderr}");
}
