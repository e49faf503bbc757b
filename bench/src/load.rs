//! Part 4 and 5: the ABI call overhead, read from criterion's estimates, and the time to load and
//! verify the suite's module libraries (`agent-harness modules`), against starting the same
//! binary without loading anything (`agent-harness --version`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::Config;
use crate::stats::{Summary, summarize};

const LOADS: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct ModuleLoad {
    pub libraries: usize,
    pub modules: usize,
    /// `agent-harness modules --modules_dir=DIR` (load, verify, print), ms per process.
    pub modules_command_ms: Option<Summary>,
    /// `agent-harness --version`, the same process loading nothing, ms.
    pub bare_process_ms: Option<Summary>,
}

fn time_runs(command: &mut Command) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for i in 0..LOADS + 2 {
        let start = Instant::now();
        let out = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            bail!("{command:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        if i >= 2 {
            samples.push(ms);
        }
    }
    Ok(samples)
}

pub fn module_load(config: &Config) -> Result<ModuleLoad> {
    let dir = tempfile::tempdir()?;
    // The suite's own module list, as the harness loads it by default.
    let suite = agent_harness::engine::modules::suite_manifest(&config.build, &Default::default()).manifest;
    std::fs::write(dir.path().join("suite.json"), suite.to_json()).context("cannot write the manifest")?;
    let loaded = time_runs(
        Command::new(&config.harness).arg("modules").arg(format!("--modules_dir={}", dir.path().display())),
    )?;
    let bare = time_runs(Command::new(&config.harness).arg("--version"))?;
    Ok(ModuleLoad {
        libraries: suite.libraries.len(),
        modules: suite.libraries.iter().map(|l| l.modules.len()).sum(),
        modules_command_ms: summarize(&loaded),
        bare_process_ms: summarize(&bare),
    })
}

/// One criterion benchmark: its median estimate in nanoseconds.
#[derive(Debug, Clone, Serialize)]
pub struct AbiCall {
    pub method: String,
    pub direct_ns: f64,
    pub abi_ns: f64,
}

/// The ABI call overhead from `<criterion>/abi/<method>-{direct,abi}/new/estimates.json`.
pub fn abi_from_criterion(criterion: &Path) -> Result<Vec<AbiCall>, String> {
    let median = |id: &str| -> Result<f64, String> {
        let path = criterion.join("abi").join(id).join("new/estimates.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no criterion estimates at {} ({e}); run `cargo bench -p bench --bench abi`",
                path.display()
            )
        })?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        json["median"]["point_estimate"].as_f64().ok_or_else(|| format!("{} has no median", path.display()))
    };
    ["isolate", "usage"]
        .iter()
        .map(|method| {
            Ok(AbiCall {
                method: (*method).to_owned(),
                direct_ns: median(&format!("{method}-direct"))?,
                abi_ns: median(&format!("{method}-abi"))?,
            })
        })
        .collect()
}
