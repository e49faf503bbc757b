//! A test-only fault hook: the harness kills itself with SIGKILL at a chosen lifecycle step, so
//! the fault-injection tests (`integration/tests/faults.rs`) can prove that `agent-harness
//! recover` leaves nothing behind whichever step a crash interrupts, without racing a timer.
//!
//! It is set by the hidden flag `--test_only_kill_at=STEP` of `run` and `run-many` (not in
//! `--help`; documented in docs/reliability.md as for tests only). Nothing else reads it.

use std::fmt;
use std::str::FromStr;

/// Where the harness dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPoint {
    /// Every isolator has prepared the container; nothing is cloned yet.
    Prepare,
    /// The first process is cloned (blocked before exec) and its pid checkpointed.
    Launch,
    /// Every isolator has isolated the process; it is not released to exec yet.
    Isolate,
    /// The command has been released to exec and runs.
    Running,
    /// The container's processes were destroyed; no isolator is cleaned up yet.
    Destroy,
    /// One isolator (the last in `--isolation`) is cleaned up, the others are not.
    Cleanup,
}

impl KillPoint {
    /// Every point with its flag value, in lifecycle order.
    pub const ALL: [(&'static str, KillPoint); 6] = [
        ("prepare", KillPoint::Prepare),
        ("launch", KillPoint::Launch),
        ("isolate", KillPoint::Isolate),
        ("running", KillPoint::Running),
        ("destroy", KillPoint::Destroy),
        ("cleanup", KillPoint::Cleanup),
    ];

    fn name(self) -> &'static str {
        KillPoint::ALL.iter().find(|(_, point)| *point == self).map_or("?", |(name, _)| name)
    }
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KillPoint {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        KillPoint::ALL.iter().find(|(name, _)| *name == text).map(|(_, point)| *point).ok_or_else(|| {
            let names: Vec<&str> = KillPoint::ALL.iter().map(|(name, _)| *name).collect();
            format!("unknown step '{text}' (expected one of {})", names.join(", "))
        })
    }
}

/// Kills this process with SIGKILL when `at` is `reached`.
pub fn maybe_die(at: Option<KillPoint>, reached: KillPoint) {
    if at == Some(reached) {
        tracing::warn!(step = %reached, "--test_only_kill_at: killing the harness with SIGKILL");
        // SIGKILL cannot be caught: the process ends here, as under `kill -9`.
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        // raise(SIGKILL) does not return; should it, end anyway without any cleanup.
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_parses_back() {
        for (name, point) in KillPoint::ALL {
            assert_eq!(name.parse::<KillPoint>(), Ok(point));
            assert_eq!(point.to_string(), name);
        }
        let err = "exec".parse::<KillPoint>().unwrap_err();
        assert!(err.contains("unknown step 'exec'") && err.contains("prepare, launch"), "{err}");
        maybe_die(None, KillPoint::Prepare);
        maybe_die(Some(KillPoint::Cleanup), KillPoint::Prepare);
    }
}
