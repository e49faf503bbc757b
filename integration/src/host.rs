//! What this machine offers the tests: root, the cgroup mode Mesos would pick (v2 only when
//! cgroup2 is mounted at `/sys/fs/cgroup` itself; a hybrid host is v1), the controllers, and where
//! a container's cgroup files are.

use std::path::{Path, PathBuf};

use cgroupfs::{CgroupMode, CgroupMounts};

/// The v1 controllers the suite needs mounted: the cgroups isolators' and the containerizer's
/// freezer.
const V1_CONTROLLERS: &[&str] = &["cpu", "cpuacct", "memory", "freezer"];

/// The v2 controllers the root must offer.
const V2_CONTROLLERS: &[&str] = &["cpu", "memory"];

/// The machine the tests run on.
#[derive(Debug, Clone)]
pub struct Host {
    pub root: bool,
    pub mounts: CgroupMounts,
    pub mode: CgroupMode,
    /// Mesos's `--cgroups_hierarchy` (the suite's default, `/sys/fs/cgroup`).
    pub hierarchy: PathBuf,
}

impl Host {
    /// Reads `/proc/self/mountinfo`; a machine without it has no cgroups (every test is skipped).
    pub fn detect() -> Host {
        let mounts =
            CgroupMounts::from_mountinfo(Path::new(cgroupfs::mounts::SELF_MOUNTINFO)).unwrap_or_default();
        let hierarchy = PathBuf::from(cgroupfs::mounts::DEFAULT_HIERARCHY);
        let mode = mounts.mode(&hierarchy);
        Host { root: nix::unistd::geteuid().is_root(), mounts, mode, hierarchy }
    }

    /// `v1` or `v2`, for test names.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
        }
    }

    /// Why containers cannot run here, or `None` when they can.
    pub fn containers_skip_reason(&self) -> Option<String> {
        if !self.root {
            return Some("not root".to_owned());
        }
        match self.mode {
            CgroupMode::V1 => {
                let missing: Vec<&str> =
                    V1_CONTROLLERS.iter().copied().filter(|c| self.mounts.v1_mount(c).is_none()).collect();
                (!missing.is_empty())
                    .then(|| format!("cgroup v1 controllers not mounted: {}", missing.join(",")))
            }
            CgroupMode::V2 => {
                let path = self.hierarchy.join("cgroup.controllers");
                let available = std::fs::read_to_string(&path).unwrap_or_default();
                let missing: Vec<&str> = V2_CONTROLLERS
                    .iter()
                    .copied()
                    .filter(|c| !available.split_whitespace().any(|a| a == *c))
                    .collect();
                (!missing.is_empty()).then(|| {
                    format!("cgroup v2 controllers not in {}: {}", path.display(), missing.join(","))
                })
            }
        }
    }

    /// Why CFS bandwidth control cannot be tested here (on top of [`Self::containers_skip_reason`]).
    /// On v2 the root cgroup has no `cpu.max`, so the kernel's support is taken for granted there.
    pub fn cfs_skip_reason(&self) -> Option<String> {
        match self.mode {
            CgroupMode::V1 => {
                let mount = self.mounts.v1_mount("cpu")?;
                (!mount.join("cpu.cfs_quota_us").exists())
                    .then(|| format!("no CFS bandwidth control ({}/cpu.cfs_quota_us)", mount.display()))
            }
            CgroupMode::V2 => None,
        }
    }

    /// Why a controller cannot be tested here (on top of [`Self::containers_skip_reason`]): the
    /// v1 hierarchy `v1` is not mounted, or the v2 root does not offer `v2` (`None`: v2 needs none).
    pub fn controller_skip_reason(&self, v1: &str, v2: Option<&str>) -> Option<String> {
        match self.mode {
            CgroupMode::V1 => {
                self.mounts.v1_mount(v1).is_none().then(|| format!("cgroup v1 controller not mounted: {v1}"))
            }
            CgroupMode::V2 => {
                let path = self.hierarchy.join("cgroup.controllers");
                let available = std::fs::read_to_string(&path).unwrap_or_default();
                let v2 = v2?;
                (!available.split_whitespace().any(|c| c == v2))
                    .then(|| format!("cgroup v2 controller not in {}: {v2}", path.display()))
            }
        }
    }

    /// Every cgroup mount point (each v1 hierarchy and each cgroup2 mount), each once: where a
    /// test's cgroups root may have left something.
    pub fn cgroup_mounts(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> =
            self.mounts.v1.values().cloned().chain(self.mounts.v2.iter().cloned()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// A file of container `id`'s cgroup under `root`: on v1 in the hierarchy of `controller`
    /// (`cpu`, `cpuacct`, `memory`, `freezer`), on v2 in the container's one cgroup.
    pub fn cgroup_file(&self, root: &str, id: &str, controller: &str, file: &str) -> PathBuf {
        let base = match self.mode {
            CgroupMode::V1 => self.mounts.v1_mount(controller).map(Path::to_path_buf).unwrap_or_default(),
            CgroupMode::V2 => self.hierarchy.clone(),
        };
        base.join(root).join(id).join(file)
    }
}
