//! The results as JSON and as the markdown table the README shows.

use std::fmt::Write;

use serde::Serialize;

use crate::containerd::ContainerdPart;
use crate::lifecycle::{Phases, Runtime};
use crate::load::{AbiCall, ModuleLoad};
use crate::machine::{Machine, Versions};
use crate::many::{BATCH, Many};
use crate::plot::{Chart, Series};
use crate::scale::CrunAtScale;
use crate::stats::ratio;

#[derive(Debug, Serialize)]
pub struct Results {
    pub date: String,
    pub machine: Machine,
    pub versions: Versions,
    pub notes: Vec<String>,
    pub lifecycle: Vec<Runtime>,
    /// Where the time of one `agent-harness run` goes.
    pub phases: Result<Phases, String>,
    /// Single runs after a pause, with and without `favordynmods`.
    pub cold: Result<crate::cold::Cold, String>,
    pub containerd: Result<ContainerdPart, String>,
    pub many: Vec<Result<Many, String>>,
    /// crun at the sizes of `many`, in the same order.
    pub crun_scale: Vec<Result<CrunAtScale, String>>,
    pub module_load: Result<ModuleLoad, String>,
    pub abi: Result<Vec<AbiCall>, String>,
}

pub fn notes(hid_unified: bool) -> Vec<String> {
    let mut notes = vec![
        "lifecycle: /bin/true with cpus 0.5 (shares 512, CFS quota 50 ms / 100 ms) and mem 64 MB, in pid, mount, ipc and uts namespaces; the wall time of one container from the outside, sequentially".to_owned(),
        "harness run-many: the time between consecutive `finished` lines of one `run-many --concurrency=1`".to_owned(),
        "crun and runc: `run` on an OCI bundle with a busybox rootfs (they also pivot_root into it); the harness runs the command in the host's root, as Mesos does without an image".to_owned(),
    ];
    if hid_unified {
        notes.push("the bench runs in a private mount namespace without /sys/fs/cgroup/unified, so crun accepts this hybrid host; the harness and runc use the v1 hierarchies either way".to_owned());
    }
    notes
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn times(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".to_owned())
}

pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "Measured {} on {} ({} cores, {} GiB, kernel {}, cgroups {}; load {:.2} at start).",
        r.date, m.cpu_model, m.cores, m.memory_gib, m.kernel, m.cgroups, m.load_at_start
    );
    let v = &r.versions;
    let _ = writeln!(s, "Versions: {}; {}; {}; {}; {}.\n", v.harness, v.helper, v.crun, v.runc, v.unshare);
    goals_table(&mut s, r);

    let crun = r.lifecycle.iter().find(|x| x.name == "crun").and_then(|x| x.summary);
    let floor = r.lifecycle.iter().find(|x| x.name.starts_with("floor")).and_then(|x| x.summary);
    let _ = writeln!(s, "**Lifecycle** of one `/bin/true` container, sequentially (ms per container):\n");
    let _ = writeln!(s, "| runtime | containers | median | p95 | median vs crun | median vs floor |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for runtime in &r.lifecycle {
        match (&runtime.summary, &runtime.skipped) {
            (Some(x), _) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    runtime.name,
                    x.count,
                    ms(x.median),
                    ms(x.p95),
                    times(crun.and_then(|c| ratio(x.median, c.median))),
                    times(floor.and_then(|f| ratio(x.median, f.median))),
                );
            }
            (None, reason) => {
                let _ = writeln!(
                    s,
                    "| {} | - | - | - | - | not measured: {} |",
                    runtime.name,
                    reason.as_deref().unwrap_or("no samples")
                );
            }
        }
    }

    phases_table(&mut s, &r.phases);
    cold_table(&mut s, &r.cold);
    containerd_table(&mut s, &r.containerd);

    let _ = writeln!(
        s,
        "\n**Many at once** through one `run-many` (`/bin/sleep 3600` containers): `n` launched and swept with `@usage`, then {BATCH} more written at once (per launch: the throughput) and {BATCH} more one at a time (the median launch with `n` live), all destroyed:\n"
    );
    let _ = writeln!(
        s,
        "| live `n` | launch at `n` | batch of {BATCH} at `n` (per launch) | launch all `n` | destroy (per container) | RSS idle | RSS all live | per container | VmHWM | threads | `usage` sweep (median) | per container | left behind |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for many in &r.many {
        match many {
            Ok(x) => {
                let live = x.containers as f64;
                let sweep = x.usage_sweep_ms.map(|u| u.median);
                let _ = writeln!(
                    s,
                    "| {} | {} ms | {} ms | {:.2} s | {} ms | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} MiB | {} | {} | {} | {} |",
                    x.containers,
                    ms(x.launch_at_n_ms),
                    ms(x.launch_batch_ms),
                    x.launch_seconds,
                    ms(x.destroy_per_container_ms),
                    x.rss_idle_kib as f64 / 1024.0,
                    x.rss_loaded_kib as f64 / 1024.0,
                    x.rss_per_container_kib,
                    x.hwm_kib as f64 / 1024.0,
                    x.threads,
                    sweep.map(|v| format!("{} ms", ms(v))).unwrap_or_else(|| "-".to_owned()),
                    sweep.map(|v| format!("{:.0} µs", v * 1e3 / live)).unwrap_or_else(|| "-".to_owned()),
                    if x.leaks.is_empty() { "nothing".to_owned() } else { x.leaks.join("; ") },
                );
            }
            Err(e) => {
                let _ = writeln!(s, "| - | not measured: {e} |||||||||||| |");
            }
        }
    }
    let _ = writeln!(
        s,
        "\n**Scale side by side**: the cost of one more launch and of one destroy with `n` containers live (medians; the harness's destroy is `@destroy` of all, per container), and against `n` = {}:\n",
        r.many.iter().flatten().map(|m| m.containers).min().unwrap_or(0)
    );
    let _ = writeln!(
        s,
        "| live `n` | harness launch | crun launch | harness destroy | crun destroy | harness launch vs smallest `n` | crun launch vs smallest `n` |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|");
    let harness_base = r.many.iter().flatten().next().map(|m| m.launch_at_n_ms);
    let crun_base = r.crun_scale.iter().flatten().next().and_then(|c| c.launch_ms.map(|l| l.median));
    for (many, crun) in r.many.iter().zip(&r.crun_scale) {
        let n =
            many.as_ref().map(|m| m.containers).or_else(|_| crun.as_ref().map(|c| c.containers)).unwrap_or(0);
        let harness_launch = many.as_ref().ok().map(|m| m.launch_at_n_ms);
        let harness_destroy = many.as_ref().ok().map(|m| m.destroy_per_container_ms);
        let crun_launch = crun.as_ref().ok().and_then(|c| c.launch_ms.map(|l| l.median));
        let crun_destroy = crun.as_ref().ok().and_then(|c| c.destroy_ms.map(|l| l.median));
        let cell = |v: Option<f64>| v.map(|v| format!("{} ms", ms(v))).unwrap_or_else(|| "-".to_owned());
        let vs = |v: Option<f64>, base: Option<f64>| match (v, base) {
            (Some(v), Some(b)) if b > 0.0 => format!("{:.2}x", v / b),
            _ => "-".to_owned(),
        };
        let mut row = format!(
            "| {n} | {} | {} | {} | {} | {} | {} |",
            cell(harness_launch),
            cell(crun_launch),
            cell(harness_destroy),
            cell(crun_destroy),
            vs(harness_launch, harness_base),
            vs(crun_launch, crun_base)
        );
        if let Err(e) = crun {
            row.push_str(&format!(" crun not measured: {e}"));
        }
        let _ = writeln!(s, "{row}");
    }
    let _ = writeln!(s, "\n![launch, destroy and memory against live containers](scale.svg)");

    let _ = writeln!(s, "\n**ABI call overhead** (criterion medians, `org_apache_mesos_NoopIsolator`):\n");
    match &r.abi {
        Ok(calls) => {
            let _ = writeln!(s, "| call | direct Rust call | through the ABI | overhead |");
            let _ = writeln!(s, "|---|---:|---:|---:|");
            for c in calls {
                let _ = writeln!(
                    s,
                    "| `{}` | {:.1} ns | {:.0} ns | {:.0} ns |",
                    c.method,
                    c.direct_ns,
                    c.abi_ns,
                    c.abi_ns - c.direct_ns
                );
            }
        }
        Err(e) => {
            let _ = writeln!(s, "not measured: {e}");
        }
    }

    let _ = writeln!(s, "\n**Module load** of the suite's libraries (ms per process):\n");
    match &r.module_load {
        Ok(l) => match (l.modules_command_ms, l.bare_process_ms) {
            (Some(load), Some(bare)) => {
                let _ = writeln!(s, "| what | median | p95 |");
                let _ = writeln!(s, "|---|---:|---:|");
                let _ = writeln!(
                    s,
                    "| `agent-harness modules` ({} {}, {} modules) | {} | {} |",
                    l.libraries,
                    if l.libraries == 1 { "library" } else { "libraries" },
                    l.modules,
                    ms(load.median),
                    ms(load.p95)
                );
                let _ = writeln!(
                    s,
                    "| `agent-harness --version` (no loading) | {} | {} |",
                    ms(bare.median),
                    ms(bare.p95)
                );
                let _ = writeln!(
                    s,
                    "| load and verify (difference of medians) | {} | |",
                    ms(load.median - bare.median)
                );
            }
            _ => {
                let _ = writeln!(s, "no samples");
            }
        },
        Err(e) => {
            let _ = writeln!(s, "not measured: {e}");
        }
    }
    s
}

/// The median of a lifecycle row.
fn median_of(r: &Results, name: &str) -> Option<f64> {
    r.lifecycle.iter().find(|x| x.name == name).and_then(|x| x.summary).map(|x| x.median)
}

/// One goal of the performance issue: what was measured in this run, whether it is met, and
/// where the time goes when it is not (from this run's own numbers).
struct Goal {
    goal: String,
    measured: Option<String>,
    /// `None` when not measured.
    met: Option<Met>,
    why: String,
}

/// Where a goal stands.
#[derive(Debug, Clone, Copy)]
enum Met {
    Yes,
    No,
    /// A row to look at, with no bound to meet.
    Shown,
}

impl From<bool> for Met {
    fn from(met: bool) -> Met {
        if met { Met::Yes } else { Met::No }
    }
}

/// The goals, each against this run's numbers.
fn goals(r: &Results) -> Vec<Goal> {
    let run = median_of(r, "harness run");
    let many = median_of(r, "harness run-many");
    let rootfs = median_of(r, "harness run (busybox rootfs)");
    let crun = median_of(r, "crun");
    let floor = median_of(r, "floor (unshare)");
    let phases = r.phases.as_ref().ok();
    let phase = |name: &str| phases.and_then(|p| p.phases.iter().find(|(n, _)| n == name).map(|(_, v)| *v));
    let engine: Option<f64> = phases.map(|p| p.phases.iter().map(|(_, v)| v).sum());
    let mut out = Vec::new();

    let ratio_run = run.zip(crun).map(|(a, b)| a / b);
    out.push(Goal {
        goal: "`agent-harness run -- /bin/true` at most 0.80x crun".to_owned(),
        measured: ratio_run.map(|x| format!("{x:.3}x ({} ms against {} ms)", ms(run.unwrap_or(0.0)), ms(crun.unwrap_or(0.0)))),
        met: ratio_run.map(|x| Met::from(x <= 0.80)),
        why: match (phases, engine) {
            (Some(p), Some(engine)) => format!(
                "of a run's {} ms, the engine's phases take {} ms (launch {} ms: the helper's clone, exec and cgroup migration; \
                 the command from release to exit {} ms; destroy and cleanup {} ms) and the process around them {} ms \
                 (a bare `--version` is {} ms of it; the rest is loading the modules, flags and exit); crun's whole run is {} ms",
                ms(p.wall_ms),
                ms(engine),
                ms(phase("launch").unwrap_or(0.0)),
                ms(phase("run").unwrap_or(0.0)),
                ms(phase("destroy").unwrap_or(0.0) + phase("cleanup").unwrap_or(0.0)),
                ms(p.wall_ms - engine),
                ms(p.version_ms),
                crun.map(ms).unwrap_or_else(|| "-".to_owned()),
            ),
            _ => "no phase breakdown in this run".to_owned(),
        },
    });

    let ratio_many = many.zip(floor).map(|(a, b)| a / b);
    out.push(Goal {
        goal: "`run-many` at most 2.00x the floor".to_owned(),
        measured: ratio_many.map(|x| format!("{x:.3}x ({} ms against {} ms)", ms(many.unwrap_or(0.0)), ms(floor.unwrap_or(0.0)))),
        met: ratio_many.map(|x| Met::from(x <= 2.0)),
        why: match (phase("run"), floor) {
            (Some(command), Some(floor)) => format!(
                "the floor is one clone and one exec of /bin/true ({} ms); a container of the harness also clones and execs its helper \
                 (the containerizer's init) and migrates it into 4 cgroups, and the command alone, from release to exit, takes {} ms of \
                 a `run`; cgroup creation and removal, the checkpoint, and the module calls come on top",
                ms(floor),
                ms(command)
            ),
            _ => "-".to_owned(),
        },
    });

    let sizes: Vec<&crate::many::Many> = r.many.iter().flatten().collect();
    let small = sizes.iter().min_by_key(|m| m.containers);
    let large = sizes.iter().filter(|m| m.containers <= 1000).max_by_key(|m| m.containers);
    let crun_at = |n: usize| {
        r.crun_scale.iter().flatten().find(|c| c.containers == n).and_then(|c| c.launch_ms.map(|l| l.median))
    };
    match (small, large) {
        (Some(small), Some(large)) if large.containers > small.containers => {
            let x = large.launch_at_n_ms / small.launch_at_n_ms;
            let crun_growth = crun_at(large.containers).zip(crun_at(small.containers)).map(|(a, b)| a / b);
            out.push(Goal {
                goal: format!("launch at {} live within 1.20x of at {}", large.containers, small.containers),
                // Three decimals: a ratio just over the bound must not print as the bound.
                measured: Some(format!("{x:.3}x ({} ms against {} ms)", ms(large.launch_at_n_ms), ms(small.launch_at_n_ms))),
                met: Some(Met::from(x <= 1.2)),
                why: format!(
                    "crun's launch grows {} between the same sizes here: what grows is mostly the kernel's (cgroup v1 and ext4 \
                     inode allocation in a work dir with many live sandboxes); see the README",
                    crun_growth.map(|g| format!("{g:.2}x")).unwrap_or_else(|| "(not measured)".to_owned())
                ),
            });
        }
        _ => out.push(Goal {
            goal: "launch at 1000 live within 1.20x of at 10".to_owned(),
            measured: None,
            met: None,
            why: "needs two sizes of the many part (--many=10,1000)".to_owned(),
        }),
    }

    let thousand = sizes.iter().find(|m| m.containers == 1000);
    let sweep = thousand.and_then(|m| m.usage_sweep_ms.map(|u| u.median));
    out.push(Goal {
        goal: "`usage` sweep over 1000 containers under 50 ms".to_owned(),
        measured: sweep.map(|v| format!("{} ms ({:.0} µs per container)", ms(v), v * 1e3 / 1000.0)),
        met: sweep.map(|v| Met::from(v < 50.0)),
        why: if sweep.is_some() {
            "per container, 6 `pread`s of cgroup files kept open and one `stat` (cpu and memory statistics, the process \
             count), most of it the kernel rendering `memory.stat`, plus the JSON of two module calls; a sweep's \
             calls to every module go to the call thread as one batch"
                .to_owned()
        } else {
            "needs 1000 in --many".to_owned()
        },
    });

    let ratio_rootfs = rootfs.zip(crun).map(|(a, b)| a / b);
    out.push(Goal {
        goal: "a fair row: the harness in the same busybox rootfs as crun".to_owned(),
        measured: ratio_rootfs.map(|x| {
            format!("{x:.2}x crun ({} ms against {} ms)", ms(rootfs.unwrap_or(0.0)), ms(crun.unwrap_or(0.0)))
        }),
        met: ratio_rootfs.map(|_| Met::Shown),
        why: "`harness run (busybox rootfs)` in the lifecycle table".to_owned(),
    });
    out
}

fn goals_table(s: &mut String, r: &Results) {
    let _ = writeln!(s, "**Goals** (issue 15), each from this run's own numbers:\n");
    let _ = writeln!(s, "| goal | measured | met | where the time goes |");
    let _ = writeln!(s, "|---|---|---|---|");
    for g in goals(r) {
        let met = match g.met {
            Some(Met::Yes) => "yes",
            Some(Met::No) => "no",
            Some(Met::Shown) => "shown",
            None => "not measured",
        };
        let _ = writeln!(s, "| {} | {} | {met} | {} |", g.goal, g.measured.as_deref().unwrap_or("-"), g.why);
    }
    let _ = writeln!(s);
}

fn cold_table(s: &mut String, cold: &Result<crate::cold::Cold, String>) {
    let _ = writeln!(
        s,
        "\n**Cold runs**: one `/bin/true` container after a {} ms pause, as a user types them (ms; `favordynmods`: with a cgroup hierarchy mounted with that option, see the README):\n",
        crate::cold::PAUSE.as_millis()
    );
    match cold {
        Ok(c) => {
            let cell = |v: Option<f64>| v.map(ms).unwrap_or_else(|| "-".to_owned());
            let _ = writeln!(
                s,
                "| runtime | containers | median | p95 | median with favordynmods | p95 with favordynmods |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            for (name, plain, favored) in [
                ("harness run", &c.harness, &c.harness_favordynmods),
                ("crun", &c.crun, &c.crun_favordynmods),
            ] {
                let (fm, fp) = match favored {
                    Ok(f) => (ms(f.median), ms(f.p95)),
                    Err(e) => (format!("not measured: {e}"), "-".to_owned()),
                };
                let _ = writeln!(
                    s,
                    "| {name} | {} | {} | {} | {fm} | {fp} |",
                    c.count,
                    cell(plain.map(|p| p.median)),
                    cell(plain.map(|p| p.p95))
                );
            }
        }
        Err(e) => {
            let _ = writeln!(s, "not measured: {e}");
        }
    }
}

fn phases_table(s: &mut String, phases: &Result<Phases, String>) {
    let _ = writeln!(
        s,
        "\n**Where a `run` goes**: the medians of the engine's phases (`run --json`'s `durations`) over the same kind of runs:\n"
    );
    match phases {
        Ok(p) => {
            let engine: f64 = p.phases.iter().map(|(_, v)| v).sum();
            let _ = writeln!(s, "| part | ms |");
            let _ = writeln!(s, "|---|---:|");
            for (name, v) in &p.phases {
                let _ = writeln!(s, "| {name} | {} |", ms(*v));
            }
            let _ = writeln!(s, "| all engine phases | {} |", ms(engine));
            let _ = writeln!(
                s,
                "| the process around them (start, flags, loading, exit) | {} |",
                ms(p.wall_ms - engine)
            );
            let _ = writeln!(s, "| of which a bare `agent-harness --version` | {} |", ms(p.version_ms));
            let _ = writeln!(s, "| whole run (median wall, {} runs) | {} |", p.count, ms(p.wall_ms));
        }
        Err(e) => {
            let _ = writeln!(s, "not measured: {e}");
        }
    }
}

/// The scale plot ([`crate::plot`]): launch and destroy cost, harness beside crun, and the
/// harness's memory, against the number of live containers.
pub fn scale_plot(r: &Results) -> String {
    let harness = |f: fn(&Many) -> f64| -> Vec<(f64, f64)> {
        r.many.iter().flatten().map(|m| (m.containers as f64, f(m))).collect()
    };
    let crun = |f: fn(&CrunAtScale) -> Option<f64>| -> Vec<(f64, f64)> {
        r.crun_scale.iter().flatten().filter_map(|c| Some((c.containers as f64, f(c)?))).collect()
    };
    crate::plot::svg(&[
        Chart {
            title: "launch with n live",
            unit: "ms per container",
            series: vec![
                Series { name: "harness run-many", colour: "#1f77b4", points: harness(|m| m.launch_at_n_ms) },
                Series { name: "crun", colour: "#d62728", points: crun(|c| c.launch_ms.map(|l| l.median)) },
            ],
        },
        Chart {
            title: "destroy",
            unit: "ms per container",
            series: vec![
                Series {
                    name: "harness run-many",
                    colour: "#1f77b4",
                    points: harness(|m| m.destroy_per_container_ms),
                },
                Series { name: "crun", colour: "#d62728", points: crun(|c| c.destroy_ms.map(|l| l.median)) },
            ],
        },
        Chart {
            title: "harness memory",
            unit: "MiB RSS, all live",
            series: vec![Series {
                name: "harness run-many",
                colour: "#1f77b4",
                points: harness(|m| m.rss_loaded_kib as f64 / 1024.0),
            }],
        },
    ])
}

/// The containerd part: `ctr run` through each runtime, with runc as the reference.
fn containerd_table(s: &mut String, part: &Result<ContainerdPart, String>) {
    let part = match part {
        Ok(part) => part,
        Err(e) => {
            let _ = writeln!(s, "\n**containerd**: not measured: {e}");
            return;
        }
    };
    let _ = writeln!(
        s,
        "\n**containerd** ({}): `ctr run --rm --runc-binary RUNTIME` of the busybox image, `/bin/true` with cpus 0.5 and 64 MiB, sequentially (ms per container):\n",
        part.containerd
    );
    let runc = part.runtimes.iter().find(|x| x.name == "runc").and_then(|x| x.summary);
    let _ = writeln!(s, "| runtime | containers | median | p95 | median vs runc |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for runtime in &part.runtimes {
        match (&runtime.summary, &runtime.skipped) {
            (Some(x), _) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    runtime.name,
                    x.count,
                    ms(x.median),
                    ms(x.p95),
                    times(runc.and_then(|c| ratio(x.median, c.median))),
                );
            }
            (None, reason) => {
                let _ = writeln!(
                    s,
                    "| {} | - | - | - | not measured: {} |",
                    runtime.name,
                    reason.as_deref().unwrap_or("no samples")
                );
            }
        }
    }
    let left = if part.leaks.is_empty() { "nothing".to_owned() } else { part.leaks.join("; ") };
    let _ = writeln!(s, "\nLeft behind once containerd stopped: {left}.");
}
