//! Finding the launch helper `mesos-containerizer`: in `launcher_dir` when given (Mesos's flag),
//! else next to the library this code is loaded from. `cargo build` puts the cdylib and the binary
//! in the same `target/<profile>/`, and an install puts them side by side, so both just work.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::params::HELPER_NAME;

/// The helper's path (not checked for existence; see [`check`]).
pub fn helper_path(launcher_dir: Option<&Path>) -> PathBuf {
    match launcher_dir {
        Some(dir) => dir.join(HELPER_NAME),
        None => own_directory().unwrap_or_default().join(HELPER_NAME),
    }
}

/// The helper at `path`, or the one error that names where it was looked for.
pub fn check(path: &Path) -> Result<()> {
    if path.is_file() { Ok(()) } else { Err(Error::HelperMissing { path: path.to_owned() }) }
}

/// The directory of the object file holding this function: the `.so` when the library was
/// dlopen'ed, the executable when it was linked statically (a test binary in `target/<profile>/deps`,
/// whose helper is one level up; see [`fallbacks`]).
fn own_directory() -> Option<PathBuf> {
    // SAFETY: Dl_info is plain pointers and integers; all-zero is a valid value to be overwritten.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let address = own_directory as fn() -> Option<PathBuf> as *const libc::c_void;
    // SAFETY: dladdr only reads the address and fills `info`; it returns 0 when it found nothing.
    if unsafe { libc::dladdr(address, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated path owned by the dynamic loader, valid while the
    // object stays loaded (modules are never unloaded); it is copied at once.
    let file = PathBuf::from(unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned());
    // The main program may be named by an empty or relative argv[0]-like name: ask the kernel.
    let file = std::fs::canonicalize(&file).or_else(|_| std::env::current_exe()).ok()?;
    let dir = file.parent()?.to_owned();
    Some(fallbacks(&dir))
}

/// Cargo puts test and example binaries in `target/<profile>/deps` and the helper in
/// `target/<profile>`: when the object is in a `deps` directory without the helper, use its parent.
fn fallbacks(dir: &Path) -> PathBuf {
    if !dir.join(HELPER_NAME).exists()
        && dir.file_name().is_some_and(|n| n == "deps")
        && let Some(parent) = dir.parent()
    {
        return parent.to_owned();
    }
    dir.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_directory_wins() {
        assert_eq!(helper_path(Some(Path::new("/opt/x"))), PathBuf::from("/opt/x/mesos-containerizer"));
    }

    #[test]
    fn own_directory_is_found() {
        // A unit test binary lives in target/<profile>/deps.
        let dir = own_directory().expect("dladdr finds the test binary");
        assert!(dir.is_absolute(), "{}", dir.display());
    }

    #[test]
    fn missing_helper_names_the_path() {
        let err = check(Path::new("/nonexistent/mesos-containerizer")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/mesos-containerizer") && err.contains("launcher_dir"), "{err}");
    }
}
