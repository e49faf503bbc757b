//! Where the built harness binary, the launch helper and the module libraries are.
//!
//! A test binary lives at `target/<profile>/deps/<test>-<hash>`; `cargo build --workspace` (and
//! `cargo nextest run --workspace`) leaves `agent-harness`, `mesos-containerizer` and every
//! `lib<name>.so` in `target/<profile>`. The vm-tests copy them elsewhere and say where with
//! [`HARNESS_DIR_ENV`].

use std::path::{Path, PathBuf};

/// The environment variable naming the directory of the built artifacts.
pub const HARNESS_DIR_ENV: &str = "AGENT_HARNESS_DIR";

/// The libraries the suite's manifest loads, and the suite's one library (what a harness loads for
/// the built-in names no manifest of a test replaces).
const LIBRARIES: &[&str] = &[
    "isolation_suite",
    "cgroups_isolator",
    "posix_isolator",
    "namespaces_isolator",
    "filesystem_isolator",
    "linux_isolators",
    "linux_containerizer",
    "brokenmodules",
];

/// The directory holding the built artifacts.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub dir: PathBuf,
}

impl Artifacts {
    /// `AGENT_HARNESS_DIR`, else the profile directory above the running test binary. Fails, naming
    /// what is missing, unless the harness, the helper and every library are there.
    pub fn locate() -> Result<Artifacts, String> {
        let dir = match std::env::var_os(HARNESS_DIR_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => {
                let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
                profile_dir(&exe).ok_or_else(|| {
                    format!(
                        "the test binary {} is not in target/<profile>/deps; set {HARNESS_DIR_ENV}",
                        exe.display()
                    )
                })?
            }
        };
        let artifacts = Artifacts { dir };
        let mut wanted = vec![artifacts.harness(), artifacts.helper()];
        wanted.extend(LIBRARIES.iter().map(|l| artifacts.library(l)));
        let missing: Vec<String> =
            wanted.iter().filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
        if !missing.is_empty() {
            return Err(format!(
                "built artifacts missing: {} (run `cargo build --workspace` with the same profile first, \
                 or set {HARNESS_DIR_ENV})",
                missing.join(", ")
            ));
        }
        Ok(artifacts)
    }

    /// The `agent-harness` binary.
    pub fn harness(&self) -> PathBuf {
        self.dir.join("agent-harness")
    }

    /// The containerizer's launch helper.
    pub fn helper(&self) -> PathBuf {
        self.dir.join("mesos-containerizer")
    }

    /// `lib<name>.so`.
    pub fn library(&self, name: &str) -> PathBuf {
        self.dir.join(format!("lib{name}.so"))
    }
}

/// `target/<profile>/deps/<test>` -> `target/<profile>`.
fn profile_dir(exe: &Path) -> Option<PathBuf> {
    let deps = exe.parent()?;
    (deps.file_name()? == "deps").then(|| deps.parent().map(Path::to_path_buf))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_dir_is_above_deps() {
        assert_eq!(
            profile_dir(Path::new("/w/target/debug/deps/cgroups-0123")),
            Some(PathBuf::from("/w/target/debug"))
        );
        assert_eq!(profile_dir(Path::new("/usr/bin/cgroups")), None);
    }
}
