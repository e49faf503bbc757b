//! The end of a `run-many`: the stop signals (SIGINT, SIGTERM, SIGHUP), which destroy every live
//! container and end the run with 128 + the signal, and the wait for every container to be torn
//! down once the input is done.

use std::future::Future;
use std::pin::Pin;

use super::containers::Containers;
use crate::cli::run::stop_signal;

/// The stop signals, waited for from any `select!` of the run. The handlers are installed when
/// first polled.
pub(super) struct Stop {
    signal: Pin<Box<dyn Future<Output = i32>>>,
    received: Option<i32>,
}

impl Stop {
    pub(super) fn new() -> Stop {
        Stop { signal: Box::pin(stop_signal()), received: None }
    }

    /// Resolves with the signal number when one arrives; never again once one has. Dropping the
    /// returned future (a `select!` taking another branch) loses nothing.
    pub(super) async fn signalled(&mut self) -> i32 {
        if self.received.is_some() {
            return std::future::pending().await;
        }
        let signal = self.signal.as_mut().await;
        self.received = Some(signal);
        signal
    }
}

/// After the input: destroys everything if a signal stopped the run, waits for every container's
/// teardown (a signal meanwhile destroys the rest), and gives the exit status.
pub(super) async fn finish(
    containers: &Containers,
    mut tasks: tokio::task::JoinSet<()>,
    mut stopped: Option<i32>,
    stop: &mut Stop,
) -> i32 {
    if stopped.is_some() {
        containers.destroy_all();
    }
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            signal = stop.signalled(), if stopped.is_none() => {
                stopped = Some(signal);
                containers.destroy_all();
            }
        }
    }
    match stopped {
        Some(signal) => 128 + signal,
        None if containers.failures() > 0 => 1,
        None => 0,
    }
}
