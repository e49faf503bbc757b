//! `bench`: the side-by-side benchmark of the harness against crun, runc and a bare namespaced
//! process, on this machine, in one run. `bench/run` builds everything, runs the criterion ABI
//! benchmark and then this; see `bench --help` and the README's Benchmarks section.
//!
//! The parts: [`lifecycle`] (sequential `/bin/true` containers), [`many`] (100 and 1000 concurrent
//! containers, memory, usage sweeps, leaks), [`load`] (module loading and the ABI call overhead
//! from criterion), [`report`] (the markdown table and the JSON). Every statistic comes from
//! [`stats`]. Nothing here asserts a time: it measures and reports.

mod cold;
mod containerd;
mod lifecycle;
mod load;
mod machine;
mod many;
mod plot;
mod report;
mod scale;
mod stats;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;

/// The isolators of every harness container: cpu and memory cgroups, pid (with mount), ipc, uts.
pub const HARNESS_ISOLATION: &str = "org_apache_mesos_CgroupsCpuIsolator,org_apache_mesos_CgroupsMemIsolator,\
org_apache_mesos_NamespacesPidIsolator,org_apache_mesos_NamespacesIpcIsolator,org_apache_mesos_NamespacesUtsIsolator";
/// Their resources.
pub const HARNESS_RESOURCES: &str = "cpus:0.5;mem:64";

/// Side-by-side benchmarks of the harness, crun, runc and the floor (run as root).
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// The release build folder holding agent-harness and the module libraries.
    #[arg(long, default_value = "target-bench/release")]
    build: PathBuf,
    /// criterion's output folder (where `cargo bench --bench abi` wrote its estimates).
    #[arg(long, default_value = "target-bench/criterion")]
    criterion: PathBuf,
    /// Sequential containers per runtime in the lifecycle part.
    #[arg(long, default_value_t = 200)]
    containers: usize,
    /// Rounds the lifecycle part is split into (the runtimes take turns each round).
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Sizes of the many-at-once part, comma-separated (0 skips the part): live containers, at
    /// each of which the harness and crun launch and destroy a batch more.
    #[arg(long, default_value = "10,100,1000,2000", value_delimiter = ',')]
    many: Vec<usize>,
    /// Containers per runtime in the containerd part (`ctr run` through isolation-runc, runc and
    /// crun; 0 skips the part).
    #[arg(long, default_value_t = 60)]
    containerd_containers: usize,
    /// The suite's OCI runtime for the containerd part (default: `isolation-runc` in --build).
    #[arg(long)]
    isolation_runc: Option<PathBuf>,
    /// The folder of the launch helper for every harness run (bench/run passes the static musl
    /// build the package ships, from scripts/build-helper.sh; default: --build's own).
    #[arg(long)]
    launcher_dir: Option<PathBuf>,
    /// Where latest.md and latest.json are written.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

/// The cgroups root of the bench's containers (`<hierarchy>/<root>/<id>`), apart from Mesos's
/// default `mesos`: a `recover` run by someone else on the machine destroys every cgroup under its
/// root that it does not know, and must not take the bench's containers for orphans.
pub const CGROUPS_ROOT: &str = "harness-bench";

/// What every part needs.
#[derive(Debug)]
pub struct Config {
    pub harness: PathBuf,
    /// `--modules=` for every harness run: the suite's modules with `cgroups_root` set to
    /// [`CGROUPS_ROOT`].
    pub modules: String,
    pub build: PathBuf,
    /// The containerizer's `launcher_dir` in [`Config::modules`]: where the launch helper is
    /// (`--launcher-dir`, else the build's own).
    pub launcher_dir: PathBuf,
    pub work_dir: PathBuf,
    pub containers: usize,
    pub rounds: usize,
}

/// crun refuses hybrid cgroup hosts while cgroup2 is mounted at `/sys/fs/cgroup/unified`. The
/// whole bench runs in a private mount namespace of its own in which that mount is gone, so every
/// runtime sees the same hierarchies (the harness and runc use only the v1 ones here) and the
/// host's mounts are untouched. Must run while the process is single-threaded.
fn hide_unified_cgroup2() -> Result<bool> {
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")?
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some("/sys/fs/cgroup/unified"));
    if !mounted {
        return Ok(false);
    }
    // SAFETY: plain system calls with valid C strings; the process has no other thread yet.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            bail!("unshare(CLONE_NEWNS): {}", std::io::Error::last_os_error());
        }
        let root = c"/";
        if libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            bail!("making / private: {}", std::io::Error::last_os_error());
        }
        let path = std::ffi::CString::new(unified.as_os_str().as_encoded_bytes())?;
        if libc::umount2(path.as_ptr(), libc::MNT_DETACH) != 0 {
            bail!("umount {}: {}", unified.display(), std::io::Error::last_os_error());
        }
    }
    Ok(true)
}

/// The suite's modules from `build` (its one library), inline, with the bench's cgroups root, and
/// the containerizer's helper from `launcher_dir` (a manifest's modules keep their own parameters:
/// the agent flags apply to the suite's built-in modules only).
fn suite_manifest(build: &std::path::Path, launcher_dir: &std::path::Path) -> String {
    let root = serde_json::json!([{"key": "cgroups_root", "value": CGROUPS_ROOT}]);
    let containerizer = serde_json::json!([{"key": "cgroups_root", "value": CGROUPS_ROOT},
        {"key": "launcher_dir", "value": launcher_dir}]);
    let module = |name: &str, parameters: &serde_json::Value| serde_json::json!({"name": name, "parameters": parameters});
    let none = serde_json::json!([]);
    serde_json::json!({"libraries": [
        {"file": build.join("libisolation_suite.so"), "modules": [
            module("org_apache_mesos_CgroupsCpuIsolator", &root),
            module("org_apache_mesos_CgroupsMemIsolator", &root),
            module("org_apache_mesos_NamespacesPidIsolator", &none),
            module("org_apache_mesos_NamespacesIpcIsolator", &none),
            module("org_apache_mesos_NamespacesUtsIsolator", &none),
            module("org_apache_mesos_LinuxContainerizer", &containerizer)]},
    ]})
    .to_string()
}

fn main() -> Result<()> {
    let args = Args::parse();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the bench creates cgroups and namespaces: run it as root");
    }
    // The machine as it is, before the bench's own mount namespace hides the unified mount.
    let machine = machine::machine();
    let hid_unified = hide_unified_cgroup2().context("cannot hide the unified cgroup2 mount for crun")?;
    let build = args.build.canonicalize().with_context(|| format!("no build at {}", args.build.display()))?;
    let temp = tempfile::Builder::new().prefix("harness-bench-").tempdir()?;
    let launcher_dir = match &args.launcher_dir {
        Some(dir) => {
            dir.canonicalize().with_context(|| format!("no launcher folder at {}", dir.display()))?
        }
        None => build.clone(),
    };
    let config = Config {
        harness: build.join("agent-harness"),
        modules: suite_manifest(&build, &launcher_dir),
        launcher_dir,
        build: build.clone(),
        work_dir: temp.path().join("work"),
        containers: args.containers,
        rounds: args.rounds.max(1),
    };
    let versions = machine::versions(&config.harness, &config.launcher_dir);
    let date = machine::now_utc();

    let bundle = temp.path().join("bundle");
    lifecycle::write_bundle(&bundle)?;
    let lifecycle = lifecycle::measure(&config, &bundle);
    let cold = if config.containers == 0 {
        Err("skipped (--containers=0)".to_owned())
    } else {
        eprintln!("cold runs");
        cold::measure(&config, &bundle, &temp.path().join("favordynmods"), 15).map_err(|e| format!("{e:#}"))
    };
    let phases = if config.containers == 0 {
        Err("skipped (--containers=0)".to_owned())
    } else {
        eprintln!("phases of a run");
        lifecycle::phases(&config, config.containers.clamp(10, 60)).map_err(|e| format!("{e:#}"))
    };

    let containerd = if args.containerd_containers == 0 {
        Err("skipped (--containerd-containers=0)".to_owned())
    } else {
        eprintln!("containerd: {} containers per runtime", args.containerd_containers);
        let rounds = args.rounds.max(1);
        let suite_runtime = args.isolation_runc.clone().unwrap_or_else(|| build.join("isolation-runc"));
        let part = containerd::Part {
            build: &build,
            suite_runtime: &suite_runtime,
            dir: &temp.path().join("containerd"),
            namespace: CGROUPS_ROOT,
            containers: args.containerd_containers,
            rounds,
        };
        containerd::measure(&part).map_err(|e| format!("{e:#}"))
    };
    let mut many = Vec::new();
    let mut crun_scale = Vec::new();
    let sleeper = temp.path().join("sleeper");
    lifecycle::write_bundle_running(&sleeper, &["/bin/sleep", "3600"])?;
    for &n in args.many.iter().filter(|n| **n > 0) {
        eprintln!("many: {n} containers (harness)");
        many.push(many::measure(&config, n).map_err(|e| format!("{e:#}")));
        eprintln!("many: {n} containers (crun)");
        crun_scale.push(match lifecycle::missing("crun") {
            Some(missing) => Err(missing),
            None => scale::measure(&sleeper, n).map_err(|e| format!("{e:#}")),
        });
    }
    eprintln!("module load");
    let module_load = load::module_load(&config).map_err(|e| format!("{e:#}"));
    let abi = load::abi_from_criterion(&args.criterion);
    // The bench's cgroups root is its own: it goes too. One that cannot go (not empty) is a leak.
    if let Err(e) = cgroupfs::detect().and_then(|hierarchies| hierarchies.remove_root(CGROUPS_ROOT)) {
        eprintln!("warning: the cgroups root '{CGROUPS_ROOT}' was left behind: {e}");
    }

    let results = report::Results {
        date,
        machine,
        versions,
        notes: report::notes(hid_unified),
        lifecycle,
        phases,
        cold,
        containerd,
        many,
        crun_scale,
        module_load,
        abi,
    };
    std::fs::create_dir_all(&args.out)?;
    let markdown = report::markdown(&results);
    std::fs::write(args.out.join("latest.md"), &markdown)?;
    std::fs::write(args.out.join("latest.json"), serde_json::to_vec_pretty(&results)?)?;
    std::fs::write(args.out.join("scale.svg"), report::scale_plot(&results))?;
    println!("{markdown}");
    eprintln!("written: {}/latest.md, latest.json and scale.svg", args.out.display());
    Ok(())
}
