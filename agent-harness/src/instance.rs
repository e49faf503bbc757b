//! A created module instance and the host side of a call through its kind table (read and
//! checked at load by [`crate::table`]: slots an older module lacks read as `None`, and the
//! handles fall back to the kind's default behaviour for them).
//!
//! Every JSON call runs under a deadline ([`crate::deadline`]); a call that overruns it poisons the
//! instance for its container (for every container, when the call is about none), and what a
//! module writes back is bounded ([`MAX_RESULT_BYTES`]).

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use module_abi::{CallFn, ContainerId, Kind, Output, Parameters, STATUS_OK};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::module_manager::LoadedModule;
use crate::table::KindTable;

/// A module's instance; destroyed (in the module's allocator) when dropped.
pub struct Instance {
    module: Arc<LoadedModule>,
    ptr: *mut c_void,
    poison: Mutex<Poison>,
}

/// The calls of an instance that overran their deadline, by what they were about.
#[derive(Debug, Default)]
struct Poison {
    /// A call about no container (`recover`, ...) overran: every later call is skipped.
    all: Option<String>,
    /// Container id → the call of it that overran: that container's later calls are skipped.
    containers: BTreeMap<String, String>,
}

/// The most a call's result (or error message) may be; past it the call fails. A result is a
/// small JSON message (the largest, a launch info with a compiled seccomp program, is tens of
/// kilobytes), so only a broken module meets it, and the harness's memory stays bounded.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

/// How much of a module's error message or malformed result an error line shows.
const SHOWN_BYTES: usize = 4096;

/// A module's bytes for an error line: lossy UTF-8, at most [`SHOWN_BYTES`], one line.
fn shown(bytes: &[u8]) -> String {
    let cut = bytes.len().min(SHOWN_BYTES);
    let mut text = String::from_utf8_lossy(&bytes[..cut]).replace(['\n', '\r'], " ");
    if cut < bytes.len() {
        text.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    text
}

/// What a call wrote, kept up to [`MAX_RESULT_BYTES`]; `total` counts every byte.
#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    total: usize,
}

unsafe extern "C" fn append_bounded(context: *mut c_void, data: *const u8, len: usize) {
    if context.is_null() || data.is_null() {
        return;
    }
    // SAFETY: `context` is the `Collected` of `Collected::output`, which outlives the call that
    // writes to it; `data` points to `len` readable bytes by the writer's contract.
    unsafe {
        let collected = &mut *context.cast::<Collected>();
        let room = MAX_RESULT_BYTES.saturating_sub(collected.bytes.len()).min(len);
        collected.bytes.extend_from_slice(std::slice::from_raw_parts(data, room));
        collected.total = collected.total.saturating_add(len);
    }
}

impl Collected {
    /// The writer a call is given; valid while `self` is neither moved nor dropped.
    fn output(&mut self) -> Output {
        Output { context: (self as *mut Collected).cast(), write: Some(append_bounded) }
    }
}

/// An instance pointer and the slot to call with it, moved to the call thread.
struct SendCall {
    slot: CallFn,
    ptr: *mut c_void,
}

// SAFETY: the ABI lets an instance be called from any host thread (see `Instance`'s `Send`), and
// the pointer stays valid: an instance whose call is abandoned is poisoned and never destroyed.
unsafe impl Send for SendCall {}

// SAFETY: the ABI requires instances to be usable from any thread (Rust modules are `Send + Sync`
// by the `Module` trait's bounds; C modules by the header's contract).
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance").field("module", &self.module.name).finish()
    }
}

impl Instance {
    /// Calls the module's `create` with `parameters`, else the manifest's.
    pub(crate) fn create(
        module: Arc<LoadedModule>,
        parameters: Option<Parameters>,
    ) -> Result<Instance, CreateError> {
        let name = &module.name;
        let create = module.descriptor.create.ok_or_else(|| CreateError::NoCreate { name: name.clone() })?;
        let parameters = parameters.unwrap_or_else(|| module.parameters.clone());
        let request = serde_json::to_vec(&parameters)
            .map_err(|e| CreateError::Encode { name: name.clone(), source: e })?;
        let mut message = Vec::new();
        let output = Output::collector(&mut message);
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // SAFETY: `create` comes from a verified descriptor of a never-unloaded library; the request
        // bytes, the instance slot and the output collector all outlive the call.
        let status = unsafe { create(request.as_ptr(), request.len(), &mut ptr, &output) };
        if status != STATUS_OK || ptr.is_null() {
            let detail = String::from_utf8_lossy(&message);
            let detail = if detail.is_empty() { "create() returned no instance".into() } else { detail };
            return Err(CreateError::Failed { name: name.clone(), message: detail.into_owned() });
        }
        tracing::debug!(module = %name, "created module instance");
        Ok(Instance { module, ptr, poison: Mutex::default() })
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &LoadedModule {
        &self.module
    }

    /// The module's kind table, as read at load.
    pub(crate) fn table(&self) -> KindTable {
        self.module.table
    }

    /// The error of a handle of the wrong kind (the manager checks kinds before wrapping).
    pub(crate) fn wrong_kind(&self, wanted: Kind) -> CreateError {
        CreateError::HandleKind { name: self.module.name.clone(), kind: self.module.kind, wanted }
    }

    /// Calls a JSON slot about no container in particular: `Ok(None)` when the module does not have
    /// it, else its decoded result. Overrunning the deadline poisons the whole instance.
    pub(crate) fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: &'static str,
        slot: Option<CallFn>,
        request: &Req,
    ) -> Result<Option<Resp>, CallError> {
        self.call_for(None, method, slot, request)
    }

    /// Calls a JSON slot about `container`: `Ok(None)` when the module does not have it, else its
    /// decoded result. The call runs on the call thread under the deadline; overrunning it poisons
    /// the instance for `container` (or wholly, for `None`), and a poisoned call is skipped.
    pub(crate) fn call_for<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        container: Option<&ContainerId>,
        method: &'static str,
        slot: Option<CallFn>,
        request: &Req,
    ) -> Result<Option<Resp>, CallError> {
        let Some(slot) = slot else { return Ok(None) };
        let call = self.encode(container, method, slot, request)?;
        self.decode(container, method, crate::deadline::run(call))
    }

    /// A call ready for the call thread: the poison checked and the request encoded.
    fn encode<Req: Serialize>(
        &self,
        container: Option<&ContainerId>,
        method: &'static str,
        slot: CallFn,
        request: &Req,
    ) -> Result<Box<dyn FnOnce() -> (i32, Collected) + Send>, CallError> {
        let error = |message: String| CallError { module: self.module.name.clone(), method, message };
        if let Some(reason) = self.poisoned(container) {
            return Err(error(format!("skipped: {reason}")));
        }
        let request =
            serde_json::to_vec(request).map_err(|e| error(format!("cannot encode the request: {e}")))?;
        let call = SendCall { slot, ptr: self.ptr };
        Ok(Box::new(move || {
            let call = call;
            let mut collected = Collected::default();
            let output = collected.output();
            // SAFETY: `slot` is from this instance's own table; the instance is live (it is
            // destroyed only with its `Instance`, and never once a call was abandoned); the request
            // and the collector are owned by this closure and outlive the call.
            let status = unsafe { (call.slot)(call.ptr, request.as_ptr(), request.len(), &output) };
            (status, collected)
        }))
    }

    /// What a call's answer means: its decoded result, or the error (an overrun poisons).
    fn decode<Resp: DeserializeOwned>(
        &self,
        container: Option<&ContainerId>,
        method: &'static str,
        answer: Result<(i32, Collected), crate::deadline::Abandoned>,
    ) -> Result<Option<Resp>, CallError> {
        let error = |message: String| CallError { module: self.module.name.clone(), method, message };
        let (status, collected) = match answer {
            Ok(answer) => answer,
            Err(crate::deadline::Abandoned::TimedOut(timeout)) => {
                let reason = self.poison(container, method, timeout);
                return Err(error(reason));
            }
            Err(crate::deadline::Abandoned::NoThread(e)) => return Err(error(e)),
        };
        let out = &collected.bytes;
        if collected.total > MAX_RESULT_BYTES {
            return Err(error(format!(
                "wrote {} bytes, more than the {MAX_RESULT_BYTES} a result or message may have: {}",
                collected.total,
                shown(&out[..out.len().min(200)])
            )));
        }
        if status != STATUS_OK {
            return Err(error(shown(out)));
        }
        let bytes: &[u8] = if out.is_empty() { b"null" } else { out };
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| error(format!("returned a malformed result ({e}): {}", shown(out))))
    }

    /// Why calls about `container` are skipped, if they are.
    fn poisoned(&self, container: Option<&ContainerId>) -> Option<String> {
        let poison = self.poison.lock().unwrap_or_else(PoisonError::into_inner);
        poison.all.clone().or_else(|| container.and_then(|id| poison.containers.get(&id.value).cloned()))
    }

    /// Records an overrun call; the reason later calls are skipped with.
    fn poison(&self, container: Option<&ContainerId>, method: &str, timeout: std::time::Duration) -> String {
        let timeout = crate::deadline::show(timeout);
        let mut poison = self.poison.lock().unwrap_or_else(PoisonError::into_inner);
        let (scope, reason) = match container {
            Some(id) => (
                format!("for container '{id}'"),
                format!("its call to {method} for container '{id}' did not return within {timeout}"),
            ),
            None => ("".to_owned(), format!("its call to {method} did not return within {timeout}")),
        };
        match container {
            Some(id) => drop(poison.containers.insert(id.value.clone(), reason)),
            None => poison.all = Some(reason),
        }
        tracing::warn!(module = %self.module.name, method, timeout = %timeout, "module call abandoned");
        let scope = if scope.is_empty() { String::new() } else { format!(" {scope}") };
        format!(
            "did not return within {timeout} (--module_call_timeout): the call is abandoned and the \
             module's remaining calls{scope} are skipped"
        )
    }

    pub(crate) fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let poison = self.poison.get_mut().unwrap_or_else(PoisonError::into_inner);
        if poison.all.is_some() || !poison.containers.is_empty() {
            // An abandoned call may still be running in the instance: it is leaked, never destroyed.
            tracing::warn!(module = %self.module.name, "not destroying an instance with an abandoned call");
            return;
        }
        if let Some(destroy) = self.module.descriptor.destroy {
            // SAFETY: `ptr` came from this module's `create` and is destroyed exactly once, here.
            unsafe { destroy(self.ptr) };
        }
    }
}

/// A module call that failed: which module, which method, and the module's message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("module '{module}' failed in {method}: {message}")]
pub struct CallError {
    pub module: String,
    pub method: &'static str,
    pub message: String,
}

/// Why an instance of a module could not be created (Mesos's `create<T>` messages).
#[derive(Debug, Error)]
pub enum CreateError {
    #[error("Module '{name}' unknown")]
    Unknown { name: String },
    #[error(
        "Error creating module instance for '{name}': module is of kind '{kind}', but the requested kind is '{requested}'"
    )]
    WrongKind { name: String, kind: Kind, requested: Kind },
    #[error("Error creating module instance for '{name}': create() method not found")]
    NoCreate { name: String },
    #[error("Error creating module instance for '{name}': cannot encode its parameters: {source}")]
    Encode { name: String, source: serde_json::Error },
    /// The module's `create` failed (or panicked); `message` is the module's.
    #[error("Error creating Module instance for '{name}': {message}")]
    Failed { name: String, message: String },
    /// A handle was asked to wrap an instance of another kind (the manager checks kinds first).
    #[error("module '{name}' is of kind '{kind}', not '{wanted}'")]
    HandleKind { name: String, kind: Kind, wanted: Kind },
}

/// A typed handle over an instance of one kind.
pub trait KindHandle: Sized {
    const KIND: Kind;
    fn wrap(instance: Instance) -> Result<Self, CreateError>;
}

/// One call of a [`call_batch`]: an instance, its slot for the batch's method (`None` when the
/// module does not have it), the container the call is about, and the request.
pub(crate) struct BatchCall<'a, Req> {
    pub instance: &'a Instance,
    pub slot: Option<CallFn>,
    pub container: &'a ContainerId,
    pub request: Req,
}

/// Whether a [`call_batch`] makes every call or ends at the first that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Batch {
    /// Every call is made, whatever the others answer (a sweep, a cleanup).
    Every,
    /// A call that fails (an error status, a skipped or an overrunning call) ends the batch: the
    /// calls after it are not made, as a loop stopping at the first error would not make them.
    UntilFailure,
}

/// [`Instance::call_for`] of one method for each of `calls`, as one batch on the call thread
/// ([`crate::deadline::run_each_until`]), each call under its own deadline: one answer per call, in
/// order, `None` for a call that was not made ([`Batch::UntilFailure`]). A call that overruns
/// poisons its instance for its container only; with [`Batch::Every`] the calls after it are made
/// again in a fresh batch. A result that does not decode is only seen after the batch, so calls
/// after it are made even with [`Batch::UntilFailure`]: count the answers, not the position of the
/// first error, to know which calls were made. A call whose module has no slot for the method
/// answers `Ok(None)` at once, wherever it stands in the batch.
pub(crate) fn call_batch<Req: Serialize, Resp: DeserializeOwned>(
    method: &'static str,
    calls: &[BatchCall<'_, Req>],
    batch: Batch,
) -> Vec<Option<Result<Option<Resp>, CallError>>> {
    let until_failure = batch == Batch::UntilFailure;
    let stop: fn(&(i32, Collected)) -> bool =
        if until_failure { |(status, _)| *status != STATUS_OK } else { |_| false };
    let mut out: Vec<Option<Result<Option<Resp>, CallError>>> = calls.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..calls.len()).collect();
    while !pending.is_empty() {
        let (mut made, mut jobs) = (Vec::new(), Vec::new());
        for index in pending.drain(..) {
            let call = &calls[index];
            let Some(slot) = call.slot else {
                out[index] = Some(Ok(None));
                continue;
            };
            match call.instance.encode(Some(call.container), method, slot, &call.request) {
                Ok(job) => {
                    made.push(index);
                    jobs.push(job);
                }
                Err(e) => {
                    out[index] = Some(Err(e));
                    if until_failure {
                        // The calls encoded before it are made; none after it is encoded.
                        break;
                    }
                }
            }
        }
        for (index, answer) in made.into_iter().zip(crate::deadline::run_each_until(jobs, stop)) {
            let call = &calls[index];
            match answer {
                Some(answer) => out[index] = Some(call.instance.decode(Some(call.container), method, answer)),
                // Not made: after a call that overran, made again in the next batch; with
                // `UntilFailure`, after a failure, never made.
                None if !until_failure => pending.push(index),
                None => {}
            }
        }
        if until_failure {
            break;
        }
    }
    out
}
