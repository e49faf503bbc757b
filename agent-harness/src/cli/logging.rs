//! The harness's logs: `tracing` events on stderr, one line each, filtered by Mesos's
//! `--logging_level` (`--log_level` too) or, when it is set, by `RUST_LOG`.
//!
//! Mesos's levels map to tracing's: `INFO` → info, `WARNING` → warn, `ERROR` → error; `DEBUG`
//! and `TRACE` are there for developers. The default is `WARNING`, so a command prints only its
//! own output and its `Error` line unless asked for more. `RUST_LOG` takes tracing's directives
//! (`info`, `agent_harness::engine=debug`, ...) and, when set and not empty, replaces the flag.
//!
//! What a command prints on stdout (JSON, case lines) never goes through here, and what it tells
//! the user on stderr as part of its interface (its `Error` line, Mesos's deprecation warning,
//! the `Warning:` lines of `run`) is printed whatever the level: logs only add lines.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;

/// `--logging_level`: Mesos's level names, plus `DEBUG` and `TRACE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    #[value(name = "INFO")]
    Info,
    #[value(name = "WARNING", alias = "WARN")]
    Warning,
    #[value(name = "ERROR")]
    Error,
    #[value(name = "DEBUG")]
    Debug,
    #[value(name = "TRACE")]
    Trace,
}

impl Level {
    /// The tracing level this Mesos level lets through (and everything more severe).
    pub fn filter(self) -> LevelFilter {
        match self {
            Level::Info => LevelFilter::INFO,
            Level::Warning => LevelFilter::WARN,
            Level::Error => LevelFilter::ERROR,
            Level::Debug => LevelFilter::DEBUG,
            Level::Trace => LevelFilter::TRACE,
        }
    }
}

/// The filter for `level`, unless `rust_log` (the value of `RUST_LOG`) has directives: then
/// those. Each directive of `rust_log` that does not parse is left out and returned, with why, for
/// the caller to report; if none parses, `level` applies.
pub fn filter(level: Level, rust_log: Option<&str>) -> (EnvFilter, Vec<String>) {
    let mut ignored = Vec::new();
    let mut directives = Vec::new();
    for text in rust_log.unwrap_or_default().split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match text.parse::<Directive>() {
            Ok(directive) => directives.push(directive),
            Err(e) => ignored.push(format!("ignoring RUST_LOG directive '{text}': {e}")),
        }
    }
    if directives.is_empty() {
        directives.push(level.filter().into());
    }
    let filter = directives.into_iter().fold(EnvFilter::default(), EnvFilter::add_directive);
    (filter, ignored)
}

/// Starts logging to stderr for the rest of the process (see the module docs). Called once, by
/// `main`, before the command runs.
pub fn init(level: Level) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, ignored) = filter(level, rust_log.as_deref());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(OneLineStderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A caller that closed our stderr loses the logs; the subscriber must not report that on
        // the same stderr (with a panicking `eprintln!`).
        .log_internal_errors(false)
        .try_init();
    for problem in ignored {
        let _ = writeln!(std::io::stderr(), "Warning: {problem}");
    }
}

/// Gives the fmt subscriber a [`OneLine`] writer for each event.
#[derive(Debug, Clone, Copy)]
struct OneLineStderr;

impl<'a> MakeWriter<'a> for OneLineStderr {
    type Writer = OneLine;
    fn make_writer(&'a self) -> OneLine {
        OneLine
    }
}

/// Writes one formatted event to stderr as exactly one line.
#[derive(Debug)]
struct OneLine;

impl Write for OneLine {
    /// The fmt subscriber hands over a whole event, ending in a newline, in one `write_all`. A
    /// newline inside it (a module's multi-line message in a field) becomes a space, so every
    /// event is one line, written with one call that other threads' lines cannot split.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let body = buf.strip_suffix(b"\n").unwrap_or(buf);
        let mut line: Vec<u8> = body.iter().map(|&b| if b == b'\n' { b' ' } else { b }).collect();
        line.push(b'\n');
        std::io::stderr().lock().write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn mesos_levels_map_to_tracing_levels() {
        assert_eq!(Level::Info.filter(), LevelFilter::INFO);
        assert_eq!(Level::Warning.filter(), LevelFilter::WARN);
        assert_eq!(Level::Error.filter(), LevelFilter::ERROR);
        assert_eq!(Level::Debug.filter(), LevelFilter::DEBUG);
        assert_eq!(Level::Trace.filter(), LevelFilter::TRACE);
    }

    #[test]
    fn level_names_are_mesos_s_in_any_case() {
        for (text, level) in [
            ("INFO", Level::Info),
            ("info", Level::Info),
            ("Warning", Level::Warning),
            ("WARN", Level::Warning),
            ("error", Level::Error),
            ("DEBUG", Level::Debug),
            ("trace", Level::Trace),
        ] {
            assert_eq!(Level::from_str(text, true), Ok(level), "{text}");
        }
        assert!(Level::from_str("verbose", true).is_err());
    }

    #[test]
    fn rust_log_replaces_the_level_and_bad_directives_are_reported() {
        let (env, ignored) = filter(Level::Warning, None);
        assert_eq!(env.max_level_hint(), Some(LevelFilter::WARN));
        assert!(ignored.is_empty());
        let (env, _) = filter(Level::Warning, Some(""));
        assert_eq!(env.max_level_hint(), Some(LevelFilter::WARN), "an empty RUST_LOG is unset");
        let (env, ignored) = filter(Level::Error, Some("info"));
        assert_eq!(env.max_level_hint(), Some(LevelFilter::INFO));
        assert!(ignored.is_empty());
        let (env, ignored) = filter(Level::Warning, Some("agent_harness::engine=debug,=nope"));
        assert_eq!(env.max_level_hint(), Some(LevelFilter::DEBUG));
        assert_eq!(ignored.len(), 1, "{ignored:?}");
        assert!(ignored[0].starts_with("ignoring RUST_LOG directive '=nope'"), "{ignored:?}");
        let (env, ignored) = filter(Level::Info, Some("=nope"));
        assert_eq!(env.max_level_hint(), Some(LevelFilter::INFO), "no directive left: the flag");
        assert_eq!(ignored.len(), 1);
    }
}
