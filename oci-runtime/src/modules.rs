//! The modules of one container: the runtime configuration's manifest, then the suite's modules
//! (the same as `agent-harness run`'s, found next to the binary or installed), each created with
//! this container's parameters. Modules are created per runtime invocation, so per-container
//! parameters are simply parameters: the cgroups root from `linux.cgroupsPath`, the
//! containerizer's runtime directory inside the container's state directory, the UTS isolator's
//! hostname.
//!
//! The resolved set (manifest, isolation, containerizer) goes into the engine's checkpoint, so
//! every later command (`delete`, `update`) creates exactly the same modules again from it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use agent_harness::engine::isolation::{self, AgentParams};
use agent_harness::engine::modules::{self as suite, DEFAULT_CONTAINERIZER, ModulesError};
use agent_harness::engine::{ModuleInstances, ModuleSet};
use agent_harness::manifest::from_flag_value;
use agent_harness::trust::PathPolicy;
use agent_harness::{ModuleManager, SourcedManifest};
use anyhow::Context;

use crate::config::RuntimeConfig;
use crate::translate::Plan;

/// Loads the modules `plan` needs and creates them.
pub fn create(plan: &Plan, config: &RuntimeConfig, runtime_dir: &Path) -> anyhow::Result<ModuleInstances> {
    let policy = PathPolicy::from_flag(config.allow_writable_modules);
    let mut agent = BTreeMap::new();
    agent.insert("cgroups_root".to_owned(), plan.cgroups_root.clone());
    agent.insert("runtime_dir".to_owned(), runtime_dir.display().to_string());
    if plan.limit_swap {
        agent.insert("cgroups_limit_swap".to_owned(), "true".to_owned());
    }
    let agent = AgentParams { values: agent };

    let mut manager = ModuleManager::with_policy(policy);
    if let Some(modules) = &config.modules {
        let user = from_flag_value(modules, |_| {}).context("the runtime configuration's modules")?;
        manager.load(&user).map_err(ModulesError::Load)?;
    }
    let loaded: HashSet<String> = manager.modules().iter().map(|m| m.name.clone()).collect();
    let Some(suite_manifest) = suite::suite_modules(&loaded, policy, &agent)? else {
        anyhow::bail!(
            "the suite's module libraries are neither next to the isolation-runc binary nor in {}",
            suite::INSTALLED_MODULES_DIR
        );
    };
    manager.load(&with_params(suite_manifest, &plan.params)).map_err(ModulesError::Load)?;

    let mut isolation = plan.isolation.clone();
    for name in &config.isolation {
        let module = isolation::builtin_module(name).unwrap_or(name).to_owned();
        if !isolation.contains(&module) {
            isolation.push(module);
        }
    }
    let set = ModuleSet {
        manifest: suite::resolved_manifest(&manager).to_json(),
        isolation,
        containerizer: DEFAULT_CONTAINERIZER.to_owned(),
        allow_writable_modules: config.allow_writable_modules,
    };
    Ok(ModuleInstances::create(&manager, set)?)
}

/// Creates the modules of a recorded set again (a later command on the same container).
pub fn recreate(set: &ModuleSet) -> anyhow::Result<ModuleInstances> {
    Ok(ModuleInstances::recreate(set)?)
}

/// `sourced` with `params` (module name → key and value) set on its modules, replacing the same
/// key.
fn with_params(
    mut sourced: SourcedManifest,
    params: &BTreeMap<String, Vec<(String, String)>>,
) -> SourcedManifest {
    for library in &mut sourced.manifest.libraries {
        for module in &mut library.modules {
            let Some(extra) = module.name.as_ref().and_then(|name| params.get(name)) else { continue };
            for (key, value) in extra {
                module.parameters.retain(|p| &p.key != key);
                module.parameters.push(module_abi::Parameter { key: key.clone(), value: value.clone() });
            }
        }
    }
    sourced
}
