//! `libbrokenmodules.so`: modules that are wrong on purpose, one fault each, for the harness's
//! refusal paths. Mesos's `src/tests/module_tests.cpp` produces these faults by mutating the
//! `ModuleBase` of `libexamplemodule.so` in place (`InvalidModuleKind`, `DifferentApiVersion`,
//! `NewerModuleLibrary`, `OlderModuleLibrary`); here each is a separate exported descriptor, so a
//! test only names the module it wants and nothing is ever written into a loaded library. The
//! library also exports a variable and a function that are not modules (Mesos's
//! `NonModuleLibrary`), TestModules whose `compatible()` or `create` fail or panic, and
//! `org_apache_mesos_TestBrokenIsolator`, an isolator that fails or panics at the lifecycle step
//! its parameters choose. [`growth`] holds descriptors and tables of other sizes for the loader's
//! growth rules.

mod broken_isolator;
pub mod growth;
mod test_modules;

pub use broken_isolator::{Mode, Step, TestBrokenIsolator};
pub use test_modules::{FailsCreate, PanicsInCreate, WorkingTestModule};

/// A symbol that exists but is not a module: the loader must refuse it without reading past it.
#[unsafe(no_mangle)]
pub static brokenmodules_not_a_module: u32 = 7;

/// A function symbol that is not a module either.
#[unsafe(no_mangle)]
pub extern "C" fn brokenmodules_a_function() -> i32 {
    3
}
