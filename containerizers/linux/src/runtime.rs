//! The per-container runtime directory `<runtime_dir>/containers/<id>/` (Mesos's layout):
//! `spec` (the launch request, written by the host), `pid` (the helper's pid, written by the
//! host), `status` (the command's termination, written by the helper). Every file is written
//! atomically: a temporary file in the same directory, then `rename`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::os::fd::OwnedFd;

use module_abi::ContainerTermination;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// The status file's name, and the temporary name it is written under.
const STATUS: &str = "status";
const STATUS_TMP: &str = "status.tmp";

/// The files of one container's runtime directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDir {
    dir: PathBuf,
}

impl RuntimeDir {
    /// The runtime directory of `container` under `runtime_dir`.
    pub fn new(runtime_dir: &Path, container: &str) -> RuntimeDir {
        RuntimeDir { dir: runtime_dir.join("containers").join(container) }
    }

    /// The runtime directory as given on the helper's command line.
    pub fn at(dir: PathBuf) -> RuntimeDir {
        RuntimeDir { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn spec(&self) -> PathBuf {
        self.dir.join("spec")
    }

    pub fn pid(&self) -> PathBuf {
        self.dir.join("pid")
    }

    pub fn status(&self) -> PathBuf {
        self.dir.join(STATUS)
    }

    /// Creates the directory; one left by an earlier container of the same id is an error, since
    /// its status file would be taken for this container's.
    pub fn create(&self) -> Result<()> {
        if let Some(parent) = self.dir.parent() {
            fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
        }
        fs::create_dir(&self.dir).map_err(Error::io("create the runtime directory", &self.dir))
    }

    /// Removes the directory and what it holds; an absent one is fine.
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove the runtime directory", &self.dir)(e))
            }
            _ => Ok(()),
        }
    }

    /// The termination the helper wrote, or `None` when it has not written one.
    pub fn read_status(&self) -> Result<Option<ContainerTermination>> {
        let path = self.status();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Parse { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path)(e)),
        }
    }

    /// The directory held open for the helper's status file: once the helper has entered a
    /// rootfs, the directory's path names nothing it can reach.
    pub fn open_for_status(&self) -> Result<StatusWriter> {
        let dir =
            nix::fcntl::open(&self.dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Error::io("open the runtime directory", &self.dir)(e.into()))?;
        Ok(StatusWriter { dir, path: self.dir.clone() })
    }
}

/// Writes the status file through a descriptor of the runtime directory, with the same
/// temporary-then-`rename` rule as [`write_atomically`].
#[derive(Debug)]
pub struct StatusWriter {
    dir: OwnedFd,
    path: PathBuf,
}

impl StatusWriter {
    /// Writes the helper's termination.
    pub fn write(&self, termination: &ContainerTermination) -> Result<()> {
        let status = self.path.join(STATUS);
        let json = serde_json::to_vec(termination)
            .map_err(|e| Error::Parse { path: status.clone(), reason: e.to_string() })?;
        let tmp = self.path.join(STATUS_TMP);
        let flags = OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.dir, STATUS_TMP, flags, Mode::from_bits_truncate(0o644))
            .map_err(|e| Error::io("create", &tmp)(e.into()))?;
        fs::File::from(fd).write_all(&json).map_err(Error::io("write", &tmp))?;
        renameat(&self.dir, STATUS_TMP, &self.dir, STATUS)
            .map_err(|e| Error::io("rename into place", &status)(e.into()))
    }
}

/// Writes `bytes` to `path` through a temporary sibling and `rename`, so a reader sees the old
/// file, no file, or the whole new one, never a part (the helper may be killed at any point).
///
/// No `fsync`: what the runtime directory describes (a helper process, its pid, how its command
/// ended) does not outlive the machine, so only a killed process matters, and the page cache
/// already shows every reader the renamed file then. The directory belongs on a tmpfs (`/run`);
/// where it is on a disk, an `fsync` per file cost 0.2 ms on a quiet disk and several on a busy one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::File::create(&tmp).map_err(Error::io("create", &tmp))?;
    file.write_all(bytes).map_err(Error::io("write", &tmp))?;
    fs::rename(&tmp, path).map_err(Error::io("rename into place", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_absent_is_none() {
        let tmp = std::env::temp_dir().join(format!("linux-containerizer-runtime-{}", std::process::id()));
        let rt = RuntimeDir::new(&tmp, "c1");
        rt.create().unwrap();
        assert!(rt.create().is_err(), "a second container of the same id must not reuse the directory");
        assert_eq!(rt.read_status().unwrap(), None);
        let t = ContainerTermination { exit_code: Some(3), signal: None };
        rt.open_for_status().unwrap().write(&t).unwrap();
        assert_eq!(fs::read_to_string(rt.status()).unwrap(), r#"{"exit_code":3}"#);
        assert_eq!(rt.read_status().unwrap(), Some(t));
        fs::write(rt.status(), "{garbage").unwrap();
        assert!(rt.read_status().unwrap_err().to_string().contains("status"));
        let other = ContainerTermination { exit_code: None, signal: Some(9) };
        rt.open_for_status().unwrap().write(&other).unwrap();
        assert_eq!(rt.read_status().unwrap(), Some(other));
        assert!(!rt.path().join("status.tmp").exists());
        rt.remove().unwrap();
        assert!(rt.open_for_status().is_err());
        rt.remove().unwrap();
        assert!(!rt.path().exists());
        fs::remove_dir_all(&tmp).unwrap();
    }
}
