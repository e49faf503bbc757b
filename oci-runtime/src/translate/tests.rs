use std::path::Path;

use super::*;

/// The spec `ctr run` generates for a busybox container (containerd 1.6, `ctr oci spec` plus
/// what `ctr run` adds: args, env, cgroupsPath, the default device rules).
const CTR_RUN_SPEC: &str = r#"{
  "ociVersion": "1.0.2-dev",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/etc/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rprivate", "ro"]}
  ],
  "linux": {
    "resources": {
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        {"allow": true, "type": "c", "access": "m"}
      ],
      "memory": {"limit": 67108864},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000},
      "pids": {"limit": 20}
    },
    "cgroupsPath": "/default/c1",
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
    "maskedPaths": ["/proc/kcore", "/proc/acpi", "/proc/nonexistent"],
    "readonlyPaths": ["/proc/sys"]
  }
}"#;

fn host() -> HostView<'static> {
    HostView {
        kind_of: &|path: &str| match path {
            "/proc/acpi" | "/proc/sys" => Some(true),
            "/proc/kcore" => Some(false),
            _ => None,
        },
        cgroup_mounts: &|| {
            vec![
                ("/sys/fs/cgroup/memory".to_owned(), Some(vec!["memory".to_owned()])),
                ("/sys/fs/cgroup/blkio".to_owned(), Some(vec!["blkio".to_owned()])),
            ]
        },
    }
}

fn spec(json: &str) -> Spec {
    serde_json::from_str(json).unwrap()
}

fn ctr_spec() -> serde_json::Value {
    serde_json::from_str(CTR_RUN_SPEC).unwrap()
}

fn plan_of(value: &serde_json::Value) -> Result<Plan, TranslateError> {
    plan("c1", Path::new("/bundles/c1"), &spec(&value.to_string()), &host())
}

#[test]
fn the_ctr_run_spec_is_served_by_the_suite_modules() {
    let plan = plan_of(&ctr_spec()).unwrap();
    assert_eq!(plan.container_id, "c1");
    assert_eq!(plan.cgroups_root, "default");
    assert_eq!(
        plan.isolation,
        [
            module::CPU,
            module::MEM,
            module::PIDS,
            module::DEVICES,
            module::CAPABILITIES,
            module::NNP,
            module::RLIMITS,
            module::PID_NS,
            module::IPC_NS,
            module::UTS_NS,
            module::NET_NS
        ]
    );
    assert_eq!(plan.command.value, "sh");
    assert_eq!(plan.command.arguments, ["sh", "-c", "echo hi"]);
    assert!(!plan.command.shell);
    assert_eq!(plan.command.environment[0].name, "PATH");
    assert_eq!(plan.resources, Resources::new().with("cpus", 0.5));
    assert_eq!(plan.limits, Resources::new().with("cpus", 0.5).with("mem", 64.0).with("pids", 20.0));
    let linux = plan.container_info.linux_info.as_ref().unwrap();
    assert_eq!(linux.effective_capabilities.as_ref().unwrap().capabilities, ["AUDIT_WRITE", "CHOWN", "KILL"]);
    assert_eq!(linux.bounding_capabilities.as_ref().unwrap().capabilities, ["AUDIT_WRITE", "CHOWN", "KILL"]);
    let rlimits = &plan.container_info.rlimit_info.as_ref().unwrap().rlimits;
    assert_eq!(rlimits[0].kind, "RLIMIT_NOFILE");
    assert_eq!((rlimits[0].soft, rlimits[0].hard), (Some(1024), Some(1024)));
    let info = &plan.launch_info;
    assert_eq!(info.rootfs.as_deref(), Some("/bundles/c1/rootfs"));
    assert_eq!(info.working_directory.as_deref(), Some("/"));
    assert_eq!(info.clone_namespaces, [libc::CLONE_NEWNS]);
    assert_eq!(info.user.as_deref(), Some("0:0"));
    assert!(info.supplementary_groups.is_empty());
    assert_eq!(info.read_only_rootfs, None);
    let targets: Vec<&str> = info.mounts.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/run",
            "/etc/data",
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/proc/kcore",
            "/proc/acpi",
            "/proc/sys"
        ]
    );
    let dev = &info.mounts[1];
    assert_eq!(dev.fs_type.as_deref(), Some("tmpfs"));
    assert_eq!(dev.options.as_deref(), Some("mode=755,size=65536k"));
    assert_eq!(dev.flags, flags(libc::MS_NOSUID | libc::MS_STRICTATIME));
    let sys = &info.mounts[5];
    assert_eq!(sys.flags, flags(libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV | libc::MS_RDONLY));
    let data = &info.mounts[7];
    assert_eq!(data.source.as_deref(), Some("/srv/data"));
    assert_eq!(data.fs_type, None);
    assert_eq!(data.flags, flags(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY));
    assert_eq!(info.mounts[14].source.as_deref(), Some("/dev/null"), "a masked file gets /dev/null");
    assert_eq!(info.mounts[15].fs_type.as_deref(), Some("tmpfs"), "a masked directory gets a tmpfs");
    assert_eq!(info.mounts[15].flags, flags(libc::MS_RDONLY));
    assert_eq!(info.mounts[16].source.as_deref(), Some("/bundles/c1/rootfs/proc/sys"));
    assert_eq!(info.mounts[16].flags, flags(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY));
}

#[test]
fn the_hostname_is_the_uts_isolators_parameter_and_needs_its_namespace() {
    let mut value = ctr_spec();
    value["hostname"] = "box".into();
    let plan = plan_of(&value).unwrap();
    assert_eq!(plan.params[module::UTS_NS], [("hostname".to_owned(), "box".to_owned())]);
    value["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
    assert_eq!(plan_of(&value).unwrap_err().field, "hostname");
}

#[test]
fn cgroups_paths_name_the_root_and_the_container() {
    assert_eq!(cgroups_path("x", Some("/default/c1")).unwrap(), ("default".into(), "c1".into()));
    assert_eq!(
        cgroups_path("x", Some("/kubepods/besteffort/pod1/abc")).unwrap(),
        ("kubepods/besteffort/pod1".into(), "abc".into())
    );
    assert_eq!(cgroups_path("x", Some("mine")).unwrap(), ("mine".into(), "x".into()));
    assert_eq!(cgroups_path("x", None).unwrap(), (DEFAULT_CGROUPS_ROOT.into(), "x".into()));
    for bad in ["system.slice:docker:abc", "/a/../b", "/"] {
        assert_eq!(cgroups_path("x", Some(bad)).unwrap_err().field, "linux.cgroupsPath", "{bad}");
    }
}

#[test]
fn namespaces_with_a_path_are_joined_not_created() {
    let mut value = ctr_spec();
    value["linux"]["namespaces"] = serde_json::json!([
        {"type": "pid"}, {"type": "mount"},
        {"type": "ipc", "path": "/proc/7/ns/ipc"}, {"type": "uts", "path": "/proc/7/ns/uts"},
        {"type": "network", "path": "/var/run/netns/pod"}
    ]);
    let plan = plan_of(&value).unwrap();
    let joined: Vec<(&str, &str)> =
        plan.launch_info.join_namespaces.iter().map(|j| (j.kind.as_str(), j.path.as_str())).collect();
    assert_eq!(joined, [("ipc", "/proc/7/ns/ipc"), ("uts", "/proc/7/ns/uts"), ("net", "/var/run/netns/pod")]);
    for module in [module::IPC_NS, module::UTS_NS, module::NET_NS] {
        assert!(!plan.isolation.iter().any(|m| m == module), "{module} would make a new namespace");
    }
    assert!(plan.isolation.iter().any(|m| m == module::PID_NS));

    // A pod's pid namespace (CRI's default): joined, and no pid isolator makes one.
    value["linux"]["namespaces"][0] = serde_json::json!({"type": "pid", "path": "/proc/7/ns/pid"});
    let plan = plan_of(&value).unwrap();
    assert_eq!(plan.launch_info.join_namespaces[0].kind, "pid");
    assert_eq!(plan.launch_info.join_namespaces[0].path, "/proc/7/ns/pid");
    assert!(!plan.isolation.iter().any(|m| m == module::PID_NS));
}

#[test]
fn the_users_uid_gid_and_additional_gids_go_to_the_launch() {
    let mut value = ctr_spec();
    value["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 100, "additionalGids": [10, 20]});
    let plan = plan_of(&value).unwrap();
    assert_eq!(plan.launch_info.user.as_deref(), Some("1000:100"));
    assert_eq!(plan.launch_info.supplementary_groups, [10, 20]);
    // root with another group (CRI's `runAsGroup` without `runAsUser`) is no longer refused.
    value["process"]["user"] = serde_json::json!({"uid": 0, "gid": 65534});
    let plan = plan_of(&value).unwrap();
    assert_eq!(plan.launch_info.user.as_deref(), Some("0:65534"));
    assert!(plan.launch_info.supplementary_groups.is_empty());
}

#[test]
fn a_read_only_root_goes_to_the_launch() {
    let mut value = ctr_spec();
    value["root"] = serde_json::json!({"path": "rootfs", "readonly": true});
    let plan = plan_of(&value).unwrap();
    assert_eq!(plan.launch_info.read_only_rootfs, Some(true));
    assert_eq!(plan.launch_info.rootfs.as_deref(), Some("/bundles/c1/rootfs"));
}

/// Every property that is not implemented is refused by name, never ignored.
#[test]
fn what_is_not_implemented_is_an_error_naming_the_property() {
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("process.apparmorProfile", serde_json::json!({"process": {"apparmorProfile": "docker-default"}})),
        ("process.selinuxLabel", serde_json::json!({"process": {"selinuxLabel": "x"}})),
        ("process.scheduler", serde_json::json!({"process": {"scheduler": {"policy": "SCHED_OTHER"}}})),
        ("process.cwd", serde_json::json!({"process": {"cwd": "relative"}})),
        ("process.env[1]", serde_json::json!({"process": {"env": ["A=1", "broken"]}})),
        ("process.args", serde_json::json!({"process": {"args": []}})),
        (
            "process.capabilities.permitted",
            serde_json::json!({"process": {"capabilities": {"effective": ["CAP_KILL"], "permitted": []}}}),
        ),
        (
            "process.capabilities.ambient",
            serde_json::json!({"process": {"capabilities": {"ambient": ["CAP_CHOWN"]}}}),
        ),
        (
            "process.capabilities.bounding",
            serde_json::json!({"process": {"capabilities": {"bounding": ["KILL"]}}}),
        ),
        ("hooks", serde_json::json!({"hooks": {"prestart": []}})),
        ("domainname", serde_json::json!({"domainname": "example.org"})),
        ("linux.seccomp", serde_json::json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}})),
        ("linux.sysctl", serde_json::json!({"linux": {"sysctl": {"net.ipv4.ip_forward": "1"}}})),
        (
            "linux.devices",
            serde_json::json!({"linux": {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]}}),
        ),
        (
            "linux.uidMappings",
            serde_json::json!({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}),
        ),
        (
            "linux.namespaces[5].type",
            serde_json::json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}, {"type": "user"}]}}),
        ),
        (
            "linux.namespaces[0].path",
            serde_json::json!({"linux": {"namespaces": [{"type": "mount", "path": "/proc/1/ns/mnt"}]}}),
        ),
        ("linux.namespaces", serde_json::json!({"linux": {"namespaces": [{"type": "pid"}]}})),
        ("linux.rootfsPropagation", serde_json::json!({"linux": {"rootfsPropagation": "shared"}})),
        ("linux.cgroupsPath", serde_json::json!({"linux": {"cgroupsPath": "system.slice:cri:abc"}})),
        (
            "linux.resources.blockIO",
            serde_json::json!({"linux": {"resources": {"blockIO": {"weight": 100}}}}),
        ),
        ("linux.resources.cpu.cpus", serde_json::json!({"linux": {"resources": {"cpu": {"cpus": "0"}}}})),
        (
            "linux.resources.devices[0]",
            serde_json::json!({"linux": {"resources": {"devices": [{"allow": true, "access": "rwm"}]}}}),
        ),
        (
            "linux.resources.devices[1]",
            serde_json::json!({"linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "access": "rwm"}]}}}),
        ),
        (
            "mounts[0].options",
            serde_json::json!({"mounts": [{"destination": "/x", "type": "bind", "source": "/y", "options": ["rbind", "rshared"]}]}),
        ),
        (
            "mounts[0].options",
            serde_json::json!({"mounts": [{"destination": "/x", "type": "bind", "source": "/y", "options": ["rbind", "mode=755"]}]}),
        ),
        (
            "mounts[0].source",
            serde_json::json!({"mounts": [{"destination": "/x", "type": "bind", "source": "rel"}]}),
        ),
        ("mounts[0].destination", serde_json::json!({"mounts": [{"destination": "x", "type": "tmpfs"}]})),
        ("linux.maskedPaths[0]", serde_json::json!({"linux": {"maskedPaths": ["proc/kcore"]}})),
    ];
    for (field, patch) in cases {
        let mut value = ctr_spec();
        merge(&mut value, &patch);
        let err = plan_of(&value).unwrap_err();
        assert_eq!(err.field, field, "{patch}: {err}");
        assert!(err.to_string().starts_with(&format!("config.json: {field}: ")), "{err}");
    }
}

/// `patch` merged into `value` (objects key by key, anything else replaced).
fn merge(value: &mut serde_json::Value, patch: &serde_json::Value) {
    match (value, patch) {
        (serde_json::Value::Object(value), serde_json::Value::Object(patch)) => {
            for (key, patch) in patch {
                merge(value.entry(key.clone()).or_insert(serde_json::Value::Null), patch);
            }
        }
        (value, patch) => *value = patch.clone(),
    }
}

/// `MS_*` as launch-info flags (`c_ulong` is u32 on 32-bit targets).
#[allow(clippy::unnecessary_cast)]
fn flags(value: libc::c_ulong) -> u64 {
    value as u64
}

#[test]
fn a_cgroup_mount_shows_the_containers_own_cgroups_read_only() {
    let mut value = ctr_spec();
    value["mounts"] = serde_json::json!([{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["ro", "nosuid", "noexec", "nodev"]}]);
    let plan = plan_of(&value).unwrap();
    let mounts: Vec<(&str, Option<&str>)> =
        plan.launch_info.mounts.iter().take(3).map(|m| (m.target.as_str(), m.source.as_deref())).collect();
    assert_eq!(
        mounts,
        [
            ("/sys/fs/cgroup", Some("tmpfs")),
            ("/sys/fs/cgroup/memory", Some("/sys/fs/cgroup/memory/default/c1")),
            ("/sys/fs/cgroup/blkio", Some("/sys/fs/cgroup/blkio")),
        ]
    );
    assert_eq!(
        plan.launch_info.mounts[1].flags,
        flags(
            libc::MS_BIND
                | libc::MS_REC
                | libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NOEXEC
                | libc::MS_NODEV
        )
    );
}

#[test]
fn device_rules_in_an_update_are_kept_when_cgroups_devices_enforces_them() {
    let rules: Vec<DeviceRule> = serde_json::from_value(serde_json::json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]))
    .unwrap();
    let served = [module::CPU.to_owned(), module::DEVICES.to_owned()];
    assert_eq!(check_devices_update(&rules, &served), Ok(()));
    assert_eq!(check_devices_update(&[], &[]), Ok(()));
    let err = check_devices_update(&rules, &[module::CPU.to_owned()]).unwrap_err();
    assert_eq!(err.field, "resources.devices");
    let outside: Vec<DeviceRule> = serde_json::from_value(serde_json::json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rwm"}
    ]))
    .unwrap();
    assert_eq!(check_devices_update(&outside, &served).unwrap_err().field, "resources.devices[1]");
}
