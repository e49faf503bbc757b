//! The `TestModule` kind: Mesos's example module interface (`src/examples/test_module.hpp`), kept so
//! the Mesos module tests can run unchanged in meaning. Plain integers and floats cross the boundary;
//! each slot returns a status and writes its result through a pointer.

use std::ffi::c_void;

use crate::descriptor::{CallFn, STATUS_OK, TableHeader};
use crate::error::{Error, Result};
use crate::guard::{self, json_call};
use crate::messages::Parameters;
use crate::module::{Module, instance};
use crate::output::Output;

/// Mesos's `TestModule`.
pub trait TestModule: Module {
    fn foo(&self, a: i8, b: i64) -> Result<i32>;
    fn bar(&self, a: f32, b: f64) -> Result<i32>;
    fn baz(&self, a: i32, b: i32) -> Result<i32>;
    fn parameters(&self) -> Result<Parameters>;
}

/// `int foo(instance, char a, int64_t b, int32_t *result, const struct mm_output *error)`.
pub type FooFn = unsafe extern "C" fn(*mut c_void, i8, i64, *mut i32, *const Output) -> i32;
/// `int bar(instance, float a, double b, int32_t *result, const struct mm_output *error)`.
pub type BarFn = unsafe extern "C" fn(*mut c_void, f32, f64, *mut i32, *const Output) -> i32;
/// `int baz(instance, int32_t a, int32_t b, int32_t *result, const struct mm_output *error)`.
pub type BazFn = unsafe extern "C" fn(*mut c_void, i32, i32, *mut i32, *const Output) -> i32;

/// `struct mm_test_module_table`. Slots only ever grow at the end.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TestModuleTable {
    pub header: TableHeader,
    pub foo: Option<FooFn>,
    pub bar: Option<BarFn>,
    pub baz: Option<BazFn>,
    /// JSON call: no request; the result is the `Parameters` the instance was created with.
    pub parameters: Option<CallFn>,
}

impl TestModuleTable {
    /// The table whose slots call `T`'s trait methods.
    pub const fn of<T: TestModule>() -> TestModuleTable {
        TestModuleTable {
            header: TableHeader::of::<TestModuleTable>(),
            foo: Some(foo::<T>),
            bar: Some(bar::<T>),
            baz: Some(baz::<T>),
            parameters: Some(parameters::<T>),
        }
    }
}

/// Writes an integer result or an error.
///
/// # Safety
/// `result` is null or writable; `error` is null or a live output.
unsafe fn finish(value: Result<i32>, result: *mut i32, error: *const Output) -> i32 {
    match value {
        Ok(_) if result.is_null() => {
            // SAFETY: forwarded from the caller.
            unsafe { guard::fail(error, &Error::msg("no result slot given")) }
        }
        Ok(v) => {
            // SAFETY: non-null and writable by the caller's contract.
            unsafe { *result = v };
            STATUS_OK
        }
        // SAFETY: forwarded from the caller.
        Err(e) => unsafe { guard::fail(error, &e) },
    }
}

unsafe extern "C" fn foo<T: TestModule>(
    inst: *mut c_void,
    a: i8,
    b: i64,
    result: *mut i32,
    error: *const Output,
) -> i32 {
    // SAFETY: the host passes the instance `create` returned (and writable result, live error).
    unsafe { finish(guard::catch(|| instance::<T>(inst).foo(a, b)), result, error) }
}

unsafe extern "C" fn bar<T: TestModule>(
    inst: *mut c_void,
    a: f32,
    b: f64,
    result: *mut i32,
    error: *const Output,
) -> i32 {
    // SAFETY: as in `foo`.
    unsafe { finish(guard::catch(|| instance::<T>(inst).bar(a, b)), result, error) }
}

unsafe extern "C" fn baz<T: TestModule>(
    inst: *mut c_void,
    a: i32,
    b: i32,
    result: *mut i32,
    error: *const Output,
) -> i32 {
    // SAFETY: as in `foo`.
    unsafe { finish(guard::catch(|| instance::<T>(inst).baz(a, b)), result, error) }
}

unsafe extern "C" fn parameters<T: TestModule>(
    inst: *mut c_void,
    request: *const u8,
    request_len: usize,
    output: *const Output,
) -> i32 {
    // SAFETY: the CallFn contract: live instance, readable request, live output.
    unsafe { json_call(request, request_len, output, |(): ()| instance::<T>(inst).parameters()) }
}
