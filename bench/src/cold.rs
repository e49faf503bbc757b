//! Part 1b: cold runs. A user types one `run` at a time, with seconds between them; the lifecycle
//! part runs them back to back. On cgroup v1 the first migration through `cgroup.procs` after a
//! quiet moment waits for an RCU grace period (the percpu rwsem `cgroup_threadgroup_rwsem` has
//! to leave its fast reader mode), which back-to-back runs mostly skip. Here each container runs
//! after a pause, through the harness and crun, and again with a cgroup hierarchy mounted with
//! `favordynmods` (Linux 6.0; the kernel then keeps the rwsem in its slow reader mode: migrations
//! never wait, forks and exits pay a little). The bench mounts that hierarchy, a named v1 one
//! with no controller, in its own mount namespace, and unmounts it at the end of the part; the
//! mode is the kernel's, so it applies to every process while mounted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::stats::{Summary, summarize};
use crate::{Config, HARNESS_ISOLATION};

/// The pause before each cold container.
pub const PAUSE: Duration = Duration::from_millis(250);

/// Medians of cold containers, ms.
#[derive(Debug, Clone, Serialize)]
pub struct Cold {
    pub count: usize,
    pub harness: Option<Summary>,
    pub crun: Option<Summary>,
    /// With a `favordynmods` hierarchy mounted; why not, when not.
    pub harness_favordynmods: Result<Summary, String>,
    pub crun_favordynmods: Result<Summary, String>,
}

/// A named v1 hierarchy with `favordynmods`, unmounted (and its directory removed) when dropped.
struct FavorDynmods(std::path::PathBuf);

impl FavorDynmods {
    fn mount(dir: &Path) -> Result<FavorDynmods> {
        std::fs::create_dir_all(dir)?;
        let status = Command::new("mount")
            .args(["-t", "cgroup", "-o", "none,name=harness-bench-favordynmods,favordynmods", "cgroup"])
            .arg(dir)
            .status()?;
        if !status.success() {
            let _ = std::fs::remove_dir(dir);
            bail!(
                "this kernel refuses a cgroup v1 hierarchy with favordynmods (Linux 6.0 or later, v1 enabled)"
            );
        }
        Ok(FavorDynmods(dir.to_path_buf()))
    }
}

impl Drop for FavorDynmods {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn harness(config: &Config, n: usize) -> Result<f64> {
    let id = format!("bench-{}-cold-{n}", std::process::id());
    crate::lifecycle::timed(&mut crate::lifecycle::harness_run(config, HARNESS_ISOLATION, &id, &[]))
}

fn crun(bundle: &Path, n: usize) -> Result<f64> {
    let id = format!("bench-{}-cold-{n}", std::process::id());
    crate::lifecycle::timed(Command::new("crun").args(["run", "--bundle"]).arg(bundle).arg(&id))
}

/// `count` cold containers per runtime, alternating, each after [`PAUSE`].
/// `first` numbers the containers (each pass needs ids of its own).
fn both(
    config: &Config,
    bundle: &Path,
    first: usize,
    count: usize,
    crun_too: bool,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut h, mut c) = (Vec::new(), Vec::new());
    for n in first..first + count {
        std::thread::sleep(PAUSE);
        h.push(harness(config, n).context("harness run")?);
        if crun_too {
            std::thread::sleep(PAUSE);
            c.push(crun(bundle, n).context("crun run")?);
        }
    }
    Ok((h, c))
}

/// Measures [`Cold`]; `dir` is where the favordynmods hierarchy is mounted.
pub fn measure(config: &Config, bundle: &Path, dir: &Path, count: usize) -> Result<Cold> {
    let crun_too = crate::lifecycle::missing("crun").is_none();
    let (h, c) = both(config, bundle, 0, count, crun_too)?;
    let favored = FavorDynmods::mount(dir).and_then(|mounted| {
        let samples = both(config, bundle, count, count, crun_too);
        drop(mounted);
        samples
    });
    let none = |what: &str| format!("no {what} samples");
    let (hf, cf) = match favored {
        Ok((hf, cf)) => {
            (summarize(&hf).ok_or_else(|| none("harness")), summarize(&cf).ok_or_else(|| none("crun")))
        }
        Err(e) => (Err(format!("{e:#}")), Err(format!("{e:#}"))),
    };
    Ok(Cold {
        count,
        harness: summarize(&h),
        crun: summarize(&c),
        harness_favordynmods: hf,
        crun_favordynmods: cf,
    })
}
