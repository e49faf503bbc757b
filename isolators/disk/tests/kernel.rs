//! Privileged tests of `disk/xfs`'s kernel interfaces on a real XFS with project quota (Mesos's
//! `ROOT_XFS_QuotaTest` cases): quota get/set/clear, a write beyond the limit failing, project id
//! errors, per-tree accounting that does not follow symlinks, and the isolator's whole lifecycle
//! through the `Isolator` trait.
//!
//! They need a directory on an XFS mounted with `prjquota`, named by `VM_TESTS_XFS` (the vm-tests
//! guests mount one; the development hosts' kernel has no quota support). Without it, or not as
//! root, every test is listed as ignored with the reason, never passed. Each test works in a
//! directory of its own below it and removes it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use disk_isolator::params::Config;
use disk_isolator::xfs::kernel::{QuotaFs, is_xfs};
use disk_isolator::xfs::{Policy, label, sandbox_project};
use disk_isolator::{DiskError, XfsDiskIsolator};
use libtest_mimic::{Arguments, Failed, Trial};
use module_abi::{ContainerConfig, ContainerId, ContainerState, Isolator, Parameter};

const MB: u64 = 1024 * 1024;
const XFS_ENV: &str = "VM_TESTS_XFS";

type TestResult = Result<(), Failed>;
type TestFn = fn() -> TestResult;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(Failed::from(format!($($fmt)+)));
        }
    };
}

fn skip_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".into());
    }
    let Some(dir) = std::env::var_os(XFS_ENV) else {
        return Some(format!("{XFS_ENV} names no XFS mounted with prjquota (the vm-tests guests set it)"));
    };
    if !is_xfs(Path::new(&dir)).unwrap_or(false) {
        return Some(format!("{XFS_ENV}={} is not XFS", dir.to_string_lossy()));
    }
    None
}

/// A fresh directory below the XFS mount, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Result<Scratch, Failed> {
        let base = PathBuf::from(std::env::var_os(XFS_ENV).unwrap_or_default());
        let dir = base.join(format!("disk-kernel-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
    fn fs(&self) -> Result<QuotaFs, Failed> {
        QuotaFs::open(&self.0).map_err(|e| format!("open {}: {e}", self.0.display()).into())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write_file(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    let chunk = vec![0x5a_u8; MB as usize];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(MB);
        file.write_all(&chunk[..n as usize])?;
        left -= n;
    }
    file.sync_all()
}

fn quota_get_set_clear() -> TestResult {
    let scratch = Scratch::new("getset")?;
    let fs = scratch.fs()?;
    ensure!(fs.project_quota_enabled()?, "project quota is off on {}", scratch.0.display());
    fs.set_project_limits(9001, 10 * MB, 20 * MB)?;
    let quota = fs.project_quota(9001)?;
    ensure!(quota.soft_bytes == 10 * MB && quota.hard_bytes == 20 * MB, "{quota:?}");
    // 513 bytes are two basic blocks (1024 bytes); XFS then rounds up to its own block size.
    fs.set_project_limits(9001, 513, 513)?;
    let quota = fs.project_quota(9001)?;
    ensure!((1024..=65536).contains(&quota.soft_bytes) && quota.hard_bytes == quota.soft_bytes, "{quota:?}");
    fs.set_project_limits(9001, 0, 0)?;
    let quota = fs.project_quota(9001)?;
    ensure!(quota.soft_bytes == 0 && quota.hard_bytes == 0, "cleared, yet {quota:?}");
    Ok(())
}

fn a_write_beyond_the_limit_fails() -> TestResult {
    let scratch = Scratch::new("limit")?;
    let fs = scratch.fs()?;
    let dir = scratch.0.join("tree");
    fs::create_dir(&dir)?;
    label(&dir, 9002)?;
    ensure!(sandbox_project(&dir)? == 9002, "the id did not stick");
    fs.set_project_limits(9002, MB, MB)?;
    write_file(&dir.join("small"), MB / 2)?;
    let err = write_file(&dir.join("big"), 2 * MB).err().ok_or("a 2 MB write under 1 MB succeeded")?;
    // XFS reports a project quota as ENOSPC.
    ensure!(err.raw_os_error() == Some(libc::ENOSPC), "{err}");
    fs.set_project_limits(9002, 0, 0)?;
    let quota = fs.project_quota(9002)?;
    ensure!(quota.used_bytes >= MB / 2, "{quota:?}");
    ensure!(quota.used_bytes <= MB + MB / 4, "{quota:?}");
    label(&dir, 0)?;
    Ok(())
}

fn project_id_errors() -> TestResult {
    let scratch = Scratch::new("errors")?;
    fs::write(scratch.0.join("file"), b"x")?;
    std::os::unix::fs::symlink(&scratch.0, scratch.0.join("link"))?;
    for name in ["file", "link", "missing"] {
        match label(&scratch.0.join(name), 9003) {
            Err(DiskError::ProjectId { path, .. }) => ensure!(path.ends_with(name), "{}", path.display()),
            other => return Err(format!("labelling '{name}': {other:?}").into()),
        }
    }
    Ok(())
}

fn trees_are_accounted_apart_through_symlinks() -> TestResult {
    let scratch = Scratch::new("trees")?;
    let fs = scratch.fs()?;
    let (a, b) = (scratch.0.join("a"), scratch.0.join("b"));
    fs::create_dir_all(a.join("sub"))?;
    fs::create_dir_all(&b)?;
    write_file(&a.join("sub/one"), MB)?;
    write_file(&b.join("two"), 2 * MB)?;
    std::os::unix::fs::symlink(&b, a.join("to-b"))?;
    std::os::unix::fs::symlink(a.join("sub/one"), b.join("to-one"))?;
    label(&a, 9004)?;
    label(&b, 9005)?;
    let (qa, qb) = (fs.project_quota(9004)?, fs.project_quota(9005)?);
    ensure!((MB..2 * MB).contains(&qa.used_bytes), "tree a: {qa:?}");
    ensure!((2 * MB..3 * MB).contains(&qb.used_bytes), "tree b: {qb:?}");
    // A file made in a labelled directory inherits the id.
    write_file(&a.join("sub/three"), MB)?;
    ensure!(fs.project_quota(9004)?.used_bytes >= 2 * MB, "a new file did not inherit the id");
    label(&a, 0)?;
    label(&b, 0)?;
    ensure!(fs.project_quota(9004)?.used_bytes == 0, "clearing the ids left use on the project");
    Ok(())
}

fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
    pairs.iter().map(|(k, v)| Parameter { key: (*k).into(), value: (*v).into() }).collect()
}

fn config(work: &Path, extra: &[(&str, &str)]) -> Config {
    let work = work.display().to_string();
    let mut pairs = vec![("work_dir", work.as_str())];
    pairs.extend_from_slice(extra);
    Config::parse("disk/xfs", &params(&pairs)).expect("valid parameters")
}

fn container_config(sandbox: &Path, disk: &str) -> ContainerConfig {
    ContainerConfig {
        resources: module_abi::Resources::parse(disk).unwrap(),
        directory: sandbox.display().to_string(),
        ..Default::default()
    }
}

fn isolator_lifecycle_and_recovery() -> TestResult {
    let scratch = Scratch::new("lifecycle")?;
    let sandboxes = scratch.0.join("sandboxes");
    let (one, two, three) = (sandboxes.join("one"), sandboxes.join("two"), sandboxes.join("three"));
    for dir in [&one, &two, &three] {
        fs::create_dir_all(dir)?;
    }
    let isolator = XfsDiskIsolator::new(config(
        &scratch.0,
        &[("enforce_container_disk_quota", "true"), ("xfs_project_range", "[7001-7002]")],
    ))?;
    ensure!(isolator.policy() == Policy::EnforcingPassive, "{:?}", isolator.policy());
    let (c1, c2, c3) = (ContainerId::new("one"), ContainerId::new("two"), ContainerId::new("three"));
    isolator.prepare(&c1, &container_config(&one, "disk:3"))?;
    isolator.prepare(&c2, &container_config(&two, "disk:1"))?;
    ensure!(sandbox_project(&one)? == 7001 && sandbox_project(&two)? == 7002, "ids not lowest first");
    let usage = isolator.usage(&c1)?;
    ensure!(usage.disk_limit_bytes == Some(3 * MB), "{usage:?}");
    ensure!(write_file(&two.join("big"), 2 * MB).is_err(), "a write past disk:1 succeeded");
    // Another work dir on the same file system never gets an id these sandboxes carry.
    let elsewhere = scratch.0.join("elsewhere/sandboxes/four");
    fs::create_dir_all(&elsewhere)?;
    let other =
        XfsDiskIsolator::new(config(&scratch.0.join("elsewhere"), &[("xfs_project_range", "[7001-7003]")]))?;
    let c4 = ContainerId::new("four");
    other.prepare(&c4, &container_config(&elsewhere, "disk:1"))?;
    ensure!(
        sandbox_project(&elsewhere)? == 7003,
        "got {}, an id in use elsewhere",
        sandbox_project(&elsewhere)?
    );
    other.cleanup(&c4)?;
    fs::remove_dir_all(scratch.0.join("elsewhere"))?;
    // Exhausted, and cleanup does not free an id while its sandbox is there.
    let exhausted = isolator.prepare(&c3, &container_config(&three, "disk:1")).unwrap_err().to_string();
    ensure!(exhausted.contains("Failed to assign project ID, range exhausted"), "{exhausted}");
    isolator.cleanup(&c3)?;
    isolator.cleanup(&c2)?;
    ensure!(
        isolator.prepare(&c3, &container_config(&three, "disk:1")).is_err(),
        "an id was freed by cleanup"
    );
    isolator.cleanup(&c3)?;
    // Once the sandbox is gone, its id is free again (Mesos reclaims at sandbox GC). XFS
    // inactivates unlinked inodes in the background (and on Linux 6.1 a syncfs does not wait for
    // that), so wait until the kernel no longer counts the id's inodes before asking for it.
    fs::remove_dir_all(&two)?;
    let quota_fs = scratch.fs()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while quota_fs.project_quota(7002).map_or(true, |q| q.inodes > 0 || q.used_bytes > 0) {
        ensure!(
            std::time::Instant::now() < deadline,
            "project 7002 still counts inodes 30 s after its sandbox went"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    isolator.prepare(&c3, &container_config(&three, "disk:1"))?;
    ensure!(sandbox_project(&three)? == 7002, "the freed id was not reused");

    // A new isolator (a harness restarted) recovers the ids from the sandboxes and re-applies quotas.
    drop(isolator);
    let recovered = XfsDiskIsolator::new(config(
        &scratch.0,
        &[("enforce_container_disk_quota", "true"), ("xfs_project_range", "[7001-7002]")],
    ))?;
    let state = |id: &ContainerId, dir: &Path, disk: &str| ContainerState {
        container_id: id.clone(),
        pid: 0,
        directory: dir.display().to_string(),
        config: Some(container_config(dir, disk)),
    };
    recovered.recover(vec![state(&c1, &one, "disk:3"), state(&c3, &three, "disk:1")], Vec::new())?;
    ensure!(sandbox_project(&one)? == 7001 && sandbox_project(&three)? == 7002, "ids changed in recovery");
    ensure!(recovered.usage(&c3)?.disk_limit_bytes == Some(MB), "no quota after recovery");
    ensure!(write_file(&three.join("big"), 2 * MB).is_err(), "the recovered quota is not enforced");
    recovered.cleanup(&c1)?;
    recovered.cleanup(&c3)?;
    let fs = scratch.fs()?;
    for id in [7001, 7002, 7003] {
        fs.set_project_limits(id, 0, 0)?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let skip = skip_reason();
    let tests: [(&str, TestFn); 5] = [
        ("ROOT_XFS_QuotaTest.QuotaGetSet", quota_get_set_clear),
        ("ROOT_XFS_QuotaTest.QuotaLimit", a_write_beyond_the_limit_fails),
        ("ROOT_XFS_QuotaTest.ProjectIdErrors", project_id_errors),
        ("ROOT_XFS_QuotaTest.DirectoryTree", trees_are_accounted_apart_through_symlinks),
        ("isolator_lifecycle_reclaiming_and_recovery", isolator_lifecycle_and_recovery),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| match &skip {
            Some(reason) => {
                let reason = reason.clone();
                Trial::ignorable_test(format!("{name} [skipped: {reason}]"), move || {
                    Ok(libtest_mimic::Completion::ignored_with(reason))
                })
                .with_ignored_flag(true)
            }
            None => Trial::test(name, test),
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}
