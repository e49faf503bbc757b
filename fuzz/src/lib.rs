//! What the fuzz targets share: the round-trip property of a JSON message, and the list of every
//! message type that crosses the ABI.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as a `T`. When it decodes, checks the round trip: the value encodes, the encoding
/// decodes to an equal value, and that value encodes to the same bytes (the encoding is stable).
pub fn json_round_trip<T>(data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let name = std::any::type_name::<T>();
    let value: T = serde_json::from_slice(data).ok()?;
    let encoded = serde_json::to_vec(&value)
        .unwrap_or_else(|e| panic!("{name} decoded but does not encode: {e}: {value:?}"));
    let again: T = serde_json::from_slice(&encoded).unwrap_or_else(|e| {
        panic!("{name} encoded as {} does not decode: {e}", String::from_utf8_lossy(&encoded))
    });
    assert_eq!(again, value, "{name} changed in a round trip through {}", String::from_utf8_lossy(&encoded));
    let encoded_again = serde_json::to_vec(&again).expect("an equal value encodes");
    assert_eq!(
        String::from_utf8_lossy(&encoded_again),
        String::from_utf8_lossy(&encoded),
        "{name}'s encoding is not stable"
    );
    Some(value)
}

/// Calls `$m!(Type)` for every JSON message type of module-abi (the golden files' list, plus the
/// types nested in them that have a JSON form of their own).
#[macro_export]
macro_rules! for_each_message {
    ($m:ident) => {
        $m!(module_abi::ContainerId);
        $m!(module_abi::ContainerConfig);
        $m!(module_abi::ContainerLaunchInfo);
        $m!(module_abi::ContainerState);
        $m!(module_abi::ContainerStatus);
        $m!(module_abi::ContainerLimitation);
        $m!(module_abi::ContainerTermination);
        $m!(module_abi::ResourceStatistics);
        $m!(module_abi::Parameters);
        $m!(module_abi::HostInfo);
        $m!(module_abi::RecoverRequest);
        $m!(module_abi::PrepareRequest);
        $m!(module_abi::IsolateRequest);
        $m!(module_abi::ContainerRequest);
        $m!(module_abi::WatchResponse);
        $m!(module_abi::UpdateRequest);
        $m!(module_abi::ContainerizerRecoverRequest);
        $m!(module_abi::ContainerizerRecoverResponse);
        $m!(module_abi::LaunchRequest);
        $m!(module_abi::LaunchResponse);
        $m!(module_abi::Resources);
        $m!(module_abi::Reason);
        $m!(module_abi::CommandInfo);
        $m!(module_abi::ContainerMountInfo);
        $m!(module_abi::RLimit);
        $m!(module_abi::EnvironmentVariable);
    };
}
