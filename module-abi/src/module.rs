//! What every module type provides whatever its kind: how it is created from its parameters.
//! The `create`, `destroy` and `compatible` shims that the declare macro puts in the descriptor.
//! `compatible` is a veto a module may add to the version rule: it is told about the host
//! ([`HostInfo`]) and answers whether it can run there.

use std::ffi::c_void;

use crate::descriptor::STATUS_OK;
use crate::error::Result;
use crate::guard;
use crate::messages::{HostInfo, Parameters};
use crate::output::Output;

/// A module type: built from the parameters of its manifest entry (or the explicit parameters the
/// host passes at creation, which replace them, as in Mesos).
pub trait Module: Sized + Send + Sync + 'static {
    fn create(parameters: Parameters) -> Result<Self>;
}

/// The `create` slot for `T`.
///
/// # Safety
/// Called by a host through the descriptor with the contract of [`crate::CreateFn`].
pub unsafe extern "C" fn create<T: Module>(
    params: *const u8,
    params_len: usize,
    instance: *mut *mut c_void,
    error: *const Output,
) -> i32 {
    if instance.is_null() {
        // SAFETY: `error` is null or live by the CreateFn contract.
        return unsafe { guard::fail(error, &crate::Error::msg("create() was given no instance slot")) };
    }
    let result = guard::catch(|| {
        // SAFETY: `params_len` readable bytes by the CreateFn contract.
        let parameters: Parameters = unsafe { guard::decode(params, params_len) }?;
        T::create(parameters)
    });
    match result {
        Ok(module) => {
            // SAFETY: `instance` is non-null (checked above) and writable by the CreateFn contract.
            unsafe { *instance = Box::into_raw(Box::new(module)).cast() };
            STATUS_OK
        }
        // SAFETY: `error` is null or live by the CreateFn contract.
        Err(e) => unsafe { guard::fail(error, &e) },
    }
}

/// The `destroy` slot for `T`. A panic in `Drop` is caught and dropped: there is nobody to tell.
///
/// # Safety
/// `instance` was returned by [`create::<T>`] and is not used again.
pub unsafe extern "C" fn destroy<T: Module>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    let _ = guard::catch(|| {
        // SAFETY: made by `Box::into_raw` in `create::<T>` and handed back exactly once.
        drop(unsafe { Box::from_raw(instance.cast::<T>()) });
        Ok(())
    });
}

/// The body of a `compatible` slot: decodes the host's [`HostInfo`] and runs `check` guarded;
/// writes `true` or `false`, or fails with the panic message.
///
/// # Safety
/// `host_info` points to `len` readable bytes (or `len` is 0); `output` is null or a live [`Output`].
pub unsafe fn compatible(
    host_info: *const u8,
    len: usize,
    output: *const Output,
    check: fn(&HostInfo) -> bool,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { guard::json_call(host_info, len, output, |host: HostInfo| Ok(check(&host))) }
}

/// Writes one [`crate::CallFn`] slot per trait method of a kind: decode the JSON request, call the
/// method on the instance under `catch_unwind`, encode the result or the error.
macro_rules! json_slots {
    ($kind:path; $( $slot:ident($req:ty) => |$this:ident, $r:ident| $body:expr; )*) => {$(
        unsafe extern "C" fn $slot<T: $kind>(
            inst: *mut ::std::ffi::c_void,
            request: *const u8,
            request_len: usize,
            output: *const $crate::output::Output,
        ) -> i32 {
            // SAFETY: the host calls slots with the instance `create` returned, a readable request
            // and a live output, as the CallFn contract says.
            unsafe {
                let $this = $crate::module::instance::<T>(inst);
                $crate::guard::json_call(request, request_len, output, |$r: $req| $body)
            }
        }
    )*};
}
pub(crate) use json_slots;

/// Borrows the instance behind a slot's `instance` pointer.
///
/// # Safety
/// `instance` was returned by [`create::<T>`] and not yet destroyed.
pub(crate) unsafe fn instance<'a, T>(instance: *mut c_void) -> &'a T {
    // SAFETY: by this function's contract the pointer is a live `Box<T>`; modules are `Sync`, so
    // shared borrows from several host threads are sound.
    unsafe { &*instance.cast::<T>() }
}
