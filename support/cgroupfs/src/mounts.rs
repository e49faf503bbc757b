//! Where the cgroup hierarchies are mounted, from `/proc/self/mountinfo`.
//!
//! Mount points are never guessed: on the development hosts `cpu` and `cpuacct` are separate v1
//! mounts, elsewhere they are co-mounted as `cpu,cpuacct`, and a hybrid host also has a cgroup2 mount
//! at `/sys/fs/cgroup/unified`. The mode follows Mesos: cgroup v2 when cgroup2 is mounted at the
//! hierarchy root itself (default `/sys/fs/cgroup`), otherwise v1, so hybrid counts as v1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files;
use crate::hierarchies::{Controller, Hierarchies};

/// The default `--cgroups_hierarchy` of Mesos.
pub const DEFAULT_HIERARCHY: &str = "/sys/fs/cgroup";

/// The default mountinfo of the calling process.
pub const SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

/// Which cgroup version manages containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Legacy or hybrid: one v1 hierarchy per controller (or co-mounted group).
    V1,
    /// Unified: cgroup2 at the hierarchy root.
    V2,
}

/// The cgroup mounts of one mount namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupMounts {
    /// v1 controller (`cpu`, `memory`, `name=systemd`, ...) -> its mount point; first mount wins.
    pub v1: BTreeMap<String, PathBuf>,
    /// Every cgroup2 mount point, in mount order.
    pub v2: Vec<PathBuf>,
}

/// Mount options of a v1 cgroup mount that are not controller names.
const NON_CONTROLLER_OPTIONS: &[&str] =
    &["rw", "ro", "none", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"];

impl CgroupMounts {
    /// Reads and parses a mountinfo file (normally [`SELF_MOUNTINFO`]).
    pub fn from_mountinfo(path: &Path) -> Result<CgroupMounts> {
        Self::parse(path, &files::read(path)?)
    }

    /// Parses mountinfo text; `path` only names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<CgroupMounts> {
        let mut mounts = CgroupMounts::default();
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = |what: &str| files::parse_error(path, format!("line {}: {what}: '{line}'", number + 1));
            let (before, after) = line.split_once(" - ").ok_or_else(|| bad("no ' - ' separator"))?;
            let mount_point = before.split(' ').nth(4).ok_or_else(|| bad("fewer than 5 fields"))?;
            let mut after = after.split(' ');
            let fs_type = after.next().unwrap_or_default();
            let super_options = after.nth(1).unwrap_or_default();
            let mount_point = PathBuf::from(unescape(mount_point));
            match fs_type {
                "cgroup2" => mounts.v2.push(mount_point),
                "cgroup" => {
                    for option in super_options.split(',') {
                        if NON_CONTROLLER_OPTIONS.contains(&option) || option.starts_with("release_agent=") {
                            continue;
                        }
                        mounts.v1.entry(option.to_owned()).or_insert_with(|| mount_point.clone());
                    }
                }
                _ => {}
            }
        }
        Ok(mounts)
    }

    /// The mode Mesos would pick for `hierarchy_root` (normally [`DEFAULT_HIERARCHY`]).
    pub fn mode(&self, hierarchy_root: &Path) -> CgroupMode {
        if self.v2.iter().any(|m| m == hierarchy_root) { CgroupMode::V2 } else { CgroupMode::V1 }
    }

    /// The v1 mount point of a controller, `None` when it is not mounted.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        self.v1.get(controller).map(PathBuf::as_path)
    }

    /// The hierarchies to manage containers in, for [`mode`](Self::mode) of `hierarchy_root`.
    pub fn hierarchies(&self, hierarchy_root: &Path) -> Hierarchies {
        match self.mode(hierarchy_root) {
            CgroupMode::V2 => Hierarchies::V2 { root: hierarchy_root.to_owned() },
            CgroupMode::V1 => Hierarchies::V1 {
                mounts: Controller::ALL
                    .iter()
                    .filter_map(|c| Some((*c, self.v1_mount(c.v1_name())?.to_owned())))
                    .collect(),
            },
        }
    }
}

/// Detects the hierarchies of this process: [`SELF_MOUNTINFO`] and [`DEFAULT_HIERARCHY`].
pub fn detect() -> Result<Hierarchies> {
    let mounts = CgroupMounts::from_mountinfo(Path::new(SELF_MOUNTINFO))?;
    Ok(mounts.hierarchies(Path::new(DEFAULT_HIERARCHY)))
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`), which the
/// kernel writes for those bytes in mount points and roots (and which procfs leaves in place).
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mountinfo of a development host: hybrid, cpu and cpuacct on separate mounts.
    const HYBRID: &str = "\
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A systemd distribution's mountinfo with co-mounted cpu,cpuacct (v1 with optional fields).
    const COMOUNTED: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
";

    /// A pure cgroup v2 guest.
    const PURE_V2: &str = "\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    fn parse(text: &str) -> CgroupMounts {
        CgroupMounts::parse(Path::new("/proc/self/mountinfo"), text).unwrap()
    }

    #[test]
    fn hybrid_is_v1_with_separate_cpu_and_cpuacct() {
        let mounts = parse(HYBRID);
        let root = Path::new(DEFAULT_HIERARCHY);
        assert_eq!(mounts.mode(root), CgroupMode::V1);
        assert_eq!(mounts.v1_mount("cpu"), Some(Path::new("/sys/fs/cgroup/cpu")));
        assert_eq!(mounts.v1_mount("cpuacct"), Some(Path::new("/sys/fs/cgroup/cpuacct")));
        assert_eq!(mounts.v1_mount("name=systemd"), Some(Path::new("/sys/fs/cgroup/systemd")));
        assert_eq!(mounts.v2, vec![PathBuf::from("/sys/fs/cgroup/unified")]);
        assert!(!mounts.v1.contains_key("rw"));
        let Hierarchies::V1 { mounts: map } = mounts.hierarchies(root) else { panic!("not v1") };
        assert_eq!(map[&Controller::Memory], Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(map[&Controller::Systemd], Path::new("/sys/fs/cgroup/systemd"));
    }

    #[test]
    fn comounted_controllers_share_one_mount() {
        let mounts = parse(COMOUNTED);
        assert_eq!(mounts.v1_mount("cpu"), mounts.v1_mount("cpuacct"));
        assert_eq!(mounts.v1_mount("cpu"), Some(Path::new("/sys/fs/cgroup/cpu,cpuacct")));
        assert_eq!(mounts.v1_mount("name=systemd"), Some(Path::new("/sys/fs/cgroup/systemd")));
        assert!(!mounts.v1.contains_key("xattr"));
        assert_eq!(mounts.mode(Path::new(DEFAULT_HIERARCHY)), CgroupMode::V1);
    }

    #[test]
    fn pure_v2_is_v2() {
        let mounts = parse(PURE_V2);
        assert!(mounts.v1.is_empty());
        assert_eq!(mounts.mode(Path::new(DEFAULT_HIERARCHY)), CgroupMode::V2);
        assert_eq!(
            mounts.hierarchies(Path::new(DEFAULT_HIERARCHY)),
            Hierarchies::V2 { root: PathBuf::from(DEFAULT_HIERARCHY) }
        );
    }

    #[test]
    fn escaped_mount_points_and_bad_lines() {
        let mounts = parse("40 31 0:37 / /mnt/my\\040cg rw - cgroup cgroup rw,pids\n");
        assert_eq!(mounts.v1_mount("pids"), Some(Path::new("/mnt/my cg")));
        let err = CgroupMounts::parse(Path::new("/x/mountinfo"), "garbage line").unwrap_err();
        assert!(err.to_string().contains("/x/mountinfo"), "{err}");
    }
}
