//! The module descriptor: the `#[repr(C)]` value behind every module's exported symbol.
//!
//! Its first three fields never move: a magic value, the descriptor's own size and the ABI version.
//! A host reads the magic first and refuses anything else, so a symbol that is not a module (any
//! function or variable of any library) is turned away without reading past it. Fields after the
//! header only grow at the end; a host reads a field only when `size` says the module has it.

use std::ffi::{CStr, c_char, c_void};

use crate::output::Output;

/// `"MESOSMOD"` read as a little-endian `u64`: the first eight bytes of every descriptor.
pub const MODULE_MAGIC: u64 = u64::from_le_bytes(*b"MESOSMOD");

/// The binary layout version. A host loads only modules of exactly this ABI version.
pub const ABI_VERSION: u32 = 1;

/// The version of module-abi a module (or host) is built against, as a C string.
pub const BUILT_AGAINST: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

/// The version of module-abi this crate is, as text (`"0.1.0"`).
pub const MODULE_ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A call succeeded; the output holds its JSON result (empty for none).
pub const STATUS_OK: i32 = 0;
/// A call failed; the output holds the error message (UTF-8 text).
pub const STATUS_ERROR: i32 = 1;

/// `int compatible(const struct mm_output *error)`: 1 when the module can run in this host,
/// 0 when it cannot, negative when it failed (its message in `error`).
pub type CompatibleFn = unsafe extern "C" fn(error: *const Output) -> i32;

/// `int create(params, params_len, &instance, error)`: `params` is a JSON array of
/// `{"key", "value"}` objects. Returns [`STATUS_OK`] with `*instance` set, or [`STATUS_ERROR`].
pub type CreateFn = unsafe extern "C" fn(
    params: *const u8,
    params_len: usize,
    instance: *mut *mut c_void,
    error: *const Output,
) -> i32;

/// `void destroy(instance)`: frees an instance made by `create`, in the module's own allocator.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// The one shape of every JSON call in a kind table: a request in, a result or an error message out.
pub type CallFn = unsafe extern "C" fn(
    instance: *mut c_void,
    request: *const u8,
    request_len: usize,
    output: *const Output,
) -> i32;

/// What a module's exported symbol is. Mesos's `ModuleBase` plus `Module<T>::create`, in plain C.
#[repr(C)]
#[derive(Debug)]
pub struct ModuleDescriptor {
    /// Always [`MODULE_MAGIC`].
    pub magic: u64,
    /// `sizeof` this descriptor as the module was built.
    pub size: u32,
    /// [`ABI_VERSION`] the module was built with.
    pub abi_version: u32,
    /// The kind's name: `"Isolator"`, `"Containerizer"`, `"Anonymous"`, `"TestModule"`.
    pub kind: *const c_char,
    /// The module-abi version the module was built against (`"0.1.0"`).
    pub built_against: *const c_char,
    pub author_name: *const c_char,
    pub author_email: *const c_char,
    pub description: *const c_char,
    /// Optional; without it the module needs an exact version match.
    pub compatible: Option<CompatibleFn>,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    /// The kind's function table; its first field is its own size.
    pub table: *const c_void,
}

// SAFETY: a descriptor is immutable data: pointers to static C strings, to a static table and to
// functions. Nothing is written through them, so sharing between threads is sound.
unsafe impl Sync for ModuleDescriptor {}

/// The bytes of the header every descriptor starts with: magic, size and ABI version.
pub const DESCRIPTOR_HEADER_SIZE: usize = 16;

/// The size of the descriptor as this crate defines it.
pub const DESCRIPTOR_SIZE: usize = std::mem::size_of::<ModuleDescriptor>();

/// The header of a kind table: its own size in bytes, then the kind's slots.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TableHeader {
    pub size: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn header_fields_sit_where_the_abi_says() {
        assert_eq!(offset_of!(ModuleDescriptor, magic), 0);
        assert_eq!(offset_of!(ModuleDescriptor, size), 8);
        assert_eq!(offset_of!(ModuleDescriptor, abi_version), 12);
        assert_eq!(offset_of!(ModuleDescriptor, kind), DESCRIPTOR_HEADER_SIZE);
    }

    #[test]
    fn magic_spells_its_name_in_memory() {
        assert_eq!(&MODULE_MAGIC.to_le_bytes(), b"MESOSMOD");
    }

    #[test]
    fn built_against_is_this_crate() {
        assert_eq!(BUILT_AGAINST.to_str().unwrap(), MODULE_ABI_VERSION);
    }
}
