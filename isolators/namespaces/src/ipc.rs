//! `namespaces/ipc`: an IPC namespace (System V IPC objects and POSIX message queues of its own).
//! A new IPC namespace is usable as it is, so nothing but the flag is needed.

use module_abi::Result;
use module_params::Params;

use crate::namespace::{Namespace, NamespaceIsolator};

/// The IPC namespace.
#[derive(Debug)]
pub struct Ipc;

/// The module type of `org_apache_mesos_NamespacesIpcIsolator`.
pub type NamespacesIpcIsolator = NamespaceIsolator<Ipc>;

impl Namespace for Ipc {
    const NAME: &'static str = "namespaces/ipc";
    const CLONE_FLAGS: &'static [i32] = &[libc::CLONE_NEWIPC];

    fn new(_params: &Params<'_>) -> Result<Ipc> {
        Ok(Ipc)
    }
}
