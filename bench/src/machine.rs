//! What the numbers were measured on: the machine, the versions of every runtime, the date, and
//! how busy the machine was when the run started (a loaded machine makes every number slower).

use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub memory_gib: f64,
    pub cgroups: String,
    /// `/proc/loadavg`'s 1-minute load when the run started.
    pub load_at_start: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub harness: String,
    pub crun: String,
    pub runc: String,
    pub unshare: String,
    /// Which launch helper the harness runs: the package's static musl build, or the build's own.
    pub helper: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first line a program prints for `args`, or `"missing"`.
pub fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_owned))
        .unwrap_or_else(|| "missing".to_owned())
}

pub fn machine() -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown")
        .to_owned();
    let meminfo = read("/proc/meminfo");
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let mountinfo = read("/proc/self/mountinfo");
    let v1 = mountinfo.lines().any(|l| l.contains(" - cgroup "));
    let v2 = mountinfo.lines().any(|l| l.contains(" - cgroup2 "));
    let cgroups = match (v1, v2) {
        (true, true) => "hybrid (v1 controllers, cgroup2 mounted too)",
        (true, false) => "v1",
        (false, true) => "v2",
        (false, false) => "none",
    };
    Machine {
        cpu_model,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        cgroups: cgroups.to_owned(),
        load_at_start: load_average(),
    }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    read("/proc/loadavg").split_whitespace().next().and_then(|l| l.parse().ok()).unwrap_or(0.0)
}

pub fn versions(harness: &std::path::Path, launcher_dir: &std::path::Path) -> Versions {
    let musl = launcher_dir.components().any(|c| c.as_os_str().to_string_lossy().ends_with("-linux-musl"));
    Versions {
        helper: format!(
            "launch helper {} ({})",
            launcher_dir.join("mesos-containerizer").display(),
            if musl { "static, musl, as the package ships it" } else { "the build's own, glibc" }
        ),
        harness: first_line(&harness.display().to_string(), &["--version"]),
        crun: first_line("crun", &["--version"]),
        runc: first_line("runc", &["--version"]),
        unshare: first_line("unshare", &["--version"]),
    }
}

/// The date and time now, UTC, ISO 8601 (from `date`, to need no date crate).
pub fn now_utc() -> String {
    first_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
}
