//! Module manifests: Mesos's `Modules` JSON and the ways `--modules` and `--modules_dir` name them.
//!
//! Parsing follows Mesos's JSON-to-protobuf rules (`null` is unset, arrays only for repeated fields,
//! a parameter needs both `key` and `value`), with its messages ([`ParseError`]). One difference:
//! an unknown key is an error that names it and where it is, where Mesos silently drops it.
//! Reading a manifest from a file or a directory fails with a [`ManifestError`], in Mesos's words.

use std::fmt;
use std::path::{Path, PathBuf};

use module_abi::Parameter;
use serde_json::{Map, Value};
use thiserror::Error;

/// Why a manifest's JSON is not a Mesos `Modules` message: Mesos's own messages, with the place
/// in the manifest (`libraries[0].modules[1]`) where Mesos names one.
#[derive(Debug, Error)]
pub enum ParseError {
    #[error("Failed to parse JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("Expecting a JSON object for {at}, found a JSON {found}")]
    NotAnObject { at: String, found: &'static str },
    #[error("Unknown field '{field}' in {at} (known fields: {})", known.join(", "))]
    UnknownField { field: String, at: String, known: &'static [&'static str] },
    #[error("Not expecting a JSON {found} for field '{field}'")]
    WrongType { field: String, found: &'static str },
    #[error("Missing required fields: {}", fields.join(", "))]
    MissingFields { fields: Vec<String> },
}

/// A manifest that cannot be read or parsed, with the file or directory it came from.
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("Error reading file '{}': {source}", path.display())]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("Error parsing module manifest {origin}: {source}")]
    Parse { origin: ManifestSource, source: ParseError },
    #[error("Error loading module manifests from '{}' directory: {source}", dir.display())]
    ReadDir { dir: PathBuf, source: std::io::Error },
    #[error(
        "Error loading module manifests from '{}' directory: Error reading module manifest file '{}': {source}",
        dir.display(),
        file.display()
    )]
    ReadDirEntry { dir: PathBuf, file: PathBuf, source: std::io::Error },
    #[error(
        "Error loading module manifests from '{}' directory: Error parsing module manifest file '{}': {source}",
        dir.display(),
        file.display()
    )]
    ParseDirEntry { dir: PathBuf, file: PathBuf, source: ParseError },
}

/// A parsed manifest (Mesos `Modules`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    pub libraries: Vec<LibraryEntry>,
}

/// One library of a manifest (Mesos `Modules.Library`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LibraryEntry {
    /// A path (contains `/`) or a file name searched the loader's way. Wins over `name`.
    pub file: Option<String>,
    /// Expanded to `lib<name>.so`.
    pub name: Option<String>,
    pub modules: Vec<ModuleEntry>,
}

/// One module of a library (Mesos `Modules.Library.Module`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleEntry {
    pub name: Option<String>,
    pub parameters: Vec<Parameter>,
}

impl Manifest {
    /// The manifest as Mesos JSON.
    pub fn to_json(&self) -> String {
        let libraries: Vec<Value> = self
            .libraries
            .iter()
            .map(|library| {
                let mut obj = Map::new();
                if let Some(file) = &library.file {
                    obj.insert("file".into(), Value::String(file.clone()));
                }
                if let Some(name) = &library.name {
                    obj.insert("name".into(), Value::String(name.clone()));
                }
                let modules = library
                    .modules
                    .iter()
                    .map(|m| serde_json::json!({"name": m.name, "parameters": m.parameters}))
                    .collect();
                obj.insert("modules".into(), Value::Array(modules));
                Value::Object(obj)
            })
            .collect();
        serde_json::json!({ "libraries": libraries }).to_string()
    }
}

impl LibraryEntry {
    /// What to hand `dlopen`: `file` if given, else `lib<name>.so`; `None` when neither is given.
    pub fn library_file(&self) -> Option<String> {
        self.file.clone().or_else(|| self.name.as_ref().map(|n| format!("lib{n}.so")))
    }
}

/// Where a manifest came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSource {
    File(PathBuf),
    Inline,
}

impl fmt::Display for ManifestSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestSource::File(path) => write!(f, "'{}'", path.display()),
            ManifestSource::Inline => f.write_str("the inline --modules JSON"),
        }
    }
}

/// A manifest with its source.
#[derive(Debug, Clone)]
pub struct SourcedManifest {
    pub source: ManifestSource,
    pub manifest: Manifest,
}

/// The warning Mesos prints for `--modules=/path` (without `file://`).
pub const DEPRECATED_PATH_WARNING: &str = "Specifying an absolute filename to read a command line option out of without using 'file:// is deprecated and will be removed in a future release. Simply adding 'file://' to the beginning of the path should eliminate this warning.";

/// Reads the value of `--modules`: `file:///path`, `/path` (deprecated: `warn` is called), or
/// inline JSON.
pub fn from_flag_value(value: &str, warn: impl FnOnce(&str)) -> Result<SourcedManifest, ManifestError> {
    let (path, text) = if let Some(path) = value.strip_prefix("file://") {
        (Some(PathBuf::from(path)), read_file(Path::new(path))?)
    } else if value.starts_with('/') {
        warn(DEPRECATED_PATH_WARNING);
        (Some(PathBuf::from(value)), read_file(Path::new(value))?)
    } else {
        (None, value.to_string())
    };
    let source = path.map(ManifestSource::File).unwrap_or(ManifestSource::Inline);
    match parse(&text) {
        Ok(manifest) => Ok(SourcedManifest { source, manifest }),
        Err(e) => Err(ManifestError::Parse { origin: source, source: e }),
    }
}

/// Reads every entry of `--modules_dir`, in name order, as Mesos does (no extension filter).
pub fn from_dir(dir: &Path) -> Result<Vec<SourcedManifest>, ManifestError> {
    let unreadable = |source| ManifestError::ReadDir { dir: dir.to_path_buf(), source };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort();
    entries
        .into_iter()
        .map(|path| {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(source) => {
                    return Err(ManifestError::ReadDirEntry { dir: dir.to_path_buf(), file: path, source });
                }
            };
            match parse(&text) {
                Ok(manifest) => Ok(SourcedManifest { source: ManifestSource::File(path), manifest }),
                Err(source) => {
                    Err(ManifestError::ParseDirEntry { dir: dir.to_path_buf(), file: path, source })
                }
            }
        })
        .collect()
}

fn read_file(path: &Path) -> Result<String, ManifestError> {
    std::fs::read_to_string(path)
        .map_err(|source| ManifestError::ReadFile { path: path.to_path_buf(), source })
}

/// Parses manifest JSON text.
pub fn parse(text: &str) -> Result<Manifest, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(ParseError::Json)?;
    let root = object(&value, "the manifest")?;
    known_keys(root, &["libraries"], "the manifest")?;
    let libraries = repeated(root, "libraries", "libraries")?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_library(v, &format!("libraries[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Manifest { libraries })
}

fn parse_library(value: &Value, at: &str) -> Result<LibraryEntry, ParseError> {
    let obj = object(value, at)?;
    known_keys(obj, &["file", "name", "modules"], at)?;
    let modules = repeated(obj, "modules", &format!("{at}.modules"))?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_module(v, &format!("{at}.modules[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(LibraryEntry {
        file: optional_string(obj, "file", at)?,
        name: optional_string(obj, "name", at)?,
        modules,
    })
}

fn parse_module(value: &Value, at: &str) -> Result<ModuleEntry, ParseError> {
    let obj = object(value, at)?;
    known_keys(obj, &["name", "parameters"], at)?;
    let parameters = repeated(obj, "parameters", &format!("{at}.parameters"))?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let here = format!("{at}.parameters[{i}]");
            let p = object(v, &here)?;
            known_keys(p, &["key", "value"], &here)?;
            let key = optional_string(p, "key", &here)?;
            let value = optional_string(p, "value", &here)?;
            let missing: Vec<String> = [("key", key.is_none()), ("value", value.is_none())]
                .into_iter()
                .filter(|(_, absent)| *absent)
                .map(|(field, _)| format!("{here}.{field}"))
                .collect();
            if !missing.is_empty() {
                return Err(ParseError::MissingFields { fields: missing });
            }
            Ok(Parameter { key: key.unwrap_or_default(), value: value.unwrap_or_default() })
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(ModuleEntry { name: optional_string(obj, "name", at)?, parameters })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ParseError> {
    value.as_object().ok_or_else(|| ParseError::NotAnObject { at: at.to_string(), found: json_type(value) })
}

fn known_keys(obj: &Map<String, Value>, known: &'static [&'static str], at: &str) -> Result<(), ParseError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(ParseError::UnknownField { field: key.clone(), at: at.to_string(), known }),
        None => Ok(()),
    }
}

fn repeated<'a>(obj: &'a Map<String, Value>, field: &str, at: &str) -> Result<&'a [Value], ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(ParseError::WrongType { field: at.to_string(), found: json_type(other) }),
    }
}

fn optional_string(obj: &Map<String, Value>, field: &str, at: &str) -> Result<Option<String>, ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ParseError::WrongType { field: format!("{at}.{field}"), found: json_type(other) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_mesos_docs_examples() {
        let m = parse(r#"{"libraries":[{"file":"/path/to/libfoo.so","modules":[{"name":"org_apache_mesos_bar"},{"name":"org_apache_mesos_baz"}]}]}"#).unwrap();
        assert_eq!(m.libraries[0].library_file().unwrap(), "/path/to/libfoo.so");
        assert_eq!(m.libraries[0].modules.len(), 2);
        let m = parse(r#"{"libraries":[{"name":"foo","modules":[{"name":"org_apache_mesos_bar","parameters":[{"key":"X","value":"Y"}]},{"name":"org_apache_mesos_baz"}]}]}"#).unwrap();
        assert_eq!(m.libraries[0].library_file().unwrap(), "libfoo.so");
        assert_eq!(
            m.libraries[0].modules[0].parameters,
            vec![Parameter { key: "X".into(), value: "Y".into() }]
        );
    }

    #[test]
    fn to_json_round_trips() {
        let text = r#"{"libraries":[{"file":"/a/libx.so","modules":[{"name":"m","parameters":[{"key":"k","value":"v"}]}]},{"name":"y","modules":[]}]}"#;
        let m = parse(text).unwrap();
        assert_eq!(parse(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn file_wins_over_name_and_null_is_unset() {
        let m = parse(r#"{"libraries":[{"file":"a/libx.so","name":"y","modules":null}]}"#).unwrap();
        assert_eq!(m.libraries[0].library_file().unwrap(), "a/libx.so");
        assert!(m.libraries[0].modules.is_empty());
        let m = parse(r#"{"libraries":[{"file":null,"name":"y"}]}"#).unwrap();
        assert_eq!(m.libraries[0].library_file().unwrap(), "liby.so");
    }

    #[test]
    fn an_empty_value_is_a_value_but_a_missing_one_is_an_error() {
        let m = parse(r#"{"libraries":[{"name":"x","modules":[{"name":"m","parameters":[{"key":"operation","value":""}]}]}]}"#).unwrap();
        assert_eq!(m.libraries[0].modules[0].parameters[0].value, "");
        let err = parse(
            r#"{"libraries":[{"name":"x","modules":[{"name":"m","parameters":[{"key":"operation"}]}]}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "Missing required fields: libraries[0].modules[0].parameters[0].value");
    }

    #[test]
    fn unknown_keys_are_reported_with_their_place() {
        let err = parse(r#"{"libraries":[{"name":"x","modules":[{"name":"m","paramters":[]}]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Unknown field 'paramters' in libraries[0].modules[0]"), "{err}");
        let err = parse(r#"{"libraries":[], "extra": 1}"#).unwrap_err().to_string();
        assert!(err.starts_with("Unknown field 'extra' in the manifest"), "{err}");
    }

    #[test]
    fn wrong_types_use_mesos_messages() {
        let err = parse(r#"{"libraries":[{"name":"x","modules":["m"]}]}"#).unwrap_err().to_string();
        assert_eq!(err, "Expecting a JSON object for libraries[0].modules[0], found a JSON string");
        let err = parse(r#"{"libraries":{"name":"x"}}"#).unwrap_err().to_string();
        assert_eq!(err, "Not expecting a JSON object for field 'libraries'");
        let err = parse(r#"{"libraries":[{"name":5}]}"#).unwrap_err().to_string();
        assert_eq!(err, "Not expecting a JSON number for field 'libraries[0].name'");
        assert!(parse("{").unwrap_err().to_string().starts_with("Failed to parse JSON"));
        assert!(parse("[]").unwrap_err().to_string().starts_with("Expecting a JSON object for the manifest"));
    }

    /// Bounds: thousands of modules and a parameter value of megabytes parse in time and memory
    /// in proportion to the text (no manifest limit of its own); an error deep inside still names
    /// its place; nesting past serde_json's recursion limit (128) is one error, not a stack
    /// overflow.
    #[test]
    fn large_manifests_parse_in_proportion_to_their_size() {
        let start = std::time::Instant::now();
        let modules: Vec<String> = (0..10_000)
            .map(|i| format!(r#"{{"name":"org_example_m{i}","parameters":[{{"key":"k","value":"{i}"}}]}}"#))
            .collect();
        let text = format!(r#"{{"libraries":[{{"name":"many","modules":[{}]}}]}}"#, modules.join(","));
        let m = parse(&text).unwrap();
        assert_eq!(m.libraries[0].modules.len(), 10_000);
        assert_eq!(parse(&m.to_json()).unwrap(), m);
        let bad = text.replacen(r#""value":"9999""#, r#""value":9999"#, 1);
        assert_eq!(
            parse(&bad).unwrap_err().to_string(),
            "Not expecting a JSON number for field 'libraries[0].modules[9999].parameters[0].value'"
        );
        let value = "v".repeat(8 << 20);
        let m = parse(&format!(
            r#"{{"libraries":[{{"name":"x","modules":[{{"name":"m","parameters":[{{"key":"big","value":"{value}"}}]}}]}}]}}"#
        ))
        .unwrap();
        assert_eq!(m.libraries[0].modules[0].parameters[0].value, value);
        let deep = format!(r#"{{"libraries":{}"#, "[".repeat(100_000));
        assert!(parse(&deep).unwrap_err().to_string().contains("recursion limit exceeded"));
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
    }

    #[test]
    fn flag_values_read_files_with_and_without_the_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, r#"{"libraries":[{"name":"x"}]}"#).unwrap();
        let mut warned = None;
        let m =
            from_flag_value(&format!("file://{}", path.display()), |w| warned = Some(w.to_string())).unwrap();
        assert_eq!(m.source, ManifestSource::File(path.clone()));
        assert!(warned.is_none());
        let m = from_flag_value(path.to_str().unwrap(), |w| warned = Some(w.to_string())).unwrap();
        assert_eq!(m.manifest.libraries.len(), 1);
        assert_eq!(warned.as_deref(), Some(DEPRECATED_PATH_WARNING));
        let m = from_flag_value(r#"{"libraries":[]}"#, |_| panic!("no warning")).unwrap();
        assert_eq!(m.source, ManifestSource::Inline);
        let err = from_flag_value("file:///nonexistent/m.json", |_| {}).unwrap_err().to_string();
        assert!(err.starts_with("Error reading file '/nonexistent/m.json'"), "{err}");
    }

    #[test]
    fn a_directory_is_read_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.json"), r#"{"libraries":[{"name":"b"}]}"#).unwrap();
        std::fs::write(dir.path().join("a.json"), r#"{"libraries":[{"name":"a"}]}"#).unwrap();
        let all = from_dir(dir.path()).unwrap();
        let names: Vec<_> = all.iter().map(|m| m.manifest.libraries[0].name.clone().unwrap()).collect();
        assert_eq!(names, ["a", "b"]);
        std::fs::write(dir.path().join("c.json"), "nope").unwrap();
        let err = from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("Error parsing module manifest file") && err.contains("c.json"), "{err}");
    }
}
