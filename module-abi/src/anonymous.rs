//! The `Anonymous` kind: a module that is only created. The host creates every anonymous module at
//! start-up (Mesos does the same); its work is whatever its `create` and its lifetime do.

use crate::descriptor::TableHeader;
use crate::module::Module;

/// An anonymous module: nothing but [`Module::create`] and `Drop`.
pub trait Anonymous: Module {}

/// `struct mm_anonymous_table`: only its size, so later slots can be added.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AnonymousTable {
    pub header: TableHeader,
}

impl AnonymousTable {
    /// The table of an anonymous module.
    pub const fn of<T: Anonymous>() -> AnonymousTable {
        AnonymousTable { header: TableHeader::of::<AnonymousTable>() }
    }
}
