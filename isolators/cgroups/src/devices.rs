//! `cgroups/devices`: Mesos's default device whitelist for every container
//! ([`cgroupfs::DEFAULT_WHITELIST`], from `subsystems/devices.cpp` and
//! `cgroups2/controllers/devices.cpp`): `mknod` of any character or block device, and read, write
//! and `mknod` of the console, ttys, ptys, `/dev/net/tun`, null, zero, full, random and urandom.
//! Every other device, a loop device or `/dev/mem` say, cannot be opened (`EPERM`), even by root
//! in the container and even through a node it made itself.
//!
//! The whitelist is set once, at `prepare`, before any process is in the cgroup, and kept across
//! `update` and `recover`:
//! - v1: the container's cgroup in the `devices` hierarchy; `devices.deny` of `a`, then one
//!   `devices.allow` line per entry, as Mesos.
//! - v2: there is no devices controller. An eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program allowing
//!   exactly the whitelist is loaded and attached to the container's cgroup (the one the
//!   containerizer and the other cgroups isolators share) with `BPF_F_ALLOW_MULTI`, as runc, crun,
//!   youki and Mesos's cgroups2 isolator do. The kernel frees it with the cgroup, so `cleanup`
//!   only removes the cgroup. The instructions and the `bpf(2)` calls are cgroupfs's
//!   ([`cgroupfs::ebpf`]), written there rather than taken from a crate (its docs say why).
//!
//! Mesos's `--allowed_devices` (parameter `allowed_devices`, [`crate::allowed_devices`]) adds
//! rules after the default whitelist, the same way on v1 and v2.

use cgroupfs::{Cgroup, CgroupManager, CgroupMode, Controller, DEFAULT_WHITELIST, DeviceRule, Hierarchies};
use module_abi::{ResourceStatistics, Resources};

use crate::error::Result;
use crate::isolator::{CgroupsIsolator, Ctx, Subsystem};
use crate::params::Config;

/// The module type of `org_apache_mesos_CgroupsDevicesIsolator`.
pub type CgroupsDevicesIsolator = CgroupsIsolator<DevicesSubsystem>;

/// The devices part of the cgroups isolator.
#[derive(Debug)]
pub struct DevicesSubsystem {
    /// The default whitelist, then the operator's `allowed_devices`.
    whitelist: Vec<DeviceRule>,
}

impl Subsystem for DevicesSubsystem {
    const NAME: &'static str = "cgroups/devices";
    type State = ();

    /// v1's `devices` hierarchy; on v2 no controller is enabled (the filter is a program).
    fn controllers(_mode: CgroupMode) -> &'static [Controller] {
        &[Controller::Devices]
    }

    fn new(config: &Config, _hierarchies: &Hierarchies) -> Result<Self> {
        let mut whitelist = DEFAULT_WHITELIST.to_vec();
        whitelist.extend(config.allowed_devices.iter().copied());
        Ok(DevicesSubsystem { whitelist })
    }

    fn prepare(&self, ctx: Ctx<'_>, cgroup: &Cgroup) -> Result<()> {
        cgroup.update_devices(&self.whitelist).map_err(ctx.cgroup("set the device whitelist"))
    }

    /// Resources do not change which devices a container may use.
    fn update(&self, _: Ctx<'_>, _: &Cgroup, _: &Resources, _: &Resources) -> Result<()> {
        Ok(())
    }

    fn start(&self, _ctx: Ctx<'_>, _cgroup: &Cgroup) -> Result<()> {
        Ok(())
    }

    fn usage(&self, _: Ctx<'_>, _: &Cgroup, _: &Resources, _: &Resources) -> Result<ResourceStatistics> {
        Ok(ResourceStatistics::default())
    }
}

#[cfg(test)]
mod tests {
    use cgroupfs::testing::{self as fake, FakeCgroupfs};
    use module_abi::{ContainerConfig, ContainerId, ContainerState, Isolator};

    use super::*;

    #[test]
    fn v1_whitelist_at_prepare_only() {
        let fake = FakeCgroupfs::v1();
        let isolator = CgroupsDevicesIsolator::new(Config::default(), fake.hierarchies.clone()).unwrap();
        let dir = fake.dir(Controller::Devices, "mesos", "c1");
        // A fake v1 `prepare` makes a bare directory (the kernel would add the control files):
        // the first write fails, naming the file, and the failed prepare leaves nothing.
        let id = ContainerId::new("c1");
        let err = isolator.prepare(&id, &ContainerConfig::default()).unwrap_err().to_string();
        assert!(
            err.starts_with("cgroups/devices: failed to set the device whitelist for container 'c1'"),
            "{err}"
        );
        assert!(err.contains("devices.deny"), "{err}");
        assert!(!dir.exists(), "a failed prepare left {}", dir.display());
        isolator.cleanup(&id).unwrap();

        // Recovered, the whitelist is left as the kernel has it; update and usage touch nothing.
        fake.populate_pids_devices("mesos", "c1");
        let state =
            ContainerState { container_id: id.clone(), pid: 1, directory: "/tmp".into(), config: None };
        isolator.recover(vec![state], vec![]).unwrap();
        isolator.update(&id, &Resources::parse("cpus:1").unwrap(), &Resources::new()).unwrap();
        assert_eq!(fake::read(dir.join("devices.deny")), "");
        assert_eq!(fake::read(dir.join("devices.allow")), "");
        let usage = isolator.usage(&id).unwrap();
        assert_eq!(usage, ResourceStatistics { timestamp: usage.timestamp, ..Default::default() });
        // The kernel empties a cgroup directory of its files at rmdir; the fake's go first.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        isolator.cleanup(&id).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn v2_needs_no_controller() {
        let fake = FakeCgroupfs::v2("", "");
        assert!(CgroupsDevicesIsolator::new(Config::default(), fake.hierarchies.clone()).is_ok());
    }
}
