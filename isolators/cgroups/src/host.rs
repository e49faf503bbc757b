//! Facts about the host that usage reports stand in for an infinite limit, as Mesos's
//! containerizer does (`cpus_limit` of an unlimited container = the host's CPUs, `mem_limit_bytes`
//! = the host's memory).

/// The number of online CPUs.
pub fn cpus() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN) {
        Ok(Some(n)) if n > 0 => n as f64,
        _ => std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
    }
}

/// The total memory in bytes (`MemTotal` of `/proc/meminfo`), `None` when it cannot be read.
pub fn memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_total(&meminfo)
}

fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mem_total() {
        assert_eq!(super::parse_mem_total("MemTotal:       2048 kB\nMemFree: 1 kB\n"), Some(2 << 20));
        assert!(super::cpus() >= 1.0);
    }
}
