//! Checkpoint decoding, as `agent-harness recover` reads `<work_dir>/meta/containers/<id>.json`.
//! Properties: a checkpoint that decodes round-trips; the state handed to `recover` is the
//! checkpoint's; the module set encodes (recovery groups by it) and its manifest text goes through
//! the manifest parser without a panic.
#![no_main]

use agent_harness::engine::{Checkpoint, ModuleSet};
use agent_harness::manifest;
use isolation_suite_fuzz::json_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = json_round_trip::<ModuleSet>(data);
    let Some(checkpoint) = json_round_trip::<Checkpoint>(data) else { return };
    if let Some(state) = checkpoint.state() {
        assert!(state.pid > 0, "a state with pid {}", state.pid);
        assert_eq!(Some(state.pid), checkpoint.pid);
        assert_eq!(state.container_id, checkpoint.container_id);
        assert_eq!(state.config.as_ref(), Some(&checkpoint.config));
    }
    serde_json::to_string(&checkpoint.modules).expect("a module set encodes");
    let _ = manifest::parse(&checkpoint.modules.manifest);
    let _ = checkpoint.container_id.to_string();
});
