//! Reading a module descriptor from a symbol, defensively, by module-abi's growth rules.
//!
//! In order:
//! 1. The symbol must be a data object at least as large as the header; the magic is read first.
//! 2. `size` must lie inside the symbol. A descriptor of another ABI version is not read past the
//!    header (its layout may differ); the verifier refuses it.
//! 3. A size that ends inside a field is refused. A shorter descriptor (an older module) is
//!    zero-extended: its missing fields read as absent. A longer one (a newer module) loads only
//!    when every byte this host does not know is zero.
//! 4. Every string is read only inside the module's own mapped image ([`ObjectImage`]), and every
//!    function must lie in its code, so a stray pointer is refused, never followed.
//!
//! The kind table is read by [`crate::table`] once the kind is known.

use std::ffi::{c_char, c_void};

use module_abi::{
    ABI_VERSION, CompatibleFn, CreateFn, DESCRIPTOR_HEADER_SIZE, DESCRIPTOR_SIZE, DestroyFn, MODULE_MAGIC,
    ModuleDescriptor,
};
use thiserror::Error;

use crate::dynlib::{ObjectImage, SymbolInfo, symbol_info};

/// The longest string field a descriptor may have (author, description, ...).
pub const MAX_DESCRIPTOR_STRING: usize = 64 * 1024;

/// Why a symbol cannot be read as a module descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DescriptorError {
    #[error("the symbol is a function, not a module descriptor")]
    Function,
    #[error("the symbol is not a data object (ELF symbol type {0})")]
    NotObject(u8),
    #[error("the dynamic loader has no size for the symbol, so it cannot be read safely")]
    UnknownSize,
    #[error("the symbol is {0} bytes, too small for a module descriptor (not a module)")]
    TooSmall(usize),
    #[error("the symbol does not start with the module magic (not a module descriptor)")]
    NoMagic,
    #[error("the symbol is not inside any loaded library's image")]
    NoImage,
    #[error("the descriptor says it is {declared} bytes but its symbol is {symbol} bytes")]
    SizeBeyondSymbol { declared: usize, symbol: usize },
    #[error(
        "the descriptor's size {size} ends inside its field '{field}' (a size must end on a field boundary)"
    )]
    SizeInsideField { size: usize, field: &'static str },
    #[error(
        "the descriptor is {size} bytes and its bytes past the {known} this harness knows are not zero (a field of a newer module-abi): upgrade the harness or rebuild the module"
    )]
    NonZeroTail { size: usize, known: usize },
    #[error("the descriptor's {field} {reason}")]
    BadString { field: &'static str, reason: &'static str },
    #[error("the descriptor's {field} is not UTF-8")]
    NotUtf8 { field: &'static str },
    #[error("the descriptor's {field} points outside the module's code")]
    BadFunction { field: &'static str },
    #[error("the descriptor's table points outside the module's library")]
    BadTable,
}

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
    pub required_features: u64,
    /// The module library's mapped image (absent only in hand-made views of unit tests).
    pub image: Option<ObjectImage>,
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

/// The fields after the header, by name and offset: every one is pointer-sized or a `u64`.
const FIELDS: [(&str, usize); 11] = [
    ("kind", std::mem::offset_of!(ModuleDescriptor, kind)),
    ("built_against", std::mem::offset_of!(ModuleDescriptor, built_against)),
    ("author_name", std::mem::offset_of!(ModuleDescriptor, author_name)),
    ("author_email", std::mem::offset_of!(ModuleDescriptor, author_email)),
    ("description", std::mem::offset_of!(ModuleDescriptor, description)),
    ("compatible", std::mem::offset_of!(ModuleDescriptor, compatible)),
    ("create", std::mem::offset_of!(ModuleDescriptor, create)),
    ("destroy", std::mem::offset_of!(ModuleDescriptor, destroy)),
    ("table", std::mem::offset_of!(ModuleDescriptor, table)),
    ("required_features", std::mem::offset_of!(ModuleDescriptor, required_features)),
    ("the end", DESCRIPTOR_SIZE),
];

/// Where a descriptor of `size` bytes (at most this host's) ends: on a field boundary, or inside
/// the field named.
fn check_boundary(size: usize) -> Result<(), DescriptorError> {
    if size == DESCRIPTOR_HEADER_SIZE || FIELDS.iter().any(|&(_, offset)| offset == size) {
        return Ok(());
    }
    let field = FIELDS.windows(2).find(|w| w[0].1 < size && size < w[1].1).map_or("kind", |w| w[0].0);
    Err(DescriptorError::SizeInsideField { size, field })
}

/// Reads the descriptor at `address`, the result of looking up a module's symbol.
pub fn read_descriptor(address: *const c_void) -> Result<DescriptorView, DescriptorError> {
    let symbol_size = match symbol_info(address) {
        SymbolInfo::Object { size } => size,
        SymbolInfo::NotObject { elf_type: 2 } => return Err(DescriptorError::Function),
        SymbolInfo::NotObject { elf_type } => return Err(DescriptorError::NotObject(elf_type)),
        SymbolInfo::Unknown => return Err(DescriptorError::UnknownSize),
    };
    if symbol_size < DESCRIPTOR_HEADER_SIZE {
        return Err(DescriptorError::TooSmall(symbol_size));
    }
    let image = ObjectImage::containing(address).ok_or(DescriptorError::NoImage)?;
    if !image.holds(address, symbol_size) {
        return Err(DescriptorError::NoImage);
    }
    // SAFETY: the symbol is a data object of at least DESCRIPTOR_HEADER_SIZE bytes inside its
    // library's mapped image.
    let magic = unsafe { address.cast::<u64>().read_unaligned() };
    if magic != MODULE_MAGIC {
        return Err(DescriptorError::NoMagic);
    }
    // SAFETY: as above; `size` and `abi_version` lie within the header.
    let (size, abi_version) = unsafe {
        let bytes = address.cast::<u8>();
        (bytes.add(8).cast::<u32>().read_unaligned(), bytes.add(12).cast::<u32>().read_unaligned())
    };
    let declared = size as usize;
    if declared < DESCRIPTOR_HEADER_SIZE || declared > symbol_size {
        return Err(DescriptorError::SizeBeyondSymbol { declared, symbol: symbol_size });
    }
    if abi_version != ABI_VERSION {
        // Nothing past the header is read: another ABI version may lay the fields out differently.
        return Ok(DescriptorView { size, abi_version, image: Some(image), ..DescriptorView::default() });
    }
    if declared < DESCRIPTOR_SIZE {
        check_boundary(declared)?;
    } else if declared > DESCRIPTOR_SIZE {
        // SAFETY: `declared` bytes at `address` lie inside the symbol (checked above).
        let tail = unsafe {
            std::slice::from_raw_parts(address.cast::<u8>().add(DESCRIPTOR_SIZE), declared - DESCRIPTOR_SIZE)
        };
        if tail.iter().any(|&b| b != 0) {
            return Err(DescriptorError::NonZeroTail { size: declared, known: DESCRIPTOR_SIZE });
        }
    }
    let copied = declared.min(DESCRIPTOR_SIZE);
    let mut raw = std::mem::MaybeUninit::<ModuleDescriptor>::zeroed();
    // SAFETY: `copied` bytes are readable at `address` (at most `declared`, checked against the
    // symbol's size) and fit in `raw`. Every field of ModuleDescriptor is an integer, a raw pointer
    // or an `Option` of a function pointer, for which all-zero bytes are valid (0 or null/None), and
    // `copied` ends on a field boundary (checked above), so no field is half-copied.
    let raw = unsafe {
        std::ptr::copy_nonoverlapping(address.cast::<u8>(), raw.as_mut_ptr().cast::<u8>(), copied);
        raw.assume_init()
    };
    let text = |field: &'static str, ptr: *const c_char| -> Result<Option<String>, DescriptorError> {
        if ptr.is_null() {
            return Ok(None);
        }
        let s = image
            .c_string(ptr, MAX_DESCRIPTOR_STRING)
            .map_err(|reason| DescriptorError::BadString { field, reason })?;
        s.to_str().map(|s| Some(s.to_string())).map_err(|_| DescriptorError::NotUtf8 { field })
    };
    let function = |field: &'static str, address: Option<usize>| match address {
        Some(address) if !image.holds_code(address) => Err(DescriptorError::BadFunction { field }),
        _ => Ok(()),
    };
    function("compatible", raw.compatible.map(|f| f as usize))?;
    function("create", raw.create.map(|f| f as usize))?;
    function("destroy", raw.destroy.map(|f| f as usize))?;
    if !raw.table.is_null() && !image.holds(raw.table, module_abi::TABLE_HEADER_SIZE) {
        return Err(DescriptorError::BadTable);
    }
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
        required_features: raw.required_features,
        image: Some(image),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_end_on_a_field_boundary() {
        assert!(check_boundary(DESCRIPTOR_HEADER_SIZE).is_ok());
        assert!(check_boundary(std::mem::offset_of!(ModuleDescriptor, required_features)).is_ok());
        assert!(check_boundary(DESCRIPTOR_SIZE).is_ok());
        let inside = std::mem::offset_of!(ModuleDescriptor, table) + 4;
        assert_eq!(
            check_boundary(inside),
            Err(DescriptorError::SizeInsideField { size: inside, field: "table" })
        );
        assert_eq!(check_boundary(20), Err(DescriptorError::SizeInsideField { size: 20, field: "kind" }));
    }
}
