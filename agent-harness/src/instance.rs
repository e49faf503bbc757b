//! A created module instance and the host side of a call through its kind table.
//!
//! The host reads a table slot only when the module's table is large enough to hold it: a table is
//! copied into a zeroed host-sized table, so slots an older module lacks read as `None` and the
//! host falls back to the kind's default behaviour.

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;

use module_abi::{
    AnonymousTable, CallFn, ContainerizerTable, IsolatorTable, Kind, Output, Parameters, STATUS_OK,
    TableHeader, TestModuleTable,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::module_manager::LoadedModule;

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
    ) -> Result<Instance, String> {
        let name = &module.name;
        let create = module.descriptor.create.ok_or_else(|| {
            format!("Error creating module instance for '{name}': create() method not found")
        })?;
        let parameters = parameters.unwrap_or_else(|| module.parameters.clone());
        let request = serde_json::to_vec(&parameters).map_err(|e| e.to_string())?;
        let mut message = Vec::new();
        let output = Output::collector(&mut message);
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // SAFETY: `create` comes from a verified descriptor of a never-unloaded library; the request
        // bytes, the instance slot and the output collector all outlive the call.
        let status = unsafe { create(request.as_ptr(), request.len(), &mut ptr, &output) };
        if status != STATUS_OK || ptr.is_null() {
            let detail = String::from_utf8_lossy(&message);
            let detail = if detail.is_empty() { "create() returned no instance".into() } else { detail };
            return Err(format!("Error creating Module instance for '{name}': {detail}"));
        }
        Ok(Instance { module, ptr })
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &LoadedModule {
        &self.module
    }

    /// Reads the module's kind table into a host-sized table `T`.
    pub(crate) fn table<T: Table>(&self) -> Result<T, String> {
        let table = self.module.descriptor.table.0;
        let name = &self.module.name;
        if table.is_null() {
            return Err(format!("module '{name}' has no function table"));
        }
        // SAFETY: a verified descriptor's table points to the module's static table, which starts
        // with its size.
        let size = unsafe { table.cast::<TableHeader>().read_unaligned() }.size;
        if size < size_of::<TableHeader>() {
            return Err(format!("module '{name}' has a function table of {size} bytes"));
        }
        // Only whole slots: a size that ends inside one is rounded down (that slot reads as absent).
        let slot = size_of::<usize>();
        let copied = size.min(size_of::<T>()) / slot * slot;
        let mut host = std::mem::MaybeUninit::<T>::zeroed();
        // SAFETY: the module's table holds `size` bytes; `copied` (whole slots, at most
        // `size_of::<T>()`) are copied into `host`; `T: Table` guarantees all-zero bytes are a valid
        // `T` for the slots not copied.
        unsafe {
            std::ptr::copy_nonoverlapping(table.cast::<u8>(), host.as_mut_ptr().cast::<u8>(), copied);
            Ok(host.assume_init())
        }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub module: String,
    pub method: &'static str,
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module '{}' failed in {}: {}", self.module, self.method, self.message)
    }
}

impl std::error::Error for CallError {}

/// A kind table the host can read.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with `size: usize`, and consist only of integers and
/// `Option`s of function pointers, so that all-zero bytes are a valid value.
pub unsafe trait Table: Copy {}

// SAFETY: `size` then `Option<CallFn>` slots only.
unsafe impl Table for IsolatorTable {}
// SAFETY: `size` then `Option<CallFn>` slots only.
unsafe impl Table for ContainerizerTable {}
// SAFETY: `size` only.
unsafe impl Table for AnonymousTable {}
// SAFETY: `size` then `Option` function pointers only.
unsafe impl Table for TestModuleTable {}

/// A typed handle over an instance of one kind.
pub trait KindHandle: Sized {
    const KIND: Kind;
    fn wrap(instance: Instance) -> Result<Self, String>;
}
