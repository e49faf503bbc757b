//! `libposix_isolator.so`: Mesos's `posix/cpu` and `posix/mem` isolators
//! (`src/slave/containerizer/mesos/isolators/posix.hpp`, Mesos's default `--isolation`) as
//! module-abi modules. They isolate nothing: each remembers the pid its container was isolated
//! (or recovered) with and reports the usage of that process and all its descendants, read from
//! `/proc/<pid>/stat` as Mesos's `src/usage/usage.cpp` does with `os::pstree`.
//!
//! Modules (kind `Isolator`), neither taking parameters (any key is refused):
//! - `org_apache_mesos_PosixCpuIsolator` (`posix/cpu`): `cpus_user_time_secs`,
//!   `cpus_system_time_secs`, and `processes` and `threads` (which Mesos's posix isolator leaves
//!   out);
//! - `org_apache_mesos_PosixMemIsolator` (`posix/mem`): `mem_rss_bytes`.
//!
//! A process that left the tree (a daemon reparented to init) is no longer counted, and one that
//! ended takes its CPU time with it: that is what a posix isolator can see without cgroups.
//!
//! The isolators are `proctree`'s [`PosixIsolator`], which `examples/testisolator` wraps as
//! Mesos's test modules too; this crate only declares them. It is also an `rlib`, so its tests
//! drive the modules through the `Isolator` trait.

pub use proctree::{Cpu, Mem, PosixIsolator};

/// The module type of `org_apache_mesos_PosixCpuIsolator`.
pub type PosixCpuIsolator = PosixIsolator<Cpu>;
/// The module type of `org_apache_mesos_PosixMemIsolator`.
pub type PosixMemIsolator = PosixIsolator<Mem>;

module_abi::declare_module! {
    name: org_apache_mesos_PosixCpuIsolator,
    kind: Isolator,
    module: PosixCpuIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "posix/cpu: CPU time, processes and threads of the container's process tree (no isolation).",
}

module_abi::declare_module! {
    name: org_apache_mesos_PosixMemIsolator,
    kind: Isolator,
    module: PosixMemIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "posix/mem: resident memory of the container's process tree (no isolation).",
}
