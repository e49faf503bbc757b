//! `linux/seccomp`: a seccomp filter for each container's command, compiled from a profile in the
//! Docker/OCI JSON format (`src/slave/containerizer/mesos/isolators/linux/seccomp.cpp` and
//! `src/linux/seccomp/seccomp_parser.cpp`).
//!
//! Parameters, as Mesos's agent flags:
//! - `seccomp_config_dir` (required, absolute): the directory of the profiles;
//! - `seccomp_profile_name`: the default profile, relative to that directory, applied to every
//!   container that does not say otherwise. It is read and compiled once, at creation, so a bad
//!   default profile fails creation.
//!
//! Per container, `linux_info.seccomp` overrides the default, with Mesos's rules: a
//! `profile_name` (relative to `seccomp_config_dir`, and never outside it) is read and compiled at
//! `prepare`; `unconfined: true` runs the container without a filter; both at once, or neither,
//! are Mesos's errors. No default and nothing asked: no filter.
//!
//! The profile ([`profile`]) becomes a [`Policy`], compiled ([`compile`]) to classic BPF that
//! travels in `launch_info.seccomp`; the containerizer's helper installs it in the command's
//! process just before `execve`. A profile is refused with the file and the reason: a feature
//! that is not supported is named, never skipped.
//!
//! Creation needs root and a kernel with seccomp filters (Mesos's checks and texts).

mod compile;
pub mod profile;
#[cfg(test)]
mod vm;

use std::path::{Path, PathBuf};

use module_abi::{
    ContainerConfig, ContainerId, ContainerLaunchInfo, Isolator, Module, Parameter, Parameters,
    SeccompProgram,
};
use module_params::{Params, check_relative_path};

pub use self::compile::{BPF_MAXINSNS, compile, ret};
pub use self::profile::{Action, Arch, Policy};
use crate::error::{IsolatorError, Result};

/// Mesos's name of the isolator.
pub const NAME: &str = "linux/seccomp";
/// The directory of the profiles (Mesos's `--seccomp_config_dir`).
pub const CONFIG_DIR: &str = "seccomp_config_dir";
/// The default profile, relative to the directory (Mesos's `--seccomp_profile_name`).
pub const PROFILE_NAME: &str = "seccomp_profile_name";

/// Why a profile cannot be used. The messages say where in the profile the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),

    /// Not JSON, or not of the profile's shape (serde's message gives the line and column).
    #[error("not a seccomp profile in the Docker/OCI JSON format: {0}")]
    Json(#[source] serde_json::Error),

    /// A name the format does not have (an action, an operator, an architecture, a system call).
    #[error("{at}: unknown {what} '{value}'{hint}")]
    Unknown { at: String, what: &'static str, value: String, hint: String },

    /// Something the format has that this isolator does not implement.
    #[error("{at}: {feature} is not supported{why}")]
    Unsupported { at: String, feature: String, why: String },

    /// A value that cannot be right.
    #[error("{at}: {reason}")]
    Invalid { at: String, reason: String },

    /// More instructions than the kernel takes.
    #[error("the compiled filter has {len} instructions, more than the kernel's {max}", max = BPF_MAXINSNS)]
    TooLarge { len: usize },

    /// seccompiler refused what it was given.
    #[error("failed to compile it: {0}")]
    Compile(String),
}

/// Reads and compiles the profile at `path` for `arch`.
pub fn load(path: &Path, arch: &Arch) -> Result<SeccompProgram, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(ProfileError::Read)?;
    compile(&profile::parse(&text, arch)?, arch)
}

/// The `linux/seccomp` isolator.
#[derive(Debug, Clone)]
pub struct LinuxSeccompIsolator {
    config_dir: PathBuf,
    arch: Arch,
    /// The default profile's name and program.
    default: Option<(String, SeccompProgram)>,
}

impl LinuxSeccompIsolator {
    /// The isolator of `parameters`, without the host checks of [`Module::create`].
    pub fn with_parameters(parameters: &[Parameter]) -> Result<LinuxSeccompIsolator> {
        let params = Params::new(NAME, parameters, &[CONFIG_DIR, PROFILE_NAME])?;
        let create = |reason: String| IsolatorError::Create { isolator: NAME, reason };
        let config_dir = params.absolute_path(CONFIG_DIR)?.ok_or_else(|| {
            create(format!(
                "Missing required `--seccomp_config_dir` flag (the module parameter `{CONFIG_DIR}`)"
            ))
        })?;
        let arch = Arch::native().ok_or_else(|| {
            create(format!(
                "seccomp filters are compiled for x86_64, aarch64 and riscv64 only, not {}",
                std::env::consts::ARCH
            ))
        })?;
        let mut isolator = LinuxSeccompIsolator { config_dir: config_dir.to_owned(), arch, default: None };
        if let Some(name) = params.relative_path(PROFILE_NAME)? {
            let program = isolator.load(None, name)?;
            isolator.default = Some((name.to_owned(), program));
        }
        Ok(isolator)
    }

    /// Reads and compiles the profile `name` under the configuration directory.
    fn load(&self, container: Option<&ContainerId>, name: &str) -> Result<SeccompProgram> {
        let path = self.config_dir.join(name);
        load(&path, &self.arch).map_err(|source| IsolatorError::Profile {
            container: container.map(ContainerId::to_string),
            path,
            source: Box::new(source),
        })
    }

    /// The seccomp program of the launch info for a container asking for `config`.
    pub fn launch_info(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>> {
        let refused =
            |reason: String| IsolatorError::Refused { isolator: NAME, container: id.to_string(), reason };
        let asked = config
            .container_info
            .as_ref()
            .and_then(|info| info.linux_info.as_ref())
            .and_then(|linux| linux.seccomp.as_ref());
        let program = match asked {
            None => self.default.as_ref().map(|(_, program)| program.clone()),
            Some(seccomp) => {
                let unconfined = seccomp.unconfined.unwrap_or(false);
                match (&seccomp.profile_name, unconfined) {
                    (Some(_), true) => {
                        return Err(refused(
                            "Invalid Seccomp configuration: 'profile_name' given even though 'unconfined' \
                             Seccomp setting is enabled"
                                .to_owned(),
                        ));
                    }
                    (Some(name), false) => {
                        check_relative_path(name).map_err(|e| {
                            refused(format!(
                                "seccomp profile name '{name}' {e}: it is a path under {CONFIG_DIR} ({})",
                                self.config_dir.display()
                            ))
                        })?;
                        Some(self.load(Some(id), name)?)
                    }
                    (None, true) => None,
                    (None, false) => return Err(refused("Missing Seccomp profile name".to_owned())),
                }
            }
        };
        Ok(program.map(|program| ContainerLaunchInfo { seccomp: Some(program), ..Default::default() }))
    }
}

impl Module for LinuxSeccompIsolator {
    fn create(parameters: Parameters) -> module_abi::Result<Self> {
        let create = |reason: &str| IsolatorError::Create { isolator: NAME, reason: reason.to_owned() };
        if !nix::unistd::geteuid().is_root() {
            return Err(create("Linux Seccomp isolator requires root permissions").into());
        }
        // Mesos's probe: with filters compiled in, a null program is refused with EFAULT, before
        // any permission check, and nothing is installed.
        // SAFETY: a null filter pointer is only read by the kernel, which refuses it.
        let probe =
            unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, std::ptr::null::<u8>()) };
        if !(probe == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)) {
            return Err(create("Seccomp is not supported by the kernel").into());
        }
        Ok(LinuxSeccompIsolator::with_parameters(&parameters)?)
    }
}

impl Isolator for LinuxSeccompIsolator {
    fn supports_nesting(&self) -> bool {
        true
    }

    fn supports_standalone(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> module_abi::Result<Option<ContainerLaunchInfo>> {
        Ok(self.launch_info(container_id, config)?)
    }
}

#[cfg(test)]
mod tests {
    use module_abi::{ContainerInfo, LinuxInfo, SeccompInfo};

    use super::*;

    const DENY_MKDIR: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#;
    const DENY_UNAME: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["uname"], "action": "SCMP_ACT_ERRNO"}]}"#;

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Dir {
            let dir = Dir(tempfile::tempdir().unwrap());
            dir.write("deny-mkdir.json", DENY_MKDIR);
            dir.write("nested/deny-uname.json", DENY_UNAME);
            dir.write(
                "broken.json",
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"]}]}"#,
            );
            dir
        }
        fn write(&self, name: &str, text: &str) {
            let path = self.0.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        fn params(&self, default: Option<&str>) -> Parameters {
            let mut params =
                vec![Parameter { key: CONFIG_DIR.into(), value: self.0.path().display().to_string() }];
            params.extend(default.map(|d| Parameter { key: PROFILE_NAME.into(), value: d.into() }));
            params
        }
        fn isolator(&self, default: Option<&str>) -> LinuxSeccompIsolator {
            LinuxSeccompIsolator::with_parameters(&self.params(default)).unwrap()
        }
    }

    fn config(profile_name: Option<&str>, unconfined: Option<bool>) -> ContainerConfig {
        let seccomp = SeccompInfo { profile_name: profile_name.map(str::to_owned), unconfined };
        let linux_info = LinuxInfo { seccomp: Some(seccomp), ..Default::default() };
        ContainerConfig {
            container_info: Some(ContainerInfo { linux_info: Some(linux_info), ..Default::default() }),
            ..Default::default()
        }
    }

    fn prepare(
        isolator: &LinuxSeccompIsolator,
        config: &ContainerConfig,
    ) -> Result<Option<SeccompProgram>, String> {
        isolator
            .launch_info(&ContainerId::new("c1"), config)
            .map(|info| info.and_then(|i| i.seccomp))
            .map_err(|e| e.to_string())
    }

    fn compiled(text: &str) -> SeccompProgram {
        let arch = Arch::native().unwrap();
        compile(&profile::parse(text, &arch).unwrap(), &arch).unwrap()
    }

    #[test]
    fn the_config_dir_is_required_and_absolute() {
        let err = LinuxSeccompIsolator::with_parameters(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux/seccomp: Missing required `--seccomp_config_dir` flag (the module parameter `seccomp_config_dir`)"
        );
        let relative = vec![Parameter { key: CONFIG_DIR.into(), value: "profiles".into() }];
        let err = LinuxSeccompIsolator::with_parameters(&relative).unwrap_err();
        assert!(
            err.to_string().ends_with("for parameter 'seccomp_config_dir': must be an absolute path"),
            "{err}"
        );
        let typo = vec![Parameter { key: "seccomp_profile".into(), value: "x".into() }];
        let err = LinuxSeccompIsolator::with_parameters(&typo).unwrap_err();
        assert!(err.to_string().starts_with("linux/seccomp: unknown parameter 'seccomp_profile'"), "{err}");
    }

    #[test]
    fn no_default_and_nothing_asked_means_no_filter() {
        let dir = Dir::new();
        assert_eq!(prepare(&dir.isolator(None), &ContainerConfig::default()), Ok(None));
    }

    #[test]
    fn the_default_profile_applies_to_every_container() {
        let dir = Dir::new();
        let isolator = dir.isolator(Some("deny-mkdir.json"));
        assert_eq!(prepare(&isolator, &ContainerConfig::default()), Ok(Some(compiled(DENY_MKDIR))));
    }

    #[test]
    fn a_bad_default_profile_fails_creation_with_the_file_and_the_reason() {
        let dir = Dir::new();
        let err =
            LinuxSeccompIsolator::with_parameters(&dir.params(Some("broken.json"))).unwrap_err().to_string();
        let path = dir.0.path().join("broken.json");
        assert!(
            err.starts_with(&format!("linux/seccomp: profile {}: not a seccomp profile", path.display())),
            "{err}"
        );
        assert!(err.contains("missing field `action`"), "{err}");
        let err =
            LinuxSeccompIsolator::with_parameters(&dir.params(Some("missing.json"))).unwrap_err().to_string();
        assert!(err.contains("missing.json: cannot read it: No such file or directory"), "{err}");
        let err = LinuxSeccompIsolator::with_parameters(&dir.params(Some("../etc/passwd")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("parameter 'seccomp_profile_name': must not be or contain '.' or '..'"),
            "{err}"
        );
    }

    #[test]
    fn a_container_chooses_its_profile_or_none() {
        let dir = Dir::new();
        let isolator = dir.isolator(Some("deny-mkdir.json"));
        assert_eq!(
            prepare(&isolator, &config(Some("nested/deny-uname.json"), None)),
            Ok(Some(compiled(DENY_UNAME)))
        );
        assert_eq!(
            prepare(&isolator, &config(Some("nested/deny-uname.json"), Some(false))),
            Ok(Some(compiled(DENY_UNAME)))
        );
        assert_eq!(prepare(&isolator, &config(None, Some(true))), Ok(None));
    }

    #[test]
    fn mesos_refusals_of_a_containers_seccomp_info() {
        let dir = Dir::new();
        let isolator = dir.isolator(None);
        assert_eq!(
            prepare(&isolator, &config(Some("deny-mkdir.json"), Some(true))),
            Err("linux/seccomp: container 'c1': Invalid Seccomp configuration: 'profile_name' given even though \
                 'unconfined' Seccomp setting is enabled"
                .into())
        );
        assert_eq!(
            prepare(&isolator, &config(None, None)),
            Err("linux/seccomp: container 'c1': Missing Seccomp profile name".into())
        );
        assert_eq!(
            prepare(&isolator, &config(None, Some(false))),
            Err("linux/seccomp: container 'c1': Missing Seccomp profile name".into())
        );
    }

    #[test]
    fn a_containers_profile_stays_in_the_config_dir() {
        let dir = Dir::new();
        let isolator = dir.isolator(None);
        for name in ["../deny-mkdir.json", "/etc/passwd", "nested/../deny-mkdir.json", ""] {
            let err = prepare(&isolator, &config(Some(name), None)).unwrap_err();
            assert!(
                err.contains(&format!("seccomp profile name '{name}'"))
                    && err.contains("under seccomp_config_dir"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_malformed_container_profile_is_refused_at_prepare_with_the_file_and_the_reason() {
        let dir = Dir::new();
        dir.write("notify.json", r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
        let isolator = dir.isolator(None);
        let err = prepare(&isolator, &config(Some("notify.json"), None)).unwrap_err();
        assert_eq!(
            err,
            format!(
                "linux/seccomp: container 'c1': profile {}: defaultAction: SCMP_ACT_NOTIFY is not supported (user-space \
                 notification needs an agent listening on listenerPath)",
                dir.0.path().join("notify.json").display()
            )
        );
    }
}
