//! Reading a module's kind table by module-abi's growth rules, at load time, before any of the
//! module's code runs.
//!
//! - The table must lie inside the module's own image, start with a `{size, reserved}` header
//!   whose `reserved` is zero, and end on a slot boundary.
//! - A shorter table (an older module) is copied into a zeroed host-sized table: the slots it lacks
//!   read as absent, and the host falls back to Mesos's default for those calls. A table that lacks
//!   a slot the kind requires (a containerizer's `launch`, ...) is refused here.
//! - Slots past the host's table (a newer module's) are ignored: this host never makes those calls.
//! - Every present slot must point into the module's code.

use module_abi::{
    AnonymousTable, ContainerizerTable, IsolatorTable, Kind, TABLE_HEADER_SIZE, TableHeader, TestModuleTable,
};
use thiserror::Error;

use crate::descriptor::DescriptorView;

/// Why a kind table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    #[error("the module has no function table")]
    Missing,
    #[error("the module's function table is outside its library's image")]
    OutsideImage,
    #[error("the module's {kind} table says it is {size} bytes, less than its 8-byte header")]
    TooSmall { kind: Kind, size: usize },
    #[error(
        "the module's {kind} table size {size} ends inside a slot (slots are 8 bytes after an 8-byte header)"
    )]
    InsideSlot { kind: Kind, size: usize },
    #[error(
        "the module's {kind} table has a non-zero reserved word ({reserved:#x}); this harness knows no table flags"
    )]
    Reserved { kind: Kind, reserved: u32 },
    #[error("the {kind} module does not implement {slot}(), which every {kind} must")]
    RequiredSlot { kind: Kind, slot: &'static str },
    #[error("the module's {kind} table slot {slot}() points outside the module's code")]
    SlotOutsideCode { kind: Kind, slot: &'static str },
}

/// The size of one table slot: a function pointer.
const SLOT: usize = size_of::<usize>();

/// A module's kind table, copied into the host's layout.
#[derive(Debug, Clone, Copy)]
pub enum KindTable {
    Isolator(IsolatorTable),
    Containerizer(ContainerizerTable),
    Anonymous(AnonymousTable),
    TestModule(TestModuleTable),
}

/// A kind table the host can read.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with a [`TableHeader`], and consist otherwise only of
/// `Option`s of function pointers, so that all-zero bytes are a valid value and every slot is one
/// pointer-sized word.
unsafe trait Table: Copy {
    const KIND: Kind;
    /// The slots' names, in table order.
    const SLOTS: &'static [&'static str];
    /// The slots every module of the kind must have.
    const REQUIRED: &'static [&'static str] = &[];
}

// SAFETY: a header then `Option<CallFn>` slots only.
unsafe impl Table for IsolatorTable {
    const KIND: Kind = Kind::Isolator;
    const SLOTS: &'static [&'static str] = &[
        "recover",
        "prepare",
        "isolate",
        "watch",
        "limitation",
        "update",
        "usage",
        "status",
        "cleanup",
        "supports_nesting",
        "supports_standalone",
    ];
}
// SAFETY: a header then `Option<CallFn>` slots only.
unsafe impl Table for ContainerizerTable {
    const KIND: Kind = Kind::Containerizer;
    const SLOTS: &'static [&'static str] =
        &["recover", "launch", "exec", "watch", "wait", "destroy", "status"];
    const REQUIRED: &'static [&'static str] = &["recover", "launch", "exec", "watch", "wait", "destroy"];
}
// SAFETY: a header only.
unsafe impl Table for AnonymousTable {
    const KIND: Kind = Kind::Anonymous;
    const SLOTS: &'static [&'static str] = &[];
}
// SAFETY: a header then `Option` function pointers only.
unsafe impl Table for TestModuleTable {
    const KIND: Kind = Kind::TestModule;
    const SLOTS: &'static [&'static str] = &["foo", "bar", "baz", "parameters"];
}

/// Reads the table of a verified descriptor of `kind`.
pub fn read_table(kind: Kind, view: &DescriptorView) -> Result<KindTable, TableError> {
    Ok(match kind {
        Kind::Isolator => KindTable::Isolator(read::<IsolatorTable>(view)?),
        Kind::Containerizer => KindTable::Containerizer(read::<ContainerizerTable>(view)?),
        Kind::Anonymous => KindTable::Anonymous(read::<AnonymousTable>(view)?),
        Kind::TestModule => KindTable::TestModule(read::<TestModuleTable>(view)?),
    })
}

fn read<T: Table>(view: &DescriptorView) -> Result<T, TableError> {
    debug_assert_eq!(size_of::<T>(), TABLE_HEADER_SIZE + T::SLOTS.len() * SLOT);
    let table = view.table.0;
    if table.is_null() {
        return Err(TableError::Missing);
    }
    let image = view.image.as_ref().ok_or(TableError::OutsideImage)?;
    if !image.holds(table, TABLE_HEADER_SIZE) {
        return Err(TableError::OutsideImage);
    }
    // SAFETY: the header's bytes lie inside the module's mapped image (checked above).
    let header = unsafe { table.cast::<TableHeader>().read_unaligned() };
    let (kind, size) = (T::KIND, header.size as usize);
    if size < TABLE_HEADER_SIZE {
        return Err(TableError::TooSmall { kind, size });
    }
    if !(size - TABLE_HEADER_SIZE).is_multiple_of(SLOT) {
        return Err(TableError::InsideSlot { kind, size });
    }
    if header.reserved != 0 {
        return Err(TableError::Reserved { kind, reserved: header.reserved });
    }
    if !image.holds(table, size) {
        return Err(TableError::OutsideImage);
    }
    let copied = size.min(size_of::<T>());
    let mut host = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: `copied` bytes (whole slots, at most `size_of::<T>()`) are readable inside the
    // module's image and fit in `host`; `T: Table` makes all-zero bytes a valid `T` for the slots
    // not copied.
    let host = unsafe {
        std::ptr::copy_nonoverlapping(table.cast::<u8>(), host.as_mut_ptr().cast::<u8>(), copied);
        host.assume_init()
    };
    // SAFETY: `T: Table` lays the slots out as pointer-sized words right after the header.
    let words = unsafe {
        std::slice::from_raw_parts(
            (&host as *const T).cast::<u8>().add(TABLE_HEADER_SIZE).cast::<usize>(),
            T::SLOTS.len(),
        )
    };
    for (&slot, &word) in T::SLOTS.iter().zip(words) {
        if word == 0 {
            if T::REQUIRED.contains(&slot) {
                return Err(TableError::RequiredSlot { kind, slot });
            }
        } else if !image.holds_code(word) {
            return Err(TableError::SlotOutsideCode { kind, slot });
        }
    }
    Ok(host)
}
