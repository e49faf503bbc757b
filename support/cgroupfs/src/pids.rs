//! The `pids` controller: the number of tasks a cgroup and its descendants may hold (`pids.max`),
//! the same file on v1 and v2.
//!
//! The kernel charges every task (each thread, not each process) at `fork`/`clone` and refuses
//! the one that would pass `pids.max` with `EAGAIN`; migrating a task into the cgroup is never
//! refused, so `pids.current` may exceed a limit lowered under it. `pids.events` counts the
//! refusals (`max N`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::files;

/// The largest value `pids.max` takes: the kernel's `PID_MAX_LIMIT` on 64-bit (4 Mi tasks); it
/// refuses a larger one with `EINVAL` (`kernel/cgroup/pids.c`, `PIDS_MAX = PID_MAX_LIMIT + 1`).
pub const PID_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// A `pids.max` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PidsLimit {
    /// At most this many tasks.
    Tasks(u64),
    /// No limit (`max`, a new cgroup's value).
    Unlimited,
}

impl PidsLimit {
    /// The text the kernel takes: the number, or `max`.
    pub fn value(self) -> String {
        match self {
            PidsLimit::Tasks(n) => n.to_string(),
            PidsLimit::Unlimited => "max".to_owned(),
        }
    }
}

/// What the pids controller holds, read back from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsSettings {
    /// `pids.max`.
    pub max: PidsLimit,
    /// `pids.current`: the tasks charged now, descendants included.
    pub current: u64,
    /// `max` of `pids.events`: how many forks the limit has refused (0 where the file is absent).
    pub refused: u64,
}

/// Writes `pids.max` in the cgroup directory `dir`.
pub(crate) fn write_max(dir: &Path, max: PidsLimit) -> Result<()> {
    files::write(&dir.join("pids.max"), &max.value())
}

/// Reads `pids.max`, `pids.current` and `pids.events` of the cgroup directory `dir`.
pub(crate) fn read_settings(dir: &Path) -> Result<PidsSettings> {
    let max_path = dir.join("pids.max");
    let text = files::read(&max_path)?;
    let max = match text.trim() {
        "max" => PidsLimit::Unlimited,
        _ => PidsLimit::Tasks(files::parse_u64(&max_path, &text)?),
    };
    Ok(PidsSettings { max, current: files::read_u64(&dir.join("pids.current"))?, refused: refused(dir)? })
}

/// The forks refused under `dir`: `max` of its `pids.events` plus its child cgroups'. Before
/// Linux 6.13 the kernel counts a refusal in the cgroup of the task that forked, not in the one
/// whose limit refused it, and on v2 a container's tasks sit in its `leaf` child.
fn refused(dir: &Path) -> Result<u64> {
    let count = |dir: &Path| -> Result<u64> {
        let events = files::read_optional(&dir.join("pids.events"))?.unwrap_or_default();
        Ok(files::parse_flat_keyed(&events).get("max").copied().unwrap_or(0))
    };
    let mut total = count(dir)?;
    if let Ok(children) = std::fs::read_dir(dir) {
        for child in children.flatten().filter(|c| c.file_type().is_ok_and(|t| t.is_dir())) {
            total += count(&child.path())?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_readback() {
        assert_eq!(PidsLimit::Tasks(32).value(), "32");
        assert_eq!(PidsLimit::Unlimited.value(), "max");
        assert!(PidsLimit::Tasks(PID_MAX_LIMIT) < PidsLimit::Unlimited);

        let dir = tempfile::tempdir().unwrap();
        crate::testing::write(dir.path(), &[("pids.max", "max\n"), ("pids.current", "3\n")]);
        let settings = read_settings(dir.path()).unwrap();
        assert_eq!(settings, PidsSettings { max: PidsLimit::Unlimited, current: 3, refused: 0 });
        write_max(dir.path(), PidsLimit::Tasks(16)).unwrap();
        crate::testing::write(dir.path(), &[("pids.events", "max 7\n")]);
        let settings = read_settings(dir.path()).unwrap();
        assert_eq!((settings.max, settings.refused), (PidsLimit::Tasks(16), 7));

        crate::testing::write(dir.path(), &[("pids.max", "lots")]);
        let err = read_settings(dir.path()).unwrap_err().to_string();
        assert!(err.contains("pids.max") && err.contains("'lots'"), "{err}");
    }
}
