//! `agent-harness`: see the crate docs and `agent-harness --help`.

use std::io::Write;
use std::process::ExitCode;

use agent_harness::cli::{self, Cli, Command};
use clap::Parser;

/// Prints an error as one line beginning with `Error`. The typed errors of the library say
/// everything, causes included, in their `Display`: that is the line.
fn error_line(error: &dyn std::fmt::Display) {
    let message = error.to_string();
    let message = if message.starts_with("Error") { message } else { format!("Error: {message}") };
    // Not eprintln: a caller that closed our stderr must not turn this into a panic.
    let _ = writeln!(std::io::stderr(), "{}", message.replace('\n', " "));
}

fn exit(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message, up to its usage block, on one line (it may list the missing flags
            // on the lines after the first).
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|line| !line.starts_with("Usage:"))
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            error_line(&format!("{message} (see 'agent-harness --help')"));
            return ExitCode::from(1);
        }
    };
    cli::logging::init(cli.logging_level);
    agent_harness::deadline::set_call_timeout(cli.module_call_timeout);
    match &cli.command {
        Command::Modules(args) => match cli::modules(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                error_line(&error);
                ExitCode::from(1)
            }
        },
        Command::Run(args) => match cli::run::run(args) {
            Ok(result) => {
                let outcome = &result.outcome;
                for warning in &outcome.warnings {
                    // Not eprintln: a caller that closed our stderr must not turn this into a panic.
                    let _ = writeln!(std::io::stderr(), "Warning: {warning}");
                }
                if let Some(limitation) = &outcome.limitation {
                    let first = limitation.message.lines().next().unwrap_or_default();
                    let reason = limitation.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
                    eprintln!("Container '{}' was destroyed: {first}{reason}", outcome.container_id);
                }
                if args.json {
                    println!("{}", serde_json::to_string(outcome).unwrap_or_default());
                }
                if !outcome.errors.is_empty() {
                    error_line(&outcome.errors.join("; "));
                    return ExitCode::from(1);
                }
                exit(result.exit_status)
            }
            Err(error) => {
                error_line(&error);
                ExitCode::from(1)
            }
        },
        Command::RunMany(args) => match cli::run_many::run_many(args) {
            Ok(status) => exit(status),
            Err(error) => {
                error_line(&error);
                ExitCode::from(1)
            }
        },
        Command::Test(args) => match cli::test::test(args) {
            Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(1),
            Err(error) => {
                error_line(&error);
                ExitCode::from(1)
            }
        },
        Command::Recover(args) => match cli::recover::recover(args) {
            Ok(report) => {
                let mut failed = false;
                for recovered in &report {
                    eprintln!("recovered container '{}': {}", recovered.container_id, recovered.action);
                    for e in &recovered.errors {
                        failed = true;
                        error_line(&format!("container '{}': {e}", recovered.container_id));
                    }
                }
                if args.json {
                    println!("{}", serde_json::to_string(&report).unwrap_or_default());
                }
                if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
            }
            Err(error) => {
                error_line(&error);
                ExitCode::from(1)
            }
        },
    }
}
