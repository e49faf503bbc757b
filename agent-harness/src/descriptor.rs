//! Reading a module descriptor from a symbol, defensively. The loader checks that the symbol is
//! a data object large enough for the header, reads the magic before anything else, and copies
//! only as many bytes as both the descriptor's `size` and the symbol's size allow. Fields the module
//! does not have (an older, smaller descriptor) read as null.

use std::ffi::{CStr, c_char, c_void};

use module_abi::{
    ABI_VERSION, CompatibleFn, CreateFn, DESCRIPTOR_HEADER_SIZE, DESCRIPTOR_SIZE, DestroyFn, MODULE_MAGIC,
    ModuleDescriptor,
};

use crate::dynlib::{SymbolInfo, symbol_info};

/// A descriptor's contents, copied out of the library.
#[derive(Debug, Clone, Default)]
pub struct DescriptorView {
    pub size: u32,
    pub abi_version: u32,
    pub kind: Option<String>,
    pub built_against: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub description: Option<String>,
    pub compatible: Option<CompatibleFn>,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    pub table: TablePtr,
}

/// The address of a kind table inside a loaded (never unloaded) library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TablePtr(pub *const c_void);

impl Default for TablePtr {
    fn default() -> Self {
        TablePtr(std::ptr::null())
    }
}

// SAFETY: the table is immutable static data of a library that is never unloaded.
unsafe impl Send for TablePtr {}
// SAFETY: as above.
unsafe impl Sync for TablePtr {}

/// Reads the descriptor at `address`, the result of looking up a module's symbol.
pub fn read_descriptor(address: *const c_void) -> Result<DescriptorView, String> {
    let symbol_size = match symbol_info(address) {
        SymbolInfo::Object { size } => size,
        SymbolInfo::NotObject { elf_type: 2 } => {
            return Err("the symbol is a function, not a module descriptor".to_string());
        }
        SymbolInfo::NotObject { elf_type } => {
            return Err(format!("the symbol is not a data object (ELF symbol type {elf_type})"));
        }
        SymbolInfo::Unknown => {
            return Err(
                "the dynamic loader has no size for the symbol, so it cannot be read safely".to_string()
            );
        }
    };
    if symbol_size < DESCRIPTOR_HEADER_SIZE {
        return Err(format!(
            "the symbol is {symbol_size} bytes, too small for a module descriptor (not a module)"
        ));
    }
    // SAFETY: the symbol is a data object of at least DESCRIPTOR_HEADER_SIZE readable bytes.
    let magic = unsafe { address.cast::<u64>().read_unaligned() };
    if magic != MODULE_MAGIC {
        return Err("the symbol does not start with the module magic (not a module descriptor)".to_string());
    }
    // SAFETY: as above; `size` and `abi_version` lie within the header.
    let (size, abi_version) = unsafe {
        let bytes = address.cast::<u8>();
        (bytes.add(8).cast::<u32>().read_unaligned(), bytes.add(12).cast::<u32>().read_unaligned())
    };
    let declared = size as usize;
    if declared < DESCRIPTOR_HEADER_SIZE || declared > symbol_size {
        return Err(format!(
            "the descriptor says it is {declared} bytes but its symbol is {symbol_size} bytes"
        ));
    }
    if abi_version != ABI_VERSION {
        // Nothing past the header is read: another ABI version may lay the fields out differently.
        return Ok(DescriptorView { size, abi_version, ..DescriptorView::default() });
    }
    // Only whole fields: every field after the header is pointer-sized, so a size that ends inside
    // one is rounded down to the field before it (which then reads as absent).
    let pointer = size_of::<usize>();
    let copied =
        DESCRIPTOR_HEADER_SIZE + (declared.min(DESCRIPTOR_SIZE) - DESCRIPTOR_HEADER_SIZE) / pointer * pointer;
    let mut raw = std::mem::MaybeUninit::<ModuleDescriptor>::zeroed();
    // SAFETY: `copied` bytes are readable at `address` (at most `declared`, checked against the
    // symbol's size) and fit in `raw`. Every field of ModuleDescriptor is an integer, a raw pointer
    // or an `Option` of a function pointer, for which all-zero bytes are valid (0 or null/None), and
    // only whole fields are copied.
    let raw = unsafe {
        std::ptr::copy_nonoverlapping(address.cast::<u8>(), raw.as_mut_ptr().cast::<u8>(), copied);
        raw.assume_init()
    };
    let text = |field: &str, ptr: *const c_char| -> Result<Option<String>, String> {
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-null field of a descriptor with the right magic points to a NUL-terminated
        // static string of the module, per the ABI.
        let s = unsafe { CStr::from_ptr(ptr) };
        s.to_str().map(|s| Some(s.to_string())).map_err(|_| format!("the descriptor's {field} is not UTF-8"))
    };
    Ok(DescriptorView {
        size,
        abi_version,
        kind: text("kind", raw.kind)?,
        built_against: text("built_against", raw.built_against)?,
        author_name: text("author_name", raw.author_name)?,
        author_email: text("author_email", raw.author_email)?,
        description: text("description", raw.description)?,
        compatible: raw.compatible,
        create: raw.create,
        destroy: raw.destroy,
        table: TablePtr(raw.table),
    })
}
