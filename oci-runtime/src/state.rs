//! A container's state directory, `<root>/<id>/`:
//! - `state.json`: what `create` decided ([`Saved`]): the bundle, the init's pid and start time,
//!   the engine's container id, its cgroups;
//! - `exec.fifo`: the release FIFO, there from `create` until `start` read it;
//! - `work/`: the engine's work directory (its checkpoint in `meta/`, the sandbox);
//! - `containerizer/`: the Linux containerizer's runtime directory.
//!
//! The OCI status is derived, never stored: `created` while the FIFO is there, `paused` while
//! the freezer holds the cgroup, `running` while the init lives, then `stopped`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cgroups;

/// runc's default `--root` for root.
pub const DEFAULT_ROOT: &str = "/run/isolation-runc";

#[derive(Debug, Error)]
pub enum StateError {
    /// The text containerd's shim looks for.
    #[error("container \"{0}\" does not exist")]
    NotExist(String),
    #[error("container \"{0}\" already exists")]
    Exists(String),
    #[error("invalid container id '{0}': use letters, digits, '-', '_', '.', '+' (not starting with '.')")]
    InvalidId(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("corrupt state {}: {source}", path.display())]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io { action, path: path.to_path_buf(), source }
}

/// What `create` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub bundle: String,
    pub pid: i32,
    /// The init's start time (`/proc/<pid>/stat` field 22), so a recycled pid is not taken for it.
    pub start_time: u64,
    /// The engine's container id (the leaf of `linux.cgroupsPath`).
    pub container_id: String,
    /// The container's cgroup directories the containerizer made (the freezer's first).
    pub cgroups: Vec<String>,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// One container's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub id: String,
    pub dir: PathBuf,
}

/// Checks an OCI container id: it names a directory and a cgroup.
pub fn check_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if ok { Ok(()) } else { Err(StateError::InvalidId(id.to_owned())) }
}

impl StateDir {
    pub fn new(root: &Path, id: &str) -> Result<StateDir, StateError> {
        check_id(id)?;
        Ok(StateDir { id: id.to_owned(), dir: root.join(id) })
    }

    /// The state directory of an existing container.
    pub fn existing(root: &Path, id: &str) -> Result<StateDir, StateError> {
        let state = StateDir::new(root, id)?;
        if !state.dir.join("state.json").exists() {
            return Err(StateError::NotExist(id.to_owned()));
        }
        Ok(state)
    }

    /// Makes the directory of a new container; an existing one is an error.
    pub fn create(&self) -> Result<(), StateError> {
        if let Some(parent) = self.dir.parent() {
            fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        match fs::create_dir(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(StateError::Exists(self.id.clone()))
            }
            Err(e) => Err(io("create", &self.dir)(e)),
        }
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.join("work")
    }

    pub fn containerizer_dir(&self) -> PathBuf {
        self.dir.join("containerizer")
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn save(&self, saved: &Saved) -> Result<(), StateError> {
        let path = self.state_file();
        let tmp = self.dir.join("state.json.tmp");
        let json = serde_json::to_vec_pretty(saved)
            .map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        fs::File::create(&tmp).and_then(|mut f| f.write_all(&json)).map_err(io("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(io("rename into place", &path))
    }

    pub fn load(&self) -> Result<Saved, StateError> {
        let path = self.state_file();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotExist(self.id.clone()));
            }
            Err(e) => return Err(io("read", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Removes the directory and everything in it.
    pub fn remove(&self) -> Result<(), StateError> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &self.dir)(e)),
            _ => Ok(()),
        }
    }
}

/// The OCI status of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A process's state letter and start time from `/proc/<pid>/stat`, if it exists.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start_time = fields.get(19)?.parse().ok()?;
    Some((state, start_time))
}

/// Whether the init `create` started still runs (a zombie has ended).
pub fn init_alive(saved: &Saved) -> bool {
    matches!(proc_stat(saved.pid), Some((state, start)) if start == saved.start_time && !matches!(state, 'Z' | 'X'))
}

/// The container's status now.
pub fn status(state: &StateDir, saved: &Saved) -> Status {
    if !init_alive(saved) {
        return Status::Stopped;
    }
    if state.fifo().exists() {
        return Status::Created;
    }
    if cgroups::frozen(&saved.cgroups) {
        return Status::Paused;
    }
    Status::Running
}

/// The OCI state JSON of `runc state`.
pub fn oci_state(state: &StateDir, saved: &Saved) -> serde_json::Value {
    let status = status(state, saved);
    serde_json::json!({
        "ociVersion": "1.0.2",
        "id": saved.id,
        "pid": if status == Status::Stopped { 0 } else { saved.pid },
        "status": status.name(),
        "bundle": saved.bundle,
        "rootfs": Path::new(&saved.bundle).join("rootfs"),
        "created": saved.created,
        "annotations": saved.annotations,
        "owner": "",
    })
}

/// Now in RFC 3339 (UTC, nanoseconds), as runc prints `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_764_633_600 + 3661, 0), "2025-12-02T01:01:01.000000000Z");
    }

    #[test]
    fn ids_are_checked_and_a_missing_container_does_not_exist() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["", ".x", "a/b", "a b", "../x"] {
            assert!(StateDir::new(root.path(), bad).is_err(), "{bad}");
        }
        let err = StateDir::existing(root.path(), "c1").unwrap_err();
        assert_eq!(err.to_string(), "container \"c1\" does not exist");
        let state = StateDir::new(root.path(), "c1").unwrap();
        state.create().unwrap();
        assert_eq!(state.create().unwrap_err().to_string(), "container \"c1\" already exists");
        assert!(matches!(state.load(), Err(StateError::NotExist(_))));
        let saved = Saved {
            id: "c1".into(),
            bundle: "/b".into(),
            pid: 1,
            start_time: 2,
            container_id: "c1".into(),
            cgroups: vec![],
            created: now_rfc3339(),
            annotations: BTreeMap::new(),
        };
        state.save(&saved).unwrap();
        assert_eq!(state.load().unwrap(), saved);
        state.remove().unwrap();
        assert!(!state.dir.exists());
    }

    #[test]
    fn our_own_process_is_alive() {
        let (state, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!(!matches!(state, 'Z' | 'X'), "{state}");
        let saved = Saved {
            id: "x".into(),
            bundle: String::new(),
            pid: std::process::id() as i32,
            start_time: start,
            container_id: "x".into(),
            cgroups: vec![],
            created: String::new(),
            annotations: BTreeMap::new(),
        };
        assert!(init_alive(&saved));
        assert!(!init_alive(&Saved { start_time: start + 1, ..saved }));
    }
}
