//! Mesos's process-attribute isolators as modules. Each turns what the operator (the module's
//! parameters, Mesos's agent flags) and the container (its `ContainerInfo`) ask for into fields of
//! the launch info at `prepare`, checked there so that a bad request fails before anything runs;
//! the Linux containerizer's helper applies them in the command's own process, right before its
//! `execve`.
//!
//! | module | Mesos name | launch info | parameters |
//! |---|---|---|---|
//! | `org_apache_mesos_LinuxCapabilitiesIsolator` | `linux/capabilities` | `effective_capabilities`, `bounding_capabilities` | `effective_capabilities`, `bounding_capabilities` |
//! | `org_apache_mesos_LinuxNnpIsolator` | `linux/nnp` | `no_new_privileges` | none |
//! | `org_apache_mesos_PosixRLimitsIsolator` | `posix/rlimits` | `rlimits` | none |
//! | `org_apache_mesos_LinuxSeccompIsolator` | `linux/seccomp` | `seccomp` (compiled classic BPF) | `seccomp_config_dir`, `seccomp_profile_name` |
//!
//! - [`capabilities`]: Mesos's rules for which set wins (the container's over the operator's) and
//!   that the effective set stays within the bounding set, with Mesos's error texts; the names are
//!   Mesos's `CapabilityInfo` names (`CHOWN`, `NET_RAW`), one table, the `caps` crate's.
//! - [`nnp`]: `no_new_privileges: true` for every container.
//! - [`rlimits`](mod@rlimits): the container's `rlimit_info`, with Mesos's rules (the `rlimits`
//!   support crate, shared with the containerizer), and a check against this process's own hard
//!   limits: raising one needs `CAP_SYS_RESOURCE`, which [`host`] reads.
//! - [`seccomp`]: Docker/OCI JSON profiles from `seccomp_config_dir`, compiled at `prepare` (the
//!   default profile once, at creation) with `seccompiler`.
//!
//! All four support nested and standalone containers, as Mesos's do, and keep no per-container
//! state: `isolate` and `cleanup` have nothing to do. Every module refuses an unknown parameter
//! ([`module_params`]). [`host`] reads this process's capabilities through syscalls
//! (`capget`, `PR_CAPBSET_READ`) rather than `/proc/self/status`, so no procfs reader is needed.

pub mod capabilities;
mod error;
pub mod host;
pub mod nnp;
pub mod rlimits;
pub mod seccomp;

pub use capabilities::{CapabilitySet, LinuxCapabilitiesIsolator};
pub use error::{IsolatorError, Result};
pub use host::Host;
pub use nnp::LinuxNnpIsolator;
pub use rlimits::PosixRLimitsIsolator;
pub use seccomp::LinuxSeccompIsolator;

module_abi::declare_module! {
    name: org_apache_mesos_LinuxCapabilitiesIsolator,
    kind: Isolator,
    module: LinuxCapabilitiesIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "linux/capabilities: the effective and bounding capability sets of each container's command.",
}

module_abi::declare_module! {
    name: org_apache_mesos_LinuxNnpIsolator,
    kind: Isolator,
    module: LinuxNnpIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "linux/nnp: no_new_privs for each container's command.",
}

module_abi::declare_module! {
    name: org_apache_mesos_PosixRLimitsIsolator,
    kind: Isolator,
    module: PosixRLimitsIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "posix/rlimits: the container's POSIX resource limits (RLimitInfo) for its command.",
}

module_abi::declare_module! {
    name: org_apache_mesos_LinuxSeccompIsolator,
    kind: Isolator,
    module: LinuxSeccompIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "linux/seccomp: a seccomp filter compiled from a Docker/OCI profile for each container's command.",
}
