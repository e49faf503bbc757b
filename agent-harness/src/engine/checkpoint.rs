//! Checkpoints: what the harness writes about each container so that a harness killed at any
//! point can be followed by `agent-harness recover`, which leaves nothing behind.
//!
//! A checkpoint is written atomically (a temporary file in the same directory renamed into place,
//! as Mesos's `slave::state::checkpoint`, without its fsync: see [`CheckpointDir::write`]): once
//! before the first isolator is prepared (no pid yet), and again with the pid once the
//! containerizer has cloned the container's first process, before it is released to exec. It names the modules the container was launched with, so recovery needs
//! no flags. Every [`CheckpointError`] names the file or directory it is about.

use std::io::Write;
use std::path::{Path, PathBuf};

use module_abi::{ContainerConfig, ContainerId, ContainerState};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A checkpoint that cannot be written, removed or read back.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("cannot encode the checkpoint of container '{id}': {source}")]
    Encode { id: ContainerId, source: serde_json::Error },
    #[error("cannot checkpoint into '{}': {source}", dir.display())]
    Write { dir: PathBuf, source: std::io::Error },
    #[error("cannot remove the checkpoint '{}': {source}", path.display())]
    Remove { path: PathBuf, source: std::io::Error },
    #[error("cannot read checkpoints in '{}': {source}", dir.display())]
    ReadDir { dir: PathBuf, source: std::io::Error },
    #[error("cannot read checkpoint '{}': {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("corrupt checkpoint '{}': {source}", path.display())]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

/// The modules a container was launched with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModuleSet {
    /// The manifest JSON, with every library file resolved to an absolute path.
    pub manifest: String,
    /// The isolators, in `--isolation` order.
    pub isolation: Vec<String>,
    pub containerizer: String,
    /// The run was started with `--dangerously_allow_writable_modules`, so `recover` loads the
    /// same libraries the same way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_writable_modules: bool,
}

impl ModuleSet {
    /// How the libraries of this set are checked.
    pub fn policy(&self) -> crate::trust::PathPolicy {
        crate::trust::PathPolicy::from_flag(self.allow_writable_modules)
    }
}

/// One container's checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub container_id: ContainerId,
    /// The first process, once cloned.
    pub pid: Option<i32>,
    pub config: ContainerConfig,
    pub modules: ModuleSet,
}

impl Checkpoint {
    /// The state handed to `recover`, when there is a process.
    pub fn state(&self) -> Option<ContainerState> {
        let pid = self.pid.filter(|&pid| pid > 0)?;
        Some(ContainerState {
            container_id: self.container_id.clone(),
            pid,
            directory: self.config.directory.clone(),
            config: Some(self.config.clone()),
        })
    }
}

/// Where checkpoints live: `<work_dir>/meta/containers/<id>.json`.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    dir: PathBuf,
}

impl CheckpointDir {
    pub fn new(work_dir: &Path) -> Self {
        CheckpointDir { dir: work_dir.join("meta").join("containers") }
    }

    fn path(&self, id: &ContainerId) -> PathBuf {
        self.dir.join(format!("{}.json", id.value))
    }

    /// Writes `checkpoint` atomically: a temporary file renamed over the old one, so a reader
    /// (`recover`) sees the old checkpoint or the new one, never a part.
    ///
    /// Not durably (no fsync): a checkpoint is for a harness killed at any point, and the page
    /// cache shows `recover` the renamed file then. What it describes (the container's processes,
    /// cgroups and runtime directory) cannot outlive the machine, so a checkpoint lost in a machine
    /// crash names nothing that is left; module state that does outlive it (a quota project on a
    /// sandbox) is the module's to find again, as Mesos's XFS disk isolator does from the sandboxes.
    /// The fsync cost 0.2 ms per write on a quiet disk and 5 to 15 ms on a busy one.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let context = |source| CheckpointError::Write { dir: self.dir.clone(), source };
        let target = self.path(&checkpoint.container_id);
        let temp = self.dir.join(format!(".{}.json.tmp", checkpoint.container_id.value));
        let bytes = serde_json::to_vec(checkpoint)
            .map_err(|source| CheckpointError::Encode { id: checkpoint.container_id.clone(), source })?;
        // The directory exists after the first container: create it only when it is missing.
        let mut file = match std::fs::File::create(&temp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir).map_err(context)?;
                std::fs::File::create(&temp).map_err(context)?
            }
            other => other.map_err(context)?,
        };
        file.write_all(&bytes).map_err(context)?;
        std::fs::rename(&temp, &target).map_err(context)
    }

    /// Removes a container's checkpoint (missing is fine).
    pub fn remove(&self, id: &ContainerId) -> Result<(), CheckpointError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointError::Remove { path, source })
            }
            _ => Ok(()),
        }
    }

    /// Every checkpoint, in file name order. A corrupt one is an error naming it.
    pub fn read_all(&self) -> Result<Vec<Checkpoint>, CheckpointError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CheckpointError::ReadDir { dir: self.dir.clone(), source }),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = std::fs::read(path)
                    .map_err(|source| CheckpointError::Read { path: path.clone(), source })?;
                serde_json::from_slice(&text)
                    .map_err(|source| CheckpointError::Corrupt { path: path.clone(), source })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(id: &str, pid: Option<i32>) -> Checkpoint {
        Checkpoint {
            container_id: ContainerId::new(id),
            pid,
            config: ContainerConfig { directory: "/sandbox".into(), ..Default::default() },
            modules: ModuleSet {
                manifest: "{}".into(),
                isolation: vec![],
                containerizer: "c".into(),
                allow_writable_modules: false,
            },
        }
    }

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        assert!(store.read_all().unwrap().is_empty());
        store.write(&checkpoint("b", None)).unwrap();
        store.write(&checkpoint("a", None)).unwrap();
        store.write(&checkpoint("a", Some(42))).unwrap();
        let all = store.read_all().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].pid, Some(42));
        assert_eq!(all[0].state().unwrap().pid, 42);
        assert!(all[1].state().is_none());
        store.remove(&ContainerId::new("a")).unwrap();
        store.remove(&ContainerId::new("a")).unwrap();
        assert_eq!(store.read_all().unwrap().len(), 1);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("meta/containers")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files are left");
    }

    #[test]
    fn a_corrupt_checkpoint_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        std::fs::create_dir_all(dir.path().join("meta/containers")).unwrap();
        std::fs::write(dir.path().join("meta/containers/x.json"), "{").unwrap();
        let err = store.read_all().unwrap_err();
        assert!(matches!(&err, CheckpointError::Corrupt { path, .. } if path.ends_with("x.json")), "{err}");
        assert!(err.to_string().starts_with("corrupt checkpoint '"), "{err}");
    }
}
