//! `agent-harness run-many`: one harness process that runs many containers, with the modules
//! loaded and created once, every container supervised from one single-threaded event loop.
//!
//! Input (`--file=PATH`, or `--file=-` for stdin, read as it arrives): one container per line, the
//! command and its arguments separated by whitespace (no quoting: put a script in a file and run
//! `/bin/sh FILE` for anything else). Blank lines and lines starting with `#` are skipped. A line
//! waits for a free slot (`--concurrency`) before its container is launched. Lines starting with
//! `@` are directives, carried out once every line before them has been launched:
//!
//! | directive | what it does |
//! |---|---|
//! | `@usage` | prints the usage of every live container and how long that sweep took |
//! | `@destroy` | destroys every live container |
//! | `@wait` | waits until no container is live |
//!
//! Output on stdout, one JSON object per line, as things happen:
//! `{"event":"launched","container_id":..,"pid":..}`, `{"event":"failed","container_id":..,"error":..}`,
//! `{"event":"finished", ..}` (the fields of `run --json`, plus `errors`), and
//! `{"event":"usage","containers":N,"seconds":..,"usage":{ID: ResourceStatistics}}`.
//!
//! At the end of the input it waits for every container to end. SIGINT, SIGTERM or SIGHUP destroy
//! every live container and end the run with 128 + the signal. The exit status is otherwise 0
//! when every container launched and was torn down cleanly (whatever its command returned), 1 if
//! not.
//!
//! The parts: [`input`] reads and parses the lines; [`input_loop`] turns them into containers and
//! directives; [`containers`] launches and supervises each container; [`directives`] carries out
//! `@usage`, `@destroy` and `@wait`; [`shutdown`] handles the stop signals and the end of the
//! run; [`events`] prints the JSON lines. This file sets the run up.

mod containers;
mod directives;
mod events;
mod input;
mod input_loop;
mod shutdown;

use std::path::PathBuf;
use std::rc::Rc;

use anyhow::anyhow;
use clap::Args;

use super::ContainerFlags;
use super::run::{random_container_id, validate_container_id};
use crate::engine::{Engine, ModuleInstances};
use containers::Containers;
use input::Input;
use input_loop::Launches;
use shutdown::Stop;

#[derive(Debug, Args)]
pub struct RunManyArgs {
    #[command(flatten)]
    pub container: ContainerFlags,
    /// The commands, one container per line; `-` reads stdin as it arrives.
    #[arg(long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// How many containers may be live at once.
    #[arg(long = "concurrency", value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Container ids are this prefix and the container's number (1, 2, ...); default: random.
    #[arg(long = "container_id_prefix", value_name = "PREFIX")]
    pub container_id_prefix: Option<String>,
}

/// Containers with a thousand live at once hold a few thousand descriptors (pidfds, watch fds):
/// take the whole hard limit, as container runtimes and Mesos's agent do.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid struct pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Runs every line of the input; the exit status.
pub fn run_many(args: &RunManyArgs) -> anyhow::Result<i32> {
    let (resources, limits) = args.container.resources_and_limits()?;
    let (container_info, rootfs) = args.container.container_settings()?;
    let user = args.container.user()?;
    if args.concurrency == 0 {
        return Err(anyhow!("Invalid --concurrency: it must be at least 1"));
    }
    let prefix = match &args.container_id_prefix {
        Some(prefix) => prefix.clone(),
        None => format!("{}-", &random_container_id()[..8]),
    };
    validate_container_id(&format!("{prefix}1"))
        .map_err(|e| anyhow!("Invalid --container_id_prefix: {e}"))?;
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the event loop: {e}"))?;
    let mut input = {
        // A pipe is registered with the event loop's reactor.
        let _reactor = runtime.enter();
        Input::open(&args.file)?
    };
    let (manager, set) = args.container.modules.module_set(&args.container.work_dir)?;
    let instances = ModuleInstances::create(&manager, set)?;
    let containers = Rc::new(Containers::new(
        Engine::new(instances, &args.container.work_dir).with_kill_at(args.container.test_only_kill_at),
    ));
    let launches =
        Launches { prefix, resources, limits, container_info, rootfs, user, concurrency: args.concurrency };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut stop = Stop::new();
        let mut tasks = tokio::task::JoinSet::new();
        let stopped = input_loop::run(&mut input, &containers, &launches, &mut tasks, &mut stop).await;
        Ok(shutdown::finish(&containers, tasks, stopped, &mut stop).await)
    })
}
