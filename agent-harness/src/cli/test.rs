//! `agent-harness test`: run the module test kit against the isolators named by `--isolation`.

use clap::Args;

use super::{AgentFlags, ModuleSource, parse_isolation};
use crate::kit::report::{Format, Summary};
use crate::kit::{self, KitOptions};

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub source: ModuleSource,
    /// The isolators to test, comma-separated: Mesos's names or module names (as `run` takes them).
    #[arg(long = "isolation", value_name = "LIST")]
    pub isolation: String,
    #[command(flatten)]
    pub agent: AgentFlags,
    /// The containerizer (default: the suite's Linux containerizer, with the kit's own cgroups root).
    #[arg(long = "containerizer", value_name = "NAME")]
    pub containerizer: Option<String>,
    /// Only the cases whose name contains this.
    #[arg(long = "filter", value_name = "PATTERN")]
    pub filter: Option<String>,
    /// `text` (default), `tap` or `json`.
    #[arg(long = "format", value_name = "FORMAT", default_value = "text")]
    pub format: String,
}

/// Runs the kit; `Ok` with the counts (the caller fails when any case failed).
pub fn test(args: &TestArgs) -> anyhow::Result<Summary> {
    let format: Format = args.format.parse()?;
    let isolation = parse_isolation(&args.isolation)?;
    let agent = args.agent.params()?;
    let manifests = args.source.manifests()?.unwrap_or_default();
    Ok(kit::run(KitOptions {
        manifests,
        isolation,
        agent,
        containerizer: args.containerizer.clone(),
        filter: args.filter.clone(),
        format,
        policy: args.source.policy(),
    })?)
}
