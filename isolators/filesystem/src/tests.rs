//! `filesystem/linux` through its `Isolator` trait: the launch info it gives for a
//! `ContainerConfig` with and without a rootfs and volumes, and what it refuses. No privileges
//! needed (nothing is mounted here; the containerizer's kernel tests run these launch infos).

use std::path::{Path, PathBuf};

use module_abi::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerLaunchInfo, EnvironmentVariable, Isolator, Module,
    Parameter, Volume,
};

use crate::LinuxFilesystemIsolator;

struct World {
    _tmp: tempfile::TempDir,
    sandbox: PathBuf,
    rootfs: PathBuf,
    data: PathBuf,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, rootfs, data) =
        (tmp.path().join("sandbox"), tmp.path().join("rootfs"), tmp.path().join("data"));
    for dir in [&sandbox, &rootfs, &data] {
        std::fs::create_dir(dir).unwrap();
    }
    World { _tmp: tmp, sandbox, rootfs, data }
}

fn config(w: &World, rootfs: Option<&Path>, volumes: Vec<Volume>) -> ContainerConfig {
    ContainerConfig {
        directory: w.sandbox.display().to_string(),
        rootfs: rootfs.map(|r| r.display().to_string()),
        container_info: Some(ContainerInfo { volumes, ..Default::default() }),
        ..Default::default()
    }
}

fn prepare(isolator: &LinuxFilesystemIsolator, config: &ContainerConfig) -> ContainerLaunchInfo {
    isolator.prepare(&ContainerId::new("c1"), config).unwrap().unwrap()
}

fn env(info: &ContainerLaunchInfo, name: &str) -> Option<String> {
    info.environment.iter().find(|v| v.name == name).map(|v| v.value.clone())
}

fn volume(container_path: &str, host_path: &Path, mode: &str) -> Volume {
    Volume {
        mode: Some(mode.to_owned()),
        container_path: container_path.to_owned(),
        host_path: Some(host_path.display().to_string()),
    }
}

// `MS_*` are `c_ulong`, `u32` on 32-bit targets: the casts are not no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
#[test]
fn with_a_rootfs_the_container_gets_its_root_and_the_sandbox_in_it() {
    let w = world();
    let isolator = LinuxFilesystemIsolator::create(vec![]).unwrap();
    let info = prepare(&isolator, &config(&w, Some(&w.rootfs), vec![volume("/data", &w.data, "RO")]));
    assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWNS]);
    assert_eq!(info.rootfs.as_deref(), Some(w.rootfs.to_str().unwrap()));
    assert_eq!(info.working_directory.as_deref(), Some("/mnt/mesos/sandbox"));
    assert_eq!(env(&info, "MESOS_SANDBOX").as_deref(), Some("/mnt/mesos/sandbox"));
    let targets: Vec<&str> = info.mounts.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(targets.first(), Some(&"/proc"));
    assert!(targets.contains(&"/sys") && targets.contains(&"/dev/null") && targets.contains(&"/dev/pts"));
    let sandbox = info.mounts.iter().position(|m| m.target == "/mnt/mesos/sandbox").unwrap();
    assert_eq!(info.mounts[sandbox].source.as_deref(), Some(w.sandbox.to_str().unwrap()));
    let last = info.mounts.last().unwrap();
    assert_eq!(last.target, "/data", "volumes come last, at their container paths");
    assert_eq!(last.flags, (libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY) as u64);
    assert!(!w.rootfs.join("data").exists(), "the isolator never writes into the rootfs");
}

// `MS_*` are `c_ulong`, `u32` on 32-bit targets: the casts are not no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
#[test]
fn without_a_rootfs_a_mount_namespace_volumes_and_the_sandbox_path() {
    let w = world();
    let isolator = LinuxFilesystemIsolator::create(vec![]).unwrap();
    let info = prepare(&isolator, &config(&w, None, vec![volume("vol", &w.data, "RW")]));
    assert_eq!(info.clone_namespaces, vec![libc::CLONE_NEWNS]);
    assert_eq!(info.rootfs, None);
    assert_eq!(info.working_directory, None, "the containerizer's default, the sandbox");
    assert_eq!(
        info.environment,
        vec![EnvironmentVariable { name: "MESOS_SANDBOX".into(), value: w.sandbox.display().to_string() }]
    );
    assert_eq!(info.mounts.len(), 1);
    assert_eq!(info.mounts[0].target, w.sandbox.join("vol").display().to_string());
    assert_eq!(info.mounts[0].flags, (libc::MS_BIND | libc::MS_REC) as u64);
    assert!(w.sandbox.join("vol").is_dir());
}

#[test]
fn the_sandbox_directory_parameter() {
    let w = world();
    let p = |v: &str| vec![Parameter { key: "sandbox_directory".into(), value: v.into() }];
    let isolator = LinuxFilesystemIsolator::create(p("/sandbox/")).unwrap();
    assert_eq!(isolator.sandbox_directory(), "/sandbox");
    let info = prepare(&isolator, &config(&w, Some(&w.rootfs), vec![volume("rel", &w.data, "RW")]));
    assert_eq!(env(&info, "MESOS_SANDBOX").as_deref(), Some("/sandbox"));
    assert_eq!(info.mounts.last().unwrap().target, "/sandbox/rel");
    for bad in ["relative", "/", "/a/../b"] {
        let err = LinuxFilesystemIsolator::create(p(bad)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "filesystem/linux: invalid value '{bad}' for parameter 'sandbox_directory'"
            )),
            "{err}"
        );
    }
    let err = LinuxFilesystemIsolator::create(vec![Parameter { key: "rootfs".into(), value: "/".into() }])
        .unwrap_err();
    assert_eq!(
        err.message(),
        "filesystem/linux: unknown parameter 'rootfs' (known parameters: sandbox_directory)"
    );
}

#[test]
fn a_rootfs_must_be_a_directory() {
    let w = world();
    let isolator = LinuxFilesystemIsolator::create(vec![]).unwrap();
    let id = ContainerId::new("c1");
    let file = w.data.join("file");
    std::fs::write(&file, "").unwrap();
    let err = isolator.prepare(&id, &config(&w, Some(&file), vec![])).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("filesystem/linux: container 'c1': the rootfs '{}' is not a directory", file.display())
    );
    let err = isolator.prepare(&id, &config(&w, Some(Path::new("/nonexistent/rootfs")), vec![])).unwrap_err();
    assert!(err.message().contains("the rootfs '/nonexistent/rootfs' cannot be used: "), "{err}");
    let err = isolator.prepare(&id, &config(&w, Some(Path::new("rel")), vec![])).unwrap_err();
    assert!(err.message().ends_with("the rootfs 'rel' is not an absolute path"), "{err}");
    // None of the refusals took the container in.
    prepare(&isolator, &config(&w, Some(&w.rootfs), vec![]));
}

#[test]
fn refusals_name_the_isolator_and_the_container() {
    let w = world();
    let isolator = LinuxFilesystemIsolator::create(vec![]).unwrap();
    let id = ContainerId::new("c1");
    let missing = volume("/data", Path::new("/nonexistent/data"), "RW");
    let err = isolator.prepare(&id, &config(&w, Some(&w.rootfs), vec![missing])).unwrap_err();
    assert_eq!(
        err.message(),
        "filesystem/linux: container 'c1': Path '/nonexistent/data' in HOST_PATH volume does not exist"
    );
    let mut docker = config(&w, None, vec![]);
    docker.container_info.as_mut().unwrap().kind = Some("DOCKER".into());
    let err = isolator.prepare(&id, &docker).unwrap_err();
    assert!(err.message().contains("Only support MESOS containers"), "{err}");
    let mut relative = config(&w, None, vec![]);
    relative.directory = "sandbox".into();
    assert!(isolator.prepare(&id, &relative).unwrap_err().message().ends_with("is not an absolute path"));

    prepare(&isolator, &config(&w, None, vec![]));
    let err = isolator.prepare(&id, &config(&w, None, vec![])).unwrap_err();
    assert_eq!(err.message(), "filesystem/linux: container 'c1': Container has already been prepared");
    isolator.cleanup(&id).unwrap();
    isolator.cleanup(&ContainerId::new("never-prepared")).unwrap();
    assert!(!isolator.prepared_contains(&id));
}

impl LinuxFilesystemIsolator {
    fn prepared_contains(&self, id: &ContainerId) -> bool {
        self.prepared.contains(id)
    }
}
