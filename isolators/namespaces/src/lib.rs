//! Mesos's namespace isolators as modules. Each asks for its namespace in `prepare` (the
//! containerizer clones the container's first process with the union of the requested
//! `CLONE_NEW*` flags) and does what the new namespace needs to be usable:
//!
//! | module | namespace | and |
//! |---|---|---|
//! | `org_apache_mesos_NamespacesPidIsolator` | pid, mount | a fresh `proc` at `/proc`, so the container sees only itself and its init is pid 1; none with `share_pid_namespace` |
//! | `org_apache_mesos_NamespacesIpcIsolator` | ipc (mount) | by `ipc_mode`: a private `/dev/shm` of `shm_size`, or the agent's namespace |
//! | `org_apache_mesos_NamespacesUtsIsolator` | uts | the hostname (parameter `hostname`, else the container id) |
//! | `org_apache_mesos_NamespacesNetIsolator` | net | `lo` brought up in `isolate` |
//!
//! All four are one generic module, [`NamespaceIsolator`] over a [`Namespace`] ([`namespace`]):
//! the parameter check, the `prepare` asking for the flags and the nesting answers are written
//! once, and each namespace's file holds only what it adds. None supports nested containers
//! (Mesos's pid and ipc isolators enter the parent's namespaces for those, which needs
//! `enter_namespaces`); all support standalone containers. uts takes `hostname`, pid
//! `disallow_sharing_agent_pid_namespace`, ipc `default_container_shm_size` and
//! `disallow_sharing_agent_ipc_namespace` (Mesos's agent flags); an unknown key fails creation
//! ([`module_params`]).
//!
//! The one `/proc` use, net's `/proc/<pid>/ns/net`, is an open for `setns`, not a read, so the
//! procfs crate has nothing to offer it.

mod ipc;
pub mod namespace;
mod net;
mod pid;
mod uts;

pub use ipc::{Ipc, NamespacesIpcIsolator, parse_bytes};
pub use namespace::{Namespace, NamespaceIsolator};
pub use net::{NamespacesNetIsolator, Net, bring_up_loopback};
pub use pid::{NamespacesPidIsolator, Pid};
pub use uts::{NamespacesUtsIsolator, Uts, truncate_hostname};

module_abi::declare_module! {
    name: org_apache_mesos_NamespacesPidIsolator,
    kind: Isolator,
    module: NamespacesPidIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "namespaces/pid: a pid namespace and a fresh /proc for each container.",
}

module_abi::declare_module! {
    name: org_apache_mesos_NamespacesIpcIsolator,
    kind: Isolator,
    module: NamespacesIpcIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "namespaces/ipc: an IPC namespace and, when asked, a private /dev/shm for each container.",
}

module_abi::declare_module! {
    name: org_apache_mesos_NamespacesUtsIsolator,
    kind: Isolator,
    module: NamespacesUtsIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "namespaces/uts: a UTS namespace and hostname for each container.",
}

module_abi::declare_module! {
    name: org_apache_mesos_NamespacesNetIsolator,
    kind: Isolator,
    module: NamespacesNetIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "namespaces/net: a network namespace with only the loopback interface, up.",
}
