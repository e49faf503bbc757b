//! The containers an isolator has prepared and not yet cleaned up. Both filesystem isolators keep
//! it only to refuse a second `prepare` of the same container, as Mesos does: everything they set
//! up lives in the container's own mount namespace (or is the sandbox's), so `cleanup` has nothing
//! to undo on the host.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use module_abi::{ContainerId, ContainerState};

use crate::error::{FilesystemError, Result};

/// The prepared containers of one isolator.
#[derive(Debug, Default)]
pub struct Prepared(Mutex<HashSet<ContainerId>>);

impl Prepared {
    fn lock(&self) -> MutexGuard<'_, HashSet<ContainerId>> {
        // A panic elsewhere while holding the lock leaves a set that is still consistent.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `id` in; an id already held is Mesos's "Container has already been prepared".
    pub fn reserve(&self, isolator: &'static str, id: &ContainerId) -> Result<()> {
        if !self.lock().insert(id.clone()) {
            return Err(FilesystemError::AlreadyPrepared { isolator, container: id.to_string() });
        }
        Ok(())
    }

    /// Forgets `id` (unknown ids are fine).
    pub fn remove(&self, id: &ContainerId) {
        self.lock().remove(id);
    }

    /// Takes in the containers the harness recovered.
    pub fn recover(&self, states: &[ContainerState]) {
        self.lock().extend(states.iter().map(|s| s.container_id.clone()));
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: &ContainerId) -> bool {
        self.lock().contains(id)
    }
}
