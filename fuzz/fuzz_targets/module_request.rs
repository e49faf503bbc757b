//! The module side of every call, the way a module sees a request: arbitrary bytes handed to each
//! slot of an isolator's and a containerizer's table, to `create` (parameters) and to `compatible`
//! (host info). The call returns `STATUS_OK` with JSON or `STATUS_ERROR` with a message; it never
//! panics, aborts or reports a caught panic ("module panicked"). Through `guard::json_call` with
//! an echoing body, a request that decodes comes back equal, and one that does not is refused as
//! "malformed request".
#![no_main]

use std::ffi::c_void;
use std::os::fd::RawFd;

use libfuzzer_sys::fuzz_target;
use module_abi::{
    CallFn, ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerState, ContainerTermination,
    Containerizer, ContainerizerTable, Isolator, IsolatorTable, LaunchRequest, Module, Output, Parameters,
    Result, STATUS_ERROR, STATUS_OK, guard, module,
};

/// A module that uses what it is given, as a real one would, and always succeeds.
struct FuzzModule;

impl Module for FuzzModule {
    fn create(parameters: Parameters) -> Result<Self> {
        let _ = module_abi::parameter(&parameters, "key");
        Ok(FuzzModule)
    }
}

impl Isolator for FuzzModule {
    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let _ = (container_id.to_string(), config.resources.cpus(), config.limits.mem_mb());
        Ok(Some(ContainerLaunchInfo {
            environment: config.command.environment.clone(),
            working_directory: Some(config.directory.clone()),
            hostname: config.user.clone(),
            ..Default::default()
        }))
    }
}

impl Containerizer for FuzzModule {
    fn recover(&self, states: Vec<ContainerState>) -> Result<Vec<ContainerId>> {
        Ok(states.into_iter().map(|s| s.container_id).collect())
    }
    fn launch(&self, request: &LaunchRequest) -> Result<i32> {
        Ok(request.container_config.command.arguments.len().min(i32::MAX as usize) as i32)
    }
    fn exec(&self, _container_id: &ContainerId) -> Result<()> {
        Ok(())
    }
    fn watch(&self, _container_id: &ContainerId) -> Result<Option<RawFd>> {
        Ok(None)
    }
    fn wait(&self, _container_id: &ContainerId) -> Result<Option<ContainerTermination>> {
        Ok(Some(ContainerTermination { exit_code: Some(0), signal: None }))
    }
    fn destroy(&self, _container_id: &ContainerId) -> Result<()> {
        Ok(())
    }
}

const ISOLATOR: IsolatorTable = IsolatorTable::of::<FuzzModule>();
const CONTAINERIZER: ContainerizerTable = ContainerizerTable::of::<FuzzModule>();

/// The request as the host passes it: a null pointer for no bytes.
fn request(data: &[u8]) -> (*const u8, usize) {
    if data.is_empty() { (std::ptr::null(), 0) } else { (data.as_ptr(), data.len()) }
}

/// Checks one call's outcome: OK with JSON, or an error that is not a caught panic.
fn check(what: &str, status: i32, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    match status {
        STATUS_OK => {
            serde_json::from_slice::<serde_json::Value>(out)
                .unwrap_or_else(|e| panic!("{what}: OK with output that is not JSON ({e}): {text}"));
        }
        STATUS_ERROR => {
            assert!(!text.starts_with("module panicked"), "{what}: {text}");
            assert!(!text.is_empty(), "{what}: an error without a message");
        }
        other => panic!("{what}: status {other}"),
    }
}

fn call_slot(what: &str, slot: Option<CallFn>, instance: *mut c_void, data: &[u8]) {
    let slot = slot.unwrap_or_else(|| panic!("{what}: an empty slot"));
    let mut out = Vec::new();
    let output = Output::collector(&mut out);
    let (ptr, len) = request(data);
    // SAFETY: `instance` points to a live FuzzModule, the request to `len` readable bytes, and the
    // output is a live collector: the CallFn contract.
    let status = unsafe { slot(instance, ptr, len, &output) };
    check(what, status, &out);
}

fuzz_target!(|data: &[u8]| {
    let (ptr, len) = request(data);

    // create(): the parameters of a manifest entry.
    let mut instance: *mut c_void = std::ptr::null_mut();
    let mut out = Vec::new();
    let output = Output::collector(&mut out);
    // SAFETY: the CreateFn contract: readable request, a writable instance slot, a live output.
    let status = unsafe { module::create::<FuzzModule>(ptr, len, &mut instance, &output) };
    if status == STATUS_OK {
        assert!(!instance.is_null(), "create() succeeded without an instance");
        // SAFETY: made by create::<FuzzModule> just above, destroyed once.
        unsafe { module::destroy::<FuzzModule>(instance) };
    } else {
        check("create", status, &out);
        assert!(String::from_utf8_lossy(&out).starts_with("malformed request"));
    }

    // compatible(): the host's HostInfo.
    let mut out = Vec::new();
    let output = Output::collector(&mut out);
    // SAFETY: readable request, live output.
    let status = unsafe { module::compatible(ptr, len, &output, |host| host.module_abi().is_some()) };
    check("compatible", status, &out);

    // Every slot of both tables, on a live instance.
    let mut module = FuzzModule;
    let instance = (&mut module as *mut FuzzModule).cast::<c_void>();
    let slots = [
        ("isolator.recover", ISOLATOR.recover),
        ("isolator.prepare", ISOLATOR.prepare),
        ("isolator.isolate", ISOLATOR.isolate),
        ("isolator.watch", ISOLATOR.watch),
        ("isolator.limitation", ISOLATOR.limitation),
        ("isolator.update", ISOLATOR.update),
        ("isolator.usage", ISOLATOR.usage),
        ("isolator.status", ISOLATOR.status),
        ("isolator.cleanup", ISOLATOR.cleanup),
        ("isolator.supports_nesting", ISOLATOR.supports_nesting),
        ("isolator.supports_standalone", ISOLATOR.supports_standalone),
        ("containerizer.recover", CONTAINERIZER.recover),
        ("containerizer.launch", CONTAINERIZER.launch),
        ("containerizer.exec", CONTAINERIZER.exec),
        ("containerizer.watch", CONTAINERIZER.watch),
        ("containerizer.wait", CONTAINERIZER.wait),
        ("containerizer.destroy", CONTAINERIZER.destroy),
        ("containerizer.status", CONTAINERIZER.status),
    ];
    for (what, slot) in slots {
        call_slot(what, slot, instance, data);
    }

    // json_call with an echoing body, for every request a module decodes (the messages target
    // round-trips every message type; this is the module's path to them).
    macro_rules! echo {
        ($t:ty) => {
            let mut out = Vec::new();
            let output = Output::collector(&mut out);
            // SAFETY: readable request, live output.
            let status = unsafe { guard::json_call(ptr, len, &output, |r: $t| Ok(r)) };
            let direct = serde_json::from_slice::<$t>(if data.is_empty() { b"null" } else { data }).ok();
            let what = stringify!($t);
            check(what, status, &out);
            if status == STATUS_OK {
                let back: $t = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("{what}: the echo does not decode: {e}"));
                assert_eq!(Some(back), direct, "{what}: the echo differs from the request");
            } else {
                assert!(direct.is_none(), "{what}: refused a request that decodes");
                let text = String::from_utf8_lossy(&out);
                assert!(text.starts_with("malformed request"), "{what}: {text}");
            }
        };
    }
    echo!(module_abi::Parameters);
    echo!(module_abi::HostInfo);
    echo!(module_abi::RecoverRequest);
    echo!(module_abi::PrepareRequest);
    echo!(module_abi::IsolateRequest);
    echo!(module_abi::ContainerRequest);
    echo!(module_abi::UpdateRequest);
    echo!(module_abi::ContainerizerRecoverRequest);
    echo!(module_abi::LaunchRequest);
    echo!(());
});
