//! The command line: `agent-harness <command> [flags]`, with Mesos's flag names.
//!
//! Every error is one line on stderr that begins with `Error` and exit status 1.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::manifest::{self, SourcedManifest};
use crate::module_manager::ModuleManager;

/// Loads Mesos isolation modules and runs containers through them.
#[derive(Debug, Parser)]
#[command(name = "agent-harness", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and verify modules, then print them as JSON (one object per module, in load order).
    Modules(ModulesArgs),
}

/// Where the modules come from: Mesos's `--modules` or `--modules_dir`.
#[derive(Debug, Args, Clone, Default)]
pub struct ModuleSource {
    /// A manifest: `file:///path`, `/path` (deprecated) or inline JSON.
    #[arg(long = "modules", value_name = "VALUE")]
    pub modules: Option<String>,
    /// A directory of manifests, each file loaded in name order.
    #[arg(long = "modules_dir", value_name = "DIR")]
    pub modules_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ModulesArgs {
    #[command(flatten)]
    pub source: ModuleSource,
    /// Also create one instance of each module with its manifest parameters.
    #[arg(long)]
    pub create: bool,
}

impl ModuleSource {
    /// The manifests named by the flags (`None` when neither flag is given).
    pub fn manifests(&self) -> Result<Option<Vec<SourcedManifest>>, String> {
        match (&self.modules, &self.modules_dir) {
            (Some(_), Some(_)) => {
                Err("Only one of --modules or --modules_dir should be specified".to_string())
            }
            (Some(value), None) => {
                let manifest = manifest::from_flag_value(value, |warning| eprintln!("Warning: {warning}"))?;
                Ok(Some(vec![manifest]))
            }
            (None, Some(dir)) => manifest::from_dir(dir).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A module manager with the manifests named by the flags loaded.
    pub fn load(&self) -> Result<ModuleManager, String> {
        let manifests =
            self.manifests()?.ok_or_else(|| "one of --modules or --modules_dir is required".to_string())?;
        let mut manager = ModuleManager::new();
        manager.load_all(&manifests).map_err(|e| format!("Error loading modules: {e}"))?;
        Ok(manager)
    }
}

/// `agent-harness modules`: prints the loaded modules as a JSON array on stdout.
pub fn modules(args: &ModulesArgs) -> Result<(), String> {
    let manager = args.source.load()?;
    if args.create {
        for module in manager.modules() {
            manager.create_instance(&module.name, None)?;
        }
    }
    let summaries: Vec<_> = manager.modules().iter().map(|m| m.summary()).collect();
    let json = serde_json::to_string_pretty(&summaries).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
