//! Reading and writing cgroup control files, with the path in every error.
//!
//! cgroupfs files are small and change under us, so each read is one `read_to_string` and each write
//! is one `write(2)` of the whole value: the kernel parses a control file write per call, and a
//! buffered writer splitting the value would be parsed as two writes.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Reads a whole control file: open, reads until end of file, close. Unlike
/// `fs::read_to_string` it asks for no size hint (`statx`): cgroupfs reports 4096 or 0 for every
/// file, and a usage sweep reads thousands of them.
fn read_text(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut chunk = [0u8; 4096];
    let mut bytes = Vec::new();
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads a whole control file.
pub(crate) fn read(path: &Path) -> Result<String> {
    read_text(path).map_err(|source| Error::Read { path: path.to_owned(), source })
}

/// Reads a control file that may be absent (an optional kernel feature); `None` when it is missing.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path: path.to_owned(), source }),
    }
}

/// Writes `value` to an existing control file in a single `write(2)`; never creates the file.
/// `O_TRUNC` is what a shell's `echo >` does; cgroupfs ignores it, plain test files need it.
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    let err = |source| Error::Write { path: path.to_owned(), value: value.to_owned(), source };
    let mut file = fs::OpenOptions::new().write(true).truncate(true).open(path).map_err(err)?;
    let written = file.write(value.as_bytes()).map_err(err)?;
    if written != value.len() {
        return Err(err(io::Error::new(io::ErrorKind::WriteZero, "short write to a control file")));
    }
    Ok(())
}

/// Parses a file holding one unsigned integer.
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64> {
    text.trim().parse().map_err(|e| parse_error(path, format!("'{}' is not an integer: {e}", text.trim())))
}

/// Reads a file holding one unsigned integer.
pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    parse_u64(path, &read(path)?)
}

/// Parses a flat keyed file (`key value` per line: `memory.stat`, `cpu.stat`, `memory.events`).
/// Lines whose value is not an integer are skipped: newer kernels add keys this crate never reads.
pub(crate) fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let key = fields.next()?;
            let value = fields.next()?.parse().ok()?;
            Some((key.to_owned(), value))
        })
        .collect()
}

/// Reads a flat keyed file.
pub(crate) fn read_flat_keyed(path: &Path) -> Result<BTreeMap<String, u64>> {
    Ok(parse_flat_keyed(&read(path)?))
}

/// Reads `cgroup.procs` (one pid per line, each process once) or a thread list (`tasks`,
/// `cgroup.threads`: one thread id per line).
pub(crate) fn read_procs(path: &Path) -> Result<Vec<i32>> {
    read(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().map_err(|e| parse_error(path, format!("'{l}' is not a pid: {e}"))))
        .collect()
}

/// The sub-directories of `dir`, deepest first, ending with `dir` itself: the order `rmdir` needs.
/// A missing `dir` yields nothing.
pub(crate) fn subtree_bottom_up(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(Error::List { path: dir.to_owned(), source });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::List { path: dir.to_owned(), source })?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            out.extend(subtree_bottom_up(&entry.path())?);
        }
    }
    out.push(dir.to_owned());
    Ok(out)
}

/// The names of the sub-directories of `dir`; empty when `dir` does not exist.
pub(crate) fn child_dirs(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::List { path: dir.to_owned(), source });
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::List { path: dir.to_owned(), source })?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

pub(crate) fn parse_error(path: &Path, reason: String) -> Error {
    Error::Parse { path: path.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_skips_non_integer_lines() {
        let map = parse_flat_keyed("user 10\nsystem 5\nsome avg10=0.00\n\n");
        assert_eq!(map.get("user"), Some(&10));
        assert_eq!(map.get("system"), Some(&5));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn bottom_up_lists_leaf_before_parent() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir.path().join("a/leaf");
        fs::create_dir_all(&leaf).unwrap();
        let order = subtree_bottom_up(&dir.path().join("a")).unwrap();
        assert_eq!(order, vec![leaf, dir.path().join("a")]);
        assert!(subtree_bottom_up(&dir.path().join("missing")).unwrap().is_empty());
    }

    #[test]
    fn write_refuses_to_create_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(&dir.path().join("cpu.shares"), "2").unwrap_err();
        assert!(err.to_string().contains("cpu.shares"), "{err}");
    }
}
