//! `libtestisolator.so`: Mesos's test isolator modules, mirroring
//! `src/examples/test_isolator_module.cpp`. `org_apache_mesos_TestCpuIsolator` (with a
//! `compatible()` that says yes) and `org_apache_mesos_TestMemIsolator` (without one, so it needs
//! an exact version match) wrap the posix isolators of Mesos's
//! `src/slave/containerizer/mesos/isolators/posix.hpp`: they isolate nothing, remember the pid
//! each container was isolated with and report the usage of its process tree from `/proc`. They
//! let the harness run a container through the whole lifecycle without privileges or cgroups.
//!
//! As in Mesos they are the posix isolators themselves, here `proctree`'s [`PosixIsolator`] (the
//! same one `isolators/posix` exports as `posix/cpu` and `posix/mem`), under the test modules'
//! names and ignoring their parameters, as Mesos's test modules do. This crate only declares them.

use module_abi::ResourceStatistics;
use proctree::{Cpu, Measure, Mem, PosixIsolator, TreeUsage, UsageError};

/// The CPU flavour under the test module's name.
#[derive(Debug)]
pub struct TestCpu;

/// The memory flavour under the test module's name.
#[derive(Debug)]
pub struct TestMem;

impl Measure for TestCpu {
    const NAME: &'static str = "org_apache_mesos_TestCpuIsolator";
    const IGNORES_PARAMETERS: bool = true;
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError> {
        Cpu::statistics(usage, statistics)
    }
}

impl Measure for TestMem {
    const NAME: &'static str = "org_apache_mesos_TestMemIsolator";
    const IGNORES_PARAMETERS: bool = true;
    fn statistics(usage: &TreeUsage, statistics: &mut ResourceStatistics) -> Result<(), UsageError> {
        Mem::statistics(usage, statistics)
    }
}

/// Mesos's `PosixCpuIsolatorProcess` as a module.
pub type TestCpuIsolator = PosixIsolator<TestCpu>;
/// Mesos's `PosixMemIsolatorProcess` as a module.
pub type TestMemIsolator = PosixIsolator<TestMem>;

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

#[cfg(test)]
mod tests {
    use module_abi::{ContainerConfig, ContainerId, Isolator, Module, Parameter};

    use super::*;

    #[test]
    fn the_test_modules_are_the_posix_isolators_ignoring_parameters() {
        let ignored = vec![Parameter { key: "anything".into(), value: "at all".into() }];
        let cpu = TestCpuIsolator::create(ignored.clone()).unwrap();
        let mem = TestMemIsolator::create(ignored).unwrap();
        let id = ContainerId::new("c1");
        let pid = std::process::id() as i32;
        cpu.prepare(&id, &ContainerConfig::default()).unwrap();
        mem.prepare(&id, &ContainerConfig::default()).unwrap();
        cpu.isolate(&id, pid).unwrap();
        mem.isolate(&id, pid).unwrap();
        let usage = cpu.usage(&id).unwrap();
        assert!(usage.cpus_user_time_secs.is_some() && usage.threads.is_some(), "{usage:?}");
        assert!(mem.usage(&id).unwrap().mem_rss_bytes.is_some_and(|b| b > 0));
        let err = cpu.prepare(&id, &ContainerConfig::default()).unwrap_err();
        assert_eq!(
            err.message(),
            "org_apache_mesos_TestCpuIsolator: container 'c1' has already been prepared"
        );
    }
}
