//! Golden files of every message, as module-abi 1.0 wrote them (`tests/golden/<Message>.json`,
//! and `<Message>.min.json` with only the required fields). They are checked in both directions:
//! - old JSON is read by the current types (a module built against 1.0 talking to a newer host);
//! - the current encoding still says everything the golden file says, so a reader that knows only
//!   1.0's fields reads what a newer side writes (nothing renamed, removed or re-typed);
//! - unknown fields and unknown enum values are tolerated.
//!
//! A golden file is never edited to make a test pass: a change that breaks one breaks every module
//! built against that version.

use std::path::{Path, PathBuf};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, ContainerLimitation, ContainerRequest, ContainerState,
    ContainerStatus, ContainerTermination, ContainerizerRecoverRequest, ContainerizerRecoverResponse,
    HostInfo, IsolateRequest, LaunchRequest, LaunchResponse, Parameters, PrepareRequest, Reason,
    RecoverRequest, ResourceStatistics, UpdateRequest, WatchResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(file: &str) -> Value {
    let path = golden_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether `new` says everything `old` says: every key of `old` is in `new` with a value that
/// covers it (numbers compared as numbers, so `64` and `64.0` agree).
fn covers(new: &Value, old: &Value, at: &str) -> Result<(), String> {
    match (new, old) {
        (Value::Object(new), Value::Object(old)) => {
            for (key, value) in old {
                let inner = format!("{at}.{key}");
                let found = new.get(key).ok_or_else(|| format!("{inner} is missing"))?;
                covers(found, value, &inner)?;
            }
            Ok(())
        }
        (Value::Array(new), Value::Array(old)) if new.len() == old.len() => {
            new.iter().zip(old).enumerate().try_for_each(|(i, (n, o))| covers(n, o, &format!("{at}[{i}]")))
        }
        (Value::Number(new), Value::Number(old)) if new.as_f64() == old.as_f64() => Ok(()),
        (new, old) if new == old => Ok(()),
        (new, old) => Err(format!("{at}: {old} became {new}")),
    }
}

/// The fields whose values are messages themselves (not maps such as `resources` or `info`).
const NESTED_MESSAGES: &[&str] = &[
    "container_id",
    "container_config",
    "command",
    "launch_info",
    "config",
    "parent",
    "container_info",
    "linux_info",
    "rlimit_info",
    "seccomp",
];

/// Adds a field no version knows to `value` and to every message nested in it.
fn with_unknown_fields(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if NESTED_MESSAGES.contains(&key.as_str()) {
                    *inner = with_unknown_fields(inner.take());
                }
            }
            map.insert("a_field_from_the_future".into(), serde_json::json!({"x": [1, 2]}));
        }
        Value::Array(items) => {
            for item in items {
                *item = with_unknown_fields(item.take());
            }
        }
        _ => {}
    }
    value
}

fn check<T: Serialize + DeserializeOwned>(name: &str) {
    for file in [format!("{name}.json"), format!("{name}.min.json")] {
        let golden = read(&file);
        let decoded: T = serde_json::from_value(golden.clone())
            .unwrap_or_else(|e| panic!("{file}: the current {name} cannot read module-abi 1.0's JSON: {e}"));
        let encoded = serde_json::to_value(&decoded).unwrap();
        if let Err(difference) = covers(&encoded, &golden, name) {
            panic!("{file}: the current encoding of {name} no longer says what 1.0 said: {difference}");
        }
        serde_json::from_value::<T>(with_unknown_fields(golden))
            .unwrap_or_else(|e| panic!("{file}: an unknown field is fatal to {name}: {e}"));
    }
}

macro_rules! goldens {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            #[allow(non_snake_case)]
            fn $name() {
                check::<$name>(stringify!($name));
            }
        )*
    };
}

goldens!(
    ContainerId,
    ContainerConfig,
    ContainerLaunchInfo,
    ContainerState,
    ContainerStatus,
    ContainerLimitation,
    ContainerTermination,
    ResourceStatistics,
    Parameters,
    HostInfo,
    RecoverRequest,
    PrepareRequest,
    IsolateRequest,
    ContainerRequest,
    WatchResponse,
    UpdateRequest,
    ContainerizerRecoverRequest,
    ContainerizerRecoverResponse,
    LaunchRequest,
    LaunchResponse,
);

/// Every golden file is checked, and every message checked has its golden files.
#[test]
fn every_golden_file_belongs_to_a_checked_message() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let name = file.trim_end_matches(".json").trim_end_matches(".min");
        assert!(NAMES.contains(&name), "{file} is not checked by any test");
        seen.push(name.to_string());
    }
    for name in NAMES {
        assert_eq!(
            seen.iter().filter(|s| s == name).count(),
            2,
            "{name} needs {name}.json and {name}.min.json"
        );
    }
}

/// A limitation reason from a newer version is kept and written back by name.
#[test]
fn an_unknown_limitation_reason_survives_a_round_trip() {
    let mut golden = read("ContainerLimitation.json");
    golden["reason"] = "REASON_CONTAINER_LIMITATION_GPU".into();
    let limitation: ContainerLimitation = serde_json::from_value(golden.clone()).unwrap();
    assert_eq!(limitation.reason, Some(Reason::Other("REASON_CONTAINER_LIMITATION_GPU".into())));
    assert_eq!(serde_json::to_value(&limitation).unwrap()["reason"], golden["reason"]);
}

/// A newer encoding that the golden does not cover is caught (the checker itself can fail).
#[test]
fn the_checker_notices_a_renamed_field() {
    let golden = read("IsolateRequest.json");
    let mut renamed = golden.clone();
    let pid = renamed.as_object_mut().unwrap().remove("pid").unwrap();
    renamed["process_id"] = pid;
    assert!(covers(&renamed, &golden, "IsolateRequest").is_err());
    assert!(covers(&golden, &golden, "IsolateRequest").is_ok());
}
