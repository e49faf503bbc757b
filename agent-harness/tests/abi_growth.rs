//! module-abi's growth rules, through real `.so` files (`libbrokenmodules.so`'s `growth` module):
//! older and newer shapes load, malformed ones are refused with a line that says why, before any
//! of the module's code runs (the refused modules' `create` aborts the process).

mod support;

use agent_harness::{IsolatorHandle, TestModuleHandle};
use module_abi::ContainerId;
use support::*;

fn load_growth(symbol: &str) -> Result<agent_harness::ModuleManager, String> {
    load(&manifest_for(&library("brokenmodules"), &[(symbol, &[])])).map_err(|e| e.to_string())
}

fn refused(symbol: &str) -> String {
    match load_growth(symbol) {
        Ok(_) => panic!("{symbol} loaded, but the host must refuse it"),
        Err(message) => {
            assert!(message.contains(&format!("'{symbol}'")), "the error names the module: {message}");
            message
        }
    }
}

#[test]
fn a_shorter_descriptor_loads_with_its_missing_fields_absent() {
    let manager = load_growth("org_example_Growth_ShortDescriptor").unwrap();
    let module = manager.create::<TestModuleHandle>("org_example_Growth_ShortDescriptor", None).unwrap();
    assert_eq!(module.baz(2, 3).unwrap(), 5);
}

#[test]
fn a_size_that_ends_inside_a_field_is_refused() {
    let err = refused("org_example_Growth_SizeInsideField");
    assert!(err.contains("ends inside its field 'table'"), "{err}");
}

#[test]
fn a_longer_descriptor_loads_when_its_unknown_tail_is_zero() {
    let manager = load_growth("org_example_Growth_ZeroTail").unwrap();
    let module = manager.create::<TestModuleHandle>("org_example_Growth_ZeroTail", None).unwrap();
    assert_eq!(module.foo(1, 2).unwrap(), 3);
}

#[test]
fn a_longer_descriptor_with_a_non_zero_tail_is_refused() {
    let err = refused("org_example_Growth_NonZeroTail");
    assert!(err.contains("are not zero (a field of a newer module-abi)"), "{err}");
}

#[test]
fn an_unknown_required_feature_is_refused() {
    let err = refused("org_example_Growth_RequiredFeature");
    assert!(err.contains("requires features 0x1 that this harness"), "{err}");
}

#[test]
fn pointers_outside_the_library_are_refused_not_followed() {
    let err = refused("org_example_Growth_StringOutside");
    assert!(err.contains("description it points outside the module's library"), "{err}");
    let err = refused("org_example_Growth_TableOutside");
    assert!(err.contains("table points outside the module's library"), "{err}");
}

/// An older isolator has three slots: the calls it lacks get Mesos's defaults (its own `usage`
/// would report 42 processes; the host must not reach it).
#[test]
fn a_table_cut_to_its_first_slots_loads_with_defaults_for_the_rest() {
    let manager = load_growth("org_example_Growth_OlderTable").unwrap();
    let isolator = manager.create::<IsolatorHandle>("org_example_Growth_OlderTable", None).unwrap();
    let id = ContainerId::new("c1");
    assert_eq!(isolator.prepare(&id, &Default::default()).unwrap(), None);
    isolator.isolate(&id, 1).unwrap();
    assert_eq!(isolator.usage(&id).unwrap(), Default::default());
    assert!(isolator.watch(&id).unwrap().is_none());
    isolator.cleanup(&id).unwrap();
}

/// A newer module's extra slots are never called (they abort the process if they are).
#[test]
fn extra_trailing_slots_are_ignored() {
    let manager = load_growth("org_example_Growth_NewerTable").unwrap();
    let module = manager.create::<TestModuleHandle>("org_example_Growth_NewerTable", None).unwrap();
    assert_eq!(module.baz(20, 22).unwrap(), 42);
    assert!(module.parameters().unwrap().is_empty());
}

#[test]
fn malformed_tables_are_refused() {
    let err = refused("org_example_Growth_TableInsideSlot");
    assert!(err.contains("table size 28 ends inside a slot"), "{err}");
    let err = refused("org_example_Growth_TableReserved");
    assert!(err.contains("non-zero reserved word (0x1)"), "{err}");
}

#[test]
fn a_missing_required_slot_is_refused_before_create() {
    let err = refused("org_example_Growth_MissingRequiredSlot");
    assert!(err.contains("does not implement launch(), which every Containerizer must"), "{err}");
}
