//! Names that become part of a file system path: a container id (one component of
//! `<runtime_dir>/containers/<id>`) or a cgroups root (`mesos`, `parent/mesos/child`, joined under
//! a hierarchy). Such a name must stay where it is joined: no empty component, no `.` or `..`, no
//! leading `/`, and no NUL byte (which the kernel would cut the path at).
//!
//! The checks are on the text, not through `Path::components`, which silently drops `.`
//! components and doubled slashes and so would accept `a/./b` or `a//b`.

/// Why a name cannot be used as a path component or a relative path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The whole name is empty.
    #[error("must not be empty")]
    Empty,
    /// A component is `.` or `..`.
    #[error("must not be or contain '.' or '..' components")]
    Dots,
    /// A single component contains `/`.
    #[error("must not contain '/'")]
    Slash,
    /// A NUL byte, which ends a path for the kernel.
    #[error("must not contain a NUL byte")]
    Nul,
    /// A relative path that starts with `/`.
    #[error("must be a relative path (no leading '/')")]
    Absolute,
    /// A relative path with an empty component (`a//b`, a trailing `/`).
    #[error("must not have an empty component ('//' or a trailing '/')")]
    EmptyComponent,
}

/// Accepts one path component: not empty, not `.` or `..`, without `/` or NUL.
pub fn check_component(name: &str) -> Result<(), PathError> {
    if name.is_empty() {
        return Err(PathError::Empty);
    }
    if name.contains('/') {
        return Err(PathError::Slash);
    }
    check_part(name)
}

/// Accepts a relative path of components joined by single `/`s (`mesos`, `parent/mesos/child`),
/// each of which [`check_component`] accepts.
pub fn check_relative_path(name: &str) -> Result<(), PathError> {
    if name.is_empty() {
        return Err(PathError::Empty);
    }
    if name.starts_with('/') {
        return Err(PathError::Absolute);
    }
    for part in name.split('/') {
        if part.is_empty() {
            return Err(PathError::EmptyComponent);
        }
        check_part(part)?;
    }
    Ok(())
}

/// The checks of one non-empty component without `/`.
fn check_part(part: &str) -> Result<(), PathError> {
    if part == "." || part == ".." {
        return Err(PathError::Dots);
    }
    if part.contains('\0') {
        return Err(PathError::Nul);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        for good in ["c1", "a.b", ".hidden", "...", "with space", "é"] {
            assert_eq!(check_component(good), Ok(()), "{good:?}");
        }
        assert_eq!(check_component(""), Err(PathError::Empty));
        assert_eq!(check_component("."), Err(PathError::Dots));
        assert_eq!(check_component(".."), Err(PathError::Dots));
        assert_eq!(check_component("a/b"), Err(PathError::Slash));
        assert_eq!(check_component("/"), Err(PathError::Slash));
        assert_eq!(check_component("a\0b"), Err(PathError::Nul));
    }

    #[test]
    fn relative_paths() {
        for good in ["mesos", "parent/mesos/child", "a.b/c"] {
            assert_eq!(check_relative_path(good), Ok(()), "{good:?}");
        }
        assert_eq!(check_relative_path(""), Err(PathError::Empty));
        assert_eq!(check_relative_path("/abs"), Err(PathError::Absolute));
        assert_eq!(check_relative_path("a//b"), Err(PathError::EmptyComponent));
        assert_eq!(check_relative_path("a/"), Err(PathError::EmptyComponent));
        assert_eq!(check_relative_path("../etc"), Err(PathError::Dots));
        assert_eq!(check_relative_path("a/./b"), Err(PathError::Dots));
        assert_eq!(check_relative_path("a/.."), Err(PathError::Dots));
        assert_eq!(check_relative_path("a/b\0"), Err(PathError::Nul));
    }
}
