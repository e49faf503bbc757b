//! The directives of the input: `@usage` (a timed usage sweep over every live container),
//! `@destroy` (destroys every live container) and `@wait` (until none is live).

use std::time::Instant;

use module_abi::{ContainerId, ResourceStatistics};

use super::containers::Containers;
use super::events::{Event, emit};
use super::shutdown::Stop;

/// `@usage`: the usage of every live container, timed.
pub(super) fn usage(containers: &Containers) {
    let ids = containers.live_ids();
    let start = Instant::now();
    let container_ids: Vec<ContainerId> = ids.iter().map(|id| ContainerId::new(id.clone())).collect();
    let usage: Vec<ResourceStatistics> = containers.engine.usage_each(&container_ids);
    let seconds = start.elapsed().as_secs_f64();
    emit(&Event::Usage {
        containers: ids.len(),
        seconds,
        usage: ids.iter().map(String::as_str).zip(usage).collect(),
    });
}

/// `@destroy`: every container launched so far is destroyed.
pub(super) fn destroy(containers: &Containers) {
    containers.destroy_all();
}

/// `@wait`: until no container is live; `Some(signal)` when a stop signal came first.
pub(super) async fn wait(containers: &Containers, stop: &mut Stop) -> Option<i32> {
    while !containers.none_live() {
        tokio::select! {
            () = containers.one_finished() => {}
            signal = stop.signalled() => return Some(signal),
        }
    }
    None
}
