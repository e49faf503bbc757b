//! A created module instance and the host side of a call through its kind table (read and
//! checked at load by [`crate::table`]: slots an older module lacks read as `None`, and the
//! handles fall back to the kind's default behaviour for them).

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;

use module_abi::{CallFn, Kind, Output, Parameters, STATUS_OK};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::module_manager::LoadedModule;
use crate::table::KindTable;

/// A module's instance; destroyed (in the module's allocator) when dropped.
pub struct Instance {
    module: Arc<LoadedModule>,
    ptr: *mut c_void,
}

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
        Ok(Instance { module, ptr })
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

    /// Calls a JSON slot: `Ok(None)` when the module does not have it, else its decoded result.
    pub(crate) fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: &'static str,
        slot: Option<CallFn>,
        request: &Req,
    ) -> Result<Option<Resp>, CallError> {
        let Some(slot) = slot else { return Ok(None) };
        let error = |message: String| CallError { module: self.module.name.clone(), method, message };
        let request =
            serde_json::to_vec(request).map_err(|e| error(format!("cannot encode the request: {e}")))?;
        let mut out = Vec::new();
        let output = Output::collector(&mut out);
        // SAFETY: `slot` is from this instance's own table; the instance is live (dropped only with
        // `self`); the request and the output collector outlive the call.
        let status = unsafe { slot(self.ptr, request.as_ptr(), request.len(), &output) };
        if status != STATUS_OK {
            return Err(error(String::from_utf8_lossy(&out).into_owned()));
        }
        let bytes: &[u8] = if out.is_empty() { b"null" } else { &out };
        serde_json::from_slice(bytes).map(Some).map_err(|e| {
            error(format!("returned a malformed result ({e}): {}", String::from_utf8_lossy(&out)))
        })
    }

    pub(crate) fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
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
