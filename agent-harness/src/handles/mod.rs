//! Typed handles over module instances, one per kind. Each calls through the kind's table and
//! falls back to the kind's default where the module's table lacks a slot.

mod anonymous;
mod containerizer;
mod isolator;
mod test_module;

pub use anonymous::AnonymousHandle;
pub use containerizer::ContainerizerHandle;
pub use isolator::IsolatorHandle;
pub use test_module::TestModuleHandle;

use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use crate::instance::CallError;

/// Duplicates a descriptor a module handed out, so the host owns its copy (close-on-exec).
pub(crate) fn dup_module_fd(fd: RawFd, module: &str, method: &'static str) -> Result<OwnedFd, CallError> {
    let error = |message: String| CallError { module: module.to_string(), method, message };
    if fd < 0 {
        return Err(error(format!("returned an invalid file descriptor {fd}")));
    }
    // SAFETY: the ABI's `watch` contract: the module keeps `fd` open until the container's
    // cleanup (isolator) or destroy (containerizer), which the engine never runs concurrently with
    // `watch` for the same container; it is only borrowed here to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed
        .try_clone_to_owned()
        .map_err(|e| error(format!("returned file descriptor {fd}, which cannot be duplicated: {e}")))
}
