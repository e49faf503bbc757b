//! `libexamplemodule.so`: Mesos's example module, `org_apache_mesos_TestModule` of kind
//! `TestModule`, with the semantics of Mesos's `src/examples/example_module_impl.cpp` (interface in
//! `src/examples/test_module.hpp`). It is the library the Mesos module tests
//! (`src/tests/module_tests.cpp`) load by default, so the harness's loader tests can check the same
//! things: author information, parameter handling at creation, explicit parameters replacing the
//! manifest's, and the results of `foo`, `bar` and `baz`.

use module_abi::{Module, Parameter, Parameters, Result, TestModule};

/// The only `operation` this module accepts, as in Mesos.
const SUM: &str = "sum";

/// Mesos's `TestModuleImpl`.
pub struct ExampleModule {
    /// Exactly the parameters the module was created with, in order.
    parameters: Parameters,
    /// Whether `operation=sum` was given (every `operation` given must be `sum`).
    sum: bool,
}

impl Module for ExampleModule {
    /// Mesos's `initialize`: an `operation` other than `sum` fails creation; a parameter with an
    /// empty key (Mesos: no key) and unknown keys are ignored.
    fn create(parameters: Parameters) -> Result<Self> {
        let mut sum = false;
        for Parameter { key, value } in &parameters {
            if key == "operation" {
                if value != SUM {
                    module_abi::bail!(
                        "invalid value '{value}' for parameter 'operation': only '{SUM}' is supported"
                    );
                }
                sum = true;
            }
        }
        Ok(ExampleModule { parameters, sum })
    }
}

impl TestModule for ExampleModule {
    /// `a + b`, truncated to `int` as the C++ original does.
    fn foo(&self, a: i8, b: i64) -> Result<i32> {
        Ok(i64::from(a).wrapping_add(b) as i32)
    }

    /// `a * b`, truncated towards zero to `int`.
    fn bar(&self, a: f32, b: f64) -> Result<i32> {
        Ok((f64::from(a) * b) as i32)
    }

    /// `a + b` when created with `operation=sum`, else -1.
    fn baz(&self, a: i32, b: i32) -> Result<i32> {
        Ok(if self.sum { a.wrapping_add(b) } else { -1 })
    }

    fn parameters(&self) -> Result<Parameters> {
        Ok(self.parameters.clone())
    }
}

module_abi::declare_module! {
    name: org_apache_mesos_TestModule,
    kind: TestModule,
    module: ExampleModule,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "This is a test module.",
    // Mesos's example says yes unconditionally; this one looks at the host, as a real veto would.
    compatible: |host: &module_abi::HostInfo| host.kind_version("TestModule").is_some(),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(key: &str, value: &str) -> Parameter {
        Parameter { key: key.to_string(), value: value.to_string() }
    }

    fn create(parameters: &[Parameter]) -> Result<ExampleModule> {
        ExampleModule::create(parameters.to_vec())
    }

    #[test]
    fn computes_what_mesos_computes() {
        let module = create(&[]).unwrap();
        assert_eq!(module.foo(b'A' as i8, 1024).unwrap(), 1089);
        assert_eq!(module.bar(0.5, 10.8).unwrap(), 5);
        assert_eq!(module.baz(5, 10).unwrap(), -1);
    }

    #[test]
    fn operation_must_be_sum() {
        for bad in ["", "X"] {
            let err = create(&[param("operation", bad)]).err().unwrap();
            assert!(err.message().contains("'operation'"), "{err}");
        }
        let module = create(&[param("operation", "sum")]).unwrap();
        assert_eq!(module.baz(5, 10).unwrap(), 15);
    }

    #[test]
    fn empty_and_unknown_keys_are_ignored() {
        for key in ["", "X"] {
            let module = create(&[param(key, "sum")]).unwrap();
            assert_eq!(module.baz(5, 10).unwrap(), -1);
        }
    }

    #[test]
    fn parameters_are_returned_as_given() {
        let given = vec![param("foo", "foovalue"), param("operation", "sum")];
        let module = ExampleModule::create(given.clone()).unwrap();
        assert_eq!(module.parameters().unwrap(), given);
    }

    #[test]
    fn descriptor_carries_the_mesos_author_information() {
        use std::ffi::CStr;
        let d = &org_apache_mesos_TestModule;
        // SAFETY: the descriptor's strings are static NUL-terminated literals from the macro.
        let (name, email, description, kind) = unsafe {
            (
                CStr::from_ptr(d.author_name),
                CStr::from_ptr(d.author_email),
                CStr::from_ptr(d.description),
                CStr::from_ptr(d.kind),
            )
        };
        assert_eq!(name, c"Apache Mesos");
        assert_eq!(email, c"modules@mesos.apache.org");
        assert_eq!(description, c"This is a test module.");
        assert_eq!(kind, c"TestModule");
        assert!(d.compatible.is_some());
    }
}
