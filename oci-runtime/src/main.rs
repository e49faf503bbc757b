//! `isolation-runc`: see the crate docs. Every error is one line (stderr and the `--log` file)
//! and exit status 1.

use std::io::Write;

use clap::Parser;
use oci_runtime::cli::{Cli, Command};
use oci_runtime::lifecycle::{self, CreateOptions};
use oci_runtime::log::Logger;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            let _ = writeln!(std::io::stderr(), "isolation-runc: {}", first.trim_start_matches("error: "));
            std::process::exit(1);
        }
    };
    let logger = Logger { file: cli.log.clone(), format: cli.log_format, debug: cli.debug };
    logger.debug(&format!("{:?}", cli.command));
    match run(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            logger.error(&format!("{e:#}"));
            std::process::exit(1);
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<i32> {
    if cli.systemd_cgroup {
        anyhow::bail!(
            "--systemd-cgroup is not supported: this runtime manages cgroups through cgroupfs only"
        );
    }
    if let Some(rootless) = cli.rootless.as_deref().filter(|r| *r != "false" && *r != "auto") {
        anyhow::bail!("--rootless {rootless} is not supported: this runtime runs as root only");
    }
    let root = &cli.root;
    match &cli.command {
        Command::Create {
            bundle,
            pid_file,
            console_socket,
            no_pivot: _,
            no_new_keyring: _,
            preserve_fds,
            id,
        } => {
            let options = CreateOptions {
                bundle: bundle.clone(),
                pid_file: pid_file.clone(),
                console_socket: console_socket.clone(),
                preserve_fds: *preserve_fds,
            };
            lifecycle::create(root, id, &options)?;
        }
        Command::Start { id } => lifecycle::start(root, id)?,
        Command::State { id } => {
            let state = lifecycle::state(root, id)?;
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        Command::Kill { all, id, signal } => {
            let signal = lifecycle::parse_signal(signal)?;
            lifecycle::kill(root, id, signal, *all)?;
        }
        Command::Delete { force, id } => lifecycle::delete(root, id, *force)?,
        Command::Exec { process, detach, pid_file, console_socket, id } => {
            let options = oci_runtime::exec::ExecOptions {
                process: process.clone(),
                detach: *detach,
                pid_file: pid_file.clone(),
                console_socket: console_socket.clone(),
            };
            return oci_runtime::exec::exec(root, id, &options);
        }
        Command::Ps { format, id } => {
            let pids = lifecycle::ps(root, id)?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string(&pids)?),
                "table" => {
                    println!("PID");
                    for pid in pids {
                        println!("{pid}");
                    }
                }
                other => anyhow::bail!("invalid format '{other}' (table or json)"),
            }
        }
        Command::Pause { id } => lifecycle::set_paused(root, id, true)?,
        Command::Resume { id } => lifecycle::set_paused(root, id, false)?,
        Command::Update { resources, id } => lifecycle::update(root, id, resources)?,
        Command::Features => {
            println!("{}", serde_json::to_string_pretty(&oci_runtime::features::features())?)
        }
    }
    Ok(0)
}
