//! A fake cgroupfs of plain files in a temp dir, for unit tests. The kernel fills a new cgroup
//! directory with its control files and `mkdir` does not, so tests populate a container's cgroup
//! first ([`Fake::populate`]) and then hand it to the isolator (v2 `prepare` takes an existing
//! cgroup; on v1 `recover` adopts one).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cgroupfs::{Controller, Hierarchies};
use tempfile::TempDir;

/// What v1 reads back as "no limit" with 4 KiB pages.
pub const V1_UNLIMITED: &str = "9223372036854771712";

pub struct Fake {
    _dir: TempDir,
    pub hierarchies: Hierarchies,
}

pub fn write(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).expect("cgroup dir");
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("control file");
    }
}

pub fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
        .trim()
        .to_owned()
}

impl Fake {
    /// A hybrid-like v1 host: cpu, cpuacct and memory on separate mounts.
    pub fn v1() -> Fake {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut mounts = BTreeMap::new();
        for c in [Controller::Cpu, Controller::Cpuacct, Controller::Memory] {
            let mount = dir.path().join(c.v1_name());
            fs::create_dir_all(&mount).expect("mount");
            mounts.insert(c, mount);
        }
        write(&mounts[&Controller::Cpu], &[("cpu.cfs_quota_us", "-1")]);
        write(&mounts[&Controller::Memory], &[("memory.memsw.limit_in_bytes", V1_UNLIMITED)]);
        Fake { _dir: dir, hierarchies: Hierarchies::V1 { mounts } }
    }

    /// A pure v2 host offering cpu, memory and pids.
    pub fn v2() -> Fake {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("unified");
        write(&root, &[("cgroup.controllers", "cpu memory pids"), ("cgroup.subtree_control", "")]);
        Fake { _dir: dir, hierarchies: Hierarchies::V2 { root } }
    }

    /// The directory of `<root>/<id>` for `controller` (the one unified directory on v2).
    pub fn dir(&self, controller: Controller, root: &str, id: &str) -> PathBuf {
        match &self.hierarchies {
            Hierarchies::V1 { mounts } => mounts[&controller].join(root).join(id),
            Hierarchies::V2 { root: unified } => unified.join(root).join(id),
        }
    }

    /// Writes the control files the kernel would give the fresh cgroup `<root>/<id>`.
    pub fn populate(&self, root: &str, id: &str) {
        let memory_stat = "total_cache 4096\ntotal_rss 8192\ntotal_mapped_file 0\ntotal_swap 0\n\
                           total_unevictable 0\n";
        match &self.hierarchies {
            Hierarchies::V1 { .. } => {
                let procs = ("cgroup.procs", "");
                write(
                    &self.dir(Controller::Cpu, root, id),
                    &[
                        procs,
                        ("cpu.shares", "1024"),
                        ("cpu.cfs_period_us", "100000"),
                        ("cpu.cfs_quota_us", "-1"),
                        ("cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 500000000\n"),
                    ],
                );
                write(
                    &self.dir(Controller::Cpuacct, root, id),
                    &[procs, ("cpuacct.stat", "user 25\nsystem 5\n")],
                );
                write(
                    &self.dir(Controller::Memory, root, id),
                    &[
                        procs,
                        ("cgroup.event_control", ""),
                        ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"),
                        ("memory.soft_limit_in_bytes", V1_UNLIMITED),
                        ("memory.limit_in_bytes", V1_UNLIMITED),
                        ("memory.memsw.limit_in_bytes", V1_UNLIMITED),
                        ("memory.usage_in_bytes", "12288"),
                        ("memory.max_usage_in_bytes", "16384"),
                        ("memory.kmem.usage_in_bytes", "4096"),
                        ("memory.stat", memory_stat),
                    ],
                );
            }
            Hierarchies::V2 { root: unified } => {
                let controllers = ("cgroup.controllers", "cpu memory pids");
                write(&unified.join(root), &[controllers, ("cgroup.subtree_control", "")]);
                let dir = self.dir(Controller::Cpu, root, id);
                write(
                    &dir,
                    &[
                        controllers,
                        ("cgroup.subtree_control", ""),
                        ("cgroup.procs", ""),
                        ("cpu.weight", "100"),
                        ("cpu.max", "max 100000"),
                        ("cpu.stat", "usage_usec 300000\nuser_usec 250000\nsystem_usec 50000\n"),
                        ("memory.low", "0"),
                        ("memory.max", "max"),
                        ("memory.current", "12288"),
                        ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
                        ("memory.stat", "anon 8192\nfile 4096\nkernel 100\nfile_mapped 0\nunevictable 0\n"),
                    ],
                );
                write(&dir.join(cgroupfs::LEAF), &[("cgroup.procs", "")]);
            }
        }
    }
}
