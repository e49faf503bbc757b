//! A module written in C against `module-abi/include/mesos_module.h`, built here with the system
//! `cc` and again as C++ with `c++`, loads and answers through the same loader as the Rust modules.

mod support;

use std::path::Path;
use std::process::Command;

use agent_harness::TestModuleHandle;
use module_abi::Kind;
use support::*;

/// Builds the C module with `compiler` and the given language flags into `dir`.
fn build(compiler: &str, language: &[&str], dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let library = dir.join(format!("libtestcmodule-{compiler}.so"));
    let status = Command::new(compiler)
        .args(language)
        .args(["-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("module-abi/include"))
        .arg("-o")
        .arg(&library)
        .arg(root.join("examples/c_module/test_c_module.c"))
        .status()
        .unwrap_or_else(|e| panic!("the system compiler `{compiler}` runs (install gcc and g++): {e}"));
    assert!(status.success(), "{compiler} failed to build the C module");
    library
}

fn loads_and_runs(library: &Path) {
    let manager = load(&manifest_for(library, &[("org_example_CTestModule", &[])])).unwrap();
    assert!(manager.contains("org_example_CTestModule", Kind::TestModule));
    let loaded = manager.get("org_example_CTestModule").unwrap();
    assert_eq!(loaded.author_name, "C Example");
    assert_eq!(loaded.built_against, module_abi::MODULE_ABI_VERSION);
    let module = manager.create::<TestModuleHandle>("org_example_CTestModule", None).unwrap();
    assert_eq!(module.foo(b'A' as i8, 1024).unwrap(), 1089);
    assert_eq!(module.bar(0.5, 10.8).unwrap(), 5);
    assert_eq!(module.baz(5, 10).unwrap(), 15);
    assert!(module.parameters().unwrap().is_empty());
}

/// Built as C11 with `-fvisibility=hidden`: `MM_EXPORT` keeps the descriptor visible.
#[test]
fn a_module_written_in_c_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    loads_and_runs(&build("cc", &["-std=c11"], dir.path()));
}

/// The same file as C++20: `MM_EXPORT` gives the descriptor C linkage (an unmangled name) and
/// external linkage (a namespace-scope `const` has internal linkage in C++ without it).
#[test]
fn the_same_module_compiled_as_cpp_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    loads_and_runs(&build("c++", &["-x", "c++", "-std=c++20"], dir.path()));
}
