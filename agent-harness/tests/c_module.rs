//! A module written in C against `module-abi/include/mesos_module.h`, built here with the system
//! `cc`, loads and answers through the same loader as the Rust modules.

mod support;

use std::path::Path;
use std::process::Command;

use agent_harness::TestModuleHandle;
use module_abi::Kind;
use support::*;

#[test]
fn a_module_written_in_c_loads_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("libtestcmodule.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("module-abi/include"))
        .arg("-o")
        .arg(&library)
        .arg(root.join("examples/c_module/test_c_module.c"))
        .status()
        .expect("the system C compiler `cc` runs (install gcc)");
    assert!(status.success(), "cc failed to build the C module");

    let manager = load(&manifest_for(&library, &[("org_example_CTestModule", &[])])).unwrap();
    assert!(manager.contains("org_example_CTestModule", Kind::TestModule));
    let loaded = manager.get("org_example_CTestModule").unwrap();
    assert_eq!(loaded.author_name, "C Example");
    let module = manager.create::<TestModuleHandle>("org_example_CTestModule", None).unwrap();
    assert_eq!(module.foo(b'A' as i8, 1024).unwrap(), 1089);
    assert_eq!(module.bar(0.5, 10.8).unwrap(), 5);
    assert_eq!(module.baz(5, 10).unwrap(), 15);
    assert!(module.parameters().unwrap().is_empty());
}
