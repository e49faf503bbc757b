//! The `--log` file: containerd's shim reads the last `{"level":"error","msg":...}` line of it
//! when a command fails, so every error goes there (and to stderr) as one line. With `--debug`
//! each command is logged too.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::LogFormat;
use crate::state::now_rfc3339;

#[derive(Debug, Clone)]
pub struct Logger {
    pub file: Option<PathBuf>,
    pub format: LogFormat,
    pub debug: bool,
}

impl Logger {
    /// One line at `level` in the log file (nothing without one).
    fn line(&self, level: &str, message: &str) {
        let Some(path) = &self.file else { return };
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": level, "msg": message, "time": now_rfc3339()}).to_string()
            }
            LogFormat::Text => format!("time=\"{}\" level={level} msg={message:?}", now_rfc3339()),
        };
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "{line}");
        }
    }

    /// An error: the log file and stderr.
    pub fn error(&self, message: &str) {
        self.line("error", message);
        let _ = writeln!(std::io::stderr(), "isolation-runc: {message}");
    }

    /// A step, with `--debug` only.
    pub fn debug(&self, message: &str) {
        if self.debug {
            self.line("debug", message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_json_lines_the_shim_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let logger = Logger { file: Some(path.clone()), format: LogFormat::Json, debug: false };
        logger.debug("not written");
        logger.error("container \"x\" does not exist");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "error");
        assert_eq!(line["msg"], "container \"x\" does not exist");
    }
}
