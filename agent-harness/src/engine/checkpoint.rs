//! Checkpoints: what the harness writes about each container so that a harness killed at any
//! point can be followed by `agent-harness recover`, which leaves nothing behind.
//!
//! A checkpoint is written atomically (a temporary file in the same directory renamed into place,
//! as Mesos's `slave::state::checkpoint`, without its fsync: see [`CheckpointDir::write`] for why
//! none is needed) before the first isolator is prepared (no pid yet); once the containerizer has
//! cloned the container's first process, before it is released to exec, the pid is appended to it
//! as a second JSON value, `{"pid":N}` ([`CheckpointDir::add_pid`]). Appending rather than
//! replacing the file keeps a launch at one new file and no deleted one in the work dir: on ext4
//! every deleted inode makes the next file creations slower for a minute, and a busy node launches
//! and ends containers all the time. A torn append (only a machine crash can tear a write of a few
//! bytes) reads as no pid. A checkpoint names the modules the container was launched with, so
//! recovery needs no flags. Every [`CheckpointError`] names the file or directory it is about; a
//! failed write leaves no file.

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
    /// A container id that cannot name a checkpoint file.
    #[error("{0}")]
    BadId(String),
    #[error("corrupt checkpoint '{}': it names container '{id}', not its file's", path.display())]
    Misnamed { path: PathBuf, id: ContainerId },
    #[error("corrupt checkpoint '{}': {reason}", path.display())]
    UnnamableId { path: PathBuf, reason: String },
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

/// The record [`CheckpointDir::add_pid`] appends.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PidRecord {
    pid: i32,
}

impl Checkpoint {
    /// A checkpoint file's bytes: the checkpoint, then any appended pid record (the last one
    /// wins). A record cut short at the end of the file (a torn append) is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Checkpoint, serde_json::Error> {
        let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>();
        let first = match values.next() {
            Some(value) => value?,
            // An empty file: the error serde_json gives for one.
            None => return serde_json::from_slice(bytes),
        };
        let mut checkpoint: Checkpoint = serde_json::from_value(first)?;
        for value in values {
            match value {
                // Only an object: serde would also take `[N]` for the struct.
                Ok(value) if value.is_object() => {
                    checkpoint.pid = Some(serde_json::from_value::<PidRecord>(value)?.pid)
                }
                Ok(value) => {
                    return Err(serde::de::Error::custom(format!(
                        "{value} after the checkpoint is not a pid record"
                    )));
                }
                Err(e) if e.is_eof() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(checkpoint)
    }

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

/// The longest container id a checkpoint takes, in bytes: its temporary file `.<id>.json.tmp`
/// must still be a file name (255 bytes).
pub const MAX_CONTAINER_ID_BYTES: usize = 245;

/// The file name stem of `id`'s checkpoint: the id itself, refused (with one message) when it could
/// name another file (empty, a leading `.`, a `/` or a NUL) or is longer than
/// [`MAX_CONTAINER_ID_BYTES`]. Any other byte, unicode included, is kept.
fn file_stem(id: &ContainerId) -> Result<&str, CheckpointError> {
    let value = id.value.as_str();
    let ok = !value.is_empty()
        && !value.starts_with('.')
        && !value.contains(['/', '\0'])
        && value.len() <= MAX_CONTAINER_ID_BYTES;
    if ok {
        return Ok(value);
    }
    let shown: String = value.chars().take(64).collect();
    let more = if shown.len() < value.len() { format!("... ({} bytes)", value.len()) } else { String::new() };
    Err(CheckpointError::BadId(format!(
        "container id {shown:?}{more} cannot name a checkpoint: use 1 to {MAX_CONTAINER_ID_BYTES} bytes \
         without '/' or NUL, not starting with '.'"
    )))
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

    fn path(&self, id: &ContainerId) -> Result<PathBuf, CheckpointError> {
        Ok(self.dir.join(format!("{}.json", file_stem(id)?)))
    }

    /// Writes `checkpoint` atomically: a temporary file renamed over the old one, so a reader
    /// (`recover`) sees the old checkpoint or the new one, never a part. A write that fails (a full
    /// disk, a read-only work dir) removes its temporary file and is one [`CheckpointError::Write`]
    /// naming the directory and the system's reason.
    ///
    /// No fsync, of the file or of the directory, on purpose; each one a crash could need:
    /// - *The file before the rename* would keep a machine crash from leaving a renamed but empty
    ///   checkpoint. A harness killed at any point cannot leave one (the page cache is the same for
    ///   the next harness, and the rename comes after the last write), so only a machine crash
    ///   can, and then everything a checkpoint describes (the container's processes, cgroups,
    ///   mounts, namespaces and runtime directory) died with the machine. [`Self::sweep`] removes
    ///   such an empty checkpoint before `recover` reads the others.
    /// - *The directory after the rename* would make the new name itself durable: without it a
    ///   machine crash may bring back the previous checkpoint of the container or none, which
    ///   again names only what the crash ended.
    ///
    /// Module state that does outlive the machine (a quota project on a sandbox) is the module's
    /// to find again, as Mesos's XFS disk isolator does from the sandboxes. The fsync would cost
    /// each launch two of them: 0.2 ms each on a quiet disk, 5 to 15 ms on a busy one.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let context = |source| CheckpointError::Write { dir: self.dir.clone(), source };
        let target = self.path(&checkpoint.container_id)?;
        let temp = self.dir.join(format!(".{}.json.tmp", file_stem(&checkpoint.container_id)?));
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
        let written = file.write_all(&bytes).and_then(|()| std::fs::rename(&temp, &target));
        if let Err(source) = written {
            drop(file);
            let _ = std::fs::remove_file(&temp);
            return Err(context(source));
        }
        Ok(())
    }

    /// Appends the first process's pid to the container's checkpoint (written by [`Self::write`]):
    /// one `write` of a few bytes to a file that exists, so no new inode, no rename, and no
    /// deleted file. A failure (the disk full exactly at the end of the file's last block) is one
    /// [`CheckpointError::Write`]; whatever part of the record was written reads back as no pid.
    pub fn add_pid(&self, id: &ContainerId, pid: i32) -> Result<(), CheckpointError> {
        let context = |source| CheckpointError::Write { dir: self.dir.clone(), source };
        let path = self.path(id)?;
        let record = format!("\n{}", serde_json::json!({ "pid": pid }));
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).map_err(context)?;
        file.write_all(record.as_bytes()).map_err(context)
    }

    /// Removes what only an interrupted write leaves: temporary files (a harness killed between
    /// creating one and renaming it) and empty checkpoints (a machine crash after a rename whose
    /// data never reached the disk, see [`Self::write`]). Returns a line for each one removed.
    pub fn sweep(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut removed = Vec::new();
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let temporary = name.starts_with('.') && name.ends_with(".json.tmp");
            let empty = name.ends_with(".json") && std::fs::metadata(&path).is_ok_and(|m| m.len() == 0);
            if (temporary || empty) && std::fs::remove_file(&path).is_ok() {
                let what = if temporary { "an interrupted checkpoint write" } else { "an empty checkpoint" };
                removed.push(format!("removed {what}: '{}'", path.display()));
            }
        }
        removed.sort();
        removed
    }

    /// Removes a container's checkpoint (missing is fine).
    pub fn remove(&self, id: &ContainerId) -> Result<(), CheckpointError> {
        let path = self.path(id)?;
        match std::fs::remove_file(&path) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointError::Remove { path, source })
            }
            _ => Ok(()),
        }
    }

    /// Every checkpoint, in file name order. A corrupt one is an error naming it, and so is one
    /// whose container is not the one its file name says (what recovery then writes or removes is
    /// the id's file, so a hand-made `{"container_id":{"value":"../../x"}}` could name any file).
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
                let checkpoint = Checkpoint::parse(&text)
                    .map_err(|source| CheckpointError::Corrupt { path: path.clone(), source })?;
                let named = path.file_stem().and_then(|stem| stem.to_str());
                match file_stem(&checkpoint.container_id) {
                    Ok(stem) if Some(stem) == named => Ok(checkpoint),
                    Ok(_) => {
                        Err(CheckpointError::Misnamed { path: path.clone(), id: checkpoint.container_id })
                    }
                    Err(e) => Err(CheckpointError::UnnamableId { path: path.clone(), reason: e.to_string() }),
                }
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

    /// Ids that could name another file are refused with one message, before any file is made;
    /// any other byte is kept (unicode, spaces), up to the documented length.
    #[test]
    fn odd_container_ids_are_refused_before_touching_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let store = CheckpointDir::new(&work);
        let long = "x".repeat(300);
        let huge = "y".repeat(1 << 20);
        for id in ["../x", "../../../x", "a/b", "/abs", "a\0b", "", ".", "..", ".hidden", &long, &huge] {
            let err = store.write(&checkpoint(id, None)).unwrap_err().to_string();
            assert!(err.contains("cannot name a checkpoint"), "{id:?}: {err}");
            assert!(err.len() < 300, "the message stays short: {err}");
            let err = store.remove(&ContainerId::new(id)).unwrap_err().to_string();
            assert!(err.contains("cannot name a checkpoint"), "{err}");
        }
        let entries: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(entries.is_empty(), "nothing was created: {entries:?}");
        let longest = "z".repeat(MAX_CONTAINER_ID_BYTES);
        for id in ["容器-ü", "a b", "web-1.2_3", &longest] {
            store.write(&checkpoint(id, Some(7))).unwrap();
        }
        assert_eq!(store.read_all().unwrap().len(), 4);
        assert!(store.write(&checkpoint(&format!("{longest}z"), None)).is_err());
    }

    /// A checkpoint whose container is not its file's (hand-made or copied) is corrupt, so that
    /// recovery never removes the file another id names.
    #[test]
    fn a_checkpoint_naming_another_container_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        let victim = dir.path().join("victim.json");
        std::fs::write(&victim, "keep").unwrap();
        let containers = dir.path().join("meta/containers");
        std::fs::create_dir_all(&containers).unwrap();
        let mut evil = serde_json::to_value(checkpoint("x", Some(1))).unwrap();
        evil["container_id"]["value"] = "../../victim".into();
        std::fs::write(containers.join("a.json"), evil.to_string()).unwrap();
        let err = store.read_all().unwrap_err().to_string();
        assert!(err.contains("corrupt checkpoint") && err.contains("cannot name a checkpoint"), "{err}");
        evil["container_id"]["value"] = "b".into();
        std::fs::write(containers.join("a.json"), evil.to_string()).unwrap();
        let err = store.read_all().unwrap_err().to_string();
        assert!(err.contains("corrupt checkpoint") && err.contains("names container 'b'"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }

    /// What an interrupted write leaves (a temporary file, an empty checkpoint) is swept; real
    /// checkpoints stay.
    #[test]
    fn sweep_removes_only_what_interrupted_writes_leave() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        assert!(store.sweep().is_empty());
        store.write(&checkpoint("kept", Some(3))).unwrap();
        let containers = dir.path().join("meta/containers");
        std::fs::write(containers.join(".a.json.tmp"), "{\"partial").unwrap();
        std::fs::write(containers.join("b.json"), "").unwrap();
        let removed = store.sweep();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(removed[0].contains("empty") && removed[1].contains("interrupted"), "{removed:?}");
        let all = store.read_all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].container_id.value, "kept");
    }

    /// A write that fails leaves no temporary file behind (here the target is a directory, so the
    /// rename fails after the data was written).
    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        let containers = dir.path().join("meta/containers");
        std::fs::create_dir_all(containers.join("x.json/inside")).unwrap();
        let err = store.write(&checkpoint("x", None)).unwrap_err().to_string();
        assert!(err.starts_with("cannot checkpoint into '") && err.contains("meta/containers"), "{err}");
        let names: Vec<_> = std::fs::read_dir(&containers).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.json")], "only the directory in the way is left");
    }

    /// The pid appended after the clone reads back; a torn append reads as no pid; anything
    /// else after the checkpoint is corruption.
    #[test]
    fn an_appended_pid_reads_back_and_a_torn_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::new(dir.path());
        store.write(&checkpoint("a", None)).unwrap();
        store.add_pid(&ContainerId::new("a"), 4242).unwrap();
        let file = dir.path().join("meta/containers/a.json");
        let first = std::fs::read(&file).unwrap();
        assert_eq!(store.read_all().unwrap()[0].pid, Some(4242));
        assert_eq!(Checkpoint::parse(&first).unwrap(), checkpoint("a", Some(4242)));
        let names: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "no other file was made");
        let whole = String::from_utf8(first).unwrap();
        let cut = whole.trim_end_matches("4242}");
        for torn in [&whole[..whole.len() - 1], cut, &whole[..whole.rfind('{').unwrap()]] {
            assert_eq!(Checkpoint::parse(torn.as_bytes()).unwrap().pid, None, "{torn}");
        }
        for bad in ["{\"pid\":\"x\"}", "{\"other\":1}", "]", "[1]"] {
            let text = format!("{}\n{bad}", serde_json::to_string(&checkpoint("a", None)).unwrap());
            assert!(Checkpoint::parse(text.as_bytes()).is_err(), "{bad}");
        }
        let err = store.add_pid(&ContainerId::new("missing"), 1).unwrap_err().to_string();
        assert!(err.starts_with("cannot checkpoint into '") && err.contains("No such file"), "{err}");
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
