//! TestModules with one fault each, for the loader's version, kind and field checks and for
//! failures of `compatible()` and `create`. Where `declare_module!` cannot express the fault (a
//! wrong version, ABI, kind or a missing field) the descriptor is written by hand from a valid
//! one with a single field changed.

use std::ffi::CStr;

use module_abi::module::{create, destroy};
use module_abi::{
    ABI_VERSION, BUILT_AGAINST, DESCRIPTOR_SIZE, Kind, MODULE_MAGIC, Module, ModuleDescriptor, Parameters,
    Result, TestModule, TestModuleTable, bail,
};

/// A plain working TestModule (Mesos's semantics without the `operation` check), so every faulty
/// descriptor that gets past the loader also works when created.
pub struct WorkingTestModule {
    parameters: Parameters,
}

impl Module for WorkingTestModule {
    fn create(parameters: Parameters) -> Result<Self> {
        Ok(WorkingTestModule { parameters })
    }
}

impl TestModule for WorkingTestModule {
    fn foo(&self, a: i8, b: i64) -> Result<i32> {
        Ok(i64::from(a).wrapping_add(b) as i32)
    }
    fn bar(&self, a: f32, b: f64) -> Result<i32> {
        Ok((f64::from(a) * b) as i32)
    }
    fn baz(&self, a: i32, b: i32) -> Result<i32> {
        Ok(a.wrapping_add(b))
    }
    fn parameters(&self) -> Result<Parameters> {
        Ok(self.parameters.clone())
    }
}

/// A TestModule whose `create` panics. It has no values: no instance of it can ever exist.
pub enum PanicsInCreate {}

impl Module for PanicsInCreate {
    fn create(_parameters: Parameters) -> Result<Self> {
        panic!("PanicsInCreate: deliberate panic");
    }
}

/// A TestModule whose `create` returns an error. It has no values either.
pub enum FailsCreate {}

impl Module for FailsCreate {
    fn create(_parameters: Parameters) -> Result<Self> {
        bail!("FailsCreate: deliberate failure");
    }
}

/// The TestModule methods of a type that is never instantiated.
macro_rules! uninhabited_test_module {
    ($ty:ty) => {
        impl TestModule for $ty {
            fn foo(&self, _: i8, _: i64) -> Result<i32> {
                match *self {}
            }
            fn bar(&self, _: f32, _: f64) -> Result<i32> {
                match *self {}
            }
            fn baz(&self, _: i32, _: i32) -> Result<i32> {
                match *self {}
            }
            fn parameters(&self) -> Result<Parameters> {
                match *self {}
            }
        }
    };
}
uninhabited_test_module!(PanicsInCreate);
uninhabited_test_module!(FailsCreate);

pub(crate) static WORKING_TABLE: TestModuleTable = TestModuleTable::of::<WorkingTestModule>();

/// A valid TestModule descriptor with this description; each hand-built one changes one field.
pub(crate) const fn valid(description: &'static CStr) -> ModuleDescriptor {
    ModuleDescriptor {
        magic: MODULE_MAGIC,
        size: DESCRIPTOR_SIZE as u32,
        abi_version: ABI_VERSION,
        kind: Kind::TestModule.c_name().as_ptr(),
        built_against: BUILT_AGAINST.as_ptr(),
        author_name: c"Apache Mesos".as_ptr(),
        author_email: c"modules@mesos.apache.org".as_ptr(),
        description: description.as_ptr(),
        compatible: None,
        create: Some(create::<WorkingTestModule>),
        destroy: Some(destroy::<WorkingTestModule>),
        table: (&WORKING_TABLE as *const TestModuleTable).cast(),
        required_features: 0,
    }
}

/// Built against a module-abi newer than any host (Mesos's `NewerModuleLibrary`).
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestModule_NewerLibrary: ModuleDescriptor =
    ModuleDescriptor { built_against: c"100.1.0".as_ptr(), ..valid(c"Built against module-abi 100.1.0.") };

/// Built against a module-abi older than the TestModule kind's minimum, 1.0.0 (Mesos's
/// `OlderModuleLibrary`).
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestModule_OlderThanKind: ModuleDescriptor =
    ModuleDescriptor { built_against: c"0.0.1".as_ptr(), ..valid(c"Built against module-abi 0.0.1.") };

/// An ABI version no host has (Mesos's `DifferentApiVersion`).
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestModule_WrongAbi: ModuleDescriptor =
    ModuleDescriptor { abi_version: 1000, ..valid(c"Built with ABI version 1000.") };

/// A kind no host knows (Mesos's `InvalidModuleKind`).
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestModule_UnknownKind: ModuleDescriptor =
    ModuleDescriptor { kind: c"NotTestModule".as_ptr(), ..valid(c"Of the unknown kind NotTestModule.") };

/// No author email and no description (Mesos's "missing fields").
#[unsafe(no_mangle)]
pub static org_apache_mesos_TestModule_MissingFields: ModuleDescriptor =
    ModuleDescriptor { author_email: std::ptr::null(), description: std::ptr::null(), ..valid(c"") };

module_abi::declare_module! {
    name: org_apache_mesos_TestModule_Incompatible,
    kind: TestModule,
    module: WorkingTestModule,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Its compatible() says no.",
    compatible: |_host| false,
}

module_abi::declare_module! {
    name: org_apache_mesos_TestModule_PanicsInCompatible,
    kind: TestModule,
    module: WorkingTestModule,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Its compatible() panics.",
    compatible: |_host| panic!("PanicsInCompatible: deliberate panic"),
}

module_abi::declare_module! {
    name: org_apache_mesos_TestModule_PanicsInCreate,
    kind: TestModule,
    module: PanicsInCreate,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Loads, but its create panics.",
}

module_abi::declare_module! {
    name: org_apache_mesos_TestModule_FailsCreate,
    kind: TestModule,
    module: FailsCreate,
    author_name: "Apache Mesos",
    author_email: "modules@mesos.apache.org",
    description: "Loads, but its create fails.",
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_abi::Output;
    use std::ffi::c_void;

    /// Calls a descriptor's `create` slot with no parameters: the instance, or the error text.
    fn create_through(d: &ModuleDescriptor) -> std::result::Result<*mut c_void, String> {
        let mut buffer = Vec::new();
        let out = Output::collector(&mut buffer);
        let mut instance = std::ptr::null_mut();
        // SAFETY: a valid request of 2 bytes, a writable instance slot and a live output.
        let status = unsafe { d.create.unwrap()(b"[]".as_ptr(), 2, &mut instance, &out) };
        if status == module_abi::STATUS_OK { Ok(instance) } else { Err(String::from_utf8(buffer).unwrap()) }
    }

    /// Calls a descriptor's `compatible` slot with this module-abi's host: its status and output.
    fn compatible_through(d: &ModuleDescriptor) -> (i32, String) {
        let host = serde_json::to_vec(&module_abi::HostInfo::current("test", "0")).unwrap();
        let mut buffer = Vec::new();
        let out = Output::collector(&mut buffer);
        // SAFETY: a readable request and a live output.
        let status = unsafe { d.compatible.unwrap()(host.as_ptr(), host.len(), &out) };
        (status, String::from_utf8(buffer).unwrap())
    }

    #[test]
    fn each_hand_built_descriptor_has_exactly_its_fault() {
        let base = valid(c"");
        // SAFETY: the descriptors' strings are static C strings.
        let text = |p: *const std::ffi::c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(text(org_apache_mesos_TestModule_NewerLibrary.built_against), "100.1.0");
        assert_eq!(text(org_apache_mesos_TestModule_OlderThanKind.built_against), "0.0.1");
        assert_eq!(org_apache_mesos_TestModule_WrongAbi.abi_version, 1000);
        assert_eq!(text(org_apache_mesos_TestModule_UnknownKind.kind), "NotTestModule");
        assert!(org_apache_mesos_TestModule_MissingFields.author_email.is_null());
        assert!(org_apache_mesos_TestModule_MissingFields.description.is_null());
        assert_eq!(text(base.built_against), module_abi::MODULE_ABI_VERSION);
        assert_eq!(text(base.kind), "TestModule");
        assert!(base.compatible.is_none());

        let instance = create_through(&org_apache_mesos_TestModule_NewerLibrary).unwrap();
        // SAFETY: made by this descriptor's create and destroyed once.
        unsafe { org_apache_mesos_TestModule_NewerLibrary.destroy.unwrap()(instance) };
    }

    #[test]
    fn compatible_says_no_or_fails_with_its_panic() {
        let ok = module_abi::STATUS_OK;
        assert_eq!(compatible_through(&org_apache_mesos_TestModule_Incompatible), (ok, "false".to_string()));
        let (status, message) = compatible_through(&org_apache_mesos_TestModule_PanicsInCompatible);
        assert_eq!(status, module_abi::STATUS_ERROR);
        assert!(message.contains("PanicsInCompatible: deliberate panic"), "{message}");
    }

    #[test]
    fn create_panics_or_fails_with_its_message() {
        let err = create_through(&org_apache_mesos_TestModule_PanicsInCreate).unwrap_err();
        assert!(err.contains("PanicsInCreate: deliberate panic"), "{err}");
        let err = create_through(&org_apache_mesos_TestModule_FailsCreate).unwrap_err();
        assert_eq!(err, "FailsCreate: deliberate failure");
    }
}
