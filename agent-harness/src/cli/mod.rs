//! The command line: `agent-harness <command> [flags]`, with Mesos's flag names.
//!
//! Every error is one line on stderr that begins with `Error` and exit status 1. The commands
//! return `anyhow` errors: the library's typed errors, whose `Display` is that whole line, and
//! the flags' own messages (never a `.context()` chain, whose `Display` would drop the cause).
//!
//! Logs (`tracing`) go to stderr too, one line per event, at `--logging_level` or as `RUST_LOG`
//! says ([`logging`]); what a command prints on stdout is never mixed with them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand};
use module_abi::Resources;

use crate::engine::ModulesError;
use crate::engine::isolation::AgentParams;
use crate::manifest::{self, SourcedManifest};
use crate::module_manager::ModuleManager;
use crate::trust::PathPolicy;

pub mod container_info;
pub mod logging;
pub mod recover;
pub mod run;
pub mod run_many;
pub mod test;

/// `agent-harness --version`: the suite's release, and the module ABI it hosts.
fn long_version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{} (module-abi {}, ABI {})",
            env!("CARGO_PKG_VERSION"),
            module_abi::MODULE_ABI_VERSION,
            module_abi::ABI_VERSION
        )
    });
    VERSION.as_str()
}

/// Loads Mesos isolation modules and runs containers through them.
#[derive(Debug, Parser)]
#[command(name = "agent-harness", version, long_version = long_version(), about)]
pub struct Cli {
    /// Log at or above this level on stderr: INFO, WARNING or ERROR (Mesos's levels; DEBUG and
    /// TRACE too), case-insensitive. RUST_LOG, when set, overrides it.
    #[arg(
        long = "logging_level",
        visible_alias = "log_level",
        value_name = "LEVEL",
        global = true,
        ignore_case = true,
        value_enum,
        default_value_t = logging::Level::Warning
    )]
    pub logging_level: logging::Level,
    /// How long one call into a module may take, a Mesos duration (`30secs`, `500ms`). Past it the
    /// call is abandoned: the container fails with the module and the step named, its cleanup goes
    /// on, and that module's remaining calls for the container are skipped (see
    /// docs/reliability.md for what that leaks).
    #[arg(
        long = "module_call_timeout",
        value_name = "DURATION",
        global = true,
        default_value = crate::deadline::DEFAULT_CALL_TIMEOUT_TEXT,
        value_parser = parse_call_timeout
    )]
    pub module_call_timeout: std::time::Duration,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and verify modules, then print them as JSON (one object per module, in load order).
    Modules(ModulesArgs),
    /// Run a command in a container isolated by the modules, and wait for it.
    Run(run::RunArgs),
    /// Run many containers from one harness process: one command line per container from a file
    /// or stdin, with bounded concurrency; JSON lines of what happened (see `run-many --help`).
    #[command(name = "run-many", long_about = RUN_MANY_ABOUT)]
    RunMany(run_many::RunManyArgs),
    /// Recover after a harness was killed: clean up, or supervise to their end, every container.
    Recover(recover::RecoverArgs),
    /// Test isolator modules: run the lifecycle cases against the isolators of `--isolation`.
    Test(test::TestArgs),
}

/// The long help of `run-many`: its input and output format.
const RUN_MANY_ABOUT: &str = "\
Run many containers from one harness process, with the modules loaded once and every container
supervised from one single-threaded event loop.

Input (--file=PATH, or --file=- for stdin, read as it arrives): one container per line, the command
and its arguments separated by whitespace (no quoting). Blank lines and lines starting with '#' are
skipped. Each line waits for a free slot (--concurrency) before its container is launched.
Directives, carried out once every line before them has been launched:
  @usage     print the usage of every live container and how long the sweep took
  @destroy   destroy every live container
  @wait      wait until no container is live

Output on stdout, one JSON object per line:
  {\"event\":\"launched\",\"container_id\":ID,\"pid\":PID}
  {\"event\":\"failed\",\"container_id\":ID,\"error\":MESSAGE}
  {\"event\":\"finished\", ...the fields of run --json..., \"errors\":[...]}
  {\"event\":\"usage\",\"containers\":N,\"seconds\":S,\"usage\":{ID: statistics}}

At the end of the input it waits for every container to end. SIGINT, SIGTERM or SIGHUP destroy
every live container and exit with 128 + the signal. Otherwise the exit status is 0 when every
container launched and was torn down cleanly (whatever its command returned), else 1.

Example: printf '/bin/sleep 5\\n/bin/sleep 5\\n@usage\\n@destroy\\n' | agent-harness run-many --file=- --concurrency=10";

/// `--module_call_timeout`: a Mesos duration above zero.
fn parse_call_timeout(text: &str) -> Result<std::time::Duration, String> {
    match module_params::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("the deadline must be above zero".to_owned()),
        Ok(duration) => Ok(duration),
        Err(e) => Err(e.to_string()),
    }
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
    /// DANGEROUS: load module libraries and manifests that users other than their owner and root
    /// can write (they run as root in the harness).
    #[arg(long = "dangerously_allow_writable_modules")]
    pub dangerously_allow_writable_modules: bool,
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
    /// How module libraries and manifests are checked ([`crate::trust`]).
    pub fn policy(&self) -> PathPolicy {
        PathPolicy::from_flag(self.dangerously_allow_writable_modules)
    }

    /// The manifests named by the flags (`None` when neither flag is given). Manifest files and
    /// the directory must pass [`Self::policy`].
    pub fn manifests(&self) -> anyhow::Result<Option<Vec<SourcedManifest>>> {
        let checked = |path: &Path| {
            self.policy().check(path, "module manifest").map_err(|e| anyhow!("Error loading modules: {e}"))
        };
        match (&self.modules, &self.modules_dir) {
            (Some(_), Some(_)) => Err(anyhow!("Only one of --modules or --modules_dir should be specified")),
            (Some(value), None) => {
                // A missing file is reported by the manifest reader, in Mesos's words.
                let file = value.strip_prefix("file://").or(value.starts_with('/').then_some(value.as_str()));
                if let Some(path) = file.map(Path::new).filter(|p| p.exists()) {
                    checked(path)?;
                }
                // Mesos's own warning, for the user (not a log line): printed whatever the level.
                let manifest = manifest::from_flag_value(value, |warning| {
                    let _ = writeln!(std::io::stderr(), "Warning: {warning}");
                })?;
                Ok(Some(vec![manifest]))
            }
            (None, Some(dir)) => {
                if dir.exists() {
                    checked(dir)?;
                }
                let manifests = manifest::from_dir(dir)?;
                for sourced in &manifests {
                    if let crate::manifest::ManifestSource::File(path) = &sourced.source {
                        checked(path)?;
                    }
                }
                Ok(Some(manifests))
            }
            (None, None) => Ok(None),
        }
    }

    /// A module manager with the manifests named by the flags loaded.
    pub fn load(&self) -> anyhow::Result<ModuleManager> {
        let manifests =
            self.manifests()?.ok_or_else(|| anyhow!("one of --modules or --modules_dir is required"))?;
        let mut manager = ModuleManager::with_policy(self.policy());
        manager.load_all(&manifests).map_err(ModulesError::Load)?;
        Ok(manager)
    }
}

/// The Mesos agent flags of the shipped modules ([`crate::engine::isolation::AGENT_FLAGS`]):
/// each given flag, else its `MESOS_<FLAG>` variable, becomes a parameter of the suite's modules
/// that take it (a user's manifest entry for a module replaces the suite's, parameters and all).
#[derive(Debug, Args, Clone, Default)]
pub struct AgentFlags {
    /// The cgroup under which container cgroups are made [Mesos default: mesos].
    #[arg(long = "cgroups_root", value_name = "PATH")]
    pub cgroups_root: Option<String>,
    /// Where the cgroup hierarchies are [default: /sys/fs/cgroup].
    #[arg(long = "cgroups_hierarchy", value_name = "PATH")]
    pub cgroups_hierarchy: Option<String>,
    /// How long destroying a container's cgroups may take, a Mesos duration [default: 60secs].
    #[arg(long = "cgroups_destroy_timeout", value_name = "DURATION")]
    pub cgroups_destroy_timeout: Option<String>,
    /// Enforce the cpus request as a CFS quota [default: false].
    #[arg(long = "cgroups_enable_cfs", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub cgroups_enable_cfs: Option<String>,
    /// Limit memory plus swap (cgroup v1) [default: false].
    #[arg(long = "cgroups_limit_swap", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub cgroups_limit_swap: Option<String>,
    /// The directory of the `mesos-containerizer` helper [default: the modules' directory].
    #[arg(long = "launcher_dir", value_name = "DIR")]
    pub launcher_dir: Option<String>,
    /// The containerizer's runtime directory [default: /run/agent-harness/containerizer].
    #[arg(long = "runtime_dir", value_name = "DIR")]
    pub runtime_dir: Option<String>,
    /// Effective capabilities of the containers (linux/capabilities): `{"capabilities":[...]}`.
    #[arg(long = "effective_capabilities", value_name = "JSON")]
    pub effective_capabilities: Option<String>,
    /// Bounding capabilities of the containers (linux/capabilities): `{"capabilities":[...]}`.
    #[arg(long = "bounding_capabilities", value_name = "JSON")]
    pub bounding_capabilities: Option<String>,
    /// The directory of seccomp profiles (linux/seccomp).
    #[arg(long = "seccomp_config_dir", value_name = "DIR")]
    pub seccomp_config_dir: Option<String>,
    /// The default seccomp profile, under --seccomp_config_dir (linux/seccomp).
    #[arg(long = "seccomp_profile_name", value_name = "NAME")]
    pub seccomp_profile_name: Option<String>,
    // The disk isolators' flags (disk/du, disk/xfs).
    /// How often sandbox disk use is checked, a Mesos duration (disk/du, disk/xfs) [default: 15secs].
    #[arg(long = "container_disk_watch_interval", value_name = "DURATION")]
    pub container_disk_watch_interval: Option<String>,
    /// Enforce the disk resource; otherwise it is only accounted (disk/du, disk/xfs) [default: false].
    #[arg(long = "enforce_container_disk_quota", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub enforce_container_disk_quota: Option<String>,
    /// The XFS project ids handed out, Mesos's ranges (disk/xfs) [default: [5000-10000]].
    #[arg(long = "xfs_project_range", value_name = "RANGES")]
    pub xfs_project_range: Option<String>,
    /// With enforcement, kill a container over its disk quota (disk/xfs) [default: false].
    #[arg(long = "xfs_kill_containers", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub xfs_kill_containers: Option<String>,
    /// Hard limit above the quota in kill mode, Mesos bytes (disk/xfs) [default: 10MB].
    #[arg(long = "xfs_quota_headroom", value_name = "BYTES")]
    pub xfs_quota_headroom: Option<String>,
    /// Devices every container may use besides the default whitelist (cgroups/devices):
    /// `{"allowed_devices":[{"device":{"path":"/dev/fuse"},"access":{"read":true,...}}]}`.
    #[arg(long = "allowed_devices", value_name = "JSON")]
    pub allowed_devices: Option<String>,
    // namespaces/pid and namespaces/ipc.
    /// The size of a PRIVATE /dev/shm whose LinuxInfo gives no shm_size, as `64MB` (namespaces/ipc).
    #[arg(long = "default_container_shm_size", value_name = "BYTES")]
    pub default_container_shm_size: Option<String>,
    /// Refuse `ipc_mode` SHARE_PARENT for top-level containers (namespaces/ipc) [default: false].
    #[arg(long = "disallow_sharing_agent_ipc_namespace", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub disallow_sharing_agent_ipc_namespace: Option<String>,
    /// Refuse `share_pid_namespace` for top-level containers (namespaces/pid) [default: false].
    #[arg(long = "disallow_sharing_agent_pid_namespace", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub disallow_sharing_agent_pid_namespace: Option<String>,
}

impl AgentFlags {
    /// The flags given on the command line, by name.
    fn given(&self) -> std::collections::BTreeMap<&'static str, String> {
        [
            ("cgroups_root", &self.cgroups_root),
            ("cgroups_hierarchy", &self.cgroups_hierarchy),
            ("cgroups_destroy_timeout", &self.cgroups_destroy_timeout),
            ("cgroups_enable_cfs", &self.cgroups_enable_cfs),
            ("cgroups_limit_swap", &self.cgroups_limit_swap),
            ("launcher_dir", &self.launcher_dir),
            ("runtime_dir", &self.runtime_dir),
            ("effective_capabilities", &self.effective_capabilities),
            ("bounding_capabilities", &self.bounding_capabilities),
            ("seccomp_config_dir", &self.seccomp_config_dir),
            ("seccomp_profile_name", &self.seccomp_profile_name),
            ("container_disk_watch_interval", &self.container_disk_watch_interval),
            ("enforce_container_disk_quota", &self.enforce_container_disk_quota),
            ("xfs_project_range", &self.xfs_project_range),
            ("xfs_kill_containers", &self.xfs_kill_containers),
            ("xfs_quota_headroom", &self.xfs_quota_headroom),
            ("allowed_devices", &self.allowed_devices),
            // namespaces/pid and namespaces/ipc.
            ("default_container_shm_size", &self.default_container_shm_size),
            ("disallow_sharing_agent_ipc_namespace", &self.disallow_sharing_agent_ipc_namespace),
            ("disallow_sharing_agent_pid_namespace", &self.disallow_sharing_agent_pid_namespace),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }

    /// The flags in effect: the command line, else `MESOS_<FLAG>` (Mesos's precedence).
    pub fn params(&self) -> anyhow::Result<AgentParams> {
        AgentParams::collect(&self.given(), |name| std::env::var(name).ok()).map_err(|e| anyhow!(e))
    }
}

/// The modules a container runs with, from the flags: the user's manifests plus the suite's
/// built-in modules, checked against `--isolation` and `--containerizer`.
#[derive(Debug, Args, Clone)]
pub struct ContainerModules {
    #[command(flatten)]
    pub source: ModuleSource,
    /// Isolators, comma-separated: Mesos's names (`cgroups/cpu`, `namespaces/pid`, ...) or module
    /// names; built-in ones are created in Mesos's order, then modules in the order given.
    #[arg(long = "isolation", value_name = "LIST", default_value = crate::engine::DEFAULT_ISOLATION)]
    pub isolation: String,
    /// The containerizer module.
    #[arg(long = "containerizer", value_name = "NAME", default_value = crate::engine::DEFAULT_CONTAINERIZER)]
    pub containerizer: String,
    #[command(flatten)]
    pub agent: AgentFlags,
}

/// Parses `--isolation` and prints Mesos's deprecation warnings (for the user, whatever the level).
pub fn parse_isolation(flag: &str) -> anyhow::Result<crate::engine::isolation::Isolation> {
    let parsed = crate::engine::isolation::parse(flag)?;
    for warning in &parsed.warnings {
        let _ = writeln!(std::io::stderr(), "Warning: {warning}");
    }
    Ok(parsed)
}

impl ContainerModules {
    /// Loads the modules and describes the set (nothing is created yet). `work_dir` is the
    /// harness's `--work_dir`, a parameter of the modules that check it (disk/xfs).
    pub fn module_set(&self, work_dir: &Path) -> anyhow::Result<(ModuleManager, crate::engine::ModuleSet)> {
        let parsed = parse_isolation(&self.isolation)?;
        let mut params = self.agent.params()?;
        params.set_work_dir(work_dir);
        let user = self.source.manifests()?.unwrap_or_default();
        let wanted = parsed.wanted_modules(&self.containerizer);
        let manager =
            crate::engine::modules::load_with_suite(&user, self.source.policy(), &params, Some(&wanted))?;
        let isolation = crate::engine::modules::resolve_isolation(&manager, &parsed, &params)?;
        let set = crate::engine::ModuleSet {
            manifest: crate::engine::modules::resolved_manifest(&manager).to_json(),
            isolation,
            containerizer: self.containerizer.clone(),
            allow_writable_modules: self.source.dangerously_allow_writable_modules,
        };
        Ok((manager, set))
    }
}

/// The default `--work_dir`.
pub const DEFAULT_WORK_DIR: &str = "/var/lib/agent-harness";

/// The flags of every command that launches containers (`run`, `run-many`).
#[derive(Debug, Args, Clone)]
pub struct ContainerFlags {
    #[command(flatten)]
    pub modules: ContainerModules,
    /// Requested resources, Mesos's text form (`cpus:0.5;mem:64`, mem in MB).
    #[arg(long = "resources", value_name = "RESOURCES", default_value = "")]
    pub resources: String,
    /// Resource limits, same form (`cpus:1;mem:128`, `inf` for none).
    #[arg(long = "limits", value_name = "RESOURCES", default_value = "")]
    pub limits: String,
    /// Where sandboxes and checkpoints live.
    #[arg(long = "work_dir", value_name = "DIR", default_value = DEFAULT_WORK_DIR)]
    pub work_dir: PathBuf,
    /// Mesos's `ContainerInfo` JSON (`linux_info`, `rlimit_info`, `volumes`), inline or
    /// `file://<path>`; unknown fields and names are errors.
    #[arg(long = "container_info", value_name = "JSON")]
    pub container_info: Option<String>,
    /// A directory to be the container's root file system.
    #[arg(long = "rootfs", value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// FOR TESTS ONLY: the harness kills itself with SIGKILL at this lifecycle step (prepare,
    /// launch, isolate, running, destroy, cleanup) of the first container that reaches it.
    #[arg(long = "test_only_kill_at", value_name = "STEP", hide = true)]
    pub test_only_kill_at: Option<crate::engine::KillPoint>,
    /// The user the command runs as (Mesos's `CommandInfo.user`): a name, looked up in the
    /// rootfs's `/etc/passwd` when there is one, or `uid[:gid]`.
    #[arg(long = "user", value_name = "USER")]
    pub user: Option<String>,
}

impl ContainerFlags {
    /// `--resources` and `--limits`, parsed; an error names the flag.
    pub fn resources_and_limits(&self) -> anyhow::Result<(Resources, Resources)> {
        let resources = Resources::parse(&self.resources).map_err(|e| anyhow!("Invalid --resources: {e}"))?;
        let limits = Resources::parse(&self.limits).map_err(|e| anyhow!("Invalid --limits: {e}"))?;
        Ok((resources, limits))
    }

    /// `--container_info` and `--rootfs`, checked.
    pub fn container_settings(&self) -> anyhow::Result<(Option<module_abi::ContainerInfo>, Option<String>)> {
        let info =
            self.container_info.as_deref().map(container_info::parse).transpose().map_err(|e| anyhow!(e))?;
        let rootfs =
            self.rootfs.as_deref().map(container_info::rootfs).transpose().map_err(|e| anyhow!(e))?;
        Ok((info, rootfs))
    }

    /// `--user`, checked for shape (the containerizer looks the name up in the container).
    pub fn user(&self) -> anyhow::Result<Option<String>> {
        match self.user.as_deref() {
            Some(user) if user.is_empty() || user.contains(char::is_whitespace) => {
                Err(anyhow!("--user: '{user}' is not a user name or uid[:gid]"))
            }
            user => Ok(user.map(str::to_owned)),
        }
    }
}

/// `agent-harness modules`: prints the loaded modules as a JSON array on stdout.
pub fn modules(args: &ModulesArgs) -> anyhow::Result<()> {
    let manager = args.source.load()?;
    if args.create {
        for module in manager.modules() {
            manager.create_instance(&module.name, None)?;
        }
    }
    let summaries: Vec<_> = manager.modules().iter().map(|m| m.summary()).collect();
    let json = serde_json::to_string_pretty(&summaries)
        .map_err(|e| anyhow!("cannot encode the modules as JSON: {e}"))?;
    println!("{json}");
    Ok(())
}
