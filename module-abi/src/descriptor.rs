//! The module descriptor: the `#[repr(C)]` value behind every module's exported symbol.
//!
//! Its first three fields never move: a magic value, the descriptor's own size and the ABI version.
//! A host reads the magic first and refuses anything else, so a symbol that is not a module (any
//! function or variable of any library) is turned away without reading past it.
//!
//! # Versions
//! - [`ABI_VERSION`] is frozen at 1 forever. The layout grows only through sizes: fields are
//!   appended to the descriptor, slots to the kind tables, optional fields to the messages. A host
//!   refuses every other ABI version before reading past the header.
//! - [`MODULE_ABI_VERSION`] is module-abi's own semver, independent of the suite's releases. Its
//!   minor moves when the surface grows (a field, a slot, a message field, a kind). A module
//!   records it in `built_against`; it loads when `kind minimum <= built_against <= host's`.
//!
//! # Growth rules (Linux's `copy_struct_from_user` rule, as `clone3` and `openat2` use it)
//! - A **shorter descriptor** (an older module) is zero-extended: the fields it lacks read as
//!   absent. It is refused only when it lacks a field the host requires.
//! - A **longer descriptor** (a newer module) loads when every byte the host does not know is zero;
//!   a non-zero unknown tail is refused, since it may change what the known fields mean.
//! - A **size that ends inside a field** is refused.
//! - **`required_features`**: bits the module needs the host to understand. Version 1.0 defines
//!   none, so any set bit is refused by a 1.0 host.
//! - **Kind tables** start with the same `{size, reserved}` header. A shorter table reads the
//!   missing slots as absent (Mesos's default behaviour for that call); a host refuses it only when
//!   a required slot is missing, at load, before `create`. Slots past the host's table are
//!   ignored: they are calls a newer module-abi added, which this host never makes. `reserved`
//!   must be zero.

use std::ffi::{CStr, c_char, c_void};

use crate::output::Output;

/// `"MESOSMOD"` read as a little-endian `u64`: the first eight bytes of every descriptor.
pub const MODULE_MAGIC: u64 = u64::from_le_bytes(*b"MESOSMOD");

/// The binary layout version: 1, frozen. Everything else grows through sizes.
pub const ABI_VERSION: u32 = 1;

/// module-abi's own version (semver), which moves only when the ABI's surface grows.
pub const MODULE_ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// [`MODULE_ABI_VERSION`] as a C string: what a module records in `built_against`.
pub const BUILT_AGAINST: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

/// Every call of the ABI returns this when it succeeded; its output holds the JSON result (empty
/// for none).
pub const STATUS_OK: i32 = 0;
/// Every call of the ABI returns this when it failed; its output holds the error message (UTF-8).
pub const STATUS_ERROR: i32 = 1;

/// The `required_features` bits a host of this module-abi understands: none yet.
pub const KNOWN_FEATURES: u64 = 0;

/// `int compatible(host_info, host_info_len, output)`: a veto the module may add. The request is
/// the [`crate::HostInfo`] JSON; the result is JSON `true` (it can run here) or `false`.
pub type CompatibleFn =
    unsafe extern "C" fn(host_info: *const u8, host_info_len: usize, output: *const Output) -> i32;

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
    /// The [`MODULE_ABI_VERSION`] the module was built against (`"1.0.0"`).
    pub built_against: *const c_char,
    pub author_name: *const c_char,
    pub author_email: *const c_char,
    pub description: *const c_char,
    /// Optional: a veto. Without it the version rule alone decides.
    pub compatible: Option<CompatibleFn>,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    /// The kind's function table; it starts with a [`TableHeader`].
    pub table: *const c_void,
    /// Features the host must understand to load this module (see [`KNOWN_FEATURES`]).
    pub required_features: u64,
}

// SAFETY: a descriptor is immutable data: pointers to static C strings, to a static table and to
// functions. Nothing is written through them, so sharing between threads is sound.
unsafe impl Sync for ModuleDescriptor {}

/// The bytes of the header every descriptor starts with: magic, size and ABI version.
pub const DESCRIPTOR_HEADER_SIZE: usize = 16;

/// The size of the descriptor as this crate defines it.
pub const DESCRIPTOR_SIZE: usize = std::mem::size_of::<ModuleDescriptor>();

/// The header of every kind table: its own size in bytes, then a reserved word that is zero.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    pub size: u32,
    pub reserved: u32,
}

impl TableHeader {
    /// The header of a table of type `T`.
    pub const fn of<T>() -> TableHeader {
        TableHeader { size: std::mem::size_of::<T>() as u32, reserved: 0 }
    }
}

/// The size of a [`TableHeader`].
pub const TABLE_HEADER_SIZE: usize = std::mem::size_of::<TableHeader>();

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
        assert_eq!(TABLE_HEADER_SIZE, 8);
    }

    #[test]
    fn magic_spells_its_name_in_memory() {
        assert_eq!(&MODULE_MAGIC.to_le_bytes(), b"MESOSMOD");
    }

    #[test]
    fn built_against_is_this_crate() {
        assert_eq!(BUILT_AGAINST.to_str().unwrap(), MODULE_ABI_VERSION);
        assert!(MODULE_ABI_VERSION.starts_with("1."), "module-abi 1.x: {MODULE_ABI_VERSION}");
    }
}
