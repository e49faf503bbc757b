//! Part 2b: crun at scale, measured as the harness's [`crate::many`] part measures it. With `n`
//! detached `sleep` containers live (`crun run -d`, untimed), [`crate::many::BATCH`] more are
//! launched and then as many deleted (`crun delete -f`), each timed; then the rest are deleted.
//! The harness's numbers at the same sizes come from [`crate::many`]; [`crate::plot`] draws both.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::many::BATCH;
use crate::stats::{Summary, summarize};

#[derive(Debug, Clone, Serialize)]
pub struct CrunAtScale {
    pub containers: usize,
    /// `crun run -d` of one more container with `containers` live, in ms.
    pub launch_ms: Option<Summary>,
    /// `crun delete -f` of one container with `containers` live, in ms.
    pub destroy_ms: Option<Summary>,
    /// What was left behind (empty when nothing).
    pub leaks: Vec<String>,
}

/// Runs `crun ARGS... [--bundle BUNDLE] ID`; its wall time in ms.
fn crun(args: &[&str], bundle: Option<&Path>, id: &str) -> Result<f64> {
    // Not a pipe: a detached container inherits crun's stderr and would hold a pipe open.
    let mut errors = tempfile::tempfile()?;
    let mut command = Command::new("crun");
    command.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(errors.try_clone()?);
    if let Some(bundle) = bundle {
        command.arg("--bundle").arg(bundle);
    }
    command.arg(id);
    let start = Instant::now();
    let status = command.status()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if !status.success() {
        let mut text = String::new();
        errors.seek(SeekFrom::Start(0))?;
        errors.read_to_string(&mut text)?;
        bail!("crun {} {id} failed ({status}): {}", args.join(" "), text.trim());
    }
    Ok(ms)
}

/// `crun run -d` with `n` live; `bundle` runs `sleep` (see [`crate::lifecycle::write_bundle`]).
pub fn measure(bundle: &Path, n: usize) -> Result<CrunAtScale> {
    let prefix = format!("bench-crun-{}-{n}-", std::process::id());
    let ids: Vec<String> = (0..n + BATCH).map(|i| format!("{prefix}{i}")).collect();
    let mut started = Vec::new();
    let result = (|| -> Result<(Vec<f64>, Vec<f64>)> {
        for id in &ids[..n] {
            crun(&["run", "-d"], Some(bundle), id)?;
            started.push(id.clone());
        }
        let mut launch = Vec::new();
        for id in &ids[n..] {
            launch.push(crun(&["run", "-d"], Some(bundle), id)?);
            started.push(id.clone());
        }
        let mut destroy = Vec::new();
        while destroy.len() < BATCH {
            let id = started.pop().expect("BATCH were started");
            destroy.push(crun(&["delete", "-f"], None, &id)?);
        }
        Ok((launch, destroy))
    })();
    // Whatever happened, every container started goes.
    let mut leaks = Vec::new();
    for id in &started {
        if let Err(e) = crun(&["delete", "-f"], None, id) {
            leaks.push(format!("{id}: {e:#}"));
        }
    }
    let (launch, destroy) = result?;
    Ok(CrunAtScale { containers: n, launch_ms: summarize(&launch), destroy_ms: summarize(&destroy), leaks })
}
