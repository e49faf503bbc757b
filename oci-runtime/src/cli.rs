//! runc's command line, the subset engines call (containerd's `go-runc`): global options first,
//! then a command whose options may come before or after the container id.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::state::DEFAULT_ROOT;

#[derive(Debug, Parser)]
#[command(
    name = "isolation-runc",
    version,
    about = "An OCI runtime (runc's command line) that runs containers through the isolation suite's modules"
)]
pub struct Cli {
    /// Where container state lives.
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Append errors (and with --debug, every step) to this file instead of only stderr.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The format of --log: text or json (`{"level":"error","msg":...,"time":...}` per line).
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log each command as well as errors.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups: refused (this runtime is cgroupfs only).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: only `false` (or `auto` as root) is accepted.
    #[arg(long, global = true, value_name = "true|false|auto")]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container from a bundle: everything up to its command, which waits for `start`.
    Create {
        /// The bundle directory (holding config.json).
        #[arg(long, short = 'b', value_name = "DIR", default_value = ".")]
        bundle: PathBuf,
        /// Write the container's init pid here.
        #[arg(long = "pid-file", value_name = "FILE")]
        pid_file: Option<PathBuf>,
        /// A Unix socket to send the terminal's master to (only with process.terminal: refused).
        #[arg(long = "console-socket", value_name = "SOCKET")]
        console_socket: Option<PathBuf>,
        /// Accepted: the helper pivots into the rootfs, or moves it onto / where pivot_root is
        /// impossible (an initramfs root), which is what --no-pivot asks for.
        #[arg(long = "no-pivot")]
        no_pivot: bool,
        /// Accepted: the container gets no keyring of its own either way.
        #[arg(long = "no-new-keyring")]
        no_new_keyring: bool,
        /// Pass this many descriptors after stdio to the container: only 0 is supported.
        #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
        preserve_fds: u32,
        id: String,
    },
    /// Run the command of a created container.
    Start { id: String },
    /// Print the OCI state of a container as JSON.
    State { id: String },
    /// Send a signal (a number or a name, default SIGTERM) to the container's command.
    Kill {
        /// Send it to every process of the container.
        #[arg(long, short = 'a')]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Destroy a container's processes, clean up its isolators and forget it.
    Delete {
        /// Also when it still runs.
        #[arg(long, short = 'f')]
        force: bool,
        id: String,
    },
    /// Run another process in a running container.
    Exec {
        /// The process JSON (the `process` of config.json).
        #[arg(long, short = 'p', value_name = "FILE")]
        process: PathBuf,
        /// Return once the process runs, instead of waiting for it.
        #[arg(long, short = 'd')]
        detach: bool,
        #[arg(long = "pid-file", value_name = "FILE")]
        pid_file: Option<PathBuf>,
        /// Only with process.terminal: refused.
        #[arg(long = "console-socket", value_name = "SOCKET")]
        console_socket: Option<PathBuf>,
        id: String,
    },
    /// List the container's processes.
    Ps {
        /// table or json.
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        id: String,
    },
    /// Freeze every process of the container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change a running container's resources (linux.resources JSON).
    Update {
        /// A file of linux.resources JSON, `-` for stdin.
        #[arg(long, short = 'r', value_name = "FILE")]
        resources: String,
        id: String,
    },
    /// Print what this runtime supports, as JSON (runc's `features`).
    Features,
}
