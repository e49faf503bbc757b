//! `agent-harness recover`: after a harness was killed, finish what it left.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;

use super::{ContainerModules, DEFAULT_WORK_DIR};
use crate::engine::recover::{Recovered, recover as recover_all};

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The modules to look for orphans with when no checkpoint is left (checkpointed containers are
    /// recovered with the modules they were launched with).
    #[command(flatten)]
    pub modules: ContainerModules,
    /// The work directory the killed harness used.
    #[arg(long = "work_dir", value_name = "DIR", default_value = DEFAULT_WORK_DIR)]
    pub work_dir: PathBuf,
    /// Destroy containers that still run instead of supervising them to their end.
    #[arg(long)]
    pub kill: bool,
    /// Print a JSON array about every recovered container on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Recovers everything under the work dir.
pub fn recover(args: &RecoverArgs) -> anyhow::Result<Vec<Recovered>> {
    // A mistyped work directory must not make every container on the machine look like an orphan.
    if !args.work_dir.is_dir() {
        return Err(anyhow!("the work directory '{}' does not exist", args.work_dir.display()));
    }
    let (_, set) = args.modules.module_set(&args.work_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the event loop: {e}"))?;
    Ok(runtime.block_on(recover_all(&args.work_dir, Some(set), args.kill))?)
}
