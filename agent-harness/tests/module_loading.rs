//! Mesos's `ModuleTest` cases (src/tests/module_tests.cpp), through the real loader and real `.so`
//! files, plus the refusal paths Mesos does not have.

mod support;

use agent_harness::module_manager::Duplicate;
use agent_harness::{CreateError, IsolatorHandle, LoadFailure, ModuleManager, TestModuleHandle, manifest};
use module_abi::{Kind, Parameter};
use support::*;

fn param(key: &str, value: &str) -> Parameter {
    Parameter { key: key.into(), value: value.into() }
}

fn create(manager: &ModuleManager) -> Result<TestModuleHandle, CreateError> {
    manager.create::<TestModuleHandle>(TEST_MODULE, None)
}

#[test]
fn example_module_load_test() {
    let manager = load(&default_manifest()).unwrap();
    assert!(manager.contains(TEST_MODULE, Kind::TestModule));
    let module = create(&manager).unwrap();
    assert_eq!(module.foo(b'A' as i8, 1024).unwrap(), 1089);
    assert_eq!(module.bar(0.5, 10.8).unwrap(), 5);
    assert_eq!(module.baz(5, 10).unwrap(), 15);
    let plain = load(&manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[])])).unwrap();
    assert_eq!(create(&plain).unwrap().baz(5, 10).unwrap(), -1);
}

#[test]
fn modules_dir_test() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("default_module.json"), default_manifest()).unwrap();
    std::fs::write(dir.path().join("dup_default_module.json"), default_manifest()).unwrap();
    let extra = manifest_for(&library("testanonymous"), &[("org_apache_mesos_TestAnonymous", &[])]);
    std::fs::write(dir.path().join("extra_module.json"), extra).unwrap();
    let mut manager = ModuleManager::new();
    manager.load_all(&manifest::from_dir(dir.path()).unwrap()).unwrap();
    assert!(manager.contains(TEST_MODULE, Kind::TestModule));
    assert!(manager.contains("org_apache_mesos_TestAnonymous", Kind::Anonymous));
    assert_eq!(manager.modules().len(), 2, "the identical duplicate is skipped");
}

#[test]
fn parameter_without_value_fails_creation() {
    let manager =
        load(&manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("operation", "")])])).unwrap();
    assert!(
        create(&manager)
            .unwrap_err()
            .to_string()
            .starts_with("Error creating Module instance for 'org_apache_mesos_TestModule'")
    );
}

#[test]
fn parameter_with_invalid_value_fails_creation() {
    let manager =
        load(&manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("operation", "X")])])).unwrap();
    assert!(create(&manager).is_err());
}

#[test]
fn parameter_without_key_is_ignored() {
    let manager = load(&manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("", "sum")])])).unwrap();
    assert_eq!(create(&manager).unwrap().baz(5, 10).unwrap(), -1);
}

#[test]
fn parameter_with_invalid_key_is_ignored() {
    let manager = load(&manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("X", "sum")])])).unwrap();
    assert_eq!(create(&manager).unwrap().baz(5, 10).unwrap(), -1);
}

#[test]
fn valid_parameters() {
    let manager = load(&default_manifest()).unwrap();
    assert_eq!(create(&manager).unwrap().baz(5, 10).unwrap(), 15);
}

#[test]
fn override_json_replaces_the_manifest_parameters() {
    let manager = load(&default_manifest()).unwrap();
    let module =
        manager.create::<TestModuleHandle>(TEST_MODULE, Some(vec![param("foo", "foovalue")])).unwrap();
    assert_eq!(module.parameters().unwrap(), vec![param("foo", "foovalue")]);
    assert_eq!(module.baz(5, 10).unwrap(), -1, "operation=sum was replaced, not merged");
    assert_eq!(create(&manager).unwrap().parameters().unwrap(), vec![param("operation", "sum")]);
}

#[test]
fn json_parse_test() {
    let text = default_manifest();
    let parsed = manifest::parse(&text).unwrap();
    assert_eq!(parsed.libraries.len(), 1);
    let manager = load(&text).unwrap();
    assert_eq!(create(&manager).unwrap().baz(5, 10).unwrap(), 15);
}

#[test]
fn example_module_unload_test() {
    let mut manager = load(&default_manifest()).unwrap();
    manager.unload(TEST_MODULE).unwrap();
    assert_eq!(
        manager.unload(TEST_MODULE).unwrap_err().to_string(),
        format!("Error unloading module '{TEST_MODULE}': module not loaded")
    );
    assert!(manager.unload("unknown").is_err());
    assert!(!manager.contains(TEST_MODULE, Kind::TestModule));
}

#[test]
fn module_kind_mismatch() {
    let manager = load(&default_manifest()).unwrap();
    assert!(manager.contains(TEST_MODULE, Kind::TestModule));
    assert!(!manager.contains(TEST_MODULE, Kind::Isolator));
    assert!(create(&manager).is_ok());
    let err = manager.create::<IsolatorHandle>(TEST_MODULE, None).unwrap_err();
    assert!(
        matches!(err, CreateError::WrongKind { kind: Kind::TestModule, requested: Kind::Isolator, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "Error creating module instance for '{TEST_MODULE}': module is of kind 'TestModule', but the requested kind is 'Isolator'"
        )
    );
}

#[test]
fn author_info_test() {
    let manager = load(&default_manifest()).unwrap();
    let module = manager.get(TEST_MODULE).unwrap();
    assert_eq!(module.author_name, "Apache Mesos");
    assert_eq!(module.author_email, "modules@mesos.apache.org");
    assert_eq!(module.description, "This is a test module.");
    assert_eq!(module.path, std::fs::canonicalize(library("examplemodule")).unwrap());
}

#[test]
fn file_wins_over_name() {
    let json = serde_json::json!({"libraries": [{"file": library("examplemodule"), "name": "no-such-library",
        "modules": [{"name": TEST_MODULE}]}]});
    assert!(load(&json.to_string()).is_ok());
}

#[test]
fn empty_library_filename() {
    let err = load(r#"{"libraries":[{"name":"","modules":[{"name":"org_apache_mesos_TestModule"}]}]}"#)
        .unwrap_err();
    assert!(err.reason.to_string().starts_with("Error opening library: 'lib.so'"), "{err}");
    let err = load(r#"{"libraries":[{"modules":[{"name":"org_apache_mesos_TestModule"}]}]}"#).unwrap_err();
    assert_eq!(*err.reason, LoadFailure::NoLibrary);
    assert_eq!(err.reason.to_string(), "Library name or path not provided");
}

#[test]
fn empty_module_name() {
    let err = load(&manifest_for(&library("examplemodule"), &[("", &[])])).unwrap_err();
    assert!(err.reason.to_string().starts_with("Error: module name not provided with library"), "{err}");
}

#[test]
fn unknown_library_test() {
    let err =
        load(r#"{"libraries":[{"name":"unknown","modules":[{"name":"org_apache_mesos_TestModule"}]}]}"#)
            .unwrap_err();
    assert!(
        err.reason
            .to_string()
            .starts_with("Error opening library: 'libunknown.so': Could not load library 'libunknown.so': "),
        "{err}"
    );
    assert!(err.to_string().contains("library 'unknown'"), "{err}");
}

#[test]
fn unknown_module_test() {
    let err = load(&manifest_for(&library("examplemodule"), &[("unknown", &[])])).unwrap_err();
    assert!(
        err.reason
            .to_string()
            .starts_with("Error loading module 'unknown': Error looking up symbol 'unknown' in '"),
        "{err}"
    );
    assert!(err.to_string().contains("libexamplemodule.so"), "the error names the library: {err}");
}

#[test]
fn unknown_module_instantiation_test() {
    let manager = load(&default_manifest()).unwrap();
    assert_eq!(
        manager.create::<TestModuleHandle>("unknown", None).unwrap_err().to_string(),
        "Module 'unknown' unknown"
    );
}

/// Mesos's `NonModuleLibrary`, and every kind of symbol that is not a module: refused by its type,
/// its size or its magic, without reading past it.
#[test]
fn non_module_symbols_are_refused_without_crashing() {
    let err = load(&manifest_for(std::path::Path::new("libc.so.6"), &[(TEST_MODULE, &[])])).unwrap_err();
    assert!(err.reason.to_string().contains("Error looking up symbol"), "{err}");
    let broken = library("brokenmodules");
    for (symbol, why) in
        [("brokenmodules_a_function", "is a function"), ("brokenmodules_not_a_module", "too small")]
    {
        let err = load(&manifest_for(&broken, &[(symbol, &[])])).unwrap_err();
        assert!(matches!(*err.reason, LoadFailure::Descriptor { .. }), "{symbol}: {err}");
        assert!(err.reason.to_string().contains(why), "{symbol}: {err}");
    }
    let libc = std::path::Path::new("libc.so.6");
    for symbol in ["_IO_2_1_stdin_", "getpid", "environ"] {
        let err = load(&manifest_for(libc, &[(symbol, &[])])).unwrap_err();
        assert!(
            err.reason.to_string().starts_with(&format!("Error loading module '{symbol}': the symbol")),
            "{symbol}: {err}"
        );
    }
}

#[test]
fn load_same_module_twice() {
    let mut manager = load(&default_manifest()).unwrap();
    load_into(&mut manager, &default_manifest()).unwrap();
    assert_eq!(manager.modules().len(), 1);
}

#[test]
fn duplicate_modules_with_different_parameters() {
    let mut manager = load(&default_manifest()).unwrap();
    let other = manifest_for(&library("examplemodule"), &[(TEST_MODULE, &[("operation", "X")])]);
    let err = load_into(&mut manager, &other).unwrap_err();
    assert!(matches!(*err.reason, LoadFailure::Duplicate { conflict: Duplicate::Parameters, .. }), "{err}");
    assert_eq!(
        err.reason.to_string(),
        format!(
            "Error loading module '{TEST_MODULE}'; this is potentially due to duplicate module names; A module with same name but different parameters already exists"
        )
    );
}

#[test]
fn duplicate_module_in_different_libraries() {
    let dir = tempfile::tempdir().unwrap();
    let alias = dir.path().join(format!("libexamplemodule-{}.so", module_abi::MODULE_ABI_VERSION));
    std::os::unix::fs::symlink(library("examplemodule"), &alias).unwrap();
    let mut manager = load(&default_manifest()).unwrap();
    let err = load_into(&mut manager, &manifest_for(&alias, &[(TEST_MODULE, &[("operation", "sum")])]))
        .unwrap_err();
    assert!(
        err.reason.to_string().contains("The same module appears in two different module libraries"),
        "{err}"
    );
}

fn broken(symbol: &str) -> String {
    load(&manifest_for(&library("brokenmodules"), &[(symbol, &[])])).unwrap_err().reason.to_string()
}

#[test]
fn different_api_version() {
    let err = broken("org_apache_mesos_TestModule_WrongAbi");
    assert!(err.contains("Module API version mismatch. Harness has: 1, library requires: 1000"), "{err}");
}

#[test]
fn newer_module_library() {
    let err = broken("org_apache_mesos_TestModule_NewerLibrary");
    assert!(err.contains("but module is compiled with version 100.1.0"), "{err}");
}

#[test]
fn older_module_library() {
    let err = broken("org_apache_mesos_TestModule_OlderThanKind");
    assert!(err.contains("Minimum supported version for 'TestModule' is 1.0.0"), "{err}");
}

#[test]
fn invalid_module_kind() {
    assert!(broken("org_apache_mesos_TestModule_UnknownKind").contains("Unknown module kind: NotTestModule"));
}

#[test]
fn incompatible_and_panicking_compatible() {
    let err = broken("org_apache_mesos_TestModule_Incompatible");
    assert!(
        err.ends_with("Module org_apache_mesos_TestModule_Incompatible has determined to be incompatible"),
        "{err}"
    );
    let err = broken("org_apache_mesos_TestModule_PanicsInCompatible");
    assert!(err.contains("failed in compatible(): module panicked"), "{err}");
}

#[test]
fn missing_fields() {
    let err = broken("org_apache_mesos_TestModule_MissingFields");
    assert!(err.ends_with("missing fields"), "{err}");
}

#[test]
fn create_that_panics_or_fails_is_an_error_and_the_harness_goes_on() {
    let broken = library("brokenmodules");
    let manager = load(&manifest_for(
        &broken,
        &[
            ("org_apache_mesos_TestModule_PanicsInCreate", &[]),
            ("org_apache_mesos_TestModule_FailsCreate", &[]),
        ],
    ))
    .unwrap();
    let err =
        manager.create::<TestModuleHandle>("org_apache_mesos_TestModule_PanicsInCreate", None).unwrap_err();
    assert!(matches!(err, CreateError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("PanicsInCreate: deliberate panic"), "{err}");
    let err =
        manager.create::<TestModuleHandle>("org_apache_mesos_TestModule_FailsCreate", None).unwrap_err();
    assert!(err.to_string().ends_with("FailsCreate: deliberate failure"), "{err}");
    // Still alive and able to panic-catch again.
    assert!(manager.create::<TestModuleHandle>("org_apache_mesos_TestModule_PanicsInCreate", None).is_err());
}

#[test]
fn a_failed_load_registers_nothing_of_its_manifest() {
    let mut manager = load(&default_manifest()).unwrap();
    let mixed = serde_json::json!({"libraries": [
        {"file": library("testisolator"), "modules": [{"name": "org_apache_mesos_TestCpuIsolator"}]},
        {"file": library("brokenmodules"), "modules": [{"name": "org_apache_mesos_TestModule_WrongAbi"}]},
    ]});
    assert!(load_into(&mut manager, &mixed.to_string()).is_err());
    let names: Vec<_> = manager.modules().iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, [TEST_MODULE], "nothing of the failed manifest is registered; earlier modules stay");
}

#[test]
fn isolator_modules_load_with_and_without_compatible() {
    let manager = load(&manifest_for(
        &library("testisolator"),
        &[("org_apache_mesos_TestCpuIsolator", &[]), ("org_apache_mesos_TestMemIsolator", &[])],
    ))
    .unwrap();
    assert_eq!(
        manager.find(Kind::Isolator),
        ["org_apache_mesos_TestCpuIsolator", "org_apache_mesos_TestMemIsolator"]
    );
    let isolator = manager.create::<IsolatorHandle>("org_apache_mesos_TestMemIsolator", None).unwrap();
    let id = module_abi::ContainerId::new("c1");
    isolator.cleanup(&id).unwrap();
}
