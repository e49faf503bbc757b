//! Test helpers for the crates built on cgroupfs (behind the `testing` feature; always on in this
//! crate's own unit tests): a fake cgroupfs of plain files in a temp dir, and the skip reason of a
//! kernel test whose controllers this host lacks.
//!
//! The kernel fills a new cgroup directory with its control files and a plain `mkdir` does not,
//! so a test creates the cgroup (or lets [`FakeCgroupfs::populate`] write what the kernel would),
//! acts, and reads the files back. The fake's hierarchy roots hold the files modules probe at
//! creation (`cpu.cfs_quota_us` for CFS, `memory.memsw.limit_in_bytes` for swap accounting); a
//! test removes one to play a host without the feature.
//!
//! Helpers panic on I/O errors: they run only in tests, where a panic is the failure report.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::hierarchies::{Controller, Hierarchies};
use crate::mounts::{CgroupMode, CgroupMounts, DEFAULT_HIERARCHY, SELF_MOUNTINFO};

/// What v1 reads back as "no limit" with 4 KiB pages.
pub const V1_UNLIMITED: &str = "9223372036854771712";

/// A cgroup file system of plain files; removed when dropped.
#[derive(Debug)]
pub struct FakeCgroupfs {
    dir: TempDir,
    /// The hierarchies to hand to the code under test.
    pub hierarchies: Hierarchies,
}

impl FakeCgroupfs {
    /// A v1 layout like the development hosts: every controller on its own mount.
    pub fn v1() -> FakeCgroupfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounts: BTreeMap<Controller, PathBuf> = Controller::ALL
            .iter()
            .map(|c| {
                let mount = dir.path().join(c.v1_name().trim_start_matches("name="));
                fs::create_dir_all(&mount).expect("mount dir");
                (*c, mount)
            })
            .collect();
        write(&mounts[&Controller::Cpu], &[("cpu.cfs_quota_us", "-1")]);
        write(&mounts[&Controller::Memory], &[(crate::v1::MEMSW_LIMIT, V1_UNLIMITED)]);
        FakeCgroupfs { dir, hierarchies: Hierarchies::V1 { mounts } }
    }

    /// A v2 root offering `available` controllers, with `enabled` in its `cgroup.subtree_control`.
    pub fn v2(available: &str, enabled: &str) -> FakeCgroupfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("unified");
        write(&root, &[("cgroup.controllers", available), ("cgroup.subtree_control", enabled)]);
        FakeCgroupfs { dir, hierarchies: Hierarchies::V2 { root } }
    }

    /// The mount point of `controller` (the one unified root on v2).
    pub fn mount(&self, controller: Controller) -> PathBuf {
        match &self.hierarchies {
            Hierarchies::V1 { mounts } => mounts[&controller].clone(),
            Hierarchies::V2 { root } => root.clone(),
        }
    }

    /// The temp dir holding every mount.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory of the container cgroup `<root>/<id>` for `controller`.
    pub fn dir(&self, controller: Controller, root: &str, id: &str) -> PathBuf {
        self.mount(controller).join(root).join(id)
    }

    /// Writes the control files the kernel would give the fresh container cgroup `<root>/<id>`
    /// in the cpu, cpuacct and memory hierarchies (v1), or in its one directory and leaf (v2).
    pub fn populate(&self, root: &str, id: &str) {
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
                        (crate::v1::MEMSW_LIMIT, V1_UNLIMITED),
                        ("memory.usage_in_bytes", "12288"),
                        ("memory.max_usage_in_bytes", "16384"),
                        ("memory.memsw.usage_in_bytes", "12288"),
                        ("memory.kmem.usage_in_bytes", "4096"),
                        (
                            "memory.stat",
                            "total_cache 4096\ntotal_rss 8192\ntotal_mapped_file 0\ntotal_swap 0\n\
                             total_unevictable 0\n",
                        ),
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
                        ("pids.max", "max"),
                        ("pids.current", "0"),
                        ("cgroup.threads", ""),
                    ],
                );
                write(&dir.join(crate::v2::LEAF), &[("cgroup.procs", ""), ("cgroup.threads", "")]);
            }
        }
    }
}

impl FakeCgroupfs {
    /// Writes the control files the kernel would give the fresh v1 container cgroup `<root>/<id>`
    /// in the pids and devices hierarchies (the devices one with its inherited `a *:* rwm`).
    pub fn populate_pids_devices(&self, root: &str, id: &str) {
        let procs = [("cgroup.procs", ""), ("tasks", "")];
        write(&self.dir(Controller::Pids, root, id), &procs);
        write(
            &self.dir(Controller::Pids, root, id),
            &[("pids.max", "max"), ("pids.current", "0"), ("pids.events", "max 0\n")],
        );
        write(&self.dir(Controller::Devices, root, id), &procs);
        write(
            &self.dir(Controller::Devices, root, id),
            &[("devices.allow", ""), ("devices.deny", ""), ("devices.list", "a *:* rwm\n")],
        );
    }
}

/// Writes control files into `dir` (creating it), as the kernel would have populated them.
pub fn write(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).expect("cgroup dir");
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("control file");
    }
}

/// A control file's content, trimmed.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_owned()
}

/// This host's cgroup mounts, the hierarchies Mesos would use at the default root, and `v1` or
/// `v2` (the prefix of kernel test names), for the main of a kernel test. Panics when the mount
/// table cannot be read: a test binary has nothing to run then.
pub fn host() -> (CgroupMounts, Hierarchies, &'static str) {
    let mounts = CgroupMounts::from_mountinfo(Path::new(SELF_MOUNTINFO)).expect("mountinfo");
    let hierarchies = mounts.hierarchies(Path::new(DEFAULT_HIERARCHY));
    let version = match hierarchies.mode() {
        CgroupMode::V1 => "v1",
        CgroupMode::V2 => "v2",
    };
    (mounts, hierarchies, version)
}

/// Why a kernel test that needs `needed` cannot run on this host (not root, a v1 controller not
/// mounted, a v2 controller not offered by the root), or `None`.
pub fn skip_reason(hierarchies: &Hierarchies, needed: &[Controller]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".to_owned());
    }
    match hierarchies {
        Hierarchies::V1 { mounts } => {
            let missing: Vec<&str> =
                needed.iter().filter(|c| !mounts.contains_key(c)).map(|c| c.v1_name()).collect();
            (!missing.is_empty()).then(|| format!("v1 controllers not mounted: {}", missing.join(",")))
        }
        Hierarchies::V2 { root } => {
            let available = fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            let missing: Vec<&str> = needed
                .iter()
                .filter_map(|c| c.v2_name())
                .filter(|c| !available.split_whitespace().any(|a| a == *c))
                .collect();
            (!missing.is_empty()).then(|| format!("v2 controllers not available: {}", missing.join(",")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CgroupManager;

    #[test]
    fn populated_v1_cgroups_read_like_the_kernel_s() {
        let fake = FakeCgroupfs::v1();
        fake.populate("mesos", "c1");
        let cgroup =
            fake.hierarchies.cgroup("mesos", "c1", &[Controller::Cpuacct, Controller::Memory]).unwrap();
        let stats = cgroup.stats().unwrap();
        assert_eq!(stats.mem_total_bytes, Some(12288));
        assert_eq!(stats.mem_kmem_usage_bytes, Some(4096));
        assert_eq!(stats.cpus_user_time_secs, Some(25.0 / crate::clock_ticks_per_second() as f64));
        assert_eq!(fake.hierarchies.containers("mesos").unwrap(), vec!["c1"]);
        assert!(fake.mount(Controller::Memory).join(crate::v1::MEMSW_LIMIT).exists());
    }

    #[test]
    fn populated_v2_cgroups_have_a_leaf() {
        let fake = FakeCgroupfs::v2("cpu memory pids", "");
        fake.populate("mesos", "c1");
        let dir = fake.dir(Controller::Memory, "mesos", "c1");
        assert_eq!(read(dir.join("memory.max")), "max");
        assert_eq!(read(dir.join("leaf/cgroup.procs")), "");
        assert_eq!(read(fake.mount(Controller::Cpu).join("cgroup.controllers")), "cpu memory pids");
    }
}
