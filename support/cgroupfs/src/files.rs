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
/// Control files kept open to be read again: the statistics files a `usage` reads every time.
/// A read is then one `pread` at offset 0 (kernfs renders the file afresh for each read from the
/// start) instead of a path walk, an open, a read and a close: about half the cost of a usage
/// sweep. Shared by the clones of one cgroup handle; the files close when the last clone goes (a
/// file of a removed cgroup reads as an error and is opened again, once).
///
/// The descriptors kept open by every handle of the process together stay within half the soft
/// `RLIMIT_NOFILE` ([`keep_budget`]): past it a file is opened, read and closed as
/// [`read`] does, so thousands of containers never starve a launch of descriptors.
#[derive(Debug, Default)]
pub struct OpenFiles(std::sync::Mutex<BTreeMap<std::path::PathBuf, Kept>>);

/// Files kept open by every [`OpenFiles`] of the process.
static KEPT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many files every [`OpenFiles`] together may keep open: half the soft `RLIMIT_NOFILE` when
/// the process first reads one (the rest is for the containers' pidfds and watch descriptors,
/// about one per container, the sandbox files and the modules). With limits set, a container's
/// usage reads about nine files: 1000 containers fit in a limit of 20000, and past the budget a
/// read costs a path walk more.
fn keep_budget() -> usize {
    static BUDGET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        usize::try_from(soft / 2).unwrap_or(usize::MAX)
    })
}

/// A file an [`OpenFiles`] keeps, counted in [`KEPT`] while it is open.
#[derive(Debug)]
struct Kept(fs::File);

impl Kept {
    /// `file`, kept when the budget allows; otherwise it is handed back.
    fn keep(file: fs::File) -> std::result::Result<Kept, fs::File> {
        use std::sync::atomic::Ordering;
        let budget = keep_budget();
        match KEPT.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < budget).then_some(n + 1)) {
            Ok(_) => Ok(Kept(file)),
            Err(_) => Err(file),
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        KEPT.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The cache plays no part in what a handle names.
impl PartialEq for OpenFiles {
    fn eq(&self, _: &OpenFiles) -> bool {
        true
    }
}

impl Eq for OpenFiles {}

impl OpenFiles {
    /// [`read`] through the cache.
    pub(crate) fn read(&self, path: &Path) -> Result<String> {
        self.read_text(path).map_err(|source| Error::Read { path: path.to_owned(), source })
    }

    /// [`read_optional`] through the cache.
    pub(crate) fn read_optional(&self, path: &Path) -> Result<Option<String>> {
        match self.read_text(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Read { path: path.to_owned(), source }),
        }
    }

    fn read_text(&self, path: &Path) -> io::Result<String> {
        let mut files = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(kept) = files.get(path) {
            match read_from_start(&kept.0) {
                Ok(text) => return Ok(text),
                // The cgroup was removed and made again, say: open it afresh below.
                Err(_) => drop(files.remove(path)),
            }
        }
        let file = fs::File::open(path)?;
        let text = read_from_start(&file)?;
        // Past the budget the file closes here, and the next read opens it again.
        if let Ok(kept) = Kept::keep(file) {
            files.insert(path.to_owned(), kept);
        }
        Ok(text)
    }
}

/// The whole file from offset 0 with `pread`s. A read that returns less than asked is the end: a
/// kernfs read fills the buffer as far as the file goes.
fn read_from_start(file: &fs::File) -> io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0u8; 4096];
    let mut len = 0;
    loop {
        match file.read_at(&mut bytes[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if len < bytes.len() {
                    break;
                }
                bytes.resize(bytes.len() * 2, 0);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(len);
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

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
/// The keys borrow from `text` (a usage sweep parses tens of keys per container).
pub(crate) fn parse_flat_keyed(text: &str) -> BTreeMap<&str, u64> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let key = fields.next()?;
            let value = fields.next()?.parse().ok()?;
            Some((key, value))
        })
        .collect()
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

/// Whether the cgroup directory `dir` holds a nested cgroup, from its link count alone (kernfs
/// counts a directory's sub-directories in it, as ext4 and tmpfs do: 2 + their number), without
/// listing its control files. A file system that does not count (btrfs says 1) reads as maybe.
pub(crate) fn has_subdirectories(dir: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let metadata = fs::metadata(dir).map_err(|source| Error::List { path: dir.to_owned(), source })?;
    Ok(metadata.nlink() != 2)
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
    fn subdirectories_are_seen_from_the_link_count() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_subdirectories(dir.path()).unwrap());
        std::fs::write(dir.path().join("cgroup.procs"), "1\n").unwrap();
        assert!(!has_subdirectories(dir.path()).unwrap(), "files do not count");
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        assert!(has_subdirectories(dir.path()).unwrap());
        assert!(has_subdirectories(&dir.path().join("missing")).is_err());
    }

    /// A file read through the cache twice reads its new contents the second time; a file
    /// removed in between is opened again once it is back.
    #[test]
    fn open_files_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.stat");
        std::fs::write(&path, "cache 1\n").unwrap();
        let files = OpenFiles::default();
        assert_eq!(files.read(&path).unwrap(), "cache 1\n");
        std::fs::write(&path, "cache 22\nrss 3\n").unwrap();
        assert_eq!(files.read(&path).unwrap(), "cache 22\nrss 3\n");
        let long = "x".repeat(10_000);
        std::fs::write(&path, &long).unwrap();
        assert_eq!(files.read(&path).unwrap(), long, "more than one buffer");
        assert_eq!(files.read_optional(&dir.path().join("absent")).unwrap(), None);
    }

    #[test]
    fn kept_files_are_counted_and_the_budget_bounds_them() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.stat");
        std::fs::write(&path, "cache 1\n").unwrap();
        // Other tests of this binary keep files too: compare with the count before, and fill the
        // budget to see a read past it close its file and still answer.
        let files = OpenFiles::default();
        let before = KEPT.load(Ordering::SeqCst);
        assert_eq!(files.read(&path).unwrap(), "cache 1\n");
        assert_eq!(files.0.lock().unwrap().len(), 1, "below the budget the file is kept");
        assert!(KEPT.load(Ordering::SeqCst) >= before.min(keep_budget()));
        drop(files);
        let mut fillers = Vec::new();
        while let Ok(kept) = Kept::keep(std::fs::File::open(&path).unwrap()) {
            fillers.push(kept);
        }
        assert!(KEPT.load(Ordering::SeqCst) >= keep_budget());
        let files = OpenFiles::default();
        assert_eq!(files.read(&path).unwrap(), "cache 1\n", "read past the budget");
        assert!(files.0.lock().unwrap().is_empty(), "past the budget no file is kept");
        drop(fillers);
    }

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
