//! One test's private world: its own cgroups root, work dir, runtime dir and module manifest, so
//! tests run in parallel (threads of one binary, or nextest's processes) without seeing each
//! other, and a test's end can check that it left nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::artifacts::Artifacts;
use crate::host::Host;
use crate::{TestResult, clean};

/// `org_apache_mesos_TestBrokenIsolator`'s parameters: the step it misbehaves at (`prepare`,
/// `isolate`, `watch`, `usage`, `update`, `cleanup`, `recover`), how (`error`, `panic`, `stall`,
/// `huge`, `malformed`), how long a stall lasts (a Mesos duration such as `60secs`), and the one
/// container it misbehaves for (all, without it).
#[derive(Debug, Clone)]
pub struct Broken {
    pub fail_at: String,
    pub mode: String,
    pub stall: Option<String>,
    pub container: Option<String>,
}

impl Broken {
    pub fn new(fail_at: &str, mode: &str) -> Broken {
        Broken { fail_at: fail_at.to_owned(), mode: mode.to_owned(), stall: None, container: None }
    }
}

/// What a sandbox's manifest adds to the suite's modules.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Load `brokenmodules`' TestBrokenIsolator with these parameters.
    pub broken: Option<Broken>,
    /// `cgroups_enable_cfs=true` for the cgroups isolators.
    pub enable_cfs: bool,
    /// The UTS isolator's `hostname` parameter.
    pub hostname: Option<String>,
    /// The capabilities isolator's `effective_capabilities` and `bounding_capabilities`.
    pub effective_capabilities: Option<String>,
    pub bounding_capabilities: Option<String>,
    /// The seccomp isolator's default profile (its JSON text), written to
    /// [`Sandbox::seccomp_dir`] as `default.json`.
    pub seccomp_profile: Option<String>,
    /// Parameters of both disk isolators (`enforce_container_disk_quota`, ...); disk/xfs also
    /// gets the sandbox's work dir as `work_dir`.
    pub disk: Vec<(String, String)>,
    /// More parameters, `(module, key, value)`, added to that module's manifest entry.
    pub parameters: Vec<(&'static str, &'static str, String)>,
}

/// A test's cgroups root (`it-<pid>-<n>`), work dir, runtime dir and manifest, all under one
/// temp dir. [`Sandbox::assert_clean`] checks and removes; `Drop` cleans up after a failed test.
#[derive(Debug)]
pub struct Sandbox {
    /// The cgroups root, for the cgroups isolators and the containerizer.
    pub name: String,
    pub base: PathBuf,
    pub work_dir: PathBuf,
    pub runtime_dir: PathBuf,
    /// The module manifest file (`--modules=file://...`).
    pub manifest: PathBuf,
    pub host: Host,
    pub artifacts: Artifacts,
    pub options: SandboxOptions,
}

impl Sandbox {
    /// A sandbox loading the suite's modules with their default behaviour.
    pub fn new() -> TestResult<Sandbox> {
        Sandbox::with(SandboxOptions::default())
    }

    /// A sandbox whose manifest also carries `options`.
    pub fn with(options: SandboxOptions) -> TestResult<Sandbox> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("it-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let base = std::env::temp_dir().join(&name);
        let sandbox = Sandbox {
            work_dir: base.join("work"),
            runtime_dir: base.join("runtime"),
            manifest: base.join("modules.json"),
            base,
            name,
            host: Host::detect(),
            artifacts: Artifacts::locate()?,
            options,
        }
        .init()?;
        Ok(sandbox)
    }

    fn init(self) -> TestResult<Sandbox> {
        if self.base.exists() {
            std::fs::remove_dir_all(&self.base)?;
        }
        std::fs::create_dir_all(&self.work_dir)?;
        std::fs::create_dir_all(self.markers())?;
        std::fs::create_dir_all(self.seccomp_dir())?;
        if let Some(profile) = &self.options.seccomp_profile {
            std::fs::write(self.seccomp_dir().join("default.json"), profile)?;
        }
        std::fs::write(&self.manifest, serde_json::to_vec_pretty(&self.manifest_json())?)?;
        Ok(self)
    }

    /// The manifest: every suite module with this sandbox's cgroups root and runtime dir, plus the
    /// broken isolator when asked.
    pub fn manifest_json(&self) -> Value {
        let p = |key: &str, value: &str| json!({"key": key, "value": value});
        let mut cgroups = vec![p("cgroups_root", &self.name)];
        if self.options.enable_cfs {
            cgroups.push(p("cgroups_enable_cfs", "true"));
        }
        let uts = match &self.options.hostname {
            Some(hostname) => vec![p("hostname", hostname)],
            None => vec![],
        };
        let file = |name: &str| self.artifacts.library(name).display().to_string();
        let mut capabilities = vec![];
        let options = &self.options;
        capabilities.extend(options.effective_capabilities.as_ref().map(|v| p("effective_capabilities", v)));
        capabilities.extend(options.bounding_capabilities.as_ref().map(|v| p("bounding_capabilities", v)));
        let mut seccomp = vec![p("seccomp_config_dir", &self.seccomp_dir().display().to_string())];
        if options.seccomp_profile.is_some() {
            seccomp.push(p("seccomp_profile_name", "default.json"));
        }
        let mut libraries = vec![
            json!({"file": file("cgroups_isolator"), "modules": [
                {"name": crate::isolators::CPU, "parameters": cgroups},
                {"name": crate::isolators::MEM, "parameters": cgroups},
                {"name": crate::isolators::PIDS, "parameters": cgroups},
                {"name": crate::isolators::DEVICES, "parameters": cgroups},
            ]}),
            json!({"file": file("posix_isolator"), "modules": [
                {"name": crate::isolators::POSIX_CPU},
                {"name": crate::isolators::POSIX_MEM},
            ]}),
            json!({"file": file("namespaces_isolator"), "modules": [
                {"name": crate::isolators::PID},
                {"name": crate::isolators::IPC},
                {"name": crate::isolators::UTS, "parameters": uts},
                {"name": crate::isolators::NET},
            ]}),
            json!({"file": file("filesystem_isolator"), "modules": [
                {"name": crate::isolators::FS_LINUX},
                {"name": crate::isolators::FS_POSIX},
            ]}),
            json!({"file": file("linux_isolators"), "modules": [
                {"name": crate::isolators::CAPABILITIES, "parameters": capabilities},
                {"name": crate::isolators::NNP},
                {"name": crate::isolators::RLIMITS},
                {"name": crate::isolators::SECCOMP, "parameters": seccomp},
            ]}),
            json!({"file": file("linux_containerizer"), "modules": [
                {"name": "org_apache_mesos_LinuxContainerizer", "parameters": [
                    p("launcher_dir", &self.artifacts.dir.display().to_string()),
                    p("runtime_dir", &self.runtime_dir.display().to_string()),
                    p("cgroups_root", &self.name),
                ]},
            ]}),
        ];
        let disk: Vec<Value> = options.disk.iter().map(|(k, v)| p(k, v)).collect();
        let mut xfs = disk.clone();
        xfs.push(p("work_dir", &self.work_dir.display().to_string()));
        libraries.push(json!({"file": file("disk_isolator"), "modules": [
            {"name": crate::isolators::DISK_DU, "parameters": disk},
            {"name": crate::isolators::DISK_XFS, "parameters": xfs},
        ]}));
        if let Some(broken) = &self.options.broken {
            let mut parameters = vec![p("fail_at", &broken.fail_at), p("mode", &broken.mode)];
            if let Some(stall) = &broken.stall {
                parameters.push(p("stall", stall));
            }
            if let Some(container) = &broken.container {
                parameters.push(p("container", container));
            }
            libraries.push(json!({"file": file("brokenmodules"), "modules": [
                {"name": crate::isolators::BROKEN, "parameters": parameters},
            ]}));
        }
        for library in &mut libraries {
            for module in library["modules"].as_array_mut().into_iter().flatten() {
                for (name, key, value) in &self.options.parameters {
                    if module["name"] == *name {
                        let entry = p(key, value);
                        match module["parameters"].as_array_mut() {
                            Some(list) => list.push(entry),
                            None => module["parameters"] = json!([entry]),
                        }
                    }
                }
            }
        }
        json!({ "libraries": libraries })
    }

    /// `--modules=file://<manifest>`.
    pub fn modules_flag(&self) -> String {
        format!("--modules=file://{}", self.manifest.display())
    }

    /// The seccomp isolator's `seccomp_config_dir`.
    pub fn seccomp_dir(&self) -> PathBuf {
        self.base.join("seccomp")
    }

    /// A directory outside any sandbox where container commands leave marker files (the
    /// containers share the host's file system).
    pub fn markers(&self) -> PathBuf {
        self.base.join("markers")
    }

    /// A container's sandbox: `<work_dir>/sandboxes/<id>`.
    pub fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.work_dir.join("sandboxes").join(id)
    }

    /// A container's checkpoint: `<work_dir>/meta/containers/<id>.json`.
    pub fn checkpoint(&self, id: &str) -> PathBuf {
        self.work_dir.join("meta").join("containers").join(format!("{id}.json"))
    }

    /// A file of a container's cgroup (see [`Host::cgroup_file`]).
    pub fn cgroup_file(&self, id: &str, controller: &str, file: &str) -> PathBuf {
        self.host.cgroup_file(&self.name, id, controller, file)
    }

    /// The trimmed content of a container's cgroup file.
    pub fn read_cgroup(&self, id: &str, controller: &str, file: &str) -> TestResult<String> {
        let path = self.cgroup_file(id, controller, file);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("read {}: {e}", path.display()).into())
    }

    /// The directories of this sandbox's cgroups root in every hierarchy.
    pub fn root_dirs(&self) -> Vec<PathBuf> {
        self.host.cgroup_mounts().into_iter().map(|m| m.join(&self.name)).collect()
    }

    /// The end of every test: nothing of this sandbox is left (the cgroup file systems, `/proc`, the mount table, the work and runtime dirs), then the
    /// cgroups root directories are removed.
    pub fn assert_clean(&self) -> TestResult {
        clean::assert_clean(self)
    }

    /// Whether `path` is at or under this sandbox's temp dir.
    pub fn owns(&self, path: &Path) -> bool {
        path.starts_with(&self.base)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        clean::best_effort(self);
    }
}

impl Sandbox {
    /// The pid in a container's checkpoint, once the containerizer has cloned its first process.
    pub fn checkpoint_pid(&self, id: &str) -> Option<i32> {
        let bytes = std::fs::read(self.checkpoint(id)).ok()?;
        agent_harness::engine::Checkpoint::parse(&bytes).ok()?.pid
    }
}
