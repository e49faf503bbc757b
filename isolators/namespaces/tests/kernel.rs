//! Privileged tests of the namespace isolators on the real kernel, on their own (the end-to-end
//! tests with the containerizer are in `containerizers/linux/tests/kernel.rs`). Tests that cannot
//! run here are listed as ignored with the reason, never counted as passed.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use module_abi::{ContainerId, Isolator, Module};
use namespaces_isolator::NamespacesNetIsolator;

type TestResult = Result<(), Failed>;
type Test = fn() -> TestResult;

/// A `sleep` in a network namespace of its own, killed and reaped on drop.
struct NetnsProcess(Child);

impl NetnsProcess {
    fn start() -> Result<NetnsProcess, Failed> {
        let child = NetnsProcess(Command::new("unshare").args(["--net", "sleep", "30"]).spawn()?);
        let pid = child.0.id();
        let ours = std::fs::read_link("/proc/self/ns/net")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        // unshare execs sleep once it is in the new namespace.
        while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim() != "sleep"
            || std::fs::read_link(format!("/proc/{pid}/ns/net"))? == ours
        {
            if Instant::now() > deadline {
                return Err("unshare --net did not start sleep in a new namespace".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(child)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for NetnsProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lo_state(pid: i32) -> Result<String, Failed> {
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["ip", "-o", "link", "show"])
        .output()?;
    if !out.status.success() {
        return Err(format!("nsenter ip link: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn net_isolate_brings_only_lo_up() -> TestResult {
    let our_netns = std::fs::read_link("/proc/thread-self/ns/net")?;
    let process = NetnsProcess::start()?;
    let before = lo_state(process.pid())?;
    if before.lines().count() != 1 || !before.contains("lo:") || before.contains(",UP") {
        return Err(format!("a new namespace should hold only lo, down: {before}").into());
    }
    let isolator = NamespacesNetIsolator::create(vec![]).map_err(|e| e.to_string())?;
    isolator.isolate(&ContainerId::new("c1"), process.pid()).map_err(|e| e.to_string())?;
    let after = lo_state(process.pid())?;
    if after.lines().count() != 1 || !after.contains("<LOOPBACK,UP") {
        return Err(format!("lo is not the only interface, up: {after}").into());
    }
    if std::fs::read_link("/proc/thread-self/ns/net")? != our_netns {
        return Err("the calling thread was moved into another network namespace".into());
    }
    let pid = process.pid();
    drop(process);
    if std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Err(format!("process {pid} is left").into());
    }
    Ok(())
}

fn cannot_run() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces)");
    }
    for tool in ["unshare", "nsenter", "ip"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
        if !found {
            return Some("needs unshare, nsenter and ip (util-linux, iproute2)");
        }
    }
    None
}

fn main() {
    let args = Arguments::from_args();
    let tests: Vec<(&str, Test)> = vec![("net_isolate_brings_only_lo_up", net_isolate_brings_only_lo_up)];
    let reason = cannot_run();
    let trials = tests
        .into_iter()
        .map(|(name, test)| match reason {
            None => Trial::test(name, test),
            Some(reason) => Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
                .with_ignored_flag(true)
                .with_kind(reason),
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
