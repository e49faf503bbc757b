//! The `--modules` manifest parser. Properties: arbitrary text parses or is refused with a message;
//! a manifest that parses re-serializes (`to_json`) to JSON that parses to the same manifest, and
//! that JSON is stable.
#![no_main]

use agent_harness::manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = manifest::parse(text);
    // The flag's inline form is the same parser (a value starting with `/` or `file://` would be
    // read as a file, which a fuzzer must not do).
    if !text.starts_with('/') && !text.starts_with("file://") {
        let inline = manifest::from_flag_value(text, |_| panic!("an inline manifest warns"));
        assert_eq!(inline.as_ref().map(|m| &m.manifest).ok(), parsed.as_ref().ok());
    }
    match parsed {
        Ok(m) => {
            let json = m.to_json();
            let again = manifest::parse(&json).unwrap_or_else(|e| {
                panic!("a parsed manifest re-serializes as {json:?}, which does not parse: {e}")
            });
            assert_eq!(again, m, "{json:?} parses to another manifest");
            assert_eq!(again.to_json(), json, "to_json is not stable");
            for library in &m.libraries {
                let _ = library.library_file();
            }
        }
        Err(error) => assert!(!error.to_string().is_empty(), "an empty error for {text:?}"),
    }
});
