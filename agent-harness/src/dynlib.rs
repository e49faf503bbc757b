//! The dynamic loader, thinly. Opening a library and looking up a symbol go through `libloading`
//! (`dlopen` with `RTLD_NOW`, `dlsym`). What libloading does not offer is written here against
//! glibc: what the loader knows about a symbol (`dladdr1` with `RTLD_DL_SYMENT`: its ELF type and
//! size), the file a library resolved to (`dlinfo`), and the mapped image of a loaded object
//! (`dl_iterate_phdr`: its `PT_LOAD` segments), against which every pointer a module hands over is
//! checked before it is read.
//!
//! Libraries are never closed: unloading a Rust `cdylib` is unsound (its thread-locals and statics
//! may still be referenced), and Mesos never unloads either. So a libloading `Library` is turned
//! into its raw handle at once and never dropped.

use std::error::Error as _;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::PathBuf;

use thiserror::Error;

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

/// Why the loader could not open a library or find a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DlError {
    /// The name cannot be handed to the loader at all.
    #[error("the {what} contains a NUL byte")]
    Nul { what: &'static str },
    /// The loader's own words (`dlerror()`), which name the file or the symbol.
    #[error("{0}")]
    Loader(String),
}

impl DlError {
    /// A libloading error as one line: the loader's words (`dlerror()`), else libloading's.
    fn from_libloading(error: &libloading::Error) -> DlError {
        DlError::Loader(match error.source() {
            Some(source) => source.to_string(),
            None => error.to_string(),
        })
    }
}

impl Library {
    /// `dlopen(file, RTLD_NOW)`. A file without `/` is searched the loader's way (`LD_LIBRARY_PATH`,
    /// the cache, the default paths); with `/` it is a path. The error has `dlerror()`'s text.
    pub fn open(file: &str) -> Result<Library, DlError> {
        if file.contains('\0') {
            return Err(DlError::Nul { what: "file name" });
        }
        // SAFETY: opening a library runs its initialisers; module libraries are trusted code by
        // the ABI's contract (the harness loads only what the operator's manifest names). RTLD_NOW
        // resolves every symbol now, so a missing dependency is reported here, not as a crash later.
        let library = unsafe { libloading::os::unix::Library::open(Some(file), libc::RTLD_NOW) }
            .map_err(|e| DlError::from_libloading(&e))?;
        Ok(Library { handle: library.into_raw() })
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

    /// The address of `symbol`, or an error with `dlerror()`'s text.
    pub fn symbol(&self, symbol: &str) -> Result<*const c_void, DlError> {
        if symbol.contains('\0') {
            return Err(DlError::Nul { what: "symbol name" });
        }
        // SAFETY: the handle came from `into_raw` of a libloading Library and is never closed; the
        // wrapper is turned back into the raw handle below, so it is not dropped (which would
        // dlclose it).
        let library = unsafe { libloading::os::unix::Library::from_raw(self.handle) };
        // SAFETY: the symbol is only looked up as an address (`*const c_void`); nothing is called or
        // read through it here.
        let found = unsafe { library.get::<*const c_void>(symbol.as_bytes()) }
            .map(|s| s.into_raw().cast_const())
            .map_err(|e| DlError::from_libloading(&e));
        let _ = library.into_raw();
        found
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

/// One `PT_LOAD` segment of a loaded object, as mapped: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: usize,
    end: usize,
    executable: bool,
}

/// The mapped image of one loaded object: its `PT_LOAD` segments. A module's pointers must point
/// into its own image, so a stray pointer is refused instead of read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectImage {
    segments: Vec<Segment>,
}

/// What the `dl_iterate_phdr` callback looks for and what it finds.
struct Search {
    address: usize,
    found: Option<Vec<Segment>>,
}

unsafe extern "C" fn find_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Search` that `ObjectImage::containing` passed, live for the iteration;
    // `info` is the loader's description of one object, valid during this callback.
    let (search, info) = unsafe { (&mut *data.cast::<Search>(), &*info) };
    if info.dlpi_phdr.is_null() {
        return 0;
    }
    // SAFETY: the loader gives `dlpi_phnum` program headers at `dlpi_phdr`.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    let segments: Vec<Segment> = headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_R != 0)
        .map(|h| {
            let start = (info.dlpi_addr as usize).wrapping_add(h.p_vaddr as usize);
            Segment {
                start,
                end: start.saturating_add(h.p_memsz as usize),
                executable: h.p_flags & libc::PF_X != 0,
            }
        })
        .collect();
    if segments.iter().any(|s| s.start <= search.address && search.address < s.end) {
        search.found = Some(segments);
        return 1;
    }
    0
}

impl ObjectImage {
    /// The image of the loaded object that `address` lies in, if any.
    pub fn containing(address: *const c_void) -> Option<ObjectImage> {
        let mut search = Search { address: address as usize, found: None };
        // SAFETY: `find_object` only reads the loader's descriptions and writes `search`, which
        // outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(find_object), (&mut search as *mut Search).cast()) };
        search.found.map(|segments| ObjectImage { segments })
    }

    /// Whether `len` bytes at `address` lie inside one readable segment of this image.
    pub fn holds(&self, address: *const c_void, len: usize) -> bool {
        let start = address as usize;
        let Some(end) = start.checked_add(len) else { return false };
        self.segments.iter().any(|s| s.start <= start && end <= s.end)
    }

    /// Whether `address` lies in an executable segment of this image (a function of it).
    pub fn holds_code(&self, address: usize) -> bool {
        self.segments.iter().any(|s| s.executable && s.start <= address && address < s.end)
    }

    /// The NUL-terminated string at `address`, read only inside this image and at most `max`
    /// bytes long. `Err` says why it cannot be read.
    pub fn c_string(&self, address: *const c_char, max: usize) -> Result<&'static CStr, &'static str> {
        let start = address as usize;
        let segment = self
            .segments
            .iter()
            .find(|s| s.start <= start && start < s.end)
            .ok_or("it points outside the module's library")?;
        let readable = (segment.end - start).min(max + 1);
        // SAFETY: `readable` bytes from `address` lie inside one mapped, readable segment of a
        // library that is never unloaded, so the slice stays valid for the life of the process.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(address.cast::<u8>(), readable) };
        CStr::from_bytes_until_nul(bytes).map_err(|_| {
            if readable > max {
                "it is longer than the limit"
            } else {
                "it is not NUL-terminated inside the module's library"
            }
        })
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
        let err = Library::open("libdoes-not-exist-here.so").unwrap_err().to_string();
        assert!(err.contains("libdoes-not-exist-here.so"), "{err}");
    }

    #[test]
    fn classifies_functions_and_objects() {
        let lib = Library::open("libc.so.6").unwrap();
        let function = lib.symbol("getpid").unwrap();
        assert!(matches!(symbol_info(function), SymbolInfo::NotObject { .. }));
        let object = lib.symbol("environ").unwrap();
        assert!(matches!(symbol_info(object), SymbolInfo::Object { size: 8 }));
        assert!(lib.symbol("no_such_symbol_here").unwrap_err().to_string().contains("no_such_symbol_here"));
        assert_eq!(lib.symbol("a\0b").unwrap_err().to_string(), "the symbol name contains a NUL byte");
    }

    #[test]
    fn an_image_holds_its_own_data_and_code_and_nothing_else() {
        let lib = Library::open("libc.so.6").unwrap();
        let getpid = lib.symbol("getpid").unwrap();
        let image = ObjectImage::containing(getpid).unwrap();
        assert!(image.holds_code(getpid as usize));
        let version = lib.symbol("gnu_get_libc_version").unwrap();
        assert!(image.holds_code(version as usize));
        // This test binary's own data is not inside libc's image.
        static HERE: [u8; 4] = *b"abc\0";
        assert!(!image.holds(HERE.as_ptr().cast(), HERE.len()));
        let own = ObjectImage::containing(HERE.as_ptr().cast()).unwrap();
        assert!(own.holds(HERE.as_ptr().cast(), HERE.len()));
        assert_eq!(own.c_string(HERE.as_ptr().cast(), 16).unwrap().to_bytes(), b"abc");
        assert_eq!(own.c_string(HERE.as_ptr().cast(), 2), Err("it is longer than the limit"));
        assert!(image.c_string(HERE.as_ptr().cast(), 16).is_err());
        assert!(ObjectImage::containing(0x1000 as *const c_void).is_none());
    }
}
