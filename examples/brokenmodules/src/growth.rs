//! Descriptors and kind tables of other sizes, for the loader's growth rules (module-abi's
//! `descriptor` docs): what an older module (shorter descriptor, fewer table slots) and a newer one
//! (a longer descriptor, more slots) look like, and the malformed shapes a host must refuse
//! without reading past them (a size inside a field, a non-zero unknown tail, an unknown required
//! feature, a table flag, a missing required slot, pointers outside the library).
//!
//! Every module here that a correct host refuses has a `create` that aborts the process, so a test
//! that loads it proves the refusal happens before any module code runs.

use std::ffi::{c_char, c_void};
use std::mem::{offset_of, size_of};
use std::os::fd::RawFd;

use module_abi::{
    CallFn, ContainerId, ContainerState, ContainerTermination, Containerizer, ContainerizerTable, Isolator,
    IsolatorTable, Kind, LaunchRequest, Module, ModuleDescriptor, Output, Parameters, ResourceStatistics,
    Result, TableHeader, TestModuleTable,
};

use crate::test_modules::{WORKING_TABLE, valid};

/// `create` of the modules a host must refuse: if it ever runs, the test process dies.
unsafe extern "C" fn must_not_be_created(
    _params: *const u8,
    _len: usize,
    _instance: *mut *mut c_void,
    _error: *const Output,
) -> i32 {
    eprintln!("brokenmodules: create() of a module the host should have refused ran");
    std::process::abort()
}

/// A descriptor that the host must refuse, from a valid one with `create` aborting.
const fn refused(description: &'static std::ffi::CStr) -> ModuleDescriptor {
    ModuleDescriptor { create: Some(must_not_be_created), ..valid(description) }
}

/// An older module: its descriptor ends before `required_features`. It loads.
#[unsafe(no_mangle)]
pub static org_example_Growth_ShortDescriptor: ModuleDescriptor = ModuleDescriptor {
    size: offset_of!(ModuleDescriptor, required_features) as u32,
    ..valid(c"A descriptor without its last field.")
};

/// A size that ends halfway through `table`. Refused.
#[unsafe(no_mangle)]
pub static org_example_Growth_SizeInsideField: ModuleDescriptor = ModuleDescriptor {
    size: (offset_of!(ModuleDescriptor, table) + 4) as u32,
    ..refused(c"A size that ends inside a field.")
};

/// A newer module's descriptor: one field more than this module-abi knows.
#[repr(C)]
pub struct LongerDescriptor {
    pub descriptor: ModuleDescriptor,
    pub newer_field: u64,
}

// SAFETY: immutable static data, as for `ModuleDescriptor`.
unsafe impl Sync for LongerDescriptor {}

/// A longer descriptor whose unknown field is zero. It loads.
#[unsafe(no_mangle)]
pub static org_example_Growth_ZeroTail: LongerDescriptor = LongerDescriptor {
    descriptor: ModuleDescriptor {
        size: size_of::<LongerDescriptor>() as u32,
        ..valid(c"A longer descriptor with a zero tail.")
    },
    newer_field: 0,
};

/// A longer descriptor whose unknown field is set. Refused.
#[unsafe(no_mangle)]
pub static org_example_Growth_NonZeroTail: LongerDescriptor = LongerDescriptor {
    descriptor: ModuleDescriptor {
        size: size_of::<LongerDescriptor>() as u32,
        ..refused(c"A longer descriptor with a non-zero tail.")
    },
    newer_field: 1,
};

/// A feature bit no 1.0 host knows. Refused.
#[unsafe(no_mangle)]
pub static org_example_Growth_RequiredFeature: ModuleDescriptor =
    ModuleDescriptor { required_features: 1, ..refused(c"Requires feature bit 0.") };

/// A description that points at an address no library maps. Refused, not followed.
#[unsafe(no_mangle)]
pub static org_example_Growth_StringOutside: ModuleDescriptor =
    ModuleDescriptor { description: 0x1000 as *const c_char, ..refused(c"") };

/// A table that points at an address no library maps. Refused, not followed.
#[unsafe(no_mangle)]
pub static org_example_Growth_TableOutside: ModuleDescriptor =
    ModuleDescriptor { table: 0x2000 as *const c_void, ..refused(c"A table outside the library.") };

/// An isolator with usage that a host would see if it called it.
pub struct GrowthIsolator;

impl Module for GrowthIsolator {
    fn create(_parameters: Parameters) -> Result<Self> {
        Ok(GrowthIsolator)
    }
}

impl Isolator for GrowthIsolator {
    fn usage(&self, _container_id: &ContainerId) -> Result<ResourceStatistics> {
        Ok(ResourceStatistics { processes: Some(42), ..Default::default() })
    }
}

const FULL_ISOLATOR: IsolatorTable = IsolatorTable::of::<GrowthIsolator>();

/// The isolator table of an older module-abi that had only three slots.
#[repr(C)]
pub struct OldIsolatorTable {
    pub header: TableHeader,
    pub recover: Option<CallFn>,
    pub prepare: Option<CallFn>,
    pub isolate: Option<CallFn>,
}

static OLD_ISOLATOR_TABLE: OldIsolatorTable = OldIsolatorTable {
    header: TableHeader::of::<OldIsolatorTable>(),
    recover: FULL_ISOLATOR.recover,
    prepare: FULL_ISOLATOR.prepare,
    isolate: FULL_ISOLATOR.isolate,
};

/// An older isolator: three slots. It loads; `usage` and `cleanup` get Mesos's defaults.
#[unsafe(no_mangle)]
pub static org_example_Growth_OlderTable: ModuleDescriptor = ModuleDescriptor {
    kind: Kind::Isolator.c_name().as_ptr(),
    create: Some(module_abi::module::create::<GrowthIsolator>),
    destroy: Some(module_abi::module::destroy::<GrowthIsolator>),
    table: (&OLD_ISOLATOR_TABLE as *const OldIsolatorTable).cast(),
    ..valid(c"An isolator table with three slots.")
};

/// A slot of a newer module-abi: a host that calls it has a bug, so it aborts.
unsafe extern "C" fn newer_slot(_: *mut c_void, _: *const u8, _: usize, _: *const Output) -> i32 {
    eprintln!("brokenmodules: a host called a table slot it does not know");
    std::process::abort()
}

/// A TestModule table with two slots more than this module-abi knows.
#[repr(C)]
pub struct NewerTestModuleTable {
    pub known: TestModuleTable,
    pub newer: [Option<CallFn>; 2],
}

static NEWER_TABLE: NewerTestModuleTable = NewerTestModuleTable {
    known: TestModuleTable { header: TableHeader::of::<NewerTestModuleTable>(), ..WORKING_TABLE },
    newer: [Some(newer_slot), Some(newer_slot)],
};

/// A newer module's table with extra trailing slots. It loads; the extra slots are never called.
#[unsafe(no_mangle)]
pub static org_example_Growth_NewerTable: ModuleDescriptor = ModuleDescriptor {
    table: (&NEWER_TABLE as *const NewerTestModuleTable).cast(),
    ..valid(c"A table with two slots more.")
};

static INSIDE_SLOT_TABLE: TestModuleTable =
    TestModuleTable { header: TableHeader { size: 8 + 2 * 8 + 4, reserved: 0 }, ..WORKING_TABLE };

/// A table size that ends inside a slot. Refused.
#[unsafe(no_mangle)]
pub static org_example_Growth_TableInsideSlot: ModuleDescriptor = ModuleDescriptor {
    table: (&INSIDE_SLOT_TABLE as *const TestModuleTable).cast(),
    ..refused(c"A table size inside a slot.")
};

static RESERVED_TABLE: TestModuleTable = TestModuleTable {
    header: TableHeader { reserved: 1, ..TableHeader::of::<TestModuleTable>() },
    ..WORKING_TABLE
};

/// A table whose reserved word is set. Refused.
#[unsafe(no_mangle)]
pub static org_example_Growth_TableReserved: ModuleDescriptor = ModuleDescriptor {
    table: (&RESERVED_TABLE as *const TestModuleTable).cast(),
    ..refused(c"A table flag no host knows.")
};

/// A containerizer with no values: only its table is used.
pub enum NoLaunchContainerizer {}

impl Module for NoLaunchContainerizer {
    fn create(_parameters: Parameters) -> Result<Self> {
        module_abi::bail!("never created")
    }
}

impl Containerizer for NoLaunchContainerizer {
    fn recover(&self, _: Vec<ContainerState>) -> Result<Vec<ContainerId>> {
        match *self {}
    }
    fn launch(&self, _: &LaunchRequest) -> Result<i32> {
        match *self {}
    }
    fn exec(&self, _: &ContainerId) -> Result<()> {
        match *self {}
    }
    fn watch(&self, _: &ContainerId) -> Result<Option<RawFd>> {
        match *self {}
    }
    fn wait(&self, _: &ContainerId) -> Result<Option<ContainerTermination>> {
        match *self {}
    }
    fn destroy(&self, _: &ContainerId) -> Result<()> {
        match *self {}
    }
}

static NO_LAUNCH_TABLE: ContainerizerTable =
    ContainerizerTable { launch: None, ..ContainerizerTable::of::<NoLaunchContainerizer>() };

/// A containerizer without `launch`, which every containerizer needs. Refused at load.
#[unsafe(no_mangle)]
pub static org_example_Growth_MissingRequiredSlot: ModuleDescriptor = ModuleDescriptor {
    kind: Kind::Containerizer.c_name().as_ptr(),
    table: (&NO_LAUNCH_TABLE as *const ContainerizerTable).cast(),
    ..refused(c"A containerizer without launch().")
};
