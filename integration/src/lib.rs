//! Privileged tests of the whole harness on the real kernel of the machine they run on: the
//! `agent-harness` binary and its engine driving the suite's module libraries (cgroups and
//! namespaces isolators, the Linux containerizer) and `brokenmodules`, exactly as a user would.
//!
//! The shape, in one screen:
//! - [`Artifacts`]: where the built harness binary and module libraries are (the target profile
//!   directory of the test binary, or `AGENT_HARNESS_DIR`, which the vm-tests set).
//! - [`Host`]: what this machine offers (root? cgroup v1 or v2? which controllers?), so each test
//!   binary decides when its tests are listed which of them can run; the others are listed as
//!   ignored with the reason, never counted as passed ([`Suite`]).
//! - [`Sandbox`]: one test's private world: a unique cgroups root `it-<pid>-<n>`, a work dir and a
//!   runtime dir under a temp dir, and a module manifest loading the suite's modules with them
//!   (every cgroups isolator with that root).
//!   It runs `agent-harness run`/`recover` ([`RunOutput`]) or builds an in-process
//!   [`agent_harness::engine::Engine`] ([`Sandbox::in_container`]) for tests that look inside a
//!   running container. [`Sandbox::assert_clean`] is every test's last step: no cgroup, process,
//!   mount or checkpoint of the test left; its `Drop` kills and removes whatever a failed test left.
//!
//! - [`containerd`]: a private containerd started by a test, the busybox image it imports, `ctr`
//!   helpers and a CRI client, to run containers through an OCI runtime (the suite's
//!   `isolation-runc` unless `OCI_RUNTIME` names another).
//!
//! Running them: the tests drive the *built* harness and libraries, which `cargo test -p
//! integration` does not build, so build the workspace first with the same profile:
//!
//! ```sh
//! cargo build --workspace && cargo test -p integration     # or: cargo nextest run --workspace
//! ```
//!
//! Container commands use only busybox applets (`sh`, `cat`, `sleep`, `head`, `tail`, `ls`,
//! `grep`, `hostname`, `echo`, `tee`, `mkfifo`, `sha256sum`, `rm`, `mknod`, `dd`): the same tests run inside qemu
//! guests whose only userland is busybox. Nothing here asserts on elapsed time: waits are bounded only to turn a hang into a
//! failure.

mod artifacts;
mod clean;
pub mod containerd;
mod host;
mod in_process;
mod run;
mod sandbox;
mod suite;

pub use artifacts::{Artifacts, HARNESS_DIR_ENV};
pub use clean::{Process, processes_in};
pub use host::Host;
pub use in_process::{container_spec, usage_until};
pub use libtest_mimic::Failed;
pub use run::{Background, HARNESS_TIMEOUT, RunBytes, RunOutput, output, wait_output, wait_output_bytes};
pub use sandbox::{Broken, Sandbox, SandboxOptions};
pub use suite::{Need, Suite};

/// The workspace's root, where this crate was built from.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// Why another harness cannot be built here: no cargo, or no workspace sources (a vm-tests guest).
fn toolchain_skip_reason() -> Option<String> {
    let cargo = std::path::Path::new(env!("CARGO"));
    if !cargo.is_file() {
        return Some(format!("no cargo at {}", cargo.display()));
    }
    if !workspace_root().join("module-abi/Cargo.toml").is_file() {
        return Some(format!("no workspace sources at {}", workspace_root().display()));
    }
    None
}

/// What a test returns.
pub type TestResult<T = ()> = Result<T, Failed>;

/// The isolators named in `--isolation` (Mesos's module names).
pub mod isolators {
    pub const CPU: &str = "org_apache_mesos_CgroupsCpuIsolator";
    pub const MEM: &str = "org_apache_mesos_CgroupsMemIsolator";
    pub const PIDS: &str = "org_apache_mesos_CgroupsPidsIsolator";
    pub const DEVICES: &str = "org_apache_mesos_CgroupsDevicesIsolator";
    pub const POSIX_CPU: &str = "org_apache_mesos_PosixCpuIsolator";
    pub const POSIX_MEM: &str = "org_apache_mesos_PosixMemIsolator";
    pub const PID: &str = "org_apache_mesos_NamespacesPidIsolator";
    pub const IPC: &str = "org_apache_mesos_NamespacesIpcIsolator";
    pub const UTS: &str = "org_apache_mesos_NamespacesUtsIsolator";
    pub const NET: &str = "org_apache_mesos_NamespacesNetIsolator";
    pub const FS_LINUX: &str = "org_apache_mesos_LinuxFilesystemIsolator";
    pub const FS_POSIX: &str = "org_apache_mesos_PosixFilesystemIsolator";
    pub const BROKEN: &str = "org_apache_mesos_TestBrokenIsolator";
    pub const CAPABILITIES: &str = "org_apache_mesos_LinuxCapabilitiesIsolator";
    pub const NNP: &str = "org_apache_mesos_LinuxNnpIsolator";
    pub const RLIMITS: &str = "org_apache_mesos_PosixRLimitsIsolator";
    pub const SECCOMP: &str = "org_apache_mesos_LinuxSeccompIsolator";
    pub const DISK_DU: &str = "org_apache_mesos_DiskDuIsolator";
    pub const DISK_XFS: &str = "org_apache_mesos_XfsDiskIsolator";
    /// The harness's default `--isolation`.
    pub const DEFAULT: &[&str] = &[CPU, MEM, PID];
}

/// One mebibyte, Mesos's MB.
pub const MB: u64 = 1024 * 1024;

/// Fails the test with a formatted message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Failed::from(format!($($fmt)+)));
        }
    };
}

/// Polls `done` every 50 ms until it holds; fails, naming `what`, past `timeout` (a bound that
/// turns a hang into a failure, never a measurement).
pub fn wait_until(
    what: &str,
    timeout: std::time::Duration,
    mut done: impl FnMut() -> TestResult<bool>,
) -> TestResult {
    let deadline = std::time::Instant::now() + timeout;
    while !done()? {
        if std::time::Instant::now() > deadline {
            return Err(format!("{what}: not seen within {timeout:?}").into());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}
