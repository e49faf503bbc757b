//! The controllers a container cgroup can use and the hierarchies they live in.
//!
//! [`Hierarchies`] is the injectable root of everything: production code gets it from
//! [`crate::detect`], unit tests build one over a temp dir. From it come the per-container
//! [`Cgroup`] handles and the scan for container cgroups after an agent restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files;
use crate::manager::Cgroup;
use crate::mounts::CgroupMode;
use crate::v1::V1Cgroup;
use crate::v2::V2Cgroup;

/// A cgroup controller a container may need, named as Mesos's isolators name subsystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// `cpu`: shares/weight and CFS quota.
    Cpu,
    /// `cpuacct` (v1 only; v2 accounts CPU in the core `cpu.stat`).
    Cpuacct,
    /// `memory`: limits, usage, OOM.
    Memory,
    /// `freezer` (v1 only; v2 has the core `cgroup.freeze` and `cgroup.kill`).
    Freezer,
    /// `pids`: the task limit `pids.max` (v1 and v2).
    Pids,
    /// `devices` (v1 only: `devices.allow`/`devices.deny`; v2 has no such controller and filters
    /// device access with an eBPF program attached to the cgroup, see [`crate::ebpf`]).
    Devices,
    /// The named v1 hierarchy `name=systemd` that Mesos's launcher also places containers in.
    Systemd,
}

impl Controller {
    /// Every controller this crate knows.
    pub const ALL: [Controller; 7] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Memory,
        Controller::Freezer,
        Controller::Pids,
        Controller::Devices,
        Controller::Systemd,
    ];

    /// The v1 mount option naming the hierarchy (`cpu`, `name=systemd`, ...).
    pub fn v1_name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Memory => "memory",
            Controller::Freezer => "freezer",
            Controller::Pids => "pids",
            Controller::Devices => "devices",
            Controller::Systemd => "name=systemd",
        }
    }

    /// The name in v2 `cgroup.subtree_control`, or `None` for what v2 provides in its core.
    pub fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpu => Some("cpu"),
            Controller::Memory => Some("memory"),
            Controller::Pids => Some("pids"),
            Controller::Cpuacct | Controller::Freezer | Controller::Devices | Controller::Systemd => None,
        }
    }
}

/// The hierarchies containers are created in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchies {
    /// cgroup v1 (also hybrid hosts): the mount point of each mounted controller.
    V1 { mounts: BTreeMap<Controller, PathBuf> },
    /// cgroup v2: the unified hierarchy's root (Mesos's `--cgroups_hierarchy`).
    V2 { root: PathBuf },
}

impl Hierarchies {
    /// The cgroup version in use.
    pub fn mode(&self) -> CgroupMode {
        match self {
            Hierarchies::V1 { .. } => CgroupMode::V1,
            Hierarchies::V2 { .. } => CgroupMode::V2,
        }
    }

    /// The handle of the container cgroup `<cgroups_root>/<container_id>` using `controllers`.
    /// Nothing is touched on disk; see [`crate::CgroupManager::create`]. `container_id` may be a
    /// nested path such as `parent/mesos/child`.
    pub fn cgroup(
        &self,
        cgroups_root: &str,
        container_id: &str,
        controllers: &[Controller],
    ) -> Result<Cgroup> {
        let relative = Path::new(check_name(cgroups_root, self)?).join(check_name(container_id, self)?);
        match self {
            Hierarchies::V1 { mounts } => {
                let mut dirs = BTreeMap::new();
                for controller in controllers {
                    let mount = mounts.get(controller).ok_or_else(|| Error::NotMounted {
                        controller: controller.v1_name().to_owned(),
                        path: relative.clone(),
                    })?;
                    dirs.insert(*controller, mount.join(&relative));
                }
                Ok(Cgroup::V1(V1Cgroup::new(dirs)))
            }
            Hierarchies::V2 { root } => Ok(Cgroup::V2(V2Cgroup::new(root.clone(), relative, controllers))),
        }
    }

    /// The directory of `<cgroups_root>` in every hierarchy (each mount point once).
    pub fn root_dirs(&self, cgroups_root: &str) -> Result<Vec<PathBuf>> {
        let name = check_name(cgroups_root, self)?;
        Ok(match self {
            Hierarchies::V1 { mounts } => {
                let mut dirs: Vec<PathBuf> = mounts.values().map(|m| m.join(name)).collect();
                dirs.sort();
                dirs.dedup();
                dirs
            }
            Hierarchies::V2 { root } => vec![root.join(name)],
        })
    }

    /// The container cgroups found under `<cgroups_root>` in any hierarchy, sorted, for recovery:
    /// ids found but not expected are orphans to destroy.
    pub fn containers(&self, cgroups_root: &str) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for dir in self.root_dirs(cgroups_root)? {
            ids.extend(files::child_dirs(&dir)?);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Whether memory+swap can be limited (Mesos's `--cgroups_limit_swap`): on v1 only, where the
    /// memory hierarchy's root has `memory.memsw.limit_in_bytes` (the kernel accounts swap).
    pub fn check_swap_limit(&self) -> Result<()> {
        match self {
            Hierarchies::V2 { root } => Err(v2_swap_limit_unavailable(root)),
            Hierarchies::V1 { mounts } => {
                let memory = mounts.get(&Controller::Memory).ok_or_else(|| Error::SwapLimitUnavailable {
                    path: PathBuf::from(crate::mounts::SELF_MOUNTINFO),
                    reason: "no cgroup v1 memory hierarchy is mounted",
                })?;
                let memsw = memory.join(crate::v1::MEMSW_LIMIT);
                if memsw.exists() {
                    Ok(())
                } else {
                    Err(Error::SwapLimitUnavailable {
                        path: memsw,
                        reason: "it does not exist; the kernel has no swap accounting (boot with swapaccount=1)",
                    })
                }
            }
        }
    }

    /// Removes the (empty) `<cgroups_root>` directory from every hierarchy; a missing one is fine.
    pub fn remove_root(&self, cgroups_root: &str) -> Result<()> {
        for dir in self.root_dirs(cgroups_root)? {
            crate::kill::remove_dir_retrying(&dir)?;
        }
        Ok(())
    }
}

/// The refusal of a memory+swap limit on v2, whose `memory.swap.max` limits swap alone.
pub(crate) fn v2_swap_limit_unavailable(root: &Path) -> Error {
    Error::SwapLimitUnavailable {
        path: root.to_owned(),
        reason: "cgroup v2 has no memory+swap limit (memory.swap.max limits swap alone), and Mesos \
                 does not limit swap on cgroup v2",
    }
}

/// Accepts a plain relative path (`mesos`, `parent/mesos/child`); refuses what could escape the
/// hierarchy or name its root, by the same rule the modules check their `cgroups_root` with.
fn check_name<'a>(name: &'a str, hierarchies: &Hierarchies) -> Result<&'a str> {
    module_params::check_relative_path(name).map_err(|reason| Error::InvalidName {
        name: name.to_owned(),
        path: match hierarchies {
            Hierarchies::V1 { mounts } => mounts.values().next().cloned().unwrap_or_default(),
            Hierarchies::V2 { root } => root.clone(),
        },
        reason,
    })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeCgroupfs;

    #[test]
    fn names_are_checked() {
        let fake = FakeCgroupfs::v1();
        for bad in ["", "../etc", "/abs", "a/./b"] {
            let err = fake.hierarchies.cgroup("mesos", bad, &[Controller::Cpu]).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad}: {err}");
        }
        assert!(fake.hierarchies.cgroup("mesos", "parent/mesos/child", &[Controller::Cpu]).is_ok());
    }

    #[test]
    fn missing_controller_is_an_error() {
        let mut fake = FakeCgroupfs::v1();
        if let Hierarchies::V1 { mounts } = &mut fake.hierarchies {
            mounts.remove(&Controller::Memory);
        }
        let err = fake.hierarchies.cgroup("mesos", "c1", &[Controller::Memory]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no cgroup v1 hierarchy with controller 'memory' is mounted for cgroup mesos/c1"
        );
    }

    #[test]
    fn containers_are_listed_across_hierarchies() {
        let fake = FakeCgroupfs::v1();
        assert!(fake.hierarchies.containers("mesos").unwrap().is_empty());
        std::fs::create_dir_all(fake.mount(Controller::Cpu).join("mesos/a")).unwrap();
        std::fs::create_dir_all(fake.mount(Controller::Memory).join("mesos/b")).unwrap();
        std::fs::create_dir_all(fake.mount(Controller::Freezer).join("mesos/a")).unwrap();
        assert_eq!(fake.hierarchies.containers("mesos").unwrap(), vec!["a", "b"]);
    }
}
