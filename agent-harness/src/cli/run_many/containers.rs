//! The containers of one `run-many`: the engine they share, which are live, and the launch and
//! supervision of each one on the event loop. A container is destroyed when the destroy
//! generation (raised by `@destroy` and by a stop signal) passes the one it was launched in.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use tokio::sync::{Notify, OwnedSemaphorePermit, watch};

use super::events::{Event, emit};
use crate::engine::{ContainerSpec, Ending, Engine, Launched};

/// What the containers share on the event loop.
pub(super) struct Containers {
    pub(super) engine: Engine,
    /// Live containers by id, in launch order of their number.
    live: RefCell<BTreeMap<String, ()>>,
    /// Notified whenever a container has been torn down.
    finished: Notify,
    /// Raised by `@destroy` and by a signal: every container launched before it is destroyed.
    destroy: watch::Sender<u64>,
    failures: Cell<usize>,
}

impl Containers {
    pub(super) fn new(engine: Engine) -> Containers {
        Containers {
            engine,
            live: RefCell::default(),
            finished: Notify::new(),
            destroy: watch::channel(0).0,
            failures: Cell::new(0),
        }
    }

    /// The ids of the live containers, in order.
    pub(super) fn live_ids(&self) -> Vec<String> {
        self.live.borrow().keys().cloned().collect()
    }

    /// Whether no container is live.
    pub(super) fn none_live(&self) -> bool {
        self.live.borrow().is_empty()
    }

    /// Resolves when the next container has been torn down.
    pub(super) async fn one_finished(&self) {
        self.finished.notified().await;
    }

    /// Counts something that makes the run's exit status 1.
    pub(super) fn fail(&self) {
        self.failures.set(self.failures.get() + 1);
    }

    /// How many things failed so far.
    pub(super) fn failures(&self) -> usize {
        self.failures.get()
    }

    /// Destroys every container launched so far (their supervisors see the new generation).
    pub(super) fn destroy_all(&self) {
        self.destroy.send_modify(|g| *g += 1);
    }

    /// Launches one container and reports it; `None` (reported and counted) when it failed.
    pub(super) fn launch(&self, spec: &ContainerSpec) -> Option<Launched> {
        match self.engine.launch(spec) {
            Ok(launched) => {
                emit(&Event::Launched { container_id: &launched.container_id.value, pid: launched.pid });
                self.live.borrow_mut().insert(launched.container_id.value.clone(), ());
                Some(launched)
            }
            Err(error) => {
                let error = error.to_string();
                emit(&Event::Failed { container_id: &spec.container_id.value, error: &error });
                self.fail();
                None
            }
        }
    }

    /// Supervises a launched container to its end on the event loop, holding `permit` (its slot)
    /// until it has been torn down.
    pub(super) fn spawn_supervisor(
        self: &Rc<Self>,
        tasks: &mut tokio::task::JoinSet<()>,
        launched: Launched,
        permit: OwnedSemaphorePermit,
    ) {
        // The generation is taken now, not when the task first runs: a `@destroy` read before the
        // event loop gets to the task must reach it.
        let destroy = self.destroy.subscribe();
        let generation = *destroy.borrow();
        tasks.spawn_local(supervise(self.clone(), launched, permit, destroy, generation));
    }
}

/// Supervises one container to its end (or a `@destroy` raising the destroy generation past
/// `generation`, the one it was launched in), tears it down and reports it.
async fn supervise(
    containers: Rc<Containers>,
    launched: Launched,
    permit: OwnedSemaphorePermit,
    mut destroy: watch::Receiver<u64>,
    generation: u64,
) {
    let ending = tokio::select! {
        ending = containers.engine.supervise(&launched) => ending,
        _ = destroy.wait_for(|g| *g > generation) => Ending::Stopped(libc::SIGKILL),
    };
    let outcome = containers.engine.finish(launched, ending);
    containers.live.borrow_mut().remove(&outcome.container_id);
    if !outcome.errors.is_empty() {
        containers.fail();
    }
    emit(&Event::Finished { outcome: &outcome, errors: &outcome.errors });
    drop(permit);
    containers.finished.notify_waiters();
}
