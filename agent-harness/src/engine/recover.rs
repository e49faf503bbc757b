//! Recovery after the harness was killed: Mesos's `recover` order. The checkpoints name the
//! containers and the modules they ran with; the containerizer reports orphans (containers it finds
//! on the machine with no checkpoint); every isolator is given the states and the orphans. Then:
//! a container whose process has ended is cleaned up, one that still runs is supervised again until
//! it ends (or destroyed at once with `kill`), and orphans and containers that never got a process
//! are destroyed and cleaned up. Nothing is left behind.
//!
//! What recovery decides for each container is logged at `info`; what stops a whole group of
//! containers from being recovered is a [`RecoverError`], reported on each of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use module_abi::ContainerId;
use serde::Serialize;
use thiserror::Error;
use tokio::task::JoinSet;
use tracing::info;

use super::checkpoint::{Checkpoint, CheckpointDir, CheckpointError, ModuleSet};
use super::container::{Ending, Engine, EngineError, Outcome};
use super::modules::{ModuleInstances, ModulesError};
use crate::instance::CallError;

/// What stops recovery: of every container (the checkpoints cannot be read), or of the containers
/// of one module set.
#[derive(Debug, Error)]
pub enum RecoverError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("cannot group the checkpoints by module set: {0}")]
    Group(#[source] serde_json::Error),
    /// The modules a checkpoint names cannot be loaded or created again.
    #[error(transparent)]
    Modules(#[from] ModulesError),
    #[error("Failed to recover the containerizer: {0}")]
    Containerizer(#[source] CallError),
    #[error("Failed to recover isolator '{name}': {source}")]
    Isolator { name: String, source: CallError },
    #[error("a recovered container's supervision failed: {0}")]
    Supervision(#[source] tokio::task::JoinError),
}

/// What recovery did with one container.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    pub container_id: String,
    /// `orphan`, `not launched`, `exited`, `ran to its end`, `destroyed`, `failed`.
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub errors: Vec<String>,
}

/// Recovers every container checkpointed under `work_dir`. `scan` is the module set to look for
/// orphans with when there is no checkpoint at all. With `kill`, running containers are destroyed
/// instead of supervised to their end.
pub async fn recover(
    work_dir: &Path,
    scan: Option<ModuleSet>,
    kill: bool,
) -> Result<Vec<Recovered>, RecoverError> {
    recover_with(work_dir, scan, kill, true).await
}

/// [`recover`] of the checkpointed containers only (with `kill`): what else the containerizer
/// finds under the cgroups root is another owner's (an OCI runtime's sibling containers, such as
/// a CRI pod's sandbox sharing its cgroup parent), so it is handed to the isolators as known
/// orphans, which they hold, and never destroyed.
pub async fn recover_checkpointed(work_dir: &Path, kill: bool) -> Result<Vec<Recovered>, RecoverError> {
    recover_with(work_dir, None, kill, false).await
}

async fn recover_with(
    work_dir: &Path,
    scan: Option<ModuleSet>,
    kill: bool,
    destroy_orphans: bool,
) -> Result<Vec<Recovered>, RecoverError> {
    let dir = CheckpointDir::new(work_dir);
    for removed in dir.sweep() {
        tracing::warn!("{removed}");
    }
    let checkpoints = dir.read_all()?;
    info!(work_dir = %work_dir.display(), checkpoints = checkpoints.len(), kill, "recovering");
    let mut groups: BTreeMap<String, (ModuleSet, Vec<Checkpoint>)> = BTreeMap::new();
    for checkpoint in checkpoints {
        let key = serde_json::to_string(&checkpoint.modules).map_err(RecoverError::Group)?;
        groups.entry(key).or_insert_with(|| (checkpoint.modules.clone(), Vec::new())).1.push(checkpoint);
    }
    if let (true, Some(set)) = (groups.is_empty(), scan) {
        info!("no checkpoint: looking for orphans with the given modules");
        groups.insert(String::new(), (set, Vec::new()));
    }
    // Every checkpointed container is its own group's to recover, never another group's orphan.
    let checkpointed: Vec<ContainerId> = groups
        .values()
        .flat_map(|(_, checkpoints)| checkpoints.iter().map(|c| c.container_id.clone()))
        .collect();
    let mut report = Vec::new();
    for (_, (set, checkpoints)) in groups {
        let ids: Vec<String> = checkpoints.iter().map(|c| c.container_id.value.clone()).collect();
        info!(
            isolation = ?set.isolation,
            containerizer = %set.containerizer,
            containers = ids.len(),
            "recovering the containers of a module set"
        );
        let recovered = match ModuleInstances::recreate(&set) {
            Ok(instances) => {
                let engine = Arc::new(Engine::new(instances, work_dir));
                recover_group(engine, checkpoints, &checkpointed, kill, destroy_orphans).await
            }
            Err(e) => Err(e.into()),
        };
        // One group's failure is reported on its containers; the other groups are still recovered.
        match recovered {
            Ok(recovered) => report.extend(recovered),
            Err(e) => {
                let error = e.to_string();
                info!(containers = ?ids, error = %error, "recovery of a module set failed");
                report.extend(ids.into_iter().map(|container_id| Recovered {
                    container_id,
                    action: "failed",
                    outcome: None,
                    errors: vec![error.clone()],
                }));
            }
        }
    }
    Ok(report)
}

async fn recover_group(
    engine: Arc<Engine>,
    checkpoints: Vec<Checkpoint>,
    checkpointed: &[ContainerId],
    kill: bool,
    destroy_orphans: bool,
) -> Result<Vec<Recovered>, RecoverError> {
    let states: Vec<_> = checkpoints.iter().filter_map(Checkpoint::state).collect();
    let not_launched: Vec<ContainerId> =
        checkpoints.iter().filter(|c| c.pid.is_none()).map(|c| c.container_id.clone()).collect();
    let containerizer = &engine.modules.containerizer;
    let found = containerizer.recover(states.clone()).map_err(RecoverError::Containerizer)?;
    let mut orphans: Vec<ContainerId> = found.into_iter().filter(|id| !checkpointed.contains(id)).collect();
    let mut all_orphans = orphans.clone();
    all_orphans.extend(not_launched.iter().cloned());
    for isolator in &engine.modules.isolators {
        isolator
            .recover(states.clone(), all_orphans.clone())
            .map_err(|source| RecoverError::Isolator { name: isolator.name().to_string(), source })?;
    }
    info!(
        states = states.len(),
        orphans = orphans.len(),
        not_launched = not_launched.len(),
        "recovered the modules"
    );
    let mut report = Vec::new();
    if !destroy_orphans {
        orphans.clear();
    }
    orphans.sort();
    for (ids, action) in [(orphans, "orphan"), (not_launched, "not launched")] {
        for id in ids {
            info!(container_id = %id, action, "destroying and cleaning up");
            let errors = engine.discard(&id);
            report.push(Recovered { container_id: id.value, action, outcome: None, errors });
        }
    }
    let mut running = JoinSet::new();
    for checkpoint in checkpoints.into_iter().filter(|c| c.pid.is_some()) {
        let id = checkpoint.container_id.clone();
        let waited = containerizer.wait(&id);
        match &waited {
            Ok(Some(_)) => info!(container_id = %id, "its process has ended: cleaning up"),
            Ok(None) if kill => info!(container_id = %id, "still running: destroying it (--kill)"),
            Ok(None) => info!(container_id = %id, "still running: supervising it to its end"),
            Err(e) => info!(container_id = %id, error = %e, "cannot tell whether it runs: destroying it"),
        }
        match waited {
            Ok(Some(termination)) => {
                let outcome = finish_now(&engine, &checkpoint, Ending::Exited(termination));
                report.push(outcome_report(&id, "exited", outcome));
            }
            Ok(None) if kill => {
                let outcome = finish_now(&engine, &checkpoint, Ending::Stopped(libc::SIGKILL));
                report.push(outcome_report(&id, "destroyed", outcome));
            }
            Ok(None) => {
                let engine = engine.clone();
                running.spawn(async move {
                    let outcome = match engine.reattach(&checkpoint, true) {
                        Ok(launched) => {
                            let ending = engine.supervise(&launched).await;
                            Ok(engine.finish(launched, ending))
                        }
                        Err(e) => Err(e),
                    };
                    (checkpoint.container_id, outcome)
                });
            }
            Err(e) => {
                let mut errors = vec![e.to_string()];
                errors.extend(engine.discard(&id));
                report.push(Recovered { container_id: id.value, action: "destroyed", outcome: None, errors });
            }
        }
    }
    while let Some(joined) = running.join_next().await {
        let (id, outcome) = joined.map_err(RecoverError::Supervision)?;
        match outcome {
            Ok(outcome) => report.push(outcome_report(&id, "ran to its end", Ok(outcome))),
            Err(e) => {
                let mut errors = vec![e.to_string()];
                errors.extend(engine.discard(&id));
                report.push(Recovered { container_id: id.value, action: "destroyed", outcome: None, errors });
            }
        }
    }
    Ok(report)
}

fn finish_now(engine: &Engine, checkpoint: &Checkpoint, ending: Ending) -> Result<Outcome, EngineError> {
    let launched = engine.reattach(checkpoint, false)?;
    Ok(engine.finish(launched, ending))
}

fn outcome_report(
    id: &ContainerId,
    action: &'static str,
    outcome: Result<Outcome, EngineError>,
) -> Recovered {
    info!(container_id = %id, action, "recovered container");
    match outcome {
        Ok(outcome) => {
            let errors = outcome.errors.clone();
            Recovered { container_id: id.value.clone(), action, outcome: Some(outcome), errors }
        }
        Err(e) => {
            Recovered { container_id: id.value.clone(), action, outcome: None, errors: vec![e.to_string()] }
        }
    }
}
