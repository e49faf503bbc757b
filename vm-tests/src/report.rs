//! Reading a guest's console: the init's markers and each suite's libtest output, into counts.
//!
//! Counts come from each suite's `test result:` line (libtest and libtest-mimic print the same
//! one), which stays on a line of its own even when a test's stderr interleaves with the per-test
//! lines. A suite that ends with a non-zero status without a failing test in its result (a crash,
//! a panic outside a test, the guest's per-suite timeout) counts as one failure, as does a suite
//! that began and never ended (the guest died or hung inside it) and every failed setup step.

use std::time::Duration;

/// What one suite reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteReport {
    pub name: String,
    pub passed: u32,
    pub failed: u32,
    pub ignored: u32,
    /// The exit status the init saw, `None` while the suite has not ended.
    pub exit_status: Option<i32>,
    /// Names of the failed tests (`test X ... FAILED`), or why the suite counts as failed.
    pub failures: Vec<String>,
    /// Seconds from the begin marker to the end marker, as the host saw the lines arrive.
    pub seconds: f64,
    saw_result: bool,
}

/// Everything read from one guest's console.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestReport {
    pub suites: Vec<SuiteReport>,
    pub setup_failures: Vec<String>,
    /// The status of the init's `vm-tests: done status=N`, `None` when it never got there.
    pub done: Option<i32>,
}

/// Drops ANSI escape sequences (the firmware clears the screen) and carriage returns.
pub fn clean(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters and intermediates, then one final byte in @..~.
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// `N passed; M failed; K ignored` from a `test result:` line.
fn parse_result(line: &str) -> Option<(u32, u32, u32)> {
    let rest = &line[line.find("test result: ")? + "test result: ".len()..];
    let count = |word: &str| -> Option<u32> {
        let at = rest.find(&format!(" {word}"))?;
        rest[..at].rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    Some((count("passed")?, count("failed")?, count("ignored").unwrap_or(0)))
}

impl GuestReport {
    /// Feeds one console line (already [`clean`]ed) that arrived `at` after boot.
    pub fn line(&mut self, line: &str, at: Duration) {
        if let Some(rest) = line.strip_prefix("vm-tests: suite ") {
            if let Some(name) = rest.strip_suffix(" begin") {
                self.suites.push(SuiteReport {
                    name: name.to_owned(),
                    seconds: at.as_secs_f64(),
                    ..Default::default()
                });
            } else if let Some((name, status)) = rest.split_once(" end rc=")
                && let Some(suite) = self.suites.iter_mut().rev().find(|s| s.name == name)
            {
                suite.end(status.trim().parse().unwrap_or(-1), at);
            }
            return;
        }
        if let Some(what) = line.strip_prefix("vm-tests: setup failed: ") {
            self.setup_failures.push(what.to_owned());
            return;
        }
        if let Some(status) = line.strip_prefix("vm-tests: done status=") {
            self.done = status.trim().parse().ok();
            return;
        }
        let Some(suite) = self.suites.last_mut().filter(|s| s.exit_status.is_none()) else { return };
        if let Some((passed, failed, ignored)) = parse_result(line) {
            suite.passed += passed;
            suite.failed += failed;
            suite.ignored += ignored;
            suite.saw_result = true;
        } else if let Some(name) = line.strip_prefix("test ").and_then(|l| l.strip_suffix(" ... FAILED")) {
            // libtest-mimic pads names to one width.
            suite.failures.push(name.trim_end().to_owned());
        }
    }

    /// Counts suites that never ended as failed (call once the guest is gone).
    pub fn close(&mut self, at: Duration) {
        for suite in self.suites.iter_mut().filter(|s| s.exit_status.is_none()) {
            suite.failed += 1;
            suite.failures.push("(the suite never ended: the guest died or hung in it)".to_owned());
            suite.seconds = at.as_secs_f64() - suite.seconds;
        }
    }

    pub fn passed(&self) -> u32 {
        self.suites.iter().map(|s| s.passed).sum()
    }

    pub fn failed(&self) -> u32 {
        self.suites.iter().map(|s| s.failed).sum::<u32>() + self.setup_failures.len() as u32
    }

    pub fn ignored(&self) -> u32 {
        self.suites.iter().map(|s| s.ignored).sum()
    }

    /// The summary line: `N passed, N failed` and `, N skipped` when tests were ignored.
    pub fn counts(&self) -> String {
        let mut text = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.ignored() > 0 {
            text.push_str(&format!(", {} skipped", self.ignored()));
        }
        text
    }
}

impl SuiteReport {
    fn end(&mut self, status: i32, at: Duration) {
        self.exit_status = Some(status);
        self.seconds = at.as_secs_f64() - self.seconds;
        if status != 0 && self.failed == 0 {
            self.failed += 1;
            let why = if self.saw_result { "its tests passed" } else { "no test result" };
            self.failures.push(format!("(the suite exited with status {status}; {why})"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(text: &str) -> GuestReport {
        let mut report = GuestReport::default();
        for (i, line) in text.lines().enumerate() {
            report.line(&clean(line), Duration::from_secs(i as u64));
        }
        report.close(Duration::from_secs(1000));
        report
    }

    #[test]
    fn counts_results_and_failures() {
        let report = feed(
            "\x1b[2J\x1b[0mSeaBIOS\r
vm-tests: suite a::kernel begin
running 3 tests
test v2::one ... ok
test v2::two ... some stderr
FAILED
test v2::three [skipped: not root] ... ignored
test v2::four ... FAILED
test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.20s
vm-tests: suite a::kernel end rc=101
vm-tests: suite b::kernel begin
test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s
vm-tests: suite b::kernel end rc=0
vm-tests: done status=1",
        );
        assert_eq!(report.counts(), "5 passed, 2 failed, 1 skipped");
        assert_eq!(report.suites[0].failures, vec!["v2::four"]);
        assert_eq!(report.suites[1].seconds, 2.0);
        assert_eq!(report.done, Some(1));
    }

    #[test]
    fn crashed_and_unfinished_suites_fail() {
        let report = feed(
            "vm-tests: setup failed: insmod /lib/modules/x/xfs.ko
vm-tests: suite a begin
test x ... ok
vm-tests: suite a end rc=139
vm-tests: suite b begin
test y ...",
        );
        assert_eq!(report.counts(), "0 passed, 3 failed");
        assert!(report.suites[0].failures[0].contains("status 139"), "{:?}", report.suites[0]);
        assert!(report.suites[1].failures[0].contains("never ended"));
        assert_eq!(report.done, None);
    }

    #[test]
    fn result_line_after_interleaved_text() {
        assert_eq!(
            parse_result("noise test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured"),
            Some((12, 0, 3))
        );
        assert_eq!(parse_result("test result: ok. 1 passed; 0 failed"), Some((1, 0, 0)));
        assert_eq!(parse_result("test foo ... ok"), None);
    }
}
