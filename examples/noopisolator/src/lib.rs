//! `libnoopisolator.so`: `org_apache_mesos_NoopIsolator`, an isolator whose every method keeps
//! Mesos's default (do nothing, succeed). The ABI overhead benchmark (`bench/benches/abi.rs`)
//! calls it through the loaded library and directly through the `Isolator` trait, so the
//! difference is the cost of the C ABI: JSON encoding, the call through the kind table,
//! `catch_unwind`, and freeing the reply.

use module_abi::{Isolator, Module, Parameters, Result};

/// Isolates nothing.
#[derive(Debug)]
pub struct NoopIsolator;

impl Module for NoopIsolator {
    fn create(_parameters: Parameters) -> Result<Self> {
        Ok(NoopIsolator)
    }
}

impl Isolator for NoopIsolator {
    fn supports_standalone(&self) -> bool {
        true
    }
}

module_abi::declare_module! {
    name: org_apache_mesos_NoopIsolator,
    kind: Isolator,
    module: NoopIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "An isolator that isolates nothing (the ABI overhead benchmark's no-op).",
}

#[cfg(test)]
mod tests {
    use module_abi::ContainerId;

    use super::*;

    #[test]
    fn every_call_succeeds_and_does_nothing() {
        let isolator = NoopIsolator::create(Vec::new()).unwrap();
        let id = ContainerId::new("c1");
        isolator.isolate(&id, 1).unwrap();
        assert_eq!(isolator.usage(&id).unwrap(), Default::default());
        isolator.cleanup(&id).unwrap();
    }
}
