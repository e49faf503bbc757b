//! `agent-harness test`: the module test kit Mesos's docs promised (`mesos-tests.sh
//! --isolation=...`) but never shipped. A module author points the harness at their library and
//! gets a verdict: a suite of lifecycle [`cases`] driven through the real engine, with the suite's
//! own containerizer unless another is named, each case checking that its containers left nothing
//! behind ([`leaks`]).
//!
//! A case's failure is report text (a `String` that becomes its `FAILED` line); what stops the kit
//! from running any case at all is a [`KitError`].

pub mod cases;
pub mod isolator_cases;
pub mod leaks;
pub mod report;

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use module_abi::{ContainerId, Parameter, Resources};
use thiserror::Error;

use crate::engine::modules::{
    DEFAULT_CONTAINERIZER, ModulesError, load_with_suite, resolved_manifest, suite_dir, suite_library_file,
};
use crate::engine::{ContainerSpec, Ending, Engine, Launched, ModuleInstances, ModuleSet, Outcome};
use crate::manifest::{LibraryEntry, Manifest, ManifestSource, ModuleEntry, SourcedManifest};
use crate::module_manager::ModuleManager;
use cases::{CASES, Case, Needs, supervise_briefly};
use isolator_cases::{ISOLATOR_CASES, SECCOMP_PROFILE, SECCOMP_PROFILE_JSON, SKIP};
use report::{Format, Reporter, Summary, Verdict};

/// What stops the kit before its first case.
#[derive(Debug, Error)]
pub enum KitError {
    #[error("--isolation names no isolator to test")]
    NoIsolation,
    #[error("cannot create '{}': {source}", path.display())]
    WorkDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Modules(#[from] ModulesError),
    #[error("cannot start the event loop: {0}")]
    EventLoop(#[source] std::io::Error),
}

/// What to test.
#[derive(Debug, Clone)]
pub struct KitOptions {
    pub manifests: Vec<SourcedManifest>,
    /// `--isolation`, parsed; resolved once the modules are loaded.
    pub isolation: crate::engine::isolation::Isolation,
    /// The agent flags given, as the suite's modules' parameters (over the kit's own).
    pub agent: crate::engine::isolation::AgentParams,
    pub containerizer: Option<String>,
    pub filter: Option<String>,
    pub format: Format,
    /// How module library paths are checked.
    pub policy: crate::trust::PathPolicy,
}

/// The state shared by the cases of one run.
pub struct Ctx {
    pub manager: ModuleManager,
    pub set: ModuleSet,
    pub work_dir: PathBuf,
    pub runtime: tokio::runtime::Runtime,
    /// The kit's own `seccomp_config_dir`, when it gave linux/seccomp one (the user gave none).
    pub seccomp_dir: Option<PathBuf>,
    engine: OnceCell<Result<Engine, String>>,
    handles: OnceCell<Result<BTreeSet<&'static str>, String>>,
    ids: RefCell<BTreeSet<String>>,
    live: RefCell<BTreeMap<String, ContainerId>>,
    counter: Cell<usize>,
}

impl Ctx {
    /// The engine of the case run (created by the first case that needs it).
    pub fn engine(&self) -> Result<&Engine, String> {
        self.engine
            .get_or_init(|| {
                let instances =
                    ModuleInstances::create(&self.manager, self.set.clone()).map_err(|e| e.to_string())?;
                Ok(Engine::new(instances, &self.work_dir.join("engine")))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A fresh container id, remembered for the leak checks.
    pub fn new_id(&self) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let id = format!("kit-{}-{n}", std::process::id());
        self.ids.borrow_mut().insert(id.clone());
        id
    }

    /// Every container id used so far.
    pub fn ids(&self) -> BTreeSet<String> {
        self.ids.borrow().clone()
    }

    pub fn spec(&self, command: module_abi::CommandInfo, resources: &str, limits: &str) -> ContainerSpec {
        ContainerSpec {
            container_id: ContainerId::new(self.new_id()),
            command,
            resources: Resources::parse(resources).unwrap_or_default(),
            limits: Resources::parse(limits).unwrap_or_default(),
            attach_output: false,
            container_info: None,
            rootfs: None,
            user: None,
            launch_info: None,
            inherit_stdio: false,
            release_fifo: None,
        }
    }

    /// Launches on the shared engine; the container is swept if the case fails before finishing it.
    pub fn launch(&self, spec: &ContainerSpec) -> Result<Launched, String> {
        let engine = self.engine()?;
        let launched = self.runtime.block_on(async { engine.launch(spec) }).map_err(|e| e.to_string())?;
        self.live.borrow_mut().insert(spec.container_id.value.clone(), spec.container_id.clone());
        Ok(launched)
    }

    /// Destroys and cleans up; teardown errors fail the case.
    pub fn finish(&self, launched: Launched, ending: Ending) -> Result<Outcome, String> {
        let engine = self.engine()?;
        self.live.borrow_mut().remove(&launched.container_id.value);
        let ids: BTreeSet<String> = [launched.container_id.value.clone()].into();
        let outcome = engine.finish(launched, ending);
        if !outcome.errors.is_empty() {
            return Err(outcome.errors.join("; "));
        }
        let found = leaks::leftovers(&ids, &self.work_dir);
        if !found.is_empty() {
            return Err(format!("left behind after cleanup: {}", found.join(", ")));
        }
        Ok(outcome)
    }

    /// Runs a container until its command ends, then finishes it.
    pub fn run_to_end(&self, spec: &ContainerSpec) -> Result<Outcome, String> {
        let engine = self.engine()?;
        let launched = self.launch(spec)?;
        let ending = self.runtime.block_on(supervise_briefly(engine, &launched));
        if let Ending::Failed(e) = &ending {
            let e = e.clone();
            self.finish(launched, Ending::Stopped(libc::SIGKILL))?;
            return Err(e);
        }
        self.finish(launched, ending)
    }

    /// Runs `body` while a container runs, then destroys and finishes it.
    pub fn with_running(
        &self,
        spec: &ContainerSpec,
        body: impl FnOnce(&Launched) -> Result<(), String>,
    ) -> Result<(), String> {
        let launched = self.launch(spec)?;
        let result = body(&launched);
        let finished = self.finish(launched, Ending::Stopped(libc::SIGKILL));
        result.and(finished.map(drop))
    }

    /// Destroys and cleans up whatever a failed case left running.
    fn sweep(&self) {
        let live: Vec<ContainerId> = std::mem::take(&mut *self.live.borrow_mut()).into_values().collect();
        if let Ok(engine) = self.engine() {
            for id in live {
                engine.discard(&id);
            }
        }
    }

    /// Which resources the isolators handle: those they report a limit for in `usage`.
    fn handles(&self, needs: Needs) -> Result<bool, String> {
        match needs {
            Needs::Nothing => return Ok(true),
            Needs::Isolator(module) => return Ok(self.set.isolation.iter().any(|m| m == module)),
            Needs::Cpus | Needs::Mem | Needs::Disk => {}
        }
        let handled = self
            .handles
            .get_or_init(|| {
                let spec = self.spec(cases_probe(), "cpus:0.25;mem:64;disk:64", "cpus:0.5;mem:64;disk:64");
                let mut handled = BTreeSet::new();
                self.with_running(&spec, |launched| {
                    let usage = self.engine()?.usage(&launched.container_id);
                    for (name, present) in [
                        ("cpus", usage.cpus_limit.is_some()),
                        ("mem", usage.mem_limit_bytes.is_some()),
                        ("disk", usage.disk_limit_bytes.is_some()),
                    ] {
                        if present {
                            handled.insert(name);
                        }
                    }
                    Ok(())
                })?;
                Ok(handled)
            })
            .as_ref()
            .map_err(Clone::clone)?;
        Ok(match needs {
            Needs::Nothing | Needs::Isolator(_) => unreachable!("answered above"),
            Needs::Cpus => handled.contains("cpus"),
            Needs::Mem => handled.contains("mem"),
            Needs::Disk => handled.contains("disk"),
        })
    }
}

/// Every case in the order they run: the lifecycle cases, the built-in isolators' cases, then the
/// last lifecycle case (nothing left on the machine), which checks them all.
fn all_cases() -> impl Iterator<Item = &'static Case> {
    let (last, lifecycle) = CASES.split_last().expect("the kit has cases");
    lifecycle.iter().chain(ISOLATOR_CASES).chain(std::iter::once(last))
}

/// With linux/seccomp under test and no `--seccomp_config_dir` given, the kit's own directory
/// with its one profile ([`SECCOMP_PROFILE`]); `None` otherwise.
fn kit_seccomp_dir(
    options: &mut KitOptions,
    work_dir: &std::path::Path,
) -> Result<Option<PathBuf>, KitError> {
    let module = "org_apache_mesos_LinuxSeccompIsolator";
    let tested = options.isolation.items.iter().any(|i| i == "linux/seccomp" || i == module);
    if !tested || options.agent.values.contains_key("seccomp_config_dir") {
        return Ok(None);
    }
    let dir = work_dir.join("seccomp");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(SECCOMP_PROFILE), SECCOMP_PROFILE_JSON))
        .map_err(|source| KitError::WorkDir { path: dir.clone(), source })?;
    options.agent.values.insert("seccomp_config_dir".to_owned(), dir.display().to_string());
    Ok(Some(dir))
}

fn cases_probe() -> module_abi::CommandInfo {
    module_abi::CommandInfo {
        value: "/bin/sh".into(),
        arguments: vec!["sh".into(), "-c".into(), "sleep 30".into()],
        ..Default::default()
    }
}

/// The cgroups root of the kit's own containerizer.
fn kit_cgroups_root() -> String {
    format!("agent-harness-test-{}", std::process::id())
}

/// The suite's modules that use a cgroups root, given the kit's own, so the kit's containers never
/// mix with an agent's. On cgroup v2 a process is in exactly one cgroup, so the containerizer and
/// the cgroups isolators must share the root (each container has one cgroup). Modules the user's
/// manifests load are left to them.
fn kit_suite_modules(work_dir: &std::path::Path, user_loaded: &[String]) -> Option<SourcedManifest> {
    let dir = suite_dir()?;
    let parameter = |key: &str, value: String| Parameter { key: key.into(), value };
    let entry = |name: &str, mut parameters: Vec<Parameter>| {
        parameters.insert(0, parameter("cgroups_root", kit_cgroups_root()));
        ModuleEntry { name: Some(name.to_string()), parameters }
    };
    let runtime_dir = parameter("runtime_dir", work_dir.join("runtime").display().to_string());
    let modules: Vec<ModuleEntry> = [
        entry(DEFAULT_CONTAINERIZER, vec![runtime_dir]),
        entry("org_apache_mesos_CgroupsCpuIsolator", Vec::new()),
        entry("org_apache_mesos_CgroupsMemIsolator", Vec::new()),
        entry("org_apache_mesos_CgroupsPidsIsolator", Vec::new()),
        entry("org_apache_mesos_CgroupsDevicesIsolator", Vec::new()),
    ]
    .into_iter()
    .filter(|m| !m.name.as_ref().is_some_and(|n| user_loaded.contains(n)))
    .collect();
    let file = dir.join(suite_library_file());
    let libraries = if modules.is_empty() || !file.exists() {
        Vec::new()
    } else {
        vec![LibraryEntry { file: Some(file.display().to_string()), name: None, modules }]
    };
    Some(SourcedManifest { source: ManifestSource::Inline, manifest: Manifest { libraries } })
}

/// The agent flags the kit's suite modules get: the given ones, over the kit's own defaults. The
/// disk isolators enforce quotas and check every 100ms unless told otherwise (Mesos's defaults,
/// accounting only every 15s, would leave the `disk:1` case nothing to see), and disk/xfs checks
/// the kit's own work dir (under `$TMPDIR`).
fn kit_agent_params(
    given: &crate::engine::isolation::AgentParams,
    work_dir: &std::path::Path,
) -> crate::engine::isolation::AgentParams {
    let mut agent = given.clone();
    agent.set_work_dir(&work_dir.join("engine"));
    for (flag, value) in
        [("enforce_container_disk_quota", "true"), ("container_disk_watch_interval", "100ms")]
    {
        agent.values.entry(flag.to_string()).or_insert_with(|| value.to_string());
    }
    agent
}

/// Runs the kit; the summary says whether any case failed.
pub fn run(options: KitOptions) -> Result<Summary, KitError> {
    let work_dir = std::env::temp_dir().join(format!("agent-harness-test-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)
        .map_err(|source| KitError::WorkDir { path: work_dir.clone(), source })?;
    let result = run_in(options, work_dir.clone());
    let _ = std::fs::remove_dir_all(&work_dir);
    // The containerizer leaves its (empty) cgroups root, as Mesos's launcher does; the kit's is its
    // own, so it goes too. A root that is not empty stays: the last case has reported it.
    if let Ok(hierarchies) = cgroupfs::detect() {
        let _ = hierarchies.remove_root(&kit_cgroups_root());
    }
    result
}

fn run_in(mut options: KitOptions, work_dir: PathBuf) -> Result<Summary, KitError> {
    if options.isolation.items.is_empty() {
        return Err(KitError::NoIsolation);
    }
    let seccomp_dir = kit_seccomp_dir(&mut options, &work_dir)?;
    let containerizer = options.containerizer.clone().unwrap_or_else(|| DEFAULT_CONTAINERIZER.to_string());
    let mut manifests = options.manifests.clone();
    let user_loaded: Vec<String> = manifests
        .iter()
        .flat_map(|m| {
            m.manifest.libraries.iter().flat_map(|l| l.modules.iter().filter_map(|e| e.name.clone()))
        })
        .collect();
    let agent = kit_agent_params(&options.agent, &work_dir);
    manifests.extend(
        kit_suite_modules(&work_dir, &user_loaded)
            .map(|kit| crate::engine::modules::with_agent_params(kit, &agent)),
    );
    let manager = load_with_suite(&manifests, options.policy, &agent, None)?;
    let isolation = crate::engine::modules::resolve_isolation(&manager, &options.isolation, &agent)?;
    let set = ModuleSet {
        manifest: resolved_manifest(&manager).to_json(),
        isolation,
        containerizer,
        allow_writable_modules: options.policy == crate::trust::PathPolicy::AllowWritable,
    };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(KitError::EventLoop)?;
    let ctx = Ctx {
        manager,
        set,
        work_dir,
        runtime,
        seccomp_dir,
        engine: OnceCell::new(),
        handles: OnceCell::new(),
        ids: RefCell::new(BTreeSet::new()),
        live: RefCell::new(BTreeMap::new()),
        counter: Cell::new(0),
    };
    let selected: Vec<_> = all_cases()
        .filter(|case| options.filter.as_deref().is_none_or(|pattern| case.name.contains(pattern)))
        .collect();
    let mut reporter = Reporter::new(options.format, selected.len());
    for case in selected {
        let verdict = match ctx.handles(case.needs) {
            Err(e) => Verdict::Failed(format!("cannot tell which resources the isolators handle: {e}")),
            Ok(false) => Verdict::Skipped(match case.needs {
                Needs::Isolator(module) => format!(
                    "{} is not in --isolation",
                    crate::engine::isolation::builtin_name(module).unwrap_or(module)
                ),
                needs => format!("no isolator reports a limit for {needs:?} in usage"),
            }),
            Ok(true) => match (case.run)(&ctx) {
                Ok(()) => Verdict::Passed,
                Err(e) => match e.strip_prefix(SKIP) {
                    Some(reason) => Verdict::Skipped(reason.to_owned()),
                    None => Verdict::Failed(e),
                },
            },
        };
        ctx.sweep();
        tracing::info!(case = case.name, verdict = ?verdict, "kit case done");
        reporter.case(case.name, &verdict);
    }
    Ok(reporter.finish())
}
