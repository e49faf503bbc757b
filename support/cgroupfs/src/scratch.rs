//! A cgroups root of one's own, for tests and tools that must leave nothing behind: a unique name
//! under every hierarchy, a teardown that kills and removes every container cgroup under it and
//! then the root, and a check that it did.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::hierarchies::{Controller, Hierarchies};
use crate::manager::CgroupManager;

/// How long a teardown waits for the processes of one container cgroup to die.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// A unique cgroups root (`<prefix>-<pid>-<n>`). Dropping it tears down whatever is left under it.
#[derive(Debug)]
pub struct ScratchRoot {
    hierarchies: Hierarchies,
    /// The root's name, to pass as a `cgroups_root` parameter.
    pub name: String,
}

impl ScratchRoot {
    /// A new root name; nothing is created until something is put under it.
    pub fn new(hierarchies: &Hierarchies, prefix: &str) -> ScratchRoot {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        ScratchRoot { hierarchies: hierarchies.clone(), name }
    }

    /// Kills and removes every container cgroup under the root, then the root.
    pub fn teardown(&self) -> Result<()> {
        let controllers: Vec<Controller> = match &self.hierarchies {
            Hierarchies::V1 { mounts } => mounts.keys().copied().collect(),
            Hierarchies::V2 { .. } => Vec::new(),
        };
        for id in self.hierarchies.containers(&self.name)? {
            let cgroup = self.hierarchies.cgroup(&self.name, &id, &controllers)?;
            cgroup.kill_all(KILL_TIMEOUT)?;
            cgroup.remove()?;
        }
        self.hierarchies.remove_root(&self.name)
    }

    /// The end-of-use check: no container cgroup is left under the root in any hierarchy; then the
    /// root itself goes, and that is checked too. The message names what was left.
    pub fn finish(self) -> std::result::Result<(), String> {
        let containers = self.hierarchies.containers(&self.name).map_err(|e| e.to_string())?;
        if !containers.is_empty() {
            return Err(format!("container cgroups left behind under '{}': {containers:?}", self.name));
        }
        self.hierarchies.remove_root(&self.name).map_err(|e| e.to_string())?;
        let left: Vec<_> = self
            .hierarchies
            .root_dirs(&self.name)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        if !left.is_empty() {
            return Err(format!("cgroups root left behind: {left:?}"));
        }
        Ok(())
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("teardown of the cgroups root '{}' failed: {e}", self.name);
        }
    }
}
