//! What a container may have left on the machine, found by its id alone, so the check holds for any
//! isolator: a cgroup directory named after the container in any hierarchy, a process whose
//! `/proc/<pid>/cgroup` names it, a mount under the kit's work directory. The process list and the
//! mount table are read through `procfs`; mount points are unescaped with cgroupfs's mountinfo
//! rule, since procfs keeps the kernel's `\040` escapes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cgroupfs::CgroupMounts;

/// How deep below a hierarchy's root container cgroups are looked for (`<root>/<id>/leaf`).
const DEPTH: usize = 4;

/// Every leftover of the containers named in `ids`, one line each.
pub fn leftovers(ids: &BTreeSet<String>, work_dir: &Path) -> Vec<String> {
    if ids.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mounts =
        CgroupMounts::from_mountinfo(Path::new(cgroupfs::mounts::SELF_MOUNTINFO)).unwrap_or_default();
    let roots: BTreeSet<PathBuf> = mounts.v1.values().chain(mounts.v2.iter()).cloned().collect();
    for root in roots {
        find_cgroups(&root, ids, DEPTH, &mut found);
    }
    found.extend(processes(ids));
    found.extend(mounts_under(work_dir).iter().map(|point| format!("mount {}", point.display())));
    found
}

fn find_cgroups(dir: &Path, ids: &BTreeSet<String>, depth: usize, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if ids.contains(entry.file_name().to_string_lossy().as_ref()) {
            found.push(format!("cgroup {}", path.display()));
        } else if depth > 1 {
            find_cgroups(&path, ids, depth - 1, found);
        }
    }
}

fn processes(ids: &BTreeSet<String>) -> Vec<String> {
    let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
    // A process that ends while the list is read is no leftover.
    all.flatten()
        .filter_map(|process| {
            let cgroups = process.cgroups().ok()?;
            let id = ids.iter().find(|id| {
                cgroups.0.iter().any(|cgroup| cgroup.pathname.split('/').any(|part| part == id.as_str()))
            })?;
            let comm = process.stat().map(|stat| stat.comm).unwrap_or_default();
            Some(format!("process {} ({comm}) of container {id}", process.pid()))
        })
        .collect()
}

/// The mount points under `dir`, from this process's mount table.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(mounts) = procfs::process::Process::myself().and_then(|me| me.mountinfo()) else {
        return Vec::new();
    };
    mounts
        .into_iter()
        .map(|mount| PathBuf::from(cgroupfs::mounts::unescape(&mount.mount_point.to_string_lossy())))
        .filter(|point| point.starts_with(dir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directories_named_after_a_container() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("mesos/c1/leaf")).unwrap();
        std::fs::create_dir_all(dir.path().join("mesos/other")).unwrap();
        let ids: BTreeSet<String> = ["c1".to_string()].into();
        let mut found = Vec::new();
        find_cgroups(dir.path(), &ids, DEPTH, &mut found);
        assert_eq!(found, [format!("cgroup {}", dir.path().join("mesos/c1").display())]);
    }

    #[test]
    fn mounts_are_read_from_the_mount_table() {
        assert!(mounts_under(Path::new("/")).contains(&PathBuf::from("/")), "the root mount");
        assert!(mounts_under(Path::new("/nonexistent-work-dir")).is_empty());
    }

    #[test]
    fn a_process_in_a_container_cgroup_is_found() {
        // This test's own process is in some cgroup on every host: name a part of its path.
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let Some(part) = own.lines().filter_map(|l| l.rsplit('/').next()).find(|p| !p.is_empty()) else {
            return; // in the root cgroup everywhere: nothing to name
        };
        let ids: BTreeSet<String> = [part.to_owned()].into();
        let found = processes(&ids);
        let me = format!("process {} (", std::process::id());
        assert!(found.iter().any(|line| line.starts_with(&me)), "{found:?}");
    }

    #[test]
    fn this_process_is_no_leftover() {
        let ids: BTreeSet<String> = ["no-such-container-id".to_string()].into();
        assert!(leftovers(&ids, Path::new("/nonexistent-work-dir")).is_empty());
    }
}
