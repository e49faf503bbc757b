//! Which module libraries and manifests the harness trusts: one that someone other than its owner
//! and root could have written is refused, because a module runs as root inside the harness.
//!
//! A file is refused when it, or any directory above it, is writable by others (`o+w`), or by a
//! group other than root's (`g+w` with a group id other than 0). A world-writable directory with
//! the sticky bit (`/tmp`) is accepted: only its owner and root can rename or remove what is in it.
//! The path is resolved first (symlinks followed), and the check runs on the file and on every
//! directory of the resolved path. `--dangerously_allow_writable_modules` turns the check off.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why a path is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrustError {
    #[error(
        "refusing {what} '{path}': '{writable}' is writable by {by} (mode {mode:04o}); make it writable only by its owner and root, or pass --dangerously_allow_writable_modules"
    )]
    Writable { what: String, path: PathBuf, writable: PathBuf, by: &'static str, mode: u32 },
    #[error("cannot check {what} '{path}': {reason}")]
    Unreadable { what: String, path: PathBuf, reason: String },
}

/// Whether the harness checks the permissions of module libraries and manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathPolicy {
    /// Refuse what others could have written (the default).
    #[default]
    Enforce,
    /// Load anything (`--dangerously_allow_writable_modules`).
    AllowWritable,
}

impl PathPolicy {
    /// The policy of the flag's value.
    pub fn from_flag(dangerously_allow_writable: bool) -> PathPolicy {
        if dangerously_allow_writable { PathPolicy::AllowWritable } else { PathPolicy::Enforce }
    }

    /// Checks `path` (a `what`: "module library", "module manifest", ...) under this policy.
    pub fn check(self, path: &Path, what: &str) -> Result<(), TrustError> {
        match self {
            PathPolicy::AllowWritable => Ok(()),
            PathPolicy::Enforce => check(path, what),
        }
    }
}

/// Who besides the owner and root may write to something with this metadata, if anyone.
fn writable_by_others(metadata: &std::fs::Metadata) -> Option<&'static str> {
    let mode = metadata.permissions().mode();
    let sticky_dir = metadata.is_dir() && mode & 0o1000 != 0;
    if mode & 0o002 != 0 && !sticky_dir {
        Some("everyone")
    } else if mode & 0o020 != 0 && metadata.gid() != 0 {
        Some("its group")
    } else {
        None
    }
}

fn check(path: &Path, what: &str) -> Result<(), TrustError> {
    let unreadable =
        |reason: String| TrustError::Unreadable { what: what.to_string(), path: path.to_path_buf(), reason };
    let resolved = std::fs::canonicalize(path).map_err(|e| unreadable(e.to_string()))?;
    for place in resolved.ancestors() {
        let metadata =
            std::fs::metadata(place).map_err(|e| unreadable(format!("{}: {e}", place.display())))?;
        if let Some(by) = writable_by_others(&metadata) {
            return Err(TrustError::Writable {
                what: what.to_string(),
                path: path.to_path_buf(),
                writable: place.to_path_buf(),
                by,
                mode: metadata.permissions().mode() & 0o7777,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn files_only_their_owner_and_root_can_write_are_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libx.so");
        std::fs::write(&file, b"").unwrap();
        chmod(&file, 0o644);
        assert_eq!(PathPolicy::Enforce.check(&file, "module library"), Ok(()));

        chmod(&file, 0o646);
        let err = PathPolicy::Enforce.check(&file, "module library").unwrap_err();
        assert!(matches!(&err, TrustError::Writable { by: "everyone", mode: 0o646, .. }), "{err}");
        assert!(err.to_string().contains("--dangerously_allow_writable_modules"), "{err}");
        assert_eq!(PathPolicy::AllowWritable.check(&file, "module library"), Ok(()));
    }

    #[test]
    fn a_writable_directory_above_is_refused_but_a_sticky_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("modules");
        std::fs::create_dir(&inner).unwrap();
        let file = inner.join("libx.so");
        std::fs::write(&file, b"").unwrap();
        chmod(&inner, 0o777);
        let err = PathPolicy::Enforce.check(&file, "module library").unwrap_err();
        assert!(matches!(&err, TrustError::Writable { writable, .. } if *writable == inner), "{err}");
        chmod(&inner, 0o1777);
        assert_eq!(PathPolicy::Enforce.check(&file, "module library"), Ok(()));
    }

    #[test]
    fn a_symlink_is_judged_by_what_it_points_to() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::write(open.join("libx.so"), b"").unwrap();
        chmod(&open, 0o777);
        let link = dir.path().join("libx.so");
        std::os::unix::fs::symlink(open.join("libx.so"), &link).unwrap();
        assert!(PathPolicy::Enforce.check(&link, "module library").is_err());
    }

    #[test]
    fn a_missing_file_cannot_be_checked() {
        let err = PathPolicy::Enforce.check(Path::new("/nonexistent/libx.so"), "module library").unwrap_err();
        assert!(matches!(err, TrustError::Unreadable { .. }), "{err}");
    }
}
