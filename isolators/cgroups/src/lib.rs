//! Mesos's `cgroups/cpu`, `cgroups/mem`, `cgroups/pids` and `cgroups/devices` isolators as
//! module-abi modules, on cgroup v1 (including hybrid hosts) and v2, built on the `cgroupfs` file
//! layer.
//!
//! Modules (kind `Isolator`):
//! - `org_apache_mesos_CgroupsCpuIsolator` ([`CgroupsCpuIsolator`], [`cpu`]): shares/weight, CFS
//!   quota, CPU statistics.
//! - `org_apache_mesos_CgroupsMemIsolator` ([`CgroupsMemIsolator`], [`mem`]): soft and hard limits,
//!   memory statistics, OOM limitation through a watch descriptor.
//! - `org_apache_mesos_CgroupsPidsIsolator` ([`CgroupsPidsIsolator`], [`pids`]): `pids.max` from
//!   the container's `pids` limit or the `pids` parameter; processes and threads.
//! - `org_apache_mesos_CgroupsDevicesIsolator` ([`CgroupsDevicesIsolator`], [`devices`]): Mesos's
//!   default device whitelist, v1 `devices.allow` or a v2 eBPF device filter.
//!
//! All take the same parameters, named after Mesos's agent flags ([`params`]): `cgroups_root`
//! (`mesos`), `cgroups_hierarchy` (`/sys/fs/cgroup`; v2 only when cgroup2 is mounted exactly there),
//! `cgroups_enable_cfs` (`false`), `cgroups_limit_swap` (`false`, v1 only), `cgroups_destroy_timeout`
//! (`60secs`, a Mesos duration), `pids` (none). The lifecycle shared by all lives in [`isolator`];
//! the formulas are Mesos's, from `cgroupfs::formulas`.
//!
//! The crate is a `cdylib` for the harness and an `rlib` so tests drive the modules through the
//! `Isolator` trait directly. Its one `/proc` read of its own, `MemTotal` of `/proc/meminfo`
//! (`host`'s fallback for an unlimited `mem_limit_bytes`), is a line of std rather than the
//! procfs crate, so the module library stays small.

pub mod allowed_devices;
pub mod cpu;
pub mod devices;
pub mod error;
mod host;
pub mod isolator;
pub mod mem;
pub mod params;
pub mod pids;

#[cfg(test)]
mod tests;

pub use cpu::{CgroupsCpuIsolator, CpuSubsystem};
pub use devices::{CgroupsDevicesIsolator, DevicesSubsystem};
pub use error::IsolatorError;
pub use isolator::{CgroupsIsolator, Subsystem, cgroup_name};
pub use mem::{CgroupsMemIsolator, MemSubsystem};
pub use params::Config;
pub use pids::{CgroupsPidsIsolator, PidsSubsystem};

module_abi::declare_module! {
    name: org_apache_mesos_CgroupsCpuIsolator,
    kind: Isolator,
    module: CgroupsCpuIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "cgroups/cpu: CPU shares or weight, CFS quota and CPU statistics (cgroup v1 and v2).",
}

module_abi::declare_module! {
    name: org_apache_mesos_CgroupsMemIsolator,
    kind: Isolator,
    module: CgroupsMemIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "cgroups/mem: memory limits, statistics and OOM limitation (cgroup v1 and v2).",
}

module_abi::declare_module! {
    name: org_apache_mesos_CgroupsPidsIsolator,
    kind: Isolator,
    module: CgroupsPidsIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "cgroups/pids: a pids.max task limit, processes and threads (cgroup v1 and v2).",
}

module_abi::declare_module! {
    name: org_apache_mesos_CgroupsDevicesIsolator,
    kind: Isolator,
    module: CgroupsDevicesIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "cgroups/devices: Mesos's default device whitelist (v1 devices cgroup, v2 eBPF filter).",
}
