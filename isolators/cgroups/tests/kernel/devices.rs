//! `cgroups/devices` on the kernel: Mesos's whitelist in effect for a process in the container
//! (null and urandom open, a loop device and `/dev/mem` do not, even through nodes it made), kept
//! across a restart, and gone with the cgroup.
//!
//! A v1 host runs the v1 path (the `devices` hierarchy). The v2 path, the eBPF filter, needs only
//! a cgroup2 directory, so on a hybrid host it also runs on the cgroup2 mount beside the v1
//! hierarchies (`v2_on_unified_mount::`); the full v2 setup, at `/sys/fs/cgroup` and shared with
//! the containerizer, is listed as skipped there and runs in the v2 guests.

use std::path::Path;
use std::time::Duration;

use cgroupfs::{
    Cgroup, CgroupManager, CgroupMode, CgroupMounts, Controller, DEFAULT_WHITELIST, Hierarchies, ScratchRoot,
};
use cgroups_isolator::CgroupsDevicesIsolator;
use libtest_mimic::Trial;
use module_abi::{ContainerId, ContainerState, Isolator, Module};

use crate::check;
use crate::common::{Kid, TestFn, TestResult, config, eventually, module_parameters, skip_reason, trial};

const DEVICES: &[Controller] = &[Controller::Devices];

pub fn trials(mounts: &CgroupMounts, hierarchies: &Hierarchies, version: &str) -> Vec<Trial> {
    let tests: [(&str, TestFn); 2] = [
        ("devices_default_whitelist", default_whitelist),
        ("devices_kept_across_recover", kept_across_recover),
    ];
    let unified = mounts.v2.iter().find(|m| m.as_path() != Path::new(cgroupfs::mounts::DEFAULT_HIERARCHY));
    let mut trials = Vec::new();
    for (name, test) in tests {
        trials.push(trial(
            format!("{version}::{name}"),
            skip_reason(hierarchies, DEVICES),
            hierarchies.clone(),
            test,
        ));
        if hierarchies.mode() == CgroupMode::V2 {
            continue;
        }
        let reason = "cgroup v2 path at /sys/fs/cgroup: this host is cgroup v1 (runs in the v2 guests)";
        trials.push(trial(format!("v2::{name}"), Some(reason.to_owned()), hierarchies.clone(), test));
        let (skip, on_unified) = match unified {
            Some(root) => (skip_reason(hierarchies, &[]), Hierarchies::V2 { root: root.clone() }),
            None => (Some("no cgroup2 mount beside the v1 hierarchies".to_owned()), hierarchies.clone()),
        };
        trials.push(trial(format!("v2_on_unified_mount::{name}"), skip, on_unified, test));
    }
    trials
}

fn isolator(
    hierarchies: &Hierarchies,
    root: &ScratchRoot,
) -> Result<CgroupsDevicesIsolator, libtest_mimic::Failed> {
    Ok(CgroupsDevicesIsolator::create(module_parameters(hierarchies, root, &[]))?)
}

/// What the kernel holds for the container: v1 `devices.list` is the whitelist; v2 has one
/// device program attached, whose id is returned.
fn expect_whitelist(cgroup: &Cgroup) -> Result<Option<u32>, libtest_mimic::Failed> {
    match cgroup {
        Cgroup::V1(v1) => {
            let list = v1.device_list()?;
            check!(list == DEFAULT_WHITELIST, "devices.list {list:?}");
            Ok(None)
        }
        Cgroup::V2(v2) => {
            let programs = v2.device_programs()?;
            check!(programs.len() == 1, "device programs attached: {programs:?}");
            Ok(programs.first().copied())
        }
    }
}

fn default_whitelist(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let devices = isolator(hierarchies, root)?;
    let id = ContainerId::new("dev");
    devices.prepare(&id, &config("cpus:1", ""))?;
    let cgroup = devices.cgroup(&id)?;
    let program = expect_whitelist(&cgroup)?;

    // The check (`mknod /tmp/x b 7 0`, then `dd if=/tmp/x` fails), in a temp dir, with
    // the error text of EPERM; /dev/mem (c 1:1) likewise; null and urandom work.
    let dir = tempfile::tempdir()?;
    let d = dir.path().display();
    let denied = "2>&1 | grep -q 'Operation not permitted'";
    let mut kid = Kid::spawn(&format!(
        "exec > {d}/out 2>&1; echo x > /dev/null && echo null; head -c 4 /dev/urandom > /dev/null && echo urandom; \
         mknod {d}/loop b 7 0 && echo mknod; dd if={d}/loop of=/dev/null count=1 {denied} && echo loop-denied; \
         mknod {d}/mem c 1 1 && head -c 1 {d}/mem {denied} && echo mem-denied"
    ))?;
    devices.isolate(&id, kid.pid())?;
    kid.release()?;
    let status = kid.wait(Duration::from_secs(10))?;
    let out = std::fs::read_to_string(dir.path().join("out"))?;
    check!(out == "null\nurandom\nmknod\nloop-denied\nmem-denied\n", "{status}, output {out:?}");
    // Outside the container the same node is not refused by a device cgroup.
    let outside = std::fs::File::open(dir.path().join("loop")).err().and_then(|e| e.raw_os_error());
    check!(outside != Some(nix::libc::EPERM), "the loop node is refused outside the container too");

    let dirs = cgroup.dirs();
    devices.cleanup(&id)?;
    let left: Vec<_> = dirs.iter().filter(|d| d.exists()).collect();
    check!(left.is_empty(), "cleanup left {left:?}");
    if let Some(program) = program {
        eventually(Duration::from_secs(10), "the device filter to be freed with the cgroup", || {
            Ok((!cgroupfs::ebpf::program_loaded(program)).then_some(()))
        })?;
    }
    Ok(())
}

fn kept_across_recover(hierarchies: &Hierarchies, root: &ScratchRoot) -> TestResult {
    let devices = isolator(hierarchies, root)?;
    let id = ContainerId::new("kept");
    let spec = config("cpus:1", "");
    devices.prepare(&id, &spec)?;
    let kid = Kid::spawn("sleep 60")?;
    devices.isolate(&id, kid.pid())?;
    let before = expect_whitelist(&devices.cgroup(&id)?)?;
    // A restart: a new instance that knows nothing until recover, which must not rewrite it.
    drop(devices);
    let devices = isolator(hierarchies, root)?;
    let state = ContainerState {
        container_id: id.clone(),
        pid: kid.pid(),
        directory: "/tmp".into(),
        config: Some(spec),
    };
    devices.recover(vec![state], vec![])?;
    check!(expect_whitelist(&devices.cgroup(&id)?)? == before, "the whitelist changed at recover");
    drop(kid);
    devices.cleanup(&id)?;
    check!(!devices.cgroup(&id)?.exists(), "cleanup left the cgroup");
    Ok(())
}
