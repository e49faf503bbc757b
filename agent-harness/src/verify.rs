//! Verifying a module descriptor, in Mesos's order and with its messages where it has them
//! (`ModuleManager::verifyModule`), except that the ABI version comes first: the fields of a
//! descriptor of another ABI version are not read at all (their layout may differ). Then missing
//! fields, the kind, the version rule, and `compatible()`.
//!
//! The version rule is Mesos's `kind version <= module's version <= host version`, where "version"
//! is the module-abi version a module was built against. Unlike Mesos, the kind versions are real
//! minimums ([`Kind::minimum_version`]), so a module keeps loading into newer hosts. A module without
//! `compatible()` still needs an exact match, as in Mesos.

use module_abi::{ABI_VERSION, Kind, MODULE_ABI_VERSION, Output};
use semver::Version;

use crate::descriptor::DescriptorView;

/// The facts a verified module contributes to the registry.
#[derive(Debug, Clone)]
pub struct Verified {
    pub kind: Kind,
    pub built_against: String,
    pub author_name: String,
    pub author_email: String,
    pub description: String,
}

/// Verifies `view` for the module `name` against this host.
pub fn verify(name: &str, view: &DescriptorView) -> Result<Verified, String> {
    verify_against(name, view, ABI_VERSION, MODULE_ABI_VERSION)
}

/// [`verify`] against a given host ABI version and host version (for tests of the rule).
pub fn verify_against(
    name: &str,
    view: &DescriptorView,
    host_abi: u32,
    host_version: &str,
) -> Result<Verified, String> {
    if view.abi_version != host_abi {
        return Err(format!(
            "Module API version mismatch. Harness has: {host_abi}, library requires: {}",
            view.abi_version
        ));
    }
    let (Some(kind), Some(built_against), Some(author_name), Some(author_email), Some(description)) =
        (&view.kind, &view.built_against, &view.author_name, &view.author_email, &view.description)
    else {
        return Err(format!("Error loading module '{name}'; missing fields"));
    };
    let kind = Kind::from_name(kind).ok_or_else(|| format!("Unknown module kind: {kind}"))?;
    let module_version = parse_version(built_against)?;
    let minimum = parse_version(kind.minimum_version())?;
    let host = parse_version(host_version)?;
    check_version_rule(kind, &minimum, &module_version, &host, view.compatible.is_some())?;
    if let Some(compatible) = view.compatible {
        let mut message = Vec::new();
        let output = Output::collector(&mut message);
        // SAFETY: `compatible` comes from a verified descriptor of a loaded, never-unloaded
        // library; the output collector lives for the call.
        let answer = unsafe { compatible(&output) };
        match answer {
            1 => {}
            0 => return Err(format!("Module {name} has determined to be incompatible")),
            _ => {
                return Err(format!(
                    "Module {name} failed in compatible(): {}",
                    String::from_utf8_lossy(&message)
                ));
            }
        }
    }
    Ok(Verified {
        kind,
        built_against: built_against.clone(),
        author_name: author_name.clone(),
        author_email: author_email.clone(),
        description: description.clone(),
    })
}

fn parse_version(text: &str) -> Result<Version, String> {
    Version::parse(text).map_err(|e| format!("Invalid version '{text}': {e}"))
}

/// Mesos's version rule: `minimum <= module <= host`, and `module == host` without `compatible()`.
pub fn check_version_rule(
    kind: Kind,
    minimum: &Version,
    module: &Version,
    host: &Version,
    has_compatible: bool,
) -> Result<(), String> {
    if module < minimum {
        return Err(format!(
            "Minimum supported version for '{kind}' is {minimum}, but module is compiled with version {module}"
        ));
    }
    let ok = if has_compatible { module <= host } else { module == host };
    if !ok {
        return Err(format!("Harness has version {host}, but module is compiled with version {module}"));
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
        ];
        for (host, minimum, module, loadable) in table {
            let result = check_version_rule(Kind::Isolator, &v(minimum), &v(module), &v(host), true);
            assert_eq!(result.is_ok(), loadable, "host {host}, kind {minimum}, module {module}: {result:?}");
        }
    }

    #[test]
    fn without_compatible_only_an_exact_match_loads() {
        assert!(check_version_rule(Kind::Isolator, &v("0.1.0"), &v("0.1.0"), &v("0.1.0"), false).is_ok());
        let err =
            check_version_rule(Kind::Isolator, &v("0.1.0"), &v("0.1.0"), &v("0.2.0"), false).unwrap_err();
        assert_eq!(err, "Harness has version 0.2.0, but module is compiled with version 0.1.0");
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

    #[test]
    fn a_complete_descriptor_verifies() {
        let verified = verify("m", &complete()).unwrap();
        assert_eq!(verified.kind, Kind::TestModule);
    }

    /// Mesos's `DifferentApiVersion` (the non-numeric case cannot be expressed: the field is a u32).
    #[test]
    fn different_api_versions_are_refused() {
        for abi in [0, 1000] {
            let view = DescriptorView { abi_version: abi, ..complete() };
            let err = verify("m", &view).unwrap_err();
            assert_eq!(
                err,
                format!("Module API version mismatch. Harness has: {ABI_VERSION}, library requires: {abi}")
            );
        }
    }

    /// Mesos's `NewerModuleLibrary`, `OlderModuleLibrary` and `InvalidModuleKind`.
    #[test]
    fn newer_older_and_unknown_kinds_are_refused() {
        let newer = DescriptorView { built_against: Some("100.1.0".into()), ..complete() };
        assert!(verify("m", &newer).unwrap_err().starts_with("Harness has version"));
        let older = DescriptorView { built_against: Some("0.0.1".into()), ..complete() };
        assert!(verify("m", &older).unwrap_err().starts_with("Minimum supported version for 'TestModule'"));
        let kind = DescriptorView { kind: Some("NotTestModule".into()), ..complete() };
        assert_eq!(verify("m", &kind).unwrap_err(), "Unknown module kind: NotTestModule");
        let garbage = DescriptorView { built_against: Some("not a version".into()), ..complete() };
        assert!(verify("m", &garbage).unwrap_err().starts_with("Invalid version 'not a version'"));
    }

    #[test]
    fn the_abi_version_is_checked_before_the_fields() {
        let view = DescriptorView { description: None, abi_version: 1000, ..complete() };
        assert!(verify("m", &view).unwrap_err().starts_with("Module API version mismatch"));
        let view = DescriptorView { description: None, ..complete() };
        assert_eq!(verify("m", &view).unwrap_err(), "Error loading module 'm'; missing fields");
    }
}
