//! `libisolation_suite.so`: every module of the suite in one library.
//!
//! Each family of modules is its own crate and its own `cdylib` (`libcgroups_isolator.so`,
//! `liblinux_containerizer.so`, ...), so a manifest can name just the family it wants and each
//! family's tests load just their library. A harness that loads the suite's defaults, though, would
//! map four or more of those libraries per process, each with its own copy of std, serde and
//! `module-abi`: more pages to map, relocate and fault in at start and to unmap at exit. This crate
//! links every family as an `rlib` into one `cdylib`, so the same modules (the same descriptor
//! symbols, `org_apache_mesos_CgroupsCpuIsolator` and the rest, listed in agent-harness's
//! `engine::modules::SUITE`) come from one library with one copy of each dependency.
//!
//! The harness's built-in list and the Debian package's default manifest load this library; the
//! package also installs each family's file name as a symbolic link to it, so a manifest written
//! for the family libraries keeps working and still maps one file. Measured with `run -- /bin/true`
//! and the default isolation, 150 interleaved runs each: 4.74 ms with four family libraries, 4.47
//! ms with this one (README, benchmarks).
//!
//! There is no code here: the `use`s below keep each family crate linked, and the families'
//! exported statics are this library's exports.

pub use cgroups_isolator;
pub use disk_isolator;
pub use filesystem_isolator;
pub use linux_containerizer;
pub use linux_isolators;
pub use namespaces_isolator;
pub use posix_isolator;
