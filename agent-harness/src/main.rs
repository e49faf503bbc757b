//! `agent-harness`: see the crate docs and `agent-harness --help`.

use std::process::ExitCode;

use agent_harness::cli::{self, Cli, Command};
use clap::Parser;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("Error: {first} (see 'agent-harness --help')");
            return ExitCode::from(1);
        }
    };
    let result = match &cli.command {
        Command::Modules(args) => cli::modules(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let message = if message.starts_with("Error") { message } else { format!("Error: {message}") };
            eprintln!("{}", message.replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
