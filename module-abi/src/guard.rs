//! The module side of every call: decode the request, run the module's code inside
//! `catch_unwind`, encode the result or the error. A panic becomes an error carrying its message
//! and location; it never unwinds into the host.
//!
//! A Rust module is a `cdylib` with its own copy of std, so the panic hook installed here is the
//! module's own. It records a panic for the error message only while the panicking thread is
//! inside a module call; every other panic (a thread the module spawned, a panic in a destructor
//! run outside a call) goes to the hook that was there before, with its message, as if this one
//! did not exist.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::descriptor::{STATUS_ERROR, STATUS_OK};
use crate::error::Error;
use crate::output::Output;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// How many module calls this thread is inside (a call may make another, e.g. `create`).
    static IN_CALL: Cell<u32> = const { Cell::new(0) };
}

/// Counts the current thread as inside a module call while it lives.
struct CallScope;

impl CallScope {
    fn enter() -> CallScope {
        IN_CALL.with(|depth| depth.set(depth.get() + 1));
        CallScope
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        IN_CALL.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

fn install_panic_recorder() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_call = IN_CALL.try_with(Cell::get).unwrap_or(0) > 0;
            if !in_call {
                previous(info);
                return;
            }
            let recorded = LAST_PANIC.try_with(|slot| {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-text panic payload".to_string());
                let location =
                    info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                *slot.borrow_mut() = Some(format!("module panicked{location}: {message}"));
            });
            if recorded.is_err() {
                previous(info);
            }
        }));
    });
}

/// Runs `body`, turning a panic into an [`Error`].
pub fn catch<T>(body: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    install_panic_recorder();
    let scope = CallScope::enter();
    let caught = panic::catch_unwind(AssertUnwindSafe(body));
    drop(scope);
    match caught {
        Ok(result) => result,
        Err(_) => {
            let message = LAST_PANIC
                .with(|slot| slot.borrow_mut().take())
                .unwrap_or_else(|| "module panicked".to_string());
            Err(Error::msg(message))
        }
    }
}

/// Writes an error message and returns [`STATUS_ERROR`].
///
/// # Safety
/// `output` is null or a live [`Output`].
pub unsafe fn fail(output: *const Output, error: &Error) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { Output::write(output, error.message().as_bytes()) };
    STATUS_ERROR
}

/// Decodes a JSON request (empty means `null`).
///
/// # Safety
/// `request` points to `len` readable bytes, or `len` is 0.
pub unsafe fn decode<I: DeserializeOwned>(request: *const u8, len: usize) -> Result<I, Error> {
    let bytes: &[u8] = if len == 0 || request.is_null() {
        b"null"
    } else {
        // SAFETY: `len` readable bytes by this function's contract.
        unsafe { std::slice::from_raw_parts(request, len) }
    };
    serde_json::from_slice(bytes).map_err(|e| Error::msg(format!("malformed request: {e}")))
}

/// The whole module side of a JSON call: decode, run guarded, encode.
///
/// # Safety
/// `request` points to `len` readable bytes (or `len` is 0); `output` is null or a live [`Output`].
pub unsafe fn json_call<I, O>(
    request: *const u8,
    len: usize,
    output: *const Output,
    body: impl FnOnce(I) -> Result<O, Error>,
) -> i32
where
    I: DeserializeOwned,
    O: Serialize,
{
    let result = catch(|| {
        // SAFETY: forwarded from the caller.
        let input = unsafe { decode::<I>(request, len) }?;
        let value = body(input)?;
        serde_json::to_vec(&value).map_err(|e| Error::msg(format!("cannot encode the result: {e}")))
    });
    match result {
        Ok(bytes) => {
            // SAFETY: forwarded from the caller.
            unsafe { Output::write(output, &bytes) };
            STATUS_OK
        }
        // SAFETY: forwarded from the caller.
        Err(error) => unsafe { fail(output, &error) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let err = catch::<()>(|| panic!("boom {}", 42)).unwrap_err();
        assert!(err.message().contains("boom 42"), "{err}");
        assert!(err.message().contains("guard.rs"), "{err}");
    }

    /// A panic outside any module call (a thread of the module's own) is left to the previous
    /// hook: it is not recorded, so it cannot turn up as a later call's error.
    #[test]
    fn panics_outside_a_call_are_not_recorded() {
        install_panic_recorder();
        let recorded = std::thread::spawn(|| {
            let _ = panic::catch_unwind(|| panic!("a thread of the module, outside any call"));
            LAST_PANIC.with(|slot| slot.borrow().clone())
        })
        .join()
        .unwrap();
        assert_eq!(recorded, None);
        let inside = catch::<()>(|| panic!("inside")).unwrap_err();
        assert!(inside.message().contains("inside"), "{inside}");
        assert_eq!(IN_CALL.with(Cell::get), 0);
    }

    #[test]
    fn json_call_encodes_results_and_errors() {
        let mut buffer = Vec::new();
        let out = Output::collector(&mut buffer);
        let req = br#"{"a":2}"#;
        // SAFETY: the request slice and the collector are live for the call.
        let status = unsafe {
            json_call(req.as_ptr(), req.len(), &out, |v: serde_json::Value| Ok(v["a"].as_i64().unwrap() * 2))
        };
        assert_eq!(status, STATUS_OK);
        assert_eq!(buffer, b"4");

        let mut buffer = Vec::new();
        let out = Output::collector(&mut buffer);
        // SAFETY: as above.
        let status = unsafe { json_call(b"{".as_ptr(), 1, &out, |_: serde_json::Value| Ok::<_, Error>(())) };
        assert_eq!(status, STATUS_ERROR);
        assert!(String::from_utf8(buffer).unwrap().starts_with("malformed request"));
    }
}
