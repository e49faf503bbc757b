//! `libtestisolator.so`: Mesos's test isolator modules, mirroring
//! `src/examples/test_isolator_module.cpp`. `org_apache_mesos_TestCpuIsolator` (with a
//! `compatible()` that says yes) and `org_apache_mesos_TestMemIsolator` (without one, so it needs
//! an exact version match) wrap the posix isolators of Mesos's
//! `src/slave/containerizer/mesos/isolators/posix.hpp`: they isolate nothing, remember the pid
//! each container was isolated with and report the usage of its process tree from `/proc`. They
//! let the harness run a container through the whole lifecycle without privileges or cgroups.
//!
//! Its process-tree usage reads `/proc/<pid>/stat` itself (`proc`) rather than through the procfs
//! crate: an example module should show how little a module library needs (module-abi and nix),
//! and the reader takes its `/proc` root as a parameter so its tests run on a fake one.

mod posix;
mod proc;

pub use posix::{Cpu, Measure, Mem, PosixIsolator};

/// Mesos's `PosixCpuIsolatorProcess` as a module.
pub type TestCpuIsolator = PosixIsolator<Cpu>;
/// Mesos's `PosixMemIsolatorProcess` as a module.
pub type TestMemIsolator = PosixIsolator<Mem>;

module_abi::declare_module! {
    name: org_apache_mesos_TestCpuIsolator,
    kind: Isolator,
    module: TestCpuIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Test CPU Isolator module.",
    // A veto with a reason: the module reads /proc/<pid>/stat of the container's processes, so
    // it can only run in a harness that still has the Isolator kind at module-abi 1.
    compatible: |host: &module_abi::HostInfo| host.module_abi().is_some_and(|(major, _, _)| major == 1)
        && host.kind_version("Isolator").is_some(),
}

module_abi::declare_module! {
    name: org_apache_mesos_TestMemIsolator,
    kind: Isolator,
    module: TestMemIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Test Memory Isolator module.",
}
