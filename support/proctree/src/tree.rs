//! The resource usage of a process tree from `/proc`, as Mesos's `src/usage/usage.cpp` measures it
//! with `os::pstree`: the root process and all its descendants, found by following the `ppid` of
//! every `/proc/<pid>/stat`. The `/proc` root is a parameter so tests can use a fake one.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::UsageError;

/// What a process tree uses, summed over its processes, in the kernel's units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeUsage {
    pub processes: u32,
    pub threads: u32,
    /// User time in clock ticks (`sysconf(_SC_CLK_TCK)` per second).
    pub utime_ticks: u64,
    /// System time in clock ticks.
    pub stime_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// The fields of `/proc/<pid>/stat` this module reads (proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    ppid: i32,
    utime: u64,
    stime: u64,
    num_threads: u32,
    rss: u64,
}

/// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may itself
/// contain spaces and parentheses, so the fields after it start after the *last* `)`.
fn parse_stat(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    // Field n of proc(5) (1-based) is at index n - 3 here: `state` (field 3) comes first.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    Some(Stat {
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        num_threads: field(20)?.parse().ok()?,
        // The kernel prints rss as a signed long; it is never negative in practice.
        rss: field(24)?.parse::<i64>().ok()?.max(0).unsigned_abs(),
    })
}

/// The stat of every process under `proc_root`. Processes that exit while it reads are skipped.
fn all_stats(proc_root: &Path) -> io::Result<HashMap<i32, Stat>> {
    let mut stats = HashMap::new();
    for entry in fs::read_dir(proc_root)? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        // A process may be gone (ENOENT, ESRCH) between the listing and the read; that is not
        // an error of the tree, it simply is no longer in it.
        let Ok(line) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(stat) = parse_stat(&line) {
            stats.insert(pid, stat);
        }
    }
    Ok(stats)
}

/// The usage of `root` and all its descendants, read from `proc_root` (normally `/proc`).
pub fn tree_usage(proc_root: &Path, root: i32) -> Result<TreeUsage, UsageError> {
    let stats =
        all_stats(proc_root).map_err(|source| UsageError::List { path: proc_root.to_owned(), source })?;
    if !stats.contains_key(&root) {
        return Err(UsageError::NoProcess { pid: root, proc_root: PathBuf::from(proc_root) });
    }
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, stat) in &stats {
        children.entry(stat.ppid).or_default().push(pid);
    }

    let mut usage = TreeUsage::default();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        let stat = &stats[&pid];
        // Saturating: the numbers come from the kernel, but a fake /proc can say anything.
        usage.processes = usage.processes.saturating_add(1);
        usage.threads = usage.threads.saturating_add(stat.num_threads);
        usage.utime_ticks = usage.utime_ticks.saturating_add(stat.utime);
        usage.stime_ticks = usage.stime_ticks.saturating_add(stat.stime);
        usage.rss_pages = usage.rss_pages.saturating_add(stat.rss);
        // pid 0 is the parent of init and kthreadd, never a process of its own; a tree rooted
        // anywhere else cannot reach it, and following ppid links cannot loop.
        pending.extend(children.get(&pid).into_iter().flatten().copied());
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn stat_line(pid: i32, comm: &str, ppid: i32, utime: u64, threads: u32, rss: u64) -> String {
        format!(
            "{pid} ({comm}) S {ppid} 1 1 0 -1 4194560 100 0 0 0 {utime} 3 0 0 20 0 {threads} 0 \
             1000 123456 {rss} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0"
        )
    }

    #[test]
    fn parses_a_command_name_with_spaces_and_parentheses() {
        let stat = parse_stat(&stat_line(7, "a) (b c", 3, 11, 4, 99)).unwrap();
        assert_eq!(stat, Stat { ppid: 3, utime: 11, stime: 3, num_threads: 4, rss: 99 });
    }

    #[test]
    fn sums_the_tree_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = dir.path();
        let write = |pid: i32, ppid: i32| {
            let dir = proc_root.join(pid.to_string());
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("stat"), stat_line(pid, "sh", ppid, 10, 2, 5)).unwrap();
        };
        write(1, 0);
        write(10, 1); // root
        write(11, 10);
        write(12, 11);
        write(20, 1); // not in the tree
        fs::create_dir_all(proc_root.join("self")).unwrap();

        let usage = tree_usage(proc_root, 10).unwrap();
        assert_eq!(
            usage,
            TreeUsage { processes: 3, threads: 6, utime_ticks: 30, stime_ticks: 9, rss_pages: 15 }
        );
        let err = tree_usage(proc_root, 99).unwrap_err().to_string();
        assert_eq!(err, format!("no process 99 in {}", proc_root.display()));
        let missing = proc_root.join("missing");
        let err = tree_usage(&missing, 1).unwrap_err().to_string();
        assert!(err.starts_with(&format!("failed to list {}: ", missing.display())), "{err}");
    }

    #[test]
    fn counts_a_real_child_of_this_process() {
        let mut child = Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().unwrap();
        let usage = tree_usage(Path::new("/proc"), std::process::id() as i32);
        child.kill().unwrap();
        child.wait().unwrap();
        let usage = usage.unwrap();
        assert!(usage.processes >= 2, "{usage:?}");
        assert!(usage.threads >= 2, "{usage:?}");
        assert!(usage.rss_pages > 0, "{usage:?}");
    }
}
