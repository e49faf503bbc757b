//! `libtestanonymous.so`: Mesos's test anonymous module, `org_apache_mesos_TestAnonymous` of kind
//! `Anonymous`, mirroring `src/examples/test_anonymous_module.cpp`. Creating it sets the
//! environment variable `MESOS_TEST_ANONYMOUS=42`, which Mesos's `AnonymousTest.Running` checks
//! after the host created every anonymous module. Because a test often watches the host from
//! another process, a `marker_file` parameter also makes creation write `42` to that file; any
//! other key fails creation ([`module_params`]). It has no `compatible()`, so it loads only into a
//! host of exactly its module-abi version.

use std::fs;

use module_abi::{Anonymous, Module, Parameters, Result};
use module_params::Params;

/// The variable creation sets, and its value (Mesos's `AnonymousTest.Running`).
pub const ENV_VAR: &str = "MESOS_TEST_ANONYMOUS";
pub const VALUE: &str = "42";

/// The parameter naming a file creation writes [`VALUE`] to.
const MARKER_FILE: &str = "marker_file";

/// Mesos's `TestAnonymous`: all of its work happens at creation.
pub struct TestAnonymous;

impl Module for TestAnonymous {
    fn create(parameters: Parameters) -> Result<Self> {
        let params = Params::new("TestAnonymous", &parameters, &[MARKER_FILE])?;
        // SAFETY: `set_var` races with any thread reading or writing the environment. The host
        // creates anonymous modules once at start-up, before it starts any thread (Mesos does
        // the same in `src/slave/main.cpp`), so no other thread touches the environment now.
        unsafe { std::env::set_var(ENV_VAR, VALUE) };
        if let Some(path) = params.get(MARKER_FILE) {
            fs::write(path, VALUE)
                .map_err(|e| module_abi::Error::msg(format!("cannot write {path}: {e}")))?;
        }
        Ok(TestAnonymous)
    }
}

impl Anonymous for TestAnonymous {}

module_abi::declare_module! {
    name: org_apache_mesos_TestAnonymous,
    kind: Anonymous,
    module: TestAnonymous,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Test anonymous module.",
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_abi::Parameter;

    // One test only: it changes the process environment, which other tests running in parallel
    // threads must not see half-way.
    #[test]
    fn creation_sets_the_variable_and_writes_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("created");
        TestAnonymous::create(vec![Parameter {
            key: "marker_file".to_string(),
            value: marker.to_str().unwrap().to_string(),
        }])
        .unwrap();
        assert_eq!(std::env::var(ENV_VAR).unwrap(), VALUE);
        assert_eq!(fs::read_to_string(&marker).unwrap(), VALUE);

        let missing = dir.path().join("no/such/dir/created");
        let err = TestAnonymous::create(vec![Parameter {
            key: "marker_file".to_string(),
            value: missing.to_str().unwrap().to_string(),
        }])
        .err()
        .unwrap();
        assert!(err.message().contains("no/such/dir"), "{err}");
        let err =
            TestAnonymous::create(vec![Parameter { key: "marker".into(), value: "x".into() }]).err().unwrap();
        assert_eq!(
            err.message(),
            "TestAnonymous: unknown parameter 'marker' (known parameters: marker_file)"
        );
        assert!(org_apache_mesos_TestAnonymous.compatible.is_none());
    }
}
