//! Parameter checking shared by the isolators: an unknown key is an error, so a typo in a
//! manifest is reported instead of silently doing nothing.

use module_abi::{Error, Parameter, Result};

/// Fails on any parameter whose key is not in `known`.
pub fn only(module: &str, parameters: &[Parameter], known: &[&str]) -> Result<()> {
    match parameters.iter().find(|p| !known.contains(&p.key.as_str())) {
        None => Ok(()),
        Some(p) if known.is_empty() => {
            Err(Error::msg(format!("{module} takes no parameters, got '{}'", p.key)))
        }
        Some(p) => {
            Err(Error::msg(format!("{module}: unknown parameter '{}' (known: {})", p.key, known.join(", "))))
        }
    }
}
