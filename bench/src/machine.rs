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
    /// Which launch helper the harness runs, and whether it is static (the package's musl build).
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
    let helper = launcher_dir.join(linux_containerizer::params::HELPER_NAME);
    let linking = match std::fs::read(&helper).map(|elf| program_interpreter(&elf)) {
        Ok(Ok(None)) => "static".to_owned(),
        Ok(Ok(Some(interpreter))) => format!("dynamic, {interpreter}"),
        Ok(Err(e)) => e.to_owned(),
        Err(e) => format!("unreadable: {e}"),
    };
    Versions {
        helper: format!("launch helper {} ({linking})", helper.display()),
        harness: first_line(&harness.display().to_string(), &["--version"]),
        crun: first_line("crun", &["--version"]),
        runc: first_line("runc", &["--version"]),
        unshare: first_line("unshare", &["--version"]),
    }
}

/// The program interpreter an ELF64 little-endian file names (its `PT_INTERP` segment), `None`
/// for a static one: which helper a run used, read off the file rather than its path.
fn program_interpreter(elf: &[u8]) -> Result<Option<String>, &'static str> {
    const PT_INTERP: u32 = 3;
    let field = |at: usize, len: usize| elf.get(at..at + len).ok_or("not an ELF file");
    if field(0, 4)? != b"\x7fELF" || field(4, 2)? != [2, 1] {
        return Err("not an ELF64 little-endian file");
    }
    let u16_at = |at| field(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u64_at = |at| field(at, 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize);
    let (phoff, phentsize, phnum) = (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?);
    for header in (0..phnum).map(|i| phoff + i * phentsize) {
        if u32::from_le_bytes(field(header, 4)?.try_into().expect("4 bytes")) == PT_INTERP {
            let (offset, size) = (u64_at(header + 8)?, u64_at(header + 32)?);
            let path = field(offset, size)?;
            return Ok(Some(String::from_utf8_lossy(path.strip_suffix(&[0]).unwrap_or(path)).into_owned()));
        }
    }
    Ok(None)
}

/// The date and time now, UTC, ISO 8601 (from `date`, to need no date crate).
pub fn now_utc() -> String {
    first_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
}

#[cfg(test)]
mod tests {
    use super::program_interpreter;

    #[test]
    fn the_interpreter_is_read_off_the_file() {
        // This test binary is a dynamic executable of the host's libc.
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interpreter = program_interpreter(&own).unwrap().expect("a dynamic executable has PT_INTERP");
        assert!(interpreter.starts_with('/') && interpreter.contains("ld-"), "{interpreter}");
        // An ELF64 header with no program headers: static.
        let mut bare = vec![0u8; 64];
        bare[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert_eq!(program_interpreter(&bare), Ok(None));
        assert_eq!(program_interpreter(b"#!/bin/sh\n"), Err("not an ELF64 little-endian file"));
        assert_eq!(program_interpreter(b"\x7fE"), Err("not an ELF file"));
        // A program header table past the end of the file.
        bare[0x20] = 0xff;
        bare[0x36] = 56;
        bare[0x38] = 1;
        assert_eq!(program_interpreter(&bare), Err("not an ELF file"));
    }
}
