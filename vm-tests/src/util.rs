//! Running host commands with errors that name the command.

use std::process::Command;

use anyhow::{Context, Result, bail};

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `command` with inherited stdout and stderr; a non-zero exit is an error.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot run '{}'", describe(command)))?;
    if !status.success() {
        bail!("'{}' failed: {status}", describe(command));
    }
    Ok(())
}

/// Runs `command` and returns its stdout; a non-zero exit is an error carrying its stderr.
pub fn run_output(command: &mut Command) -> Result<String> {
    let output = command.output().with_context(|| format!("cannot run '{}'", describe(command)))?;
    if !output.status.success() {
        bail!(
            "'{}' failed: {}: {}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
