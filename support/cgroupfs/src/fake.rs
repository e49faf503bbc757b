//! A fake cgroupfs of plain files in a temp dir, for unit tests.
//!
//! The kernel populates a new cgroup directory with its control files; plain `mkdir` does not, so
//! tests create the cgroup (or pre-create its directory) and then write the files the kernel would.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::hierarchies::{Controller, Hierarchies};

pub(crate) struct FakeCgroupfs {
    dir: TempDir,
    pub(crate) hierarchies: Hierarchies,
}

impl FakeCgroupfs {
    /// A v1 layout like the development hosts: every controller on its own mount.
    pub(crate) fn v1() -> FakeCgroupfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounts: BTreeMap<Controller, PathBuf> = Controller::ALL
            .iter()
            .map(|c| {
                let mount = dir.path().join(c.v1_name().trim_start_matches("name="));
                fs::create_dir_all(&mount).expect("mount dir");
                (*c, mount)
            })
            .collect();
        FakeCgroupfs { dir, hierarchies: Hierarchies::V1 { mounts } }
    }

    /// A v2 root offering `available` controllers, with `enabled` in its `cgroup.subtree_control`.
    pub(crate) fn v2(available: &str, enabled: &str) -> FakeCgroupfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("unified");
        fs::create_dir_all(&root).expect("root dir");
        write(&root, &[("cgroup.controllers", available), ("cgroup.subtree_control", enabled)]);
        FakeCgroupfs { dir, hierarchies: Hierarchies::V2 { root } }
    }

    pub(crate) fn mount(&self, controller: Controller) -> PathBuf {
        match &self.hierarchies {
            Hierarchies::V1 { mounts } => mounts[&controller].clone(),
            Hierarchies::V2 { root } => root.clone(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Writes control files into `dir` (creating it), as the kernel would have populated them.
pub(crate) fn write(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).expect("cgroup dir");
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("control file");
    }
}

pub(crate) fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).expect("control file").trim().to_owned()
}
