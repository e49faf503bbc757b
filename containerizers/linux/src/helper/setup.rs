//! Applying the launch info inside the new namespaces, before the command runs: mount propagation,
//! mounts, hostname. Every step was validated on the host ([`crate::spec::validate`]); what fails
//! here is the kernel saying no, reported with the step that failed. (The command's own process
//! attributes, rlimits included, are `process`'s, applied in the command's process.)

use module_abi::{ContainerMountInfo, LaunchRequest};
use nix::mount::{MsFlags, mount};

use crate::spec;

/// Applies the launch info to this process (and so to the command it will run).
pub fn apply(request: &LaunchRequest) -> Result<(), String> {
    let info = &request.launch_info;
    let flags = spec::clone_flags(info)?;
    if spec::has(flags, libc::CLONE_NEWNS) {
        // A new mount namespace starts as a copy whose mounts still share propagation with the
        // host's (systemd makes `/` shared): without this, the mounts below would appear on the
        // host. Slave keeps host mounts flowing in, never out (Mesos does the same).
        mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
            .map_err(|e| format!("failed to make the mounts of '/' slave recursively: {e}"))?;
    }
    for m in &info.mounts {
        mount_one(m)?;
    }
    if let Some(hostname) = &info.hostname {
        nix::unistd::sethostname(hostname)
            .map_err(|e| format!("failed to set the hostname '{hostname}': {e}"))?;
    }
    Ok(())
}

fn mount_one(m: &ContainerMountInfo) -> Result<(), String> {
    let flags = MsFlags::from_bits_retain(m.flags as libc::c_ulong);
    if let Err(e) = std::fs::create_dir_all(&m.target) {
        // A bind mount of a file needs a file as its target; anything else needs a directory.
        if !std::path::Path::new(&m.target).exists() {
            return Err(format!("failed to create the mount target {}: {e}", m.target));
        }
    }
    mount(m.source.as_deref(), m.target.as_str(), m.fs_type.as_deref(), flags, m.options.as_deref()).map_err(
        |e| {
            format!(
                "failed to mount {} ({}) at {}: {e}",
                m.source.as_deref().unwrap_or("none"),
                m.fs_type.as_deref().unwrap_or("no type"),
                m.target
            )
        },
    )
}
