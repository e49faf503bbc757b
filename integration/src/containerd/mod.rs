//! containerd with an OCI runtime under test: the tests start a private containerd (its root,
//! state, sockets and config under the test's temp dir, stopped by its pid), import a busybox
//! image built here, and run containers through `ctr run --runc-binary RUNTIME` and through
//! containerd's CRI plugin, whose runtime handler `isolation` names the same binary.
//!
//! - [`Runtime`]: the runtime under test, `target/<profile>/isolation-runc` unless
//!   [`RUNTIME_ENV`] names another (runc, crun, ...): the same tests prove the harness against
//!   runc and then hold the suite's runtime to it.
//! - [`Containerd`] (`daemon`): one test's containerd, `ctr` helpers, and the check that nothing
//!   is left once it is stopped: no process (containerd, shims, containers), no mount, no cgroup,
//!   no runtime state, no shim socket, no fifo.
//! - [`image`]: the OCI image-layout tar, cached under the build directory (from the
//!   `local-containerd` crate, which also starts containerd itself for this module and the bench).
//! - [`Events`]: `ctr events` read in the background (OOM and exit events).
//! - [`Cri`]: a CRI (runtime.v1) client over gRPC, through `cri/cri_client.py` with Debian's
//!   python3-grpcio; requests and responses are protobuf's JSON mapping.
//!
//! Where containerd, its shim, `ctr`, a static busybox or the runtime are missing, the tests are
//! skipped with the reason ([`skip_reason`], [`cri_skip_reason`]).

mod cri;
mod daemon;
mod events;

pub use local_containerd::image;

use std::path::{Path, PathBuf};

pub use cri::{Cri, CriError, int};
pub use daemon::{CRI_NAMESPACE, Containerd, ContainerdOptions, RUNTIME_HANDLER};
pub use events::Events;

/// The environment variable naming the runtime binary under test (an absolute path).
pub const RUNTIME_ENV: &str = "OCI_RUNTIME";

/// The suite's runtime binary, next to the harness in the build directory.
pub const SUITE_RUNTIME: &str = "isolation-runc";

/// The Python interpreter whose packages (python3-grpcio, python3-protobuf) Debian installs.
pub const PYTHON: &str = "/usr/bin/python3";

/// The runtime binary under test.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub path: PathBuf,
}

impl Runtime {
    /// [`RUNTIME_ENV`] when set, else [`SUITE_RUNTIME`] in the build directory.
    pub fn under_test() -> Result<Runtime, String> {
        let path = match std::env::var_os(RUNTIME_ENV) {
            Some(path) => PathBuf::from(path),
            None => crate::Artifacts::locate()?.dir.join(SUITE_RUNTIME),
        };
        if !path.is_absolute() {
            return Err(format!("{RUNTIME_ENV}={} is not an absolute path", path.display()));
        }
        Ok(Runtime { path })
    }

    /// The binary's file name (`isolation-runc`, `runc`), for messages.
    pub fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// The first `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why containers cannot run through containerd here, or `None` when they can.
pub fn skip_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".to_owned());
    }
    let missing: Vec<&str> =
        ["containerd", "ctr", "containerd-shim-runc-v2"].into_iter().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        return Some(format!(
            "containerd is not installed (not on PATH: {}; apt-get install containerd)",
            missing.join(", ")
        ));
    }
    if let Some(reason) = image::skip_reason() {
        return Some(reason);
    }
    match Runtime::under_test() {
        Err(e) => Some(e),
        Ok(runtime) if !is_executable(&runtime.path) => Some(format!(
            "the runtime under test is not built: no executable {} (set {RUNTIME_ENV} to test another)",
            runtime.path.display()
        )),
        Ok(_) => None,
    }
}

/// Why the CRI tests cannot run here: [`skip_reason`], or no protoc, or no Python gRPC.
pub fn cri_skip_reason() -> Option<String> {
    if let Some(reason) = skip_reason() {
        return Some(reason);
    }
    if which("protoc").is_none() {
        return Some("no protoc on PATH (apt-get install protobuf-compiler)".to_owned());
    }
    let imports = std::process::Command::new(PYTHON)
        .args(["-c", "import grpc, google.protobuf"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !imports.is_ok_and(|s| s.success()) {
        return Some(format!(
            "{PYTHON} cannot import grpc and google.protobuf (apt-get install python3-grpcio python3-protobuf)"
        ));
    }
    None
}
