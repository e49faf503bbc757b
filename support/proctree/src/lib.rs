//! A container's process tree from `/proc`, and Mesos's posix isolators built on it, shared by
//! the two module libraries that export them: `isolators/posix` (`posix/cpu`, `posix/mem`) and
//! `examples/testisolator` (Mesos's test modules, which wrap the same posix isolators).
//!
//! - [`tree`]: the usage of a process and all its descendants (processes, threads, CPU ticks,
//!   resident pages), from `/proc/<pid>/stat`, under any `/proc` root so tests can fake one;
//! - [`posix`]: [`PosixIsolator`], Mesos's bookkeeping of a pid per container, generic over the
//!   statistics it reports ([`Cpu`], [`Mem`], or a wrapper's own [`Measure`]);
//! - [`error`]: [`UsageError`] and [`PosixError`].
//!
//! The crate declares no module (no exported symbol), so a library linking it exports only the
//! modules it declares itself.
//!
//! Why not the procfs crate (0.18, which the harness uses): this crate is linked into two cdylib
//! module libraries, which should take no more than they need. What it reads is four fields of
//! one line per process, `/proc/<pid>/stat` after the last `)`, a parse of a dozen lines with
//! its tests; procfs would bring rustix, procfs-core and bitflags into both libraries for that,
//! and the tree walk (children by ppid) would still be ours. cgroupfs and the cgroups isolators
//! read `/proc` themselves for the same reason.

pub mod error;
pub mod posix;
pub mod tree;

pub use error::{PosixError, UsageError};
pub use posix::{Cpu, Measure, Mem, PosixIsolator};
pub use tree::{TreeUsage, tree_usage};
