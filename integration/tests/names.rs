//! Mesos's names and flags through `agent-harness run`: `--isolation` with Mesos's built-in names,
//! the agent flags (`--cgroups_root`, `MESOS_CGROUPS_ROOT`) as the suite modules' parameters, and
//! Mesos's `--isolation` errors. These runs load the suite's built-in modules (no `--modules`), so
//! the flags are what configures them; the sandbox's name is the cgroups root, so its checks apply.

use std::process::Command;

use integration::{Need, RunOutput, Sandbox, Suite, TestResult, ensure, output};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("mesos_names_run_a_container", containers, mesos_names_run_a_container);
    suite.test("cgroups_root_flag_places_the_cgroup", containers, || cgroups_root(Via::Flag));
    suite.test("mesos_cgroups_root_env_places_the_cgroup", containers, || cgroups_root(Via::Env));
    suite.test("the_command_line_beats_the_environment", containers, || cgroups_root(Via::Both));
    suite.test("deprecated_alias_warns_and_runs", containers, deprecated_alias_warns_and_runs);
    suite.test("names_and_module_names_mix", containers, names_and_module_names_mix);
    suite.test("a_flag_a_manifest_module_does_not_take_warns", containers, flag_kept_by_a_manifest_module);
    suite.run()
}

/// `agent-harness run` with the suite's built-in modules, this sandbox's work dir and `flags`.
fn builtin_run(sandbox: &Sandbox, flags: &[&str], command: &[&str]) -> Command {
    let mut harness = sandbox.harness();
    harness
        .arg("run")
        .arg(format!("--work_dir={}", sandbox.work_dir.display()))
        .arg(format!("--runtime_dir={}", sandbox.runtime_dir.display()))
        .args(flags)
        .arg("--")
        .args(command);
    harness
}

/// The container's stdout, from its sandbox, after a successful `--json` run.
fn stdout_of(sandbox: &Sandbox, run: &RunOutput, id: &str) -> TestResult<String> {
    run.expect_success()?;
    let outcome = run.outcome()?;
    ensure!(outcome.exit_status == 0, "exit_status {}; stderr {:?}", outcome.exit_status, run.stderr);
    Ok(std::fs::read_to_string(sandbox.sandbox_dir(id).join("stdout"))?)
}

fn mesos_names_run_a_container() -> TestResult {
    let sandbox = Sandbox::new()?;
    let root = format!("--cgroups_root={}", sandbox.name);
    let run = output(builtin_run(&sandbox, &["--isolation=cgroups/cpu,cgroups/mem", &root], &["true"]))?;
    run.expect_success()?;
    sandbox.assert_clean()
}

enum Via {
    Flag,
    Env,
    Both,
}

/// `--cgroups_root` (or `MESOS_CGROUPS_ROOT`) puts the container's cgroup under it, and nothing is
/// left there after the run.
fn cgroups_root(via: Via) -> TestResult {
    let sandbox = Sandbox::new()?;
    let id = "names-c1";
    let flag = format!("--cgroups_root={}", sandbox.name);
    let mut flags = vec!["--isolation=cgroups/cpu,cgroups/mem", "--json", "--container_id=names-c1"];
    let mut command = match via {
        Via::Flag => {
            flags.push(&flag);
            builtin_run(&sandbox, &flags, &["cat", "/proc/self/cgroup"])
        }
        Via::Env => builtin_run(&sandbox, &flags, &["cat", "/proc/self/cgroup"]),
        Via::Both => {
            flags.push(&flag);
            builtin_run(&sandbox, &flags, &["cat", "/proc/self/cgroup"])
        }
    };
    match via {
        Via::Flag => {}
        Via::Env => {
            command.env("MESOS_CGROUPS_ROOT", &sandbox.name);
        }
        Via::Both => {
            command.env("MESOS_CGROUPS_ROOT", format!("{}-env", sandbox.name));
        }
    }
    let run = output(command)?;
    let cgroups = stdout_of(&sandbox, &run, id)?;
    let expected = format!("/{}/{id}", sandbox.name);
    let memory = cgroups.lines().find(|l| l.contains(":memory:") || l.starts_with("0::"));
    // On v2 the processes sit in the container cgroup's `leaf` (the no-internal-process rule).
    let in_container = |l: &str| l.ends_with(&expected) || l.ends_with(&format!("{expected}/leaf"));
    ensure!(
        memory.is_some_and(in_container),
        "the container's cgroup is not under the root '{}': {cgroups}",
        sandbox.name
    );
    ensure!(!cgroups.contains("-env/"), "the environment won over the command line: {cgroups}");
    sandbox.assert_clean()
}

fn deprecated_alias_warns_and_runs() -> TestResult {
    let sandbox = Sandbox::new()?;
    let root = format!("--cgroups_root={}", sandbox.name);
    let run = output(builtin_run(&sandbox, &["--isolation=cgroups", &root], &["true"]))?;
    run.expect_success()?;
    ensure!(
        run.stderr.contains("Warning: The 'cgroups' isolation flag is deprecated"),
        "no deprecation warning: {:?}",
        run.stderr
    );
    sandbox.assert_clean()
}

/// The sandbox's manifest (module names) with Mesos's names in `--isolation`.
fn names_and_module_names_mix() -> TestResult {
    let sandbox = Sandbox::new()?;
    let run = sandbox.run(
        &["namespaces/pid", integration::isolators::CPU, "cgroups/mem"],
        &["--json", "--container_id=mix"],
        &["sh", "-c", "echo $$"],
    )?;
    let stdout = stdout_of(&sandbox, &run, "mix")?;
    ensure!(stdout.trim() == "2", "not in a pid namespace: {stdout:?}");
    sandbox.assert_clean()
}

/// An agent flag applies to the suite's modules only: a module of a `--modules` manifest keeps its
/// manifest's parameters, and the harness says so rather than ignoring the flag in silence. The
/// sandbox's manifest names the containerizer with its own `launcher_dir`, so the run still finds
/// the helper.
fn flag_kept_by_a_manifest_module() -> TestResult {
    let sandbox = Sandbox::new()?;
    let run = sandbox.run(&[integration::isolators::CPU], &["--launcher_dir=/nonexistent"], &["true"])?;
    run.expect_success()?;
    let warning = "the agent flag --launcher_dir is not applied to org_apache_mesos_LinuxContainerizer: \
                   it comes from a --modules manifest";
    ensure!(run.stderr.contains(warning), "no warning about the flag: {:?}", run.stderr);
    ensure!(run.stderr.lines().filter(|l| l.contains("--launcher_dir")).count() == 1, "{:?}", run.stderr);
    sandbox.assert_clean()
}
