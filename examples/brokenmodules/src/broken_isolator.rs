//! `org_apache_mesos_TestBrokenIsolator`: an isolator that misbehaves at one lifecycle step, for
//! the engine's handling of a faulty module (a failed or panicking step fails its container and
//! nothing else; cleanup still runs for every isolator). Its parameters choose the fault:
//! `fail_at` is one of `prepare`, `isolate`, `watch`, `usage`, `update`, `cleanup`, `recover`
//! (without it, nothing fails); `mode` is `error` (the default), `panic`, `stall` (the step
//! sleeps for `stall`, a Mesos duration, default `60secs`, then succeeds: a window in which a test
//! can kill the harness mid-lifecycle, or a call past the harness's deadline), `huge` (an error
//! message of [`HUGE_BYTES`]) or `malformed` (the step answers success with bytes that are not
//! JSON; its kind table wraps every slot for that, since a Rust module's results are always
//! encoded). `container` limits the fault to one container id (every mode but `malformed`, which
//! does not read requests). Every other step succeeds and does nothing. Any other key or value
//! fails creation ([`module_params`]).

use std::ffi::c_void;
use std::fmt;
use std::os::fd::RawFd;
use std::time::Duration;

use module_abi::{
    ABI_VERSION, BUILT_AGAINST, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, Isolator,
    IsolatorTable, Kind, MODULE_MAGIC, Module, ModuleDescriptor, Output, Parameters, ResourceStatistics,
    Resources, Result, STATUS_OK, bail,
};
use module_params::Params;

/// The lifecycle step at which the isolator misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Prepare,
    Isolate,
    Watch,
    Usage,
    Update,
    Cleanup,
    Recover,
}

impl Step {
    /// Every step with its `fail_at` name, in lifecycle order.
    const BY_NAME: [(&'static str, Step); 7] = [
        ("prepare", Step::Prepare),
        ("isolate", Step::Isolate),
        ("watch", Step::Watch),
        ("usage", Step::Usage),
        ("update", Step::Update),
        ("cleanup", Step::Cleanup),
        ("recover", Step::Recover),
    ];

    fn name(self) -> &'static str {
        Step::BY_NAME.iter().find(|(_, step)| *step == self).map_or("?", |(name, _)| name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the isolator misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The step returns an error.
    Error,
    /// The step panics (module-abi turns the panic into an error).
    Panic,
    /// The step sleeps this long, then succeeds.
    Stall(Duration),
    /// The step fails with a message of [`HUGE_BYTES`].
    Huge,
    /// The step answers success with bytes that are not JSON (see the kind table below).
    Malformed,
}

/// The length of the `huge` mode's error message: more than a host should hold for one answer.
pub const HUGE_BYTES: usize = 17 << 20;

pub struct TestBrokenIsolator {
    fail_at: Option<Step>,
    mode: Mode,
    /// Misbehave only for this container.
    container: Option<String>,
}

impl TestBrokenIsolator {
    /// Misbehaves if `step` is the chosen one (for `container`, when one is chosen).
    fn step(&self, step: Step, container: Option<&ContainerId>) -> Result<()> {
        let chosen = match (&self.container, container) {
            (Some(only), Some(id)) => *only == id.value,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if self.fail_at == Some(step) && chosen {
            match self.mode {
                Mode::Error => bail!("TestBrokenIsolator: deliberate error in {step}"),
                Mode::Panic => panic!("TestBrokenIsolator: deliberate panic in {step}"),
                Mode::Stall(duration) => std::thread::sleep(duration),
                Mode::Huge => bail!("TestBrokenIsolator: huge error in {step}: {}", "x".repeat(HUGE_BYTES)),
                // Answered by the wrapped slot before the trait method is reached.
                Mode::Malformed => {}
            }
        }
        Ok(())
    }
}

/// The module's name in its errors, and its parameters.
const NAME: &str = "TestBrokenIsolator";
const FAIL_AT: &str = "fail_at";
const MODE: &str = "mode";
const STALL: &str = "stall";
const CONTAINER: &str = "container";

/// The `mode` words; `stall` takes its duration from the `stall` parameter.
#[derive(Debug, Clone, Copy)]
enum ModeName {
    Error,
    Panic,
    Stall,
    Huge,
    Malformed,
}

impl Module for TestBrokenIsolator {
    fn create(parameters: Parameters) -> Result<Self> {
        let params = Params::new(NAME, &parameters, &[FAIL_AT, MODE, STALL, CONTAINER])?;
        let fail_at = params.choice(FAIL_AT, &Step::BY_NAME)?;
        let modes = &[
            ("error", ModeName::Error),
            ("panic", ModeName::Panic),
            ("stall", ModeName::Stall),
            ("huge", ModeName::Huge),
            ("malformed", ModeName::Malformed),
        ];
        let mode = match params.choice(MODE, modes)?.unwrap_or(ModeName::Error) {
            ModeName::Error => Mode::Error,
            ModeName::Panic => Mode::Panic,
            ModeName::Stall => Mode::Stall(params.duration(STALL)?.unwrap_or(Duration::from_secs(60))),
            ModeName::Huge => Mode::Huge,
            ModeName::Malformed => Mode::Malformed,
        };
        let container = params.get(CONTAINER).map(str::to_owned);
        Ok(TestBrokenIsolator { fail_at, mode, container })
    }
}

impl Isolator for TestBrokenIsolator {
    fn recover(&self, _states: Vec<ContainerState>, _orphans: Vec<ContainerId>) -> Result<()> {
        self.step(Step::Recover, None)
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        self.step(Step::Prepare, Some(container_id))?;
        Ok(None)
    }

    fn isolate(&self, container_id: &ContainerId, _pid: i32) -> Result<()> {
        self.step(Step::Isolate, Some(container_id))
    }

    fn watch(&self, container_id: &ContainerId) -> Result<Option<RawFd>> {
        self.step(Step::Watch, Some(container_id))?;
        Ok(None)
    }

    fn update(&self, container_id: &ContainerId, _: &Resources, _: &Resources) -> Result<()> {
        self.step(Step::Update, Some(container_id))
    }

    fn usage(&self, container_id: &ContainerId) -> Result<ResourceStatistics> {
        self.step(Step::Usage, Some(container_id))?;
        // One byte of disk, so a test sees which containers this module answered for.
        Ok(ResourceStatistics { disk_used_bytes: Some(1), ..Default::default() })
    }

    fn cleanup(&self, container_id: &ContainerId) -> Result<()> {
        self.step(Step::Cleanup, Some(container_id))
    }
}

/// The table every slot of which goes through `TestBrokenIsolator`'s trait methods.
static BASE: IsolatorTable = IsolatorTable::of::<TestBrokenIsolator>();

/// Slots that answer `{"not": json` for `mode=malformed` at their step, else call [`BASE`]'s.
macro_rules! wrapped_slots {
    ($($slot:ident => $step:expr),* $(,)?) => {
        mod wrapped {
            use super::*;
            $(
                /// # Safety
                /// The `CallFn` contract, with an instance made by `create::<TestBrokenIsolator>`.
                pub(super) unsafe extern "C" fn $slot(
                    instance: *mut c_void,
                    request: *const u8,
                    len: usize,
                    output: *const Output,
                ) -> i32 {
                    // SAFETY: the host calls with the instance `create::<TestBrokenIsolator>` made,
                    // live for the call.
                    let this = unsafe { &*instance.cast::<TestBrokenIsolator>() };
                    if this.fail_at == Some($step) && this.mode == Mode::Malformed {
                        // SAFETY: `output` is null or live for the call (the CallFn contract).
                        unsafe { Output::write(output, b"{\"not\": json") };
                        return STATUS_OK;
                    }
                    match BASE.$slot {
                        // SAFETY: the same call, with the same arguments, to the trait's own slot.
                        Some(slot) => unsafe { slot(instance, request, len, output) },
                        None => STATUS_OK,
                    }
                }
            )*
        }
        static TABLE: IsolatorTable =
            IsolatorTable { $($slot: Some(wrapped::$slot),)* ..IsolatorTable::of::<TestBrokenIsolator>() };
    };
}

wrapped_slots! {
    recover => Step::Recover,
    prepare => Step::Prepare,
    isolate => Step::Isolate,
    watch => Step::Watch,
    update => Step::Update,
    usage => Step::Usage,
    cleanup => Step::Cleanup,
}

/// What `declare_module!` would export, with [`TABLE`] for its kind table.
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestBrokenIsolator: ModuleDescriptor = ModuleDescriptor {
    magic: MODULE_MAGIC,
    size: std::mem::size_of::<ModuleDescriptor>() as u32,
    abi_version: ABI_VERSION,
    kind: Kind::Isolator.c_name().as_ptr(),
    built_against: BUILT_AGAINST.as_ptr(),
    author_name: c"Apache Mesos".as_ptr(),
    author_email: c"modules@mesos.apache.org".as_ptr(),
    description: c"An isolator that misbehaves at the step its parameters choose.".as_ptr(),
    compatible: None,
    create: Some(module_abi::module::create::<TestBrokenIsolator>),
    destroy: Some(module_abi::module::destroy::<TestBrokenIsolator>),
    table: (&TABLE as *const IsolatorTable).cast(),
    required_features: 0,
};

#[cfg(test)]
mod tests {
    use super::*;
    use module_abi::Parameter;

    fn broken(params: &[(&str, &str)]) -> Result<TestBrokenIsolator> {
        TestBrokenIsolator::create(
            params
                .iter()
                .map(|(key, value)| Parameter { key: key.to_string(), value: value.to_string() })
                .collect(),
        )
    }

    /// Runs every step; the name of each one that failed, with its error.
    fn run_all(isolator: &TestBrokenIsolator) -> Vec<(Step, String)> {
        let id = ContainerId::new("c");
        let resources = Resources::default();
        let results: Vec<(Step, Result<()>)> = vec![
            (Step::Recover, isolator.recover(Vec::new(), Vec::new())),
            (Step::Prepare, isolator.prepare(&id, &ContainerConfig::default()).map(drop)),
            (Step::Isolate, isolator.isolate(&id, 1)),
            (Step::Watch, isolator.watch(&id).map(drop)),
            (Step::Update, isolator.update(&id, &resources, &resources)),
            (Step::Usage, isolator.usage(&id).map(drop)),
            (Step::Cleanup, isolator.cleanup(&id)),
        ];
        results.into_iter().filter_map(|(step, r)| r.err().map(|e| (step, e.to_string()))).collect()
    }

    #[test]
    fn without_fail_at_everything_succeeds() {
        assert!(run_all(&broken(&[]).unwrap()).is_empty());
    }

    #[test]
    fn fails_exactly_at_the_chosen_step() {
        for (_, step) in Step::BY_NAME {
            let isolator = broken(&[("fail_at", step.name())]).unwrap();
            assert_eq!(
                run_all(&isolator),
                vec![(step, format!("TestBrokenIsolator: deliberate error in {step}"))]
            );
        }
    }

    #[test]
    fn panics_at_the_chosen_step() {
        let isolator = broken(&[("fail_at", "usage"), ("mode", "panic")]).unwrap();
        let panic = std::panic::catch_unwind(|| isolator.usage(&ContainerId::new("c"))).err().unwrap();
        assert_eq!(panic.downcast_ref::<String>().unwrap(), "TestBrokenIsolator: deliberate panic in usage");
        assert!(isolator.cleanup(&ContainerId::new("c")).is_ok());
    }

    #[test]
    fn rejects_unknown_parameters_values() {
        let err = broken(&[("fail_at", "launch")]).err().unwrap();
        assert_eq!(
            err.message(),
            "TestBrokenIsolator: invalid value 'launch' for parameter 'fail_at': expected one of \
             prepare, isolate, watch, usage, update, cleanup, recover"
        );
        let err = broken(&[("fail_at", "usage"), ("mode", "abort")]).err().unwrap();
        assert!(err.message().contains("invalid value 'abort' for parameter 'mode'"), "{err}");
        let err = broken(&[("mode", "stall"), ("stall", "60")]).err().unwrap();
        assert!(err.message().contains("invalid value '60' for parameter 'stall'"), "{err}");
        let err = broken(&[("stall_secs", "60")]).err().unwrap();
        assert!(err.message().starts_with("TestBrokenIsolator: unknown parameter 'stall_secs'"), "{err}");
    }

    #[test]
    fn stall_takes_a_mesos_duration() {
        let isolator = broken(&[("fail_at", "prepare"), ("mode", "stall"), ("stall", "0.5secs")]).unwrap();
        assert_eq!(isolator.mode, Mode::Stall(Duration::from_millis(500)));
        assert_eq!(broken(&[("mode", "stall")]).unwrap().mode, Mode::Stall(Duration::from_secs(60)));
    }
}
