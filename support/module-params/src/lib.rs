//! Module parameters, checked and parsed the same way by every module of the suite.
//!
//! A module declares the keys it knows once and opens its parameter list through [`Params::new`],
//! which refuses an unknown key (a typo in a manifest must not silently change nothing) and a key
//! given twice, each with one error line naming the module and the key. The typed getters then
//! parse values in the forms Mesos's agent flags use:
//!
//! - [`Params::bool`]: `true` or `false`, as stout's flags;
//! - [`Params::duration`]: stout's `Duration` text, a number and one of `ns`, `us`, `ms`, `secs`,
//!   `mins`, `hrs`, `days`, `weeks` (`60secs`, `0.5secs`, `10mins`); see [`parse_duration`];
//! - [`Params::component`] and [`Params::relative_path`]: names that end up in a file system path
//!   (a container id, a cgroups root), never empty, `.`, `..` and without `/` in a component; see
//!   [`check_component`] and [`check_relative_path`], which `cgroupfs` also uses for cgroup names;
//! - [`Params::absolute_path`], [`Params::choice`], and [`Params::parse`] for anything else.
//!
//! ```
//! use module_abi::Parameter;
//! use module_params::Params;
//!
//! const KNOWN: &[&str] = &["cgroups_root", "cgroups_destroy_timeout"];
//! let given = vec![Parameter { key: "cgroups_destroy_timeout".into(), value: "10mins".into() }];
//! let params = Params::new("cgroups/cpu", &given, KNOWN)?;
//! assert_eq!(params.duration("cgroups_destroy_timeout")?, Some(std::time::Duration::from_secs(600)));
//! assert_eq!(params.relative_path("cgroups_root")?, None);
//!
//! let typo = vec![Parameter { key: "cgroup_root".into(), value: "mesos".into() }];
//! let err = Params::new("cgroups/cpu", &typo, KNOWN).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "cgroups/cpu: unknown parameter 'cgroup_root' (known parameters: cgroups_root, cgroups_destroy_timeout)"
//! );
//! # Ok::<(), module_params::ParamError>(())
//! ```
//!
//! Errors are [`ParamError`] (what is wrong with which key of which module), with a [`ValueError`]
//! saying why a value was refused; both convert into `module_abi::Error` with `?`.

mod duration;
mod error;
mod params;
mod path;

pub use duration::{DurationError, parse_duration};
pub use error::{ParamError, ValueError};
pub use params::{Params, parse_bool};
pub use path::{PathError, check_component, check_relative_path};
