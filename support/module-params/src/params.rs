//! [`Params`]: a module's parameter list once its keys are known to be right, with one getter per
//! kind of value. Every getter returns `Ok(None)` for an absent key, so defaults stay with the
//! module (`params.duration(KEY)?.unwrap_or(DEFAULT)`), and an error naming the module, the key
//! and the value for a value that does not parse.

use std::path::Path;
use std::time::Duration;

use module_abi::Parameter;

use crate::duration::parse_duration;
use crate::error::{ParamError, ValueError};
use crate::path::{check_component, check_relative_path};

/// A module's parameters whose keys are all known and each given once.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    module: &'static str,
    parameters: &'a [Parameter],
    known: &'static [&'static str],
}

impl<'a> Params<'a> {
    /// Checks the keys of `parameters` against `known`: an unknown key or one given twice is an
    /// error. `module` is the name the module's errors start with (`cgroups/cpu`).
    pub fn new(
        module: &'static str,
        parameters: &'a [Parameter],
        known: &'static [&'static str],
    ) -> Result<Params<'a>, ParamError> {
        for (index, Parameter { key, .. }) in parameters.iter().enumerate() {
            if !known.contains(&key.as_str()) {
                return Err(ParamError::Unknown { module, key: key.clone(), known });
            }
            if parameters[..index].iter().any(|earlier| earlier.key == *key) {
                return Err(ParamError::Duplicate { module, key: key.clone() });
            }
        }
        Ok(Params { module, parameters, known })
    }

    /// The module name errors start with.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The raw value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        debug_assert!(self.known.contains(&key), "{}: '{key}' is not among the declared keys", self.module);
        self.parameters.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }

    /// The value of `key` through `parse`; a refusal becomes [`ParamError::Invalid`].
    pub fn parse<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&'a str) -> Result<T, ValueError>,
    ) -> Result<Option<T>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).map_err(|reason| self.invalid(key, value, reason)),
        }
    }

    /// `true` or `false` (stout's flag booleans).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ParamError> {
        self.parse(key, |value| parse_bool(value).ok_or(ValueError::Bool))
    }

    /// A duration in stout's form (`60secs`, `0.5secs`, `10mins`).
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ParamError> {
        self.parse(key, |value| Ok(parse_duration(value)?))
    }

    /// An absolute path.
    pub fn absolute_path(&self, key: &str) -> Result<Option<&'a Path>, ParamError> {
        self.parse(key, |value| {
            let path = Path::new(value);
            if path.is_absolute() { Ok(path) } else { Err(ValueError::NotAbsolute) }
        })
    }

    /// A relative path that cannot leave the directory it is joined to (a cgroups root).
    pub fn relative_path(&self, key: &str) -> Result<Option<&'a str>, ParamError> {
        self.parse(key, |value| check_relative_path(value).map(|()| value).map_err(ValueError::from))
    }

    /// A single path component (a file name).
    pub fn component(&self, key: &str) -> Result<Option<&'a str>, ParamError> {
        self.parse(key, |value| check_component(value).map(|()| value).map_err(ValueError::from))
    }

    /// One of a fixed set of words, mapped to its meaning.
    pub fn choice<T: Copy>(
        &self,
        key: &str,
        choices: &'static [(&'static str, T)],
    ) -> Result<Option<T>, ParamError> {
        self.parse(key, |value| {
            choices
                .iter()
                .find(|(word, _)| *word == value)
                .map(|(_, meaning)| *meaning)
                .ok_or_else(|| ValueError::Choice(choices.iter().map(|(word, _)| *word).collect()))
        })
    }

    /// The error for a value of `key` that a module's own rule refuses.
    pub fn invalid(&self, key: &str, value: &str, reason: ValueError) -> ParamError {
        ParamError::Invalid { module: self.module, key: key.to_owned(), value: value.to_owned(), reason }
    }
}

/// stout's flag booleans: exactly `true` or `false`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::path::PathError;

    const KNOWN: &[&str] = &["root", "timeout", "flag", "dir", "name", "mode"];

    fn list(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs.iter().map(|(k, v)| Parameter { key: (*k).to_owned(), value: (*v).to_owned() }).collect()
    }

    #[test]
    fn unknown_keys_name_the_module_the_key_and_what_is_known() {
        let given = list(&[("timeout", "1secs"), ("tiemout", "2secs")]);
        let err = Params::new("test/module", &given, KNOWN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "test/module: unknown parameter 'tiemout' (known parameters: root, timeout, flag, dir, name, mode)"
        );
        let err = Params::new("namespaces/ipc", &given, &[]).unwrap_err();
        assert_eq!(err.to_string(), "namespaces/ipc: unknown parameter 'timeout' (it takes no parameters)");
        assert!(Params::new("namespaces/ipc", &[], &[]).is_ok());
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        let given = list(&[("root", "a"), ("flag", "true"), ("root", "b")]);
        let err = Params::new("m", &given, KNOWN).unwrap_err();
        assert_eq!(err, ParamError::Duplicate { module: "m", key: "root".into() });
        assert_eq!(err.to_string(), "m: parameter 'root' is given more than once");
    }

    #[test]
    fn typed_values() {
        let given = list(&[
            ("root", "parent/mesos"),
            ("timeout", "0.5secs"),
            ("flag", "true"),
            ("dir", "/opt/x"),
            ("name", "c1"),
            ("mode", "panic"),
        ]);
        let params = Params::new("m", &given, KNOWN).unwrap();
        assert_eq!(params.relative_path("root"), Ok(Some("parent/mesos")));
        assert_eq!(params.duration("timeout"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(params.bool("flag"), Ok(Some(true)));
        assert_eq!(params.absolute_path("dir"), Ok(Some(Path::new("/opt/x"))));
        assert_eq!(params.component("name"), Ok(Some("c1")));
        assert_eq!(params.choice("mode", &[("error", 1), ("panic", 2)]), Ok(Some(2)));
        assert_eq!(params.get("name"), Some("c1"));
    }

    #[test]
    fn absent_keys_are_none() {
        let params = Params::new("m", &[], KNOWN).unwrap();
        assert_eq!(params.bool("flag"), Ok(None));
        assert_eq!(params.duration("timeout"), Ok(None));
        assert_eq!(params.relative_path("root"), Ok(None));
        assert_eq!(params.get("dir"), None);
    }

    #[test]
    fn bad_values_name_module_key_value_and_reason() {
        let cases: [(&str, &str, ValueError); 7] = [
            ("flag", "yes", ValueError::Bool),
            ("timeout", "60", ValueError::Duration(crate::DurationError::NoUnit)),
            ("root", "../escape", ValueError::Path(PathError::Dots)),
            ("root", "/abs", ValueError::Path(PathError::Absolute)),
            ("dir", "relative", ValueError::NotAbsolute),
            ("name", "a/b", ValueError::Path(PathError::Slash)),
            ("mode", "abort", ValueError::Choice(vec!["error", "panic"])),
        ];
        for (key, value, reason) in cases {
            let given = list(&[(key, value)]);
            let params = Params::new("m", &given, KNOWN).unwrap();
            let err = match key {
                "flag" => params.bool(key).map(drop),
                "timeout" => params.duration(key).map(drop),
                "root" => params.relative_path(key).map(drop),
                "dir" => params.absolute_path(key).map(drop),
                "name" => params.component(key).map(drop),
                _ => params.choice(key, &[("error", ()), ("panic", ())]).map(drop),
            }
            .unwrap_err();
            let text = format!("m: invalid value '{value}' for parameter '{key}': {reason}");
            assert_eq!(
                err,
                ParamError::Invalid { module: "m", key: key.into(), value: value.into(), reason }
            );
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn choice_errors_list_the_words() {
        let given = list(&[("mode", "abort")]);
        let params = Params::new("m", &given, KNOWN).unwrap();
        let err = params.choice("mode", &[("error", ()), ("panic", ()), ("stall", ())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m: invalid value 'abort' for parameter 'mode': expected one of error, panic, stall"
        );
    }

    #[test]
    fn booleans_are_exactly_true_or_false() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        for bad in ["", "True", "1", "yes", " true"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn errors_reach_modules_as_their_message() {
        let err: module_abi::Error = Params::new("m", &list(&[("x", "y")]), &[]).unwrap_err().into();
        assert_eq!(err.message(), "m: unknown parameter 'x' (it takes no parameters)");
    }
}
