//! `features`: what this runtime implements, in runc's `features` JSON (OCI runtime-spec's
//! "features" document), so an engine can tell before it asks.

use serde_json::{Value, json};

/// The document.
pub fn features() -> Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.1.0",
        "hooks": [],
        "mountOptions": [
            "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "mand", "noatime",
            "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid",
            "private", "rbind", "relatime", "ro", "rprivate", "rslave", "rw", "slave",
            "strictatime", "suid", "sync"
        ],
        "linux": {
            "namespaces": ["mount", "pid", "ipc", "uts", "network"],
            "capabilities": caps_names(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        },
        "annotations": {
            "org.opencontainers.runc.version": "isolation-runc",
            "io.github.isolation-suite.version": env!("CARGO_PKG_VERSION")
        }
    })
}

/// The capabilities by their `CAP_` names: the same list `--container_info` checks names against.
fn caps_names() -> Vec<String> {
    agent_harness::cli::container_info::CAPABILITIES.iter().map(|n| format!("CAP_{n}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_capability_is_listed_by_its_cap_name_in_kernel_order() {
        let document = super::features();
        let caps = document["linux"]["capabilities"].as_array().unwrap();
        assert_eq!(caps.len(), 41, "the kernel's capabilities 0..=40");
        assert_eq!(caps[0], "CAP_CHOWN");
        assert_eq!(caps[21], "CAP_SYS_ADMIN");
        assert_eq!(caps[40], "CAP_CHECKPOINT_RESTORE");
    }
}
