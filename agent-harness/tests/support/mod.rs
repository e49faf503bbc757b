//! Helpers shared by the harness's integration tests: where the built module libraries are, and
//! manifests that name them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use agent_harness::{LoadError, ModuleManager, manifest};
use serde_json::json;

/// The directory the workspace's libraries were built into (`target/<profile>`), found from this
/// test binary's own path (`target/<profile>/deps/<test>`).
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The path of `lib<name>.so`; panics with what to do when it has not been built.
pub fn library(name: &str) -> PathBuf {
    let path = library_dir().join(format!("lib{name}.so"));
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace` in the same profile as the tests)",
        path.display()
    );
    path
}

/// A manifest with one library given by `file` and its modules with parameters.
pub fn manifest_for(file: &Path, modules: &[(&str, &[(&str, &str)])]) -> String {
    let modules: Vec<_> = modules
        .iter()
        .map(|(name, params)| {
            let params: Vec<_> = params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
            json!({"name": name, "parameters": params})
        })
        .collect();
    json!({"libraries": [{"file": file, "modules": modules}]}).to_string()
}

/// Loads inline manifest JSON into `manager`.
pub fn load_into(manager: &mut ModuleManager, json: &str) -> Result<(), LoadError> {
    let sourced = manifest::from_flag_value(json, |_| {}).expect("test manifests parse");
    manager.load(&sourced)
}

/// A fresh manager with inline manifest JSON loaded.
pub fn load(json: &str) -> Result<ModuleManager, LoadError> {
    let mut manager = ModuleManager::new();
    load_into(&mut manager, json)?;
    Ok(manager)
}

pub const TEST_MODULE: &str = "org_apache_mesos_TestModule";

/// Mesos's default manifest: the example library's `TestModule` with `operation=sum`.
pub fn default_manifest() -> String {
    manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("operation", "sum")])])
}
