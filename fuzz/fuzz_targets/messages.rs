//! Every JSON message decoder of module-abi: arbitrary bytes decode to an error or to a value that
//! round-trips (encodes, decodes to an equal value, encodes to the same bytes again).
#![no_main]

use isolation_suite_fuzz::{for_each_message, json_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    macro_rules! round_trip {
        ($t:ty) => {
            let _ = json_round_trip::<$t>(data);
        };
    }
    for_each_message!(round_trip);
});
