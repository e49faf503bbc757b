//! How `agent-harness test` reports: one line per case, then a last line of counts. Text
//! (`ok`/`FAILED`/`skipped`), TAP 13, or JSON (one object per case, then one with the counts).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use thiserror::Error;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    Failed(String),
    Skipped(String),
}

/// A `--format` the kit does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown format '{0}' (expected text, tap or json)")]
pub struct UnknownFormat(pub String);

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Tap,
    Json,
}

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "text" => Ok(Format::Text),
            "tap" => Ok(Format::Tap),
            "json" => Ok(Format::Json),
            other => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// Counts of a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

/// Prints case lines as they finish and the summary at the end.
#[derive(Debug)]
pub struct Reporter {
    format: Format,
    total: usize,
    seen: usize,
    pub summary: Summary,
}

impl Reporter {
    /// Starts a report of `total` cases (TAP prints its plan first).
    pub fn new(format: Format, total: usize) -> Reporter {
        if format == Format::Tap {
            println!("TAP version 13");
            println!("1..{total}");
        }
        Reporter { format, total, seen: 0, summary: Summary::default() }
    }

    /// Reports one case.
    pub fn case(&mut self, name: &str, verdict: &Verdict) {
        self.seen += 1;
        match verdict {
            Verdict::Passed => self.summary.passed += 1,
            Verdict::Failed(_) => self.summary.failed += 1,
            Verdict::Skipped(_) => self.summary.skipped += 1,
        }
        let one_line = |s: &str| s.replace('\n', " ");
        match (self.format, verdict) {
            (Format::Text, Verdict::Passed) => println!("ok       {name}"),
            (Format::Text, Verdict::Failed(why)) => println!("FAILED   {name}: {}", one_line(why)),
            (Format::Text, Verdict::Skipped(why)) => println!("skipped  {name}: {}", one_line(why)),
            (Format::Tap, Verdict::Passed) => println!("ok {} - {name}", self.seen),
            (Format::Tap, Verdict::Failed(why)) => {
                println!("not ok {} - {name} # {}", self.seen, one_line(why))
            }
            (Format::Tap, Verdict::Skipped(why)) => {
                println!("ok {} - {name} # SKIP {}", self.seen, one_line(why))
            }
            (Format::Json, verdict) => {
                let line = serde_json::json!({"case": name, "verdict": verdict});
                println!("{line}");
            }
        }
    }

    /// Prints the last line and returns the counts.
    pub fn finish(self) -> Summary {
        debug_assert_eq!(self.seen, self.total);
        match self.format {
            Format::Json => println!("{}", serde_json::to_string(&self.summary).unwrap_or_default()),
            Format::Text | Format::Tap => println!("{}", self.summary),
        }
        self.summary
    }
}
