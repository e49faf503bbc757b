//! `--xfs_project_range`: Mesos parses it as the value of a `projects` resource
//! (`src/common/values.cpp`), which must be of type RANGES, and checks the ids
//! (`XfsDiskIsolatorProcess::create`, `xfs::validateProjectIds`). The error texts are Mesos's:
//!
//! - `foo` is a TEXT value, `100` a SCALAR, `{a,b}` a SET: `Invalid XFS project resource type
//!   TEXT, expecting RANGES`;
//! - a range that does not parse: `Failed to parse XFS project range '<text>'`;
//! - an id above the 32-bit `prid_t`: `Project ID <n>  is out of range` (Mesos's two spaces);
//! - a range containing 0 (the "no project" id): `XFS project ID range contains illegal 0 value`.

use module_params::ValueError;

/// The default, Mesos's.
pub const DEFAULT_PROJECT_RANGE: &str = "[5000-10000]";

/// Project ids as sorted, disjoint, inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRange(Vec<(u32, u32)>);

impl ProjectRange {
    /// Parses Mesos's ranges text (see the module docs).
    pub fn parse(text: &str) -> Result<ProjectRange, ValueError> {
        let err = |message: String| ValueError::Other(message);
        let failed = || err(format!("Failed to parse XFS project range '{text}'"));
        let compact: String = text.chars().filter(|c| *c != ' ').collect();
        if compact.is_empty() {
            return Err(failed());
        }
        if !compact.starts_with('[') {
            let kind = if compact.contains('[') {
                return Err(failed());
            } else if compact.starts_with('{') {
                "SET"
            } else if compact.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0) {
                "SCALAR"
            } else {
                "TEXT"
            };
            return Err(err(format!("Invalid XFS project resource type {kind}, expecting RANGES")));
        }
        if !compact.ends_with(']') || compact.matches('[').count() != 1 || compact.matches(']').count() != 1 {
            return Err(failed());
        }
        let tokens: Vec<&str> = compact.split(['[', ']', '-', ',', '\n']).filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() || tokens.len() % 2 != 0 {
            return Err(failed());
        }
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for pair in tokens.chunks(2) {
            let begin: u64 = pair[0].parse().map_err(|_| failed())?;
            let end: u64 = pair[1].parse().map_err(|_| failed())?;
            if begin > end {
                return Err(failed());
            }
            ranges.push((begin, end));
        }
        for (_, end) in &ranges {
            if *end > u64::from(u32::MAX) {
                return Err(err(format!("Project ID {end}  is out of range")));
            }
        }
        if ranges.iter().any(|(begin, _)| *begin == 0) {
            return Err(err("XFS project ID range contains illegal 0 value".to_owned()));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (begin, end) in ranges {
            let (begin, end) = (begin as u32, end as u32);
            match merged.last_mut() {
                Some(last) if u64::from(begin) <= u64::from(last.1) + 1 => last.1 = last.1.max(end),
                _ => merged.push((begin, end)),
            }
        }
        Ok(ProjectRange(merged))
    }

    /// Whether `id` is in the range.
    pub fn contains(&self, id: u32) -> bool {
        self.0.iter().any(|(begin, end)| (*begin..=*end).contains(&id))
    }

    /// The lowest id of the range for which `used` is false (Mesos takes the lowest free one).
    pub fn lowest_free(&self, used: impl Fn(u32) -> bool) -> Option<u32> {
        self.0.iter().flat_map(|(begin, end)| *begin..=*end).find(|id| !used(*id))
    }

    /// How many ids the range holds.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|(begin, end)| u64::from(end - begin) + 1).sum()
    }

    /// Never true for a parsed range; for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for ProjectRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(b, e)| format!("{b}-{e}")).collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        ProjectRange::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn mesos_default_and_lists_parse() {
        let range = ProjectRange::parse(DEFAULT_PROJECT_RANGE).unwrap();
        assert_eq!(range.len(), 5001);
        assert!(range.contains(5000) && range.contains(10000) && !range.contains(4999));
        let range = ProjectRange::parse("[ 7-8, 1-2, 3-4 ]").unwrap();
        assert_eq!(range.to_string(), "[1-4, 7-8]");
        assert_eq!(range.lowest_free(|id| id < 4), Some(4));
        assert_eq!(range.lowest_free(|id| id != 8), Some(8));
        assert_eq!(range.lowest_free(|_| true), None);
        assert_eq!(ProjectRange::parse("[1-4294967295]").unwrap().len(), 4_294_967_295);
    }

    #[test]
    fn mesos_errors() {
        assert_eq!(message("[0-10]"), "XFS project ID range contains illegal 0 value");
        assert_eq!(message("foo"), "Invalid XFS project resource type TEXT, expecting RANGES");
        assert_eq!(message("100"), "Invalid XFS project resource type SCALAR, expecting RANGES");
        assert_eq!(message("{1,2}"), "Invalid XFS project resource type SET, expecting RANGES");
        assert_eq!(message("[100-1099511627776]"), "Project ID 1099511627776  is out of range");
        for bad in ["", "[1-", "[a-b]", "[1-2-3]", "[5-1]", "[1-2]]", "x[1-2]"] {
            assert_eq!(message(bad), format!("Failed to parse XFS project range '{bad}'"), "{bad}");
        }
    }
}
