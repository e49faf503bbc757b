//! A test binary's list of trials (libtest-mimic, `harness = false`), with what each test needs
//! checked when the list is built: a test this host cannot run is listed as ignored, the reason in
//! its name, and counted as skipped, never as passed.

use libtest_mimic::{Arguments, Completion, Trial};

use crate::TestResult;
use crate::host::Host;

/// What a test needs of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Root and the cgroup controllers of the suite (v1: cpu, cpuacct, memory, freezer; v2: cpu,
    /// memory): what every container needs.
    Containers,
    /// CFS bandwidth control (v1 `cpu.cfs_quota_us`).
    Cfs,
    /// The pids controller (v1 `pids` hierarchy, v2 `pids` offered by the root).
    Pids,
    /// Device isolation: the v1 `devices` hierarchy (v2 filters devices with eBPF, no controller).
    Devices,
    /// The workspace's sources and the cargo that built this test, to build another harness
    /// (absent inside the vm-tests guests).
    Toolchain,
    /// A statically linked busybox (`/bin/busybox` or `/usr/bin/busybox`) to build a rootfs from.
    StaticBusybox,
    /// containerd, ctr and the runc shim installed, a static busybox for the image, and the OCI
    /// runtime under test built (see [`crate::containerd`]).
    Containerd,
    /// [`Need::Containerd`], plus protoc and Python's gRPC for the CRI client.
    Cri,
}

/// The trials of one test binary.
#[derive(Debug)]
pub struct Suite {
    host: Host,
    trials: Vec<Trial>,
}

impl Default for Suite {
    fn default() -> Self {
        Suite::new()
    }
}

impl Suite {
    /// Detects the host and, as root, cleans up what killed earlier test processes left.
    pub fn new() -> Suite {
        let host = Host::detect();
        if host.root {
            crate::clean::sweep_stale(&host);
        }
        Suite { host, trials: Vec::new() }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Why this host cannot run a test with `needs`.
    pub fn skip_reason(&self, needs: &[Need]) -> Option<String> {
        needs.iter().find_map(|need| match need {
            Need::Containers => self.host.containers_skip_reason(),
            Need::Cfs => self.host.cfs_skip_reason(),
            Need::Pids => self.host.controller_skip_reason("pids", Some("pids")),
            Need::Devices => self.host.controller_skip_reason("devices", None),
            Need::Toolchain => crate::toolchain_skip_reason(),
            Need::StaticBusybox => agent_harness::kit::isolator_cases::static_busybox()
                .is_none()
                .then(|| "no statically linked busybox at /bin/busybox or /usr/bin/busybox".to_owned()),
            Need::Containerd => crate::containerd::skip_reason(),
            Need::Cri => crate::containerd::cri_skip_reason(),
        })
    }

    /// Adds a test that runs when the host meets `needs`.
    pub fn test(&mut self, name: &str, needs: &[Need], test: impl FnOnce() -> TestResult + Send + 'static) {
        let trial = match self.skip_reason(needs) {
            // Even under `--include-ignored` it reports itself ignored rather than passed.
            Some(reason) => Trial::ignorable_test(format!("{name} [skipped: {reason}]"), move || {
                Ok(Completion::ignored_with(reason))
            })
            .with_ignored_flag(true),
            None => Trial::test(name, test),
        };
        self.trials.push(trial);
    }

    /// Adds a test that cannot run here for a reason of the test's own (a missing tool): listed
    /// as ignored with the reason in its name, like a test whose needs the host does not meet.
    pub fn skip(&mut self, name: &str, reason: &str) {
        let reason = reason.to_owned();
        let trial = Trial::ignorable_test(format!("{name} [skipped: {reason}]"), move || {
            Ok(Completion::ignored_with(reason))
        })
        .with_ignored_flag(true);
        self.trials.push(trial);
    }

    /// Runs the trials the command line selects and exits.
    pub fn run(self) -> ! {
        let args = Arguments::from_args();
        libtest_mimic::run(&args, self.trials).exit()
    }
}
