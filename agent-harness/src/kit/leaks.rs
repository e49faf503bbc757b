//! What a container may have left on the machine, found by its id alone, so the check holds for any
//! isolator: a cgroup directory named after the container in any hierarchy, a process whose
//! `/proc/<pid>/cgroup` names it, a mount under the kit's work directory.

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
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter_map(|e| {
            let cgroups = std::fs::read_to_string(e.path().join("cgroup")).ok()?;
            let id = ids.iter().find(|id| cgroups.split(['/', '\n']).any(|part| part == id.as_str()))?;
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            Some(format!("process {} ({}) of container {id}", e.file_name().to_string_lossy(), comm.trim()))
        })
        .collect()
}

/// The mount points under `dir` (mountinfo escapes a space as `\040`).
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(cgroupfs::mounts::SELF_MOUNTINFO).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(point.replace("\\040", " ")))
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
    fn this_process_is_no_leftover() {
        let ids: BTreeSet<String> = ["no-such-container-id".to_string()].into();
        assert!(leftovers(&ids, Path::new("/nonexistent-work-dir")).is_empty());
    }
}
