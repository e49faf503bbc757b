//! The spec's `mounts`, `maskedPaths` and `readonlyPaths` as launch-info mounts, which the Linux
//! containerizer's helper makes at container paths inside the rootfs before it pivots (a mount's
//! source is a host path; a target is resolved inside the rootfs).
//!
//! - each of `mounts`, in order, with runc's option words as `MS_*` flags and the rest as the
//!   file system's data (`mode=755`, `size=65536k`, ...); `bind` and `rbind` make a bind mount,
//!   whose `ro` the helper applies by a remount. `private` and `rprivate` (and `slave`,
//!   `rslave`) are what every container mount already is: the container's root is made rslave,
//!   so nothing it mounts reaches the host. Other propagation words are refused;
//! - a `cgroup` mount shows the container its own cgroups, read-only ([`cgroup_mounts`]; no
//!   cgroup namespace: the paths are the host's);
//! - when a fresh file system is mounted at `/dev`, runc's default devices (`null`, `zero`,
//!   `full`, `random`, `urandom`, `tty`) are bound from the host's nodes (the helper adds the
//!   `/dev` symlinks itself);
//! - a masked path gets a read-only `tmpfs` (a directory) or `/dev/null` (a file) on top; a
//!   read-only path is bound onto itself read-only. Paths the kernel does not have are skipped,
//!   as runc does: they are all in `/proc` and `/sys`, which show the same kernel as the host's.

use std::path::Path;

use module_abi::ContainerMountInfo;

use crate::bundle::Mount;
use crate::translate::{HostView, TranslateError};

/// The type a `cgroup` mount has until [`translate`] expands it.
const CGROUP_MARKER: &str = "(cgroup)";

/// The controllers whose hierarchies hold the container's own cgroup (the suite's cgroups
/// isolators' and the containerizer's freezer); in the others it sits at the root.
const MANAGED: [&str; 6] = ["cpu", "cpuacct", "memory", "pids", "devices", "freezer"];

/// A `cgroup` mount (runc's form): a `tmpfs` at the destination and, for every cgroup hierarchy
/// of the host, a read-only bind of the container's cgroup in it (its root where the container
/// has none of its own) at `<destination>/<hierarchy's name>`; on a pure v2 host, one bind of
/// the container's cgroup at the destination.
fn cgroup_mounts(
    m: &ContainerMountInfo,
    host: &HostView<'_>,
    container_cgroup: &str,
) -> Vec<ContainerMountInfo> {
    let ro_bind = flag(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY)
        | (m.flags & flag(libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC));
    let hierarchies = (host.cgroup_mounts)();
    let bind = |source: String, target: String| ContainerMountInfo {
        target,
        source: Some(source),
        fs_type: None,
        flags: ro_bind,
        options: None,
    };
    if let [(point, None)] = hierarchies.as_slice() {
        return vec![bind(format!("{point}/{container_cgroup}"), m.target.clone())];
    }
    let mut out = vec![ContainerMountInfo {
        target: m.target.clone(),
        source: Some("tmpfs".to_owned()),
        fs_type: Some("tmpfs".to_owned()),
        flags: flag(libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC),
        options: Some("mode=755".to_owned()),
    }];
    for (point, controllers) in hierarchies {
        let Some(name) = Path::new(&point).file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let own = controllers.is_some_and(|c| c.iter().any(|c| MANAGED.contains(&c.as_str())));
        let source = if own { format!("{point}/{container_cgroup}") } else { point.clone() };
        out.push(bind(source, format!("{}/{name}", m.target.trim_end_matches('/'))));
    }
    out
}

/// runc's default devices, created in a fresh `/dev`.
pub const DEFAULT_DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

#[allow(clippy::unnecessary_cast)] // `MS_*` are `c_ulong`: u32 on 32-bit targets.
const fn flag(value: libc::c_ulong) -> u64 {
    value as u64
}

/// What one option word does: set flags, clear flags, or nothing (propagation already in effect).
enum Word {
    Set(u64),
    Clear(u64),
    Propagation,
}

/// runc's option words (`libcontainer/specconv`), those with a flag.
fn word(option: &str) -> Option<Word> {
    use Word::{Clear, Set};
    Some(match option {
        "ro" => Set(flag(libc::MS_RDONLY)),
        "rw" => Clear(flag(libc::MS_RDONLY)),
        "nosuid" => Set(flag(libc::MS_NOSUID)),
        "suid" => Clear(flag(libc::MS_NOSUID)),
        "nodev" => Set(flag(libc::MS_NODEV)),
        "dev" => Clear(flag(libc::MS_NODEV)),
        "noexec" => Set(flag(libc::MS_NOEXEC)),
        "exec" => Clear(flag(libc::MS_NOEXEC)),
        "sync" => Set(flag(libc::MS_SYNCHRONOUS)),
        "async" => Clear(flag(libc::MS_SYNCHRONOUS)),
        "dirsync" => Set(flag(libc::MS_DIRSYNC)),
        "mand" => Set(flag(libc::MS_MANDLOCK)),
        "nomand" => Clear(flag(libc::MS_MANDLOCK)),
        "noatime" => Set(flag(libc::MS_NOATIME)),
        "atime" => Clear(flag(libc::MS_NOATIME)),
        "nodiratime" => Set(flag(libc::MS_NODIRATIME)),
        "diratime" => Clear(flag(libc::MS_NODIRATIME)),
        "relatime" => Set(flag(libc::MS_RELATIME)),
        "norelatime" => Clear(flag(libc::MS_RELATIME)),
        "strictatime" => Set(flag(libc::MS_STRICTATIME)),
        "nostrictatime" => Clear(flag(libc::MS_STRICTATIME)),
        "bind" => Set(flag(libc::MS_BIND)),
        "rbind" => Set(flag(libc::MS_BIND | libc::MS_REC)),
        "private" | "rprivate" | "slave" | "rslave" => Word::Propagation,
        _ => return None,
    })
}

/// Option words runc knows that this runtime does not implement.
const REFUSED: [&str; 10] = [
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
    "tmpcopyup",
    "nosymfollow",
    "idmap",
    "ridmap",
    "remount",
    "recursive",
];

/// One spec mount.
fn translate_one(index: usize, m: &Mount) -> Result<ContainerMountInfo, TranslateError> {
    let field = format!("mounts[{index}]");
    if !m.destination.starts_with('/') {
        return Err(TranslateError::new(
            format!("{field}.destination"),
            format!("'{}' is not an absolute path", m.destination),
        ));
    }
    if m.uid_mappings.is_some() || m.gid_mappings.is_some() {
        return Err(TranslateError::new(
            format!("{field}.uidMappings"),
            "id-mapped mounts are not supported",
        ));
    }
    let mut flags = 0u64;
    let mut data = Vec::new();
    for option in &m.options {
        if REFUSED.contains(&option.as_str()) {
            return Err(TranslateError::new(
                format!("{field}.options"),
                format!("'{option}' is not supported by this runtime"),
            ));
        }
        match word(option) {
            Some(Word::Set(f)) => flags |= f,
            Some(Word::Clear(f)) => flags &= !f,
            Some(Word::Propagation) => {}
            None => data.push(option.as_str()),
        }
    }
    let bind = m.kind.as_deref() == Some("bind") || flags & flag(libc::MS_BIND) != 0;
    if bind {
        flags |= flag(libc::MS_BIND);
        let source = m.source.as_deref().unwrap_or_default();
        if !source.starts_with('/') {
            return Err(TranslateError::new(
                format!("{field}.source"),
                format!("'{source}': a bind mount's source must be an absolute path"),
            ));
        }
        if !data.is_empty() {
            return Err(TranslateError::new(
                format!("{field}.options"),
                format!("'{}' is not an option of a bind mount", data.join(",")),
            ));
        }
        return Ok(ContainerMountInfo {
            target: m.destination.clone(),
            source: Some(source.to_owned()),
            fs_type: None,
            flags,
            options: None,
        });
    }
    let Some(kind) = m.kind.as_deref().filter(|k| !k.is_empty()) else {
        return Err(TranslateError::new(format!("{field}.type"), "missing (and the mount is not a bind)"));
    };
    if kind == "cgroup" || kind == "cgroup2" {
        // Expanded by `translate` (it needs the host's hierarchies): a marker here.
        return Ok(ContainerMountInfo {
            target: m.destination.clone(),
            source: None,
            fs_type: Some(CGROUP_MARKER.to_owned()),
            flags,
            options: None,
        });
    }
    Ok(ContainerMountInfo {
        target: m.destination.clone(),
        source: Some(m.source.clone().unwrap_or_else(|| kind.to_owned())),
        fs_type: Some(kind.to_owned()),
        flags,
        options: (!data.is_empty()).then(|| data.join(",")),
    })
}

/// Every mount of the container, in the order the helper makes them.
pub fn translate(
    mounts: &[Mount],
    rootfs: &Path,
    masked: &[String],
    readonly: &[String],
    host: &HostView<'_>,
    container_cgroup: &str,
) -> Result<Vec<ContainerMountInfo>, TranslateError> {
    let mut out = Vec::new();
    for (index, m) in mounts.iter().enumerate() {
        let mount = translate_one(index, m)?;
        if mount.fs_type.as_deref() == Some(CGROUP_MARKER) {
            out.extend(cgroup_mounts(&mount, host, container_cgroup));
        } else {
            out.push(mount);
        }
    }
    let fresh_dev = out.iter().any(|m| m.target == "/dev" && m.flags & flag(libc::MS_BIND) == 0);
    if fresh_dev {
        for device in DEFAULT_DEVICES {
            let path = format!("/dev/{device}");
            if !out.iter().any(|m| m.target == path) {
                out.push(ContainerMountInfo {
                    target: path.clone(),
                    source: Some(path),
                    fs_type: None,
                    flags: flag(libc::MS_BIND),
                    options: None,
                });
            }
        }
    }
    for (index, path) in masked.iter().enumerate() {
        check_path("linux.maskedPaths", index, path)?;
        match (host.kind_of)(path) {
            None => {}
            Some(true) => out.push(ContainerMountInfo {
                target: path.clone(),
                source: Some("tmpfs".to_owned()),
                fs_type: Some("tmpfs".to_owned()),
                flags: flag(libc::MS_RDONLY),
                options: None,
            }),
            Some(false) => out.push(ContainerMountInfo {
                target: path.clone(),
                source: Some("/dev/null".to_owned()),
                fs_type: None,
                flags: flag(libc::MS_BIND),
                options: None,
            }),
        }
    }
    for (index, path) in readonly.iter().enumerate() {
        check_path("linux.readonlyPaths", index, path)?;
        if (host.kind_of)(path).is_some() {
            // The source is the container's own file, as the helper sees it before the pivot.
            out.push(ContainerMountInfo {
                target: path.clone(),
                source: Some(format!("{}{path}", rootfs.display())),
                fs_type: None,
                flags: flag(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY),
                options: None,
            });
        }
    }
    Ok(out)
}

fn check_path(field: &str, index: usize, path: &str) -> Result<(), TranslateError> {
    if path.starts_with('/') && !path.split('/').any(|c| c == "..") {
        Ok(())
    } else {
        Err(TranslateError::new(format!("{field}[{index}]"), format!("'{path}' is not an absolute path")))
    }
}
