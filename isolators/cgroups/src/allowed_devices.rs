//! `allowed_devices`: Mesos's `--allowed_devices` agent flag, devices every container may use on
//! top of the default whitelist (`cgroups/devices`). The value is Mesos's `DeviceWhitelist` JSON,
//! inline or `file://<path>`:
//!
//! ```json
//! {"allowed_devices":[{"device":{"path":"/dev/fuse"},"access":{"read":true,"write":true,"mknod":true}}]}
//! ```
//!
//! As Mesos does at the isolator's creation, each path is looked up on the host now: it must be a
//! character or block device, and its kind and numbers make the rule (`c 10:229 rwm`). An access
//! field left out is false; an entry that allows nothing is refused, as is an unknown field.

use cgroupfs::{DeviceAccess, DeviceKind, DeviceRule};
use nix::sys::stat::{SFlag, major, minor, stat};
use serde::Deserialize;

/// Mesos's `DeviceWhitelist`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Whitelist {
    allowed_devices: Vec<Entry>,
}

/// Mesos's `DeviceAccess`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    device: Device,
    #[serde(default)]
    access: Access,
}

/// Mesos's `Device` (by path: the only form its flag takes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Device {
    path: Option<String>,
}

/// Mesos's `DeviceAccess.Access`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Access {
    #[serde(default)]
    read: bool,
    #[serde(default)]
    write: bool,
    #[serde(default)]
    mknod: bool,
}

/// The rules of an `allowed_devices` value (see the module docs); an error is one line.
pub fn parse(value: &str) -> Result<Vec<DeviceRule>, String> {
    let text = match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?,
        None => value.to_owned(),
    };
    let whitelist: Whitelist =
        serde_json::from_str(&text).map_err(|e| format!("invalid DeviceWhitelist JSON: {e}"))?;
    whitelist
        .allowed_devices
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let path = entry.device.path.as_deref().ok_or_else(|| {
                format!("allowed_devices[{i}]: whitelisted device has no device path provided")
            })?;
            rule(path, &entry.access).map_err(|e| format!("allowed_devices[{i}]: device '{path}': {e}"))
        })
        .collect()
}

/// The rule for the device node at `path`.
fn rule(path: &str, access: &Access) -> Result<DeviceRule, String> {
    let mut bits = None;
    for (set, bit) in [
        (access.read, DeviceAccess::READ),
        (access.write, DeviceAccess::WRITE),
        (access.mknod, DeviceAccess::MKNOD),
    ] {
        if set {
            bits = Some(bits.map_or(bit, |b: DeviceAccess| b.with(bit)));
        }
    }
    let bits = bits.ok_or("its access allows none of read, write and mknod")?;
    let node = stat(path).map_err(|e| e.to_string())?;
    let kind = match SFlag::from_bits_truncate(node.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFCHR => DeviceKind::Char,
        SFlag::S_IFBLK => DeviceKind::Block,
        _ => return Err("not a character or block device".to_owned()),
    };
    let (major, minor) = (major(node.st_rdev), minor(node.st_rdev));
    Ok(DeviceRule::new(kind, Some(major as u32), Some(minor as u32), bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_rules() {
        let rules = parse(
            r#"{"allowed_devices":[
                {"device":{"path":"/dev/null"},"access":{"read":true}},
                {"device":{"path":"/dev/zero"},"access":{"read":true,"write":true,"mknod":true}}]}"#,
        )
        .unwrap();
        assert_eq!(rules.iter().map(ToString::to_string).collect::<Vec<_>>(), ["c 1:3 r", "c 1:5 rwm"]);
        assert!(parse(r#"{"allowed_devices":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn files_are_read() {
        let dir = std::env::temp_dir().join(format!("allowed-devices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("devices.json");
        std::fs::write(
            &file,
            r#"{"allowed_devices":[{"device":{"path":"/dev/full"},"access":{"write":true}}]}"#,
        )
        .unwrap();
        let rules = parse(&format!("file://{}", file.display())).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(rules[0].to_string(), "c 1:7 w");
        assert!(
            parse("file:///nonexistent.json").unwrap_err().starts_with("cannot read '/nonexistent.json'")
        );
    }

    #[test]
    fn bad_entries_are_one_line_naming_the_entry() {
        for (json, error) in [
            (
                r#"{"allowed_devices":[{"device":{"path":"/dev/null"}}]}"#,
                "allowed_devices[0]: device '/dev/null': its access allows none of read, write and mknod",
            ),
            (
                r#"{"allowed_devices":[{"device":{},"access":{"read":true}}]}"#,
                "allowed_devices[0]: whitelisted device has no device path provided",
            ),
            (
                r#"{"allowed_devices":[{"device":{"path":"/etc/passwd"},"access":{"read":true}}]}"#,
                "allowed_devices[0]: device '/etc/passwd': not a character or block device",
            ),
            (
                r#"{"allowed_devices":[{"device":{"path":"/dev/nope"},"access":{"read":true}}]}"#,
                "allowed_devices[0]: device '/dev/nope': ENOENT: No such file or directory",
            ),
        ] {
            assert_eq!(parse(json).unwrap_err(), error, "{json}");
        }
        for bad in ["", "{}", r#"{"allowed_devices":[{"device":{"path":"/dev/null"},"acess":{}}]}"#] {
            let err = parse(bad).unwrap_err();
            assert!(err.starts_with("invalid DeviceWhitelist JSON: "), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
