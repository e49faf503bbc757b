//! Resources in Mesos's text form (`cpus:0.5;mem:64;disk:100`, mem and disk in MB).
//!
//! Only scalar resources cross the ABI. A value may be infinite in a limit (`cpus:inf`), which JSON
//! cannot hold as a number, so infinity is written as the string `"inf"`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// Scalar resources by name: `{"cpus": 0.5, "mem": 64.0}`. Both forms, text and JSON, hold the
/// same values: names of letters, digits and `_`, values non-negative or infinite; so a value
/// decoded from either displays as text that parses back to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources(pub BTreeMap<String, f64>);

/// Why a resource string did not parse. The message names the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcesParseError(pub String);

impl fmt::Display for ResourcesParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResourcesParseError {}

impl Resources {
    /// An empty set of resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses Mesos's text form: `name:value` pairs separated by `;`. Values are non-negative
    /// numbers or `inf`; a name may appear once.
    pub fn parse(text: &str) -> Result<Self, ResourcesParseError> {
        let mut out = BTreeMap::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once(':').ok_or_else(|| {
                ResourcesParseError(format!("resource '{part}' is not of the form name:value"))
            })?;
            let name = name.trim();
            if !valid_name(name) {
                return Err(ResourcesParseError(format!("resource '{part}' has an invalid name '{name}'")));
            }
            let value = parse_scalar(value.trim()).ok_or_else(|| {
                ResourcesParseError(format!(
                    "resource '{part}' has a value that is not a non-negative number or 'inf'"
                ))
            })?;
            if out.insert(name.to_string(), value).is_some() {
                return Err(ResourcesParseError(format!("resource '{name}' is given more than once")));
            }
        }
        Ok(Self(out))
    }

    /// The value of a named scalar, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// `cpus`, if present.
    pub fn cpus(&self) -> Option<f64> {
        self.get("cpus")
    }

    /// `mem` in MB, if present.
    pub fn mem_mb(&self) -> Option<f64> {
        self.get("mem")
    }

    /// `disk` in MB, if present.
    pub fn disk_mb(&self) -> Option<f64> {
        self.get("disk")
    }

    /// Sets a scalar, returning `self` for chaining.
    pub fn with(mut self, name: &str, value: f64) -> Self {
        self.0.insert(name.to_string(), value);
        self
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A resource name: letters, digits and `_`, as in both forms.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_scalar(value: &str) -> Option<f64> {
    match value {
        "inf" | "infinity" | "Infinity" => Some(f64::INFINITY),
        _ => value.parse::<f64>().ok().filter(|v| valid_number(*v)),
    }
}

/// A finite value: non-negative (`-0` included), not NaN.
fn valid_number(value: f64) -> bool {
    value.is_finite() && value >= 0.0
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, value) in &self.0 {
            if !first {
                f.write_str(";")?;
            }
            first = false;
            if value.is_infinite() {
                write!(f, "{name}:inf")?;
            } else {
                write!(f, "{name}:{value}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Resources {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            if value.is_infinite() {
                map.serialize_entry(name, "inf")?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ResourcesVisitor;

        impl<'de> Visitor<'de> for ResourcesVisitor {
            type Value = Resources;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of resource names to numbers or \"inf\"")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Resources, A::Error> {
                let mut out = BTreeMap::new();
                // The text form's rules: a name of letters, digits and `_`, a non-negative value.
                while let Some((name, value)) = access.next_entry::<String, ScalarValue>()? {
                    if !valid_name(&name) {
                        return Err(de::Error::custom(format!("'{name}' is not a resource name")));
                    }
                    out.insert(name, value.0);
                }
                Ok(Resources(out))
            }
        }

        deserializer.deserialize_map(ResourcesVisitor)
    }
}

/// A number, or the string `"inf"`.
struct ScalarValue(f64);

impl<'de> Deserialize<'de> for ScalarValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) if valid_number(n) => Ok(ScalarValue(n)),
            Raw::Number(n) => Err(de::Error::custom(format!("{n} is not a non-negative number"))),
            Raw::Text(t) => parse_scalar(&t)
                .map(ScalarValue)
                .ok_or_else(|| de::Error::custom(format!("'{t}' is not a scalar value"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mesos_text_form() {
        let r = Resources::parse("cpus:0.5;mem:64;disk:100").unwrap();
        assert_eq!(r.cpus(), Some(0.5));
        assert_eq!(r.mem_mb(), Some(64.0));
        assert_eq!(r.disk_mb(), Some(100.0));
        assert_eq!(r.to_string(), "cpus:0.5;disk:100;mem:64");
    }

    #[test]
    fn accepts_infinite_limits_and_round_trips_them_through_json() {
        let r = Resources::parse("cpus:inf; mem:128").unwrap();
        assert!(r.cpus().unwrap().is_infinite());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"cpus":"inf","mem":128.0}"#);
        let back: Resources = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn refuses_bad_text_naming_the_part() {
        for (text, needle) in [
            ("cpus", "'cpus' is not of the form"),
            ("cpus:abc", "'cpus:abc' has a value"),
            ("cpus:-1", "'cpus:-1' has a value"),
            ("cpus:1;cpus:2", "'cpus' is given more than once"),
            (":3", "invalid name"),
        ] {
            let err = Resources::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    /// Found by fuzz/ (targets resources and messages): serde_json's default float parsing read
    /// `5e35` as 4.9999999999999995e35, so a value changed on its way through JSON. module-abi
    /// turns on serde_json's `float_roundtrip`.
    #[test]
    fn values_cross_json_exactly() {
        let r = Resources::parse("  ;  ; ; ;2:111111111111111111111111111111111.111E1").unwrap();
        let back: Resources = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let r: Resources =
            serde_json::from_str(r#"{"value": 500000000000000000000000000000000000}"#).unwrap();
        assert_eq!(r.get("value"), Some(5e35));
        let back: Resources = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.get("value"), Some(5e35));
        for text in ["5e35", "1.1111111111111111e33", "0.30000000000000004", "2.2250738585072014e-308"] {
            let expected: f64 = text.parse().unwrap();
            let r: Resources = serde_json::from_str(&format!(r#"{{"x": {text}}}"#)).unwrap();
            assert_eq!(r.get("x"), Some(expected), "{text}");
        }
    }

    /// The JSON form refused `{"cpus": "-1"}` but took `{"cpus": -1}` (the text form refuses
    /// both) and took any name, so a decoded value did not display as text that parses back.
    #[test]
    fn json_follows_the_text_forms_rules() {
        for json in
            [r#"{"cpus": -1}"#, r#"{"mem": -0.5e3}"#, r#"{"a;b:1": 2}"#, r#"{"": 1}"#, r#"{"cpus(role)": 1}"#]
        {
            assert!(serde_json::from_str::<Resources>(json).is_err(), "{json}");
        }
        let r: Resources = serde_json::from_str(r#"{"cpus": -0.0, "gpus_2": "inf", "mem": 0}"#).unwrap();
        assert_eq!(Resources::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn empty_text_is_no_resources() {
        assert!(Resources::parse("").unwrap().is_empty());
    }
}
