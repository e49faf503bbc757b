//! `libdisk_isolator.so`: Mesos's disk quota isolators as module-abi modules.
//!
//! Modules (kind `Isolator`):
//! - `org_apache_mesos_DiskDuIsolator` (`disk/du`, [`du`]): measures each sandbox by walking it
//!   ([`walk`]) and, with `enforce_container_disk_quota`, reports Mesos's disk limitation for a
//!   container over its `disk` resource. Any file system.
//! - `org_apache_mesos_XfsDiskIsolator` (`disk/xfs`, [`xfs`]): an XFS project quota per sandbox,
//!   through `quotactl` and the fsxattr ioctls ([`xfs::kernel`]).
//!
//! Both take the parameters of [`params`], named after Mesos's agent flags. The crate is also an
//! `rlib`, so tests drive the modules through the `Isolator` trait.

pub mod bytes;
pub mod du;
pub mod error;
pub mod params;
pub mod quota;
pub mod range;
pub mod timer;
pub mod walk;
pub mod xfs;

pub use du::DiskDuIsolator;
pub use error::DiskError;
pub use xfs::XfsDiskIsolator;

module_abi::declare_module! {
    name: org_apache_mesos_DiskDuIsolator,
    kind: Isolator,
    module: DiskDuIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "disk/du: sandbox disk usage by walking the tree, and the disk limitation when enforced.",
}

module_abi::declare_module! {
    name: org_apache_mesos_XfsDiskIsolator,
    kind: Isolator,
    module: XfsDiskIsolator,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "disk/xfs: an XFS project quota per sandbox (accounting, enforcing, or killing over the soft limit).",
}
