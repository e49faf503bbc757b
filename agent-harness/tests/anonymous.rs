//! Mesos's `AnonymousTest.Running`: every anonymous module is created, and creating
//! `org_apache_mesos_TestAnonymous` sets `MESOS_TEST_ANONYMOUS=42` in this process. One test in
//! its own binary, so no other thread reads the environment while the module writes it.

mod support;

use agent_harness::AnonymousHandle;
use module_abi::Kind;
use support::*;

#[test]
fn anonymous_test_running() {
    assert!(std::env::var_os("MESOS_TEST_ANONYMOUS").is_none(), "unset before the test");
    let manager =
        load(&manifest_for(&library("testanonymous"), &[("org_apache_mesos_TestAnonymous", &[])])).unwrap();
    let names = manager.find(Kind::Anonymous);
    assert_eq!(names, ["org_apache_mesos_TestAnonymous"]);
    let instances: Vec<AnonymousHandle> =
        names.iter().map(|name| manager.create::<AnonymousHandle>(name, None).unwrap()).collect();
    assert_eq!(std::env::var("MESOS_TEST_ANONYMOUS").as_deref(), Ok("42"));
    assert_eq!(instances[0].name(), "org_apache_mesos_TestAnonymous");
}
