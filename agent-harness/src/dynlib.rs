//! The dynamic loader, thinly: `dlopen` with `RTLD_NOW`, `dlsym`, and what the loader knows about a
//! symbol (`dladdr1` with `RTLD_DL_SYMENT`: its ELF type and size) and a library (`dlinfo`: the
//! file it resolved to). Libraries are never closed: unloading a Rust `cdylib` is unsound (its
//! thread-locals and statics may still be referenced), and Mesos never unloads either.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::PathBuf;

/// An open library. Never closed.
#[derive(Debug, Clone, Copy)]
pub struct Library {
    handle: *mut c_void,
}

// SAFETY: a dlopen handle is a process-wide token; glibc's dl* functions are thread-safe.
unsafe impl Send for Library {}
// SAFETY: as above; the handle is never mutated or closed.
unsafe impl Sync for Library {}

/// What the dynamic loader knows about a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolInfo {
    /// A data object of this many bytes.
    Object { size: usize },
    /// A function, or anything that is not a sized data object (TLS, ifunc, absolute, ...).
    NotObject { elf_type: u8 },
    /// The loader has no entry for exactly this address.
    Unknown,
}

const RTLD_DL_SYMENT: c_int = 1;
const RTLD_DI_LINKMAP: c_int = 2;
const STT_OBJECT: u8 = 1;

/// The leading fields of glibc's `struct link_map`; only `l_name` is read.
#[repr(C)]
struct LinkMapHead {
    l_addr: usize,
    l_name: *const c_char,
}

unsafe extern "C" {
    fn dladdr1(addr: *const c_void, info: *mut libc::Dl_info, extra: *mut *mut c_void, flags: c_int)
    -> c_int;
    fn dlinfo(handle: *mut c_void, request: c_int, info: *mut c_void) -> c_int;
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string valid until the next dl* call on this
    // thread; it is copied at once.
    unsafe {
        let message = libc::dlerror();
        if message.is_null() {
            "unknown dynamic loader error".to_string()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        }
    }
}

impl Library {
    /// `dlopen(file, RTLD_NOW)`. A file without `/` is searched the loader's way (`LD_LIBRARY_PATH`,
    /// the cache, the default paths); with `/` it is a path. The error is `dlerror()`'s text.
    pub fn open(file: &str) -> Result<Library, String> {
        let c_file = CString::new(file).map_err(|_| "the file name contains a NUL byte".to_string())?;
        // SAFETY: a valid C string; RTLD_NOW resolves every symbol now, so a missing dependency is
        // reported here and not as a crash later. Initialisers of the library run here.
        let handle = unsafe { libc::dlopen(c_file.as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() { Err(last_dl_error()) } else { Ok(Library { handle }) }
    }

    /// The file the loader resolved this library to.
    pub fn path(&self) -> Option<PathBuf> {
        let mut map: *mut LinkMapHead = std::ptr::null_mut();
        // SAFETY: RTLD_DI_LINKMAP writes a `struct link_map *` for a valid handle into `map`.
        let rc = unsafe { dlinfo(self.handle, RTLD_DI_LINKMAP, (&mut map as *mut *mut LinkMapHead).cast()) };
        if rc != 0 || map.is_null() {
            return None;
        }
        // SAFETY: `map` points to the loader's live link_map for this never-closed library; `l_name`
        // is its NUL-terminated file name.
        let name = unsafe { (*map).l_name };
        if name.is_null() {
            return None;
        }
        // SAFETY: checked non-null above; owned by the loader for the life of the process.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
        let path = PathBuf::from(name);
        Some(std::fs::canonicalize(&path).unwrap_or(path))
    }

    /// The address of `symbol`, or `dlerror()`'s text.
    pub fn symbol(&self, symbol: &str) -> Result<*const c_void, String> {
        let c_symbol = CString::new(symbol).map_err(|_| "the symbol name contains a NUL byte".to_string())?;
        // SAFETY: clear any stale error first, as dlsym may legitimately return null.
        unsafe { libc::dlerror() };
        // SAFETY: a valid handle and C string.
        let address = unsafe { libc::dlsym(self.handle, c_symbol.as_ptr()) };
        if address.is_null() { Err(last_dl_error()) } else { Ok(address.cast_const()) }
    }
}

/// What the loader knows about the symbol at exactly `address`. Any address may be asked about:
/// `dladdr1` looks it up in the loader's tables and never dereferences it.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn symbol_info(address: *const c_void) -> SymbolInfo {
    // SAFETY: Dl_info is plain data; all-zero is a valid "empty" value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let mut entry: *mut c_void = std::ptr::null_mut();
    // SAFETY: dladdr1 only reads the loader's tables for `address` and writes `info` and `entry`.
    let found = unsafe { dladdr1(address, &mut info, &mut entry, RTLD_DL_SYMENT) };
    if found == 0 || entry.is_null() || info.dli_saddr.cast_const() != address {
        return SymbolInfo::Unknown;
    }
    // SAFETY: with RTLD_DL_SYMENT, `entry` points to the symbol's `Elf64_Sym` in the loaded image.
    let sym = unsafe { &*entry.cast::<libc::Elf64_Sym>() };
    let elf_type = sym.st_info & 0xf;
    if elf_type == STT_OBJECT {
        SymbolInfo::Object { size: sym.st_size as usize }
    } else {
        SymbolInfo::NotObject { elf_type }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_libc_by_search_and_reports_its_path() {
        let lib = Library::open("libc.so.6").unwrap();
        let path = lib.path().unwrap();
        assert!(path.is_absolute(), "{path:?}");
        assert!(path.to_string_lossy().contains("libc"), "{path:?}");
    }

    #[test]
    fn a_missing_library_gives_the_loaders_message() {
        let err = Library::open("libdoes-not-exist-here.so").unwrap_err();
        assert!(err.contains("libdoes-not-exist-here.so"), "{err}");
    }

    #[test]
    fn classifies_functions_and_objects() {
        let lib = Library::open("libc.so.6").unwrap();
        let function = lib.symbol("getpid").unwrap();
        assert!(matches!(symbol_info(function), SymbolInfo::NotObject { .. }));
        let object = lib.symbol("environ").unwrap();
        assert!(matches!(symbol_info(object), SymbolInfo::Object { size: 8 }));
        assert!(lib.symbol("no_such_symbol_here").unwrap_err().contains("no_such_symbol_here"));
    }
}
