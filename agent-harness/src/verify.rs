//! Verifying a module descriptor, in Mesos's order and with its messages where it has them
//! (`ModuleManager::verifyModule`), except that the ABI version comes first: the fields of a
//! descriptor of another ABI version are not read at all (their layout may differ). Then missing
//! fields, the kind, the version rule, required features, the kind table, and `compatible()`.
//!
//! The version rule is Mesos's `kind version <= module's version <= host version`, where "version"
//! is the module-abi version a module was built against, and the host's is this harness's
//! module-abi ([`MODULE_ABI_VERSION`]), not the suite's release. Unlike Mesos, the kind versions are
//! real minimums ([`Kind::minimum_version`]) and `compatible()` is only a veto: a module without it
//! loads on the rule alone, so it keeps loading into newer harnesses without a rebuild.

use module_abi::{ABI_VERSION, HostInfo, KNOWN_FEATURES, Kind, MODULE_ABI_VERSION, Output, STATUS_OK};
use semver::Version;
use thiserror::Error;

use crate::descriptor::DescriptorView;
use crate::table::{KindTable, TableError, read_table};

/// The harness as `compatible()` is told about it.
pub fn host_info() -> HostInfo {
    HostInfo::current("agent-harness", env!("CARGO_PKG_VERSION"))
}

/// Why a module is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("Module API version mismatch. Harness has: {host}, library requires: {module}")]
    AbiVersion { host: u32, module: u32 },
    #[error("Error loading module '{0}'; missing fields")]
    MissingFields(String),
    #[error("Error loading module '{0}'; create() and destroy() must both be given")]
    MissingFunctions(String),
    #[error("Unknown module kind: {0}")]
    UnknownKind(String),
    #[error("Invalid version '{text}': {reason}")]
    InvalidVersion { text: String, reason: String },
    #[error(
        "Minimum supported version for '{kind}' is {minimum}, but module is compiled with version {module}"
    )]
    OlderThanKind { kind: Kind, minimum: Version, module: Version },
    #[error("Harness has version {host}, but module is compiled with version {module}")]
    NewerThanHost { host: Version, module: Version },
    #[error("the module requires features {missing:#x} that this harness (module-abi {host}) does not know")]
    Features { missing: u64, host: String },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("Module {0} has determined to be incompatible")]
    Incompatible(String),
    #[error("Module {name} failed in compatible(): {message}")]
    CompatibleFailed { name: String, message: String },
}

/// The facts a verified module contributes to the registry.
#[derive(Debug, Clone)]
pub struct Verified {
    pub kind: Kind,
    pub built_against: String,
    pub author_name: String,
    pub author_email: String,
    pub description: String,
    pub table: KindTable,
}

/// Verifies `view` for the module `name` against this host.
pub fn verify(name: &str, view: &DescriptorView) -> Result<Verified, VerifyError> {
    if view.abi_version != ABI_VERSION {
        return Err(VerifyError::AbiVersion { host: ABI_VERSION, module: view.abi_version });
    }
    let (Some(kind), Some(built_against), Some(author_name), Some(author_email), Some(description)) =
        (&view.kind, &view.built_against, &view.author_name, &view.author_email, &view.description)
    else {
        return Err(VerifyError::MissingFields(name.to_string()));
    };
    let kind = Kind::from_name(kind).ok_or_else(|| VerifyError::UnknownKind(kind.clone()))?;
    let module_version = parse_version(built_against)?;
    check_version_rule(
        kind,
        &parse_version(kind.minimum_version())?,
        &module_version,
        &parse_version(MODULE_ABI_VERSION)?,
    )?;
    let missing = view.required_features & !KNOWN_FEATURES;
    if missing != 0 {
        return Err(VerifyError::Features { missing, host: MODULE_ABI_VERSION.to_string() });
    }
    if view.create.is_none() || view.destroy.is_none() {
        return Err(VerifyError::MissingFunctions(name.to_string()));
    }
    let table = read_table(kind, view)?;
    if let Some(compatible) = view.compatible {
        ask_compatible(name, compatible)?;
    }
    Ok(Verified {
        kind,
        built_against: built_against.clone(),
        author_name: author_name.clone(),
        author_email: author_email.clone(),
        description: description.clone(),
        table,
    })
}

/// Runs the module's veto with this host's [`HostInfo`].
fn ask_compatible(name: &str, compatible: module_abi::CompatibleFn) -> Result<(), VerifyError> {
    let request = serde_json::to_vec(&host_info()).unwrap_or_default();
    let mut output = Vec::new();
    let collector = Output::collector(&mut output);
    // SAFETY: `compatible` comes from a descriptor whose functions were checked to lie in the
    // module's code, of a loaded, never-unloaded library; the request and the output collector
    // live for the call.
    let status = unsafe { compatible(request.as_ptr(), request.len(), &collector) };
    let text = String::from_utf8_lossy(&output).into_owned();
    if status != STATUS_OK {
        return Err(VerifyError::CompatibleFailed { name: name.to_string(), message: text });
    }
    match serde_json::from_slice::<bool>(&output) {
        Ok(true) => Ok(()),
        Ok(false) => Err(VerifyError::Incompatible(name.to_string())),
        Err(_) => Err(VerifyError::CompatibleFailed {
            name: name.to_string(),
            message: format!("it answered '{text}', not true or false"),
        }),
    }
}

fn parse_version(text: &str) -> Result<Version, VerifyError> {
    Version::parse(text)
        .map_err(|e| VerifyError::InvalidVersion { text: text.to_string(), reason: e.to_string() })
}

/// The version rule: `minimum <= module <= host`.
pub fn check_version_rule(
    kind: Kind,
    minimum: &Version,
    module: &Version,
    host: &Version,
) -> Result<(), VerifyError> {
    if module < minimum {
        return Err(VerifyError::OlderThanKind { kind, minimum: minimum.clone(), module: module.clone() });
    }
    if module > host {
        return Err(VerifyError::NewerThanHost { host: host.clone(), module: module.clone() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// The table of Mesos's docs/modules.md, with the kind version as a real minimum:
    /// `(host, kind minimum, module, loadable)`.
    #[test]
    fn version_rule_table() {
        let table = [
            ("0.18.0", "0.18.0", "0.18.0", true),
            ("1.0.0", "0.18.0", "0.18.0", true),
            ("1.0.0", "0.18.0", "0.21.0", true),
            ("0.18.0", "0.18.0", "1.0.0", false),
            ("1.0.0", "0.21.0", "0.18.0", false),
            ("1.0.0", "1.0.0", "0.18.0", false),
            ("1.3.0", "1.0.0", "1.0.0", true),
            ("1.3.0", "1.0.0", "1.3.1", false),
        ];
        for (host, minimum, module, loadable) in table {
            let result = check_version_rule(Kind::Isolator, &v(minimum), &v(module), &v(host));
            assert_eq!(result.is_ok(), loadable, "host {host}, kind {minimum}, module {module}: {result:?}");
        }
    }

    #[test]
    fn an_older_module_loads_into_a_newer_host_without_compatible() {
        assert!(check_version_rule(Kind::Isolator, &v("1.0.0"), &v("1.0.0"), &v("1.1.0")).is_ok());
        let err = check_version_rule(Kind::Isolator, &v("1.0.0"), &v("1.2.0"), &v("1.1.0")).unwrap_err();
        assert_eq!(err.to_string(), "Harness has version 1.1.0, but module is compiled with version 1.2.0");
    }

    fn complete() -> DescriptorView {
        DescriptorView {
            abi_version: ABI_VERSION,
            kind: Some("TestModule".into()),
            built_against: Some(MODULE_ABI_VERSION.into()),
            author_name: Some("a".into()),
            author_email: Some("b".into()),
            description: Some("c".into()),
            ..Default::default()
        }
    }

    /// Mesos's `DifferentApiVersion` (the non-numeric case cannot be expressed: the field is a u32).
    #[test]
    fn different_api_versions_are_refused() {
        for abi in [0, 1000] {
            let view = DescriptorView { abi_version: abi, ..complete() };
            let err = verify("m", &view).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("Module API version mismatch. Harness has: {ABI_VERSION}, library requires: {abi}")
            );
        }
    }

    /// Mesos's `NewerModuleLibrary`, `OlderModuleLibrary` and `InvalidModuleKind`.
    #[test]
    fn newer_older_and_unknown_kinds_are_refused() {
        let newer = DescriptorView { built_against: Some("100.1.0".into()), ..complete() };
        assert!(verify("m", &newer).unwrap_err().to_string().starts_with("Harness has version"));
        let older = DescriptorView { built_against: Some("0.0.1".into()), ..complete() };
        assert!(
            verify("m", &older)
                .unwrap_err()
                .to_string()
                .starts_with("Minimum supported version for 'TestModule'")
        );
        let kind = DescriptorView { kind: Some("NotTestModule".into()), ..complete() };
        assert_eq!(verify("m", &kind).unwrap_err().to_string(), "Unknown module kind: NotTestModule");
        let garbage = DescriptorView { built_against: Some("not a version".into()), ..complete() };
        assert!(
            verify("m", &garbage).unwrap_err().to_string().starts_with("Invalid version 'not a version'")
        );
    }

    #[test]
    fn unknown_required_features_are_refused() {
        let view = DescriptorView { required_features: 1 << 3, ..complete() };
        assert_eq!(
            verify("m", &view).unwrap_err(),
            VerifyError::Features { missing: 8, host: MODULE_ABI_VERSION.to_string() }
        );
    }

    #[test]
    fn the_abi_version_is_checked_before_the_fields() {
        let view = DescriptorView { description: None, abi_version: 1000, ..complete() };
        assert!(matches!(verify("m", &view), Err(VerifyError::AbiVersion { .. })));
        let view = DescriptorView { description: None, ..complete() };
        assert_eq!(verify("m", &view).unwrap_err().to_string(), "Error loading module 'm'; missing fields");
    }

    #[test]
    fn the_host_tells_compatible_its_versions() {
        let host = host_info();
        assert_eq!(host.module_abi_version, MODULE_ABI_VERSION);
        assert_eq!(host.harness_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(host.kind_version("Containerizer"), Some(Kind::Containerizer.minimum_version()));
    }
}
