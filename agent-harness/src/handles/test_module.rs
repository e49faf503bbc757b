//! The host side of Mesos's `TestModule` kind.

use module_abi::{Kind, Output, Parameters, STATUS_OK, TestModuleTable};

use crate::instance::{CallError, CreateError, Instance, KindHandle};
use crate::table::KindTable;

/// A `TestModule` instance.
#[derive(Debug)]
pub struct TestModuleHandle {
    instance: Instance,
    table: TestModuleTable,
}

impl KindHandle for TestModuleHandle {
    const KIND: Kind = Kind::TestModule;
    fn wrap(instance: Instance) -> Result<Self, CreateError> {
        let KindTable::TestModule(table) = instance.table() else {
            return Err(instance.wrong_kind(Self::KIND));
        };
        Ok(TestModuleHandle { instance, table })
    }
}

impl TestModuleHandle {
    fn error(&self, method: &'static str, message: String) -> CallError {
        CallError { module: self.instance.module().name.clone(), method, message }
    }

    /// Runs one integer slot, given as `call(instance, &mut result, &output)`.
    fn integer(
        &self,
        method: &'static str,
        call: Option<impl FnOnce(*mut std::ffi::c_void, *mut i32, *const Output) -> i32>,
    ) -> Result<i32, CallError> {
        let call = call.ok_or_else(|| self.error(method, "not implemented".into()))?;
        let mut result = 0i32;
        let mut message = Vec::new();
        let output = Output::collector(&mut message);
        let status = call(self.instance.ptr(), &mut result, &output);
        if status == STATUS_OK {
            Ok(result)
        } else {
            Err(self.error(method, String::from_utf8_lossy(&message).into()))
        }
    }

    pub fn foo(&self, a: i8, b: i64) -> Result<i32, CallError> {
        self.integer(
            "foo",
            self.table.foo.map(|f| {
                // SAFETY: a slot of this instance's own table, called with its live instance, a
                // writable result and a live output, as the TestModule table requires.
                move |i, r, o| unsafe { f(i, a, b, r, o) }
            }),
        )
    }

    pub fn bar(&self, a: f32, b: f64) -> Result<i32, CallError> {
        self.integer(
            "bar",
            self.table.bar.map(|f| {
                // SAFETY: as in `foo`.
                move |i, r, o| unsafe { f(i, a, b, r, o) }
            }),
        )
    }

    pub fn baz(&self, a: i32, b: i32) -> Result<i32, CallError> {
        self.integer(
            "baz",
            self.table.baz.map(|f| {
                // SAFETY: as in `foo`.
                move |i, r, o| unsafe { f(i, a, b, r, o) }
            }),
        )
    }

    /// The parameters the instance was created with.
    pub fn parameters(&self) -> Result<Parameters, CallError> {
        self.instance
            .call("parameters", self.table.parameters, &())?
            .ok_or_else(|| self.error("parameters", "not implemented".into()))
    }
}
