//! The Linux containerizer: Mesos's LinuxLauncher and its launch helper `mesos-containerizer`, as
//! the module `org_apache_mesos_LinuxContainerizer` (kind `Containerizer`).
//!
//! The shape, host side (this library, loaded into the multi-threaded harness):
//! - [`containerizer`]: the table of containers and the `Containerizer` calls.
//! - `launch` writes the request to `<runtime_dir>/containers/<id>/spec` ([`runtime`]), creates the
//!   container's cgroup ([`cgroup`]: a v1 freezer cgroup or a v2 cgroup with a `leaf`), and
//!   [`clone`]s the helper with the union of the requested namespaces; the child only `dup2`s and
//!   `execve`s. The helper starts in the cgroup on v2 (`CLONE_INTO_CGROUP`) and is moved into it
//!   through `cgroup.procs` on v1 before anything else happens, so every
//!   process of the container is found there at `destroy` (freeze, SIGKILL, thaw, rmdir; or
//!   `cgroup.kill` on v2).
//! - `exec` sends the byte that releases the helper; `watch` is a pidfd of the helper; `wait`
//!   reaps it without blocking and reads the status file the helper wrote.
//!
//! Helper side ([`helper`], the `mesos-containerizer launch` binary, a fresh single-threaded
//! process): reads the spec, waits for the release, makes the mounts slave, mounts (at container
//! paths inside the rootfs, when there is one), pivots into the rootfs, sets the hostname, then
//! stays as the container's init: it runs the command with its output in the sandbox's `stdout`
//! and `stderr` files (never the host's streams: an attached host follows those files), reaps
//! every process, forwards signals, and writes how the command ended. The command's rlimits, user,
//! capabilities, `no_new_privs` and seccomp filter are set in the command's own process, right
//! before its `execve`.
//!
//! [`params`] lists the module parameters; [`spec`] holds the pure decisions both sides share.
//!
//! `/proc` is read here without the procfs crate: the library is a cdylib loaded into the harness
//! and should stay small, and its reads are not ones procfs expresses. [`clone`] lists
//! `/proc/self/fd` to close inherited descriptors where `close_range` is missing, and the helper
//! reopens its own pipes through `/proc/self/fd/<n>`, for a file description of its own; the
//! mount table and a process's cgroups come through `cgroupfs` (see its docs for why it does not
//! use procfs either).

pub mod cgroup;
pub mod clone;
pub mod containerizer;
pub mod error;
pub mod helper;
pub mod join;
pub mod locate;
pub mod params;
pub mod process;
pub mod runtime;
pub mod spec;

pub use containerizer::LinuxContainerizer;
pub use error::{Error, Result};

module_abi::declare_module! {
    name: org_apache_mesos_LinuxContainerizer,
    kind: Containerizer,
    module: LinuxContainerizer,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Linux containerizer: namespaces through clone3, a freezer (v1) or cgroup.kill (v2) cgroup per container, and the mesos-containerizer launch helper as the container's init.",
}
