//! Container cgroups on cgroup v1 and v2, for the cgroups isolator and the Linux containerizer.
//!
//! The shape, in one screen:
//! - [`mounts`]: where the hierarchies are, from `/proc/self/mountinfo`, and which mode Mesos would
//!   pick (v2 only when cgroup2 is mounted at the hierarchy root; hybrid hosts are v1).
//! - [`Hierarchies`]: the injectable root (tests point it at a temp dir). It hands out a [`Cgroup`]
//!   for `<cgroups_root>/<container_id>` and lists container cgroups for recovery.
//! - [`CgroupManager`]: the operations on a container cgroup (create, assign, cpu, memory and
//!   pids limits, device rules, statistics, OOM listener, kill, remove), implemented by
//!   [`V1Cgroup`], [`V2Cgroup`] and the [`Cgroup`] enum that delegates to them.
//! - [`pids`]: `pids.max` ([`PidsLimit`]) and what the controller reports.
//! - [`devices`]: device rules in the kernel's form and Mesos's default whitelist; on v1 they are
//!   `devices.allow` lines, on v2 an eBPF program ([`ebpf`]: the instructions, the filter and
//!   the `bpf(2)` calls, written here rather than taken from a crate; its docs say why).
//! - [`formulas`]: Mesos's resource-to-cgroup formulas as pure functions, and memory+swap
//!   (`--cgroups_limit_swap`, v1 `memory.memsw.*`) through [`MemorySpec::limit_swap`] and
//!   [`Hierarchies::check_swap_limit`].
//! - [`flags`]: the agent flags every cgroups module takes (`cgroups_root`, `cgroups_hierarchy`,
//!   `cgroups_destroy_timeout`), parsed once.
//! - `testing` (feature `testing`): one fake cgroupfs in a temp dir for the unit tests of this
//!   crate and of the crates built on it, and the skip reason of their kernel tests.
//!
//! ```no_run
//! use cgroupfs::{CgroupManager, Controller, CpuSpec};
//! let hierarchies = cgroupfs::detect()?;
//! let cgroup = hierarchies.cgroup("mesos", "c1", &[Controller::Cpu, Controller::Cpuacct])?;
//! cgroup.create()?;
//! cgroup.update_cpu(&CpuSpec { request: 0.5, limit: Some(1.0), enable_cfs: false })?;
//! cgroup.assign(1234)?;
//! # Ok::<(), cgroupfs::Error>(())
//! ```
//!
//! Why not cgroups-rs (0.5.1), the crate the design names: it cannot be pointed at another root (v1
//! mounts come from the real `/proc/self/mountinfo`, the v2 root is fixed at `/sys/fs/cgroup`), so
//! it cannot run against a fake cgroupfs; it treats hybrid hosts as v1 and ignores the unified
//! mount; `MemController::apply` drops write errors; `add_task` writes threads rather than
//! processes; its OOM notification is v1-only; and `zbus` (plus nix 0.25 and thiserror 1) is a
//! non-optional dependency even with `default-features = false`, tripling a clean build. What this
//! crate needs is a few dozen file reads and writes, so it writes them itself, behind the
//! [`CgroupManager`] trait that is the one place to swap the implementation.
//!
//! Why not procfs (0.18) for `/proc/self/mountinfo` and `/proc/<pid>/cgroup`, as the harness and
//! the integration suite use it: this crate is linked into the cdylib modules (the cgroups
//! isolators, the containerizer), which should stay small and take no more dependencies than
//! they need; and procfs's mountinfo keeps the kernel's octal escapes in mount points (`\040` for
//! a space) and splits the super options at `=`, so `name=systemd` would have to be put back
//! together. [`mounts`] is one short parser with those rules, tested on recorded tables; its
//! [`mounts::unescape`] is what the harness applies to procfs's mount points.

pub mod devices;
pub mod ebpf;
mod error;
mod files;
pub mod flags;
pub mod formulas;
mod hierarchies;
mod kill;
mod manager;
pub mod mounts;
mod oom;
pub mod pids;
mod scratch;
mod stats;
mod v1;
mod v2;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use devices::{DEFAULT_WHITELIST, DeviceAccess, DeviceKind, DeviceRule};
pub use error::{Error, Result};
pub use flags::CgroupsFlags;
pub use formulas::{CpuQuota, CpuSpec, MemoryLimit, MemorySpec};
pub use hierarchies::{Controller, Hierarchies};
pub use manager::{Cgroup, CgroupManager, CpuSettings, MemorySettings};
pub use mounts::{CgroupMode, CgroupMounts, detect};
pub use oom::{OomListener, format_bytes, limitation_message};
pub use pids::{PidsLimit, PidsSettings};
pub use scratch::ScratchRoot;
pub use stats::{Statistics, clock_ticks_per_second};
pub use v1::V1Cgroup;
pub use v2::{LEAF, V2Cgroup};
