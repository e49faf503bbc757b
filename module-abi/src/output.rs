//! The output channel of every call: the host passes a writer, the module writes its result or
//! error message into it. The bytes are copied by the host while the call runs, so no memory ever
//! changes owner across the boundary and neither side frees what the other allocated.

use std::ffi::c_void;

/// `struct mm_output`: a context and a function that appends bytes to it.
#[repr(C)]
#[derive(Debug)]
pub struct Output {
    pub context: *mut c_void,
    pub write: Option<unsafe extern "C" fn(context: *mut c_void, data: *const u8, len: usize)>,
}

impl Output {
    /// An output that appends into `buffer`, for a host to pass to a call.
    pub fn collector(buffer: &mut Vec<u8>) -> Output {
        Output { context: (buffer as *mut Vec<u8>).cast(), write: Some(append_to_vec) }
    }

    /// Writes `bytes` to `output`. Used by the module side; a null output or writer drops them.
    ///
    /// # Safety
    /// `output` is null or points to a live [`Output`] whose `write` honours its contract.
    pub unsafe fn write(output: *const Output, bytes: &[u8]) {
        if output.is_null() || bytes.is_empty() {
            return;
        }
        // SAFETY: non-null and live by this function's contract.
        let out = unsafe { &*output };
        if let Some(write) = out.write {
            // SAFETY: the writer reads `len` bytes from a valid slice and appends them to its context.
            unsafe { write(out.context, bytes.as_ptr(), bytes.len()) };
        }
    }
}

unsafe extern "C" fn append_to_vec(context: *mut c_void, data: *const u8, len: usize) {
    if context.is_null() || data.is_null() {
        return;
    }
    // SAFETY: `context` was made from a `&mut Vec<u8>` in `Output::collector`, which outlives the
    // call; `data` points to `len` readable bytes by the writer's contract.
    unsafe {
        let buffer = &mut *context.cast::<Vec<u8>>();
        buffer.extend_from_slice(std::slice::from_raw_parts(data, len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_appends_every_write() {
        let mut buffer = Vec::new();
        let out = Output::collector(&mut buffer);
        // SAFETY: `out` is live and its writer is `append_to_vec`.
        unsafe {
            Output::write(&out, b"hello ");
            Output::write(&out, b"world");
            Output::write(std::ptr::null(), b"dropped");
        }
        assert_eq!(buffer, b"hello world");
    }
}
