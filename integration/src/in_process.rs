//! The harness's engine in the test process, for tests that look inside a running container
//! (`usage`, `update`, the cgroup files while the command runs). It loads the sandbox's manifest
//! exactly as `agent-harness run` does, without the built-in defaults.

use std::time::{Duration, Instant};

use agent_harness::engine::{ContainerSpec, Ending, Engine, Launched, ModuleInstances, ModuleSet, Outcome};
use agent_harness::{ManifestSource, ModuleManager, SourcedManifest};
use module_abi::{CommandInfo, ContainerId, ResourceStatistics, Resources};

use crate::TestResult;
use crate::sandbox::Sandbox;

/// How long a test waits for a running container to show what it waits for.
pub const USAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// A container running `sh -c <script>` with Mesos-text resources and limits.
pub fn container_spec(id: &str, script: &str, resources: &str, limits: &str) -> TestResult<ContainerSpec> {
    Ok(ContainerSpec {
        container_id: ContainerId::new(id),
        command: CommandInfo {
            shell: false,
            value: "sh".to_owned(),
            arguments: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
            environment: Vec::new(),
        },
        resources: Resources::parse(resources).map_err(|e| e.to_string())?,
        limits: Resources::parse(limits).map_err(|e| e.to_string())?,
        attach_output: false,
        container_info: None,
        rootfs: None,
        launch_info: None,
        inherit_stdio: false,
        release_fifo: None,
    })
}

/// Polls `engine.usage` until `done` holds; fails, with the last statistics, past
/// `USAGE_TIMEOUT` (120 s).
pub fn usage_until(
    engine: &Engine,
    id: &ContainerId,
    what: &str,
    done: impl Fn(&ResourceStatistics) -> bool,
) -> TestResult<ResourceStatistics> {
    let deadline = Instant::now() + USAGE_TIMEOUT;
    loop {
        let usage = engine.usage(id);
        if done(&usage) {
            return Ok(usage);
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: not seen within {USAGE_TIMEOUT:?}; last usage {usage:?}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Sandbox {
    /// An engine over this sandbox's modules with `isolation` and the Linux containerizer.
    pub fn engine(&self, isolation: &[&str]) -> TestResult<Engine> {
        let manifest = agent_harness::manifest::parse(&self.manifest_json().to_string())?;
        let mut manager = ModuleManager::new();
        manager
            .load(&SourcedManifest { source: ManifestSource::File(self.manifest.clone()), manifest })
            .map_err(|e| e.to_string())?;
        let set = ModuleSet {
            manifest: agent_harness::engine::modules::resolved_manifest(&manager).to_json(),
            isolation: isolation.iter().map(|s| s.to_string()).collect(),
            containerizer: agent_harness::engine::DEFAULT_CONTAINERIZER.to_owned(),
            allow_writable_modules: false,
        };
        let instances = ModuleInstances::create(&manager, set)?;
        Ok(Engine::new(instances, &self.work_dir))
    }

    /// Launches `spec` with `isolation` in an in-process engine, hands the running container to
    /// `inspect`, then kills it and tears it down through the engine whatever `inspect` returned.
    /// A teardown error fails the test.
    pub fn in_container<T>(
        &self,
        isolation: &[&str],
        spec: &ContainerSpec,
        inspect: impl FnOnce(&Engine, &Launched) -> TestResult<T>,
    ) -> TestResult<(T, Outcome)> {
        let engine = self.engine(isolation)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // The engine registers the containers' descriptors with the runtime's reactor.
        let _context = runtime.enter();
        let launched = engine.launch(spec)?;
        let inspected = inspect(&engine, &launched);
        let outcome = engine.finish(launched, Ending::Stopped(libc::SIGKILL));
        let value = inspected?;
        crate::ensure!(outcome.errors.is_empty(), "teardown errors: {:?}", outcome.errors);
        Ok((value, outcome))
    }
}
