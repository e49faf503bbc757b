//! What `run-many` prints: one JSON object per line on stdout, tagged by `event`.

use std::collections::BTreeMap;
use std::io::Write;

use module_abi::ResourceStatistics;
use serde::Serialize;

use crate::engine::Outcome;

/// One line of output.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub(super) enum Event<'a> {
    Launched {
        container_id: &'a str,
        pid: i32,
    },
    Failed {
        container_id: &'a str,
        error: &'a str,
    },
    Finished {
        #[serde(flatten)]
        outcome: &'a Outcome,
        errors: &'a [String],
    },
    Usage {
        containers: usize,
        seconds: f64,
        usage: BTreeMap<&'a str, ResourceStatistics>,
    },
}

/// Prints one event as a line.
pub(super) fn emit(event: &Event<'_>) {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    // A closed stdout must not stop the containers' teardown.
    let _ = std::io::stdout().lock().write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json_lines() {
        let json = serde_json::to_string(&Event::Launched { container_id: "c1", pid: 42 }).unwrap();
        assert_eq!(json, r#"{"event":"launched","container_id":"c1","pid":42}"#);
        let json = serde_json::to_string(&Event::Failed { container_id: "c2", error: "no" }).unwrap();
        assert_eq!(json, r#"{"event":"failed","container_id":"c2","error":"no"}"#);
        let usage = Event::Usage { containers: 0, seconds: 0.5, usage: BTreeMap::new() };
        assert_eq!(
            serde_json::to_string(&usage).unwrap(),
            r#"{"event":"usage","containers":0,"seconds":0.5,"usage":{}}"#
        );
    }
}
