//! `Resources::parse` (Mesos's text form, `cpus:0.5;mem:64;disk:100`, `cpus:inf`) and the JSON form.
//! Properties, for a value from either form: it holds no negative or NaN value; it displays
//! (`to_string`) as text that parses to the same value, and that display is stable; it
//! round-trips through JSON.
#![no_main]

use isolation_suite_fuzz::json_round_trip;
use libfuzzer_sys::fuzz_target;
use module_abi::Resources;

fn check(from: &str, r: &Resources) {
    for (name, value) in &r.0 {
        assert!(*value >= 0.0 && !value.is_nan(), "{from}: {name} is {value}");
    }
    let shown = r.to_string();
    let again = Resources::parse(&shown)
        .unwrap_or_else(|e| panic!("{from}: its display {shown:?} does not parse: {e}"));
    assert_eq!(&again, r, "{from}: its display {shown:?} parses to another value");
    assert_eq!(again.to_string(), shown, "{from}: the display is not stable");
    let json = serde_json::to_vec(r).expect("resources encode");
    let decoded = json_round_trip::<Resources>(&json).unwrap_or_else(|| {
        panic!("{from}: encoded as {} it does not decode", String::from_utf8_lossy(&json))
    });
    assert_eq!(&decoded, r, "{from}: changed through JSON");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(parsed) = Resources::parse(text)
    {
        check(&format!("the text {text:?}"), &parsed);
    }
    if let Some(decoded) = json_round_trip::<Resources>(data) {
        check(&format!("the JSON {:?}", String::from_utf8_lossy(data)), &decoded);
    }
});
