//! `agent-harness modules`: the command a module author runs to see whether their library loads.
//! Every refusal is exit status 1 and exactly one line on stderr beginning with `Error`.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::*;

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agent-harness")).args(args).output().expect("agent-harness runs")
}

fn modules(manifest: &str, extra: &[&str]) -> Output {
    let flag = format!("--modules={manifest}");
    let mut args = vec!["modules", flag.as_str()];
    args.extend_from_slice(extra);
    harness(&args)
}

/// Asserts the refusal shape and returns the one error line.
fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "exit status, stderr: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr: {stderr}");
    assert!(lines[0].starts_with("Error"), "{stderr}");
    lines[0].to_string()
}

#[test]
fn prints_every_module_of_the_example_libraries() {
    let manifest = serde_json::json!({"libraries": [
        {"file": library("examplemodule"), "modules": [{"name": TEST_MODULE, "parameters": [{"key": "operation", "value": "sum"}]}]},
        {"file": library("testanonymous"), "modules": [{"name": "org_apache_mesos_TestAnonymous"}]},
        {"file": library("testisolator"), "modules": [{"name": "org_apache_mesos_TestCpuIsolator"}, {"name": "org_apache_mesos_TestMemIsolator"}]},
    ]})
    .to_string();
    let out = modules(&manifest, &["--create"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = printed.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            TEST_MODULE,
            "org_apache_mesos_TestAnonymous",
            "org_apache_mesos_TestCpuIsolator",
            "org_apache_mesos_TestMemIsolator"
        ]
    );
    let first = &printed[0];
    assert_eq!(first["kind"], "TestModule");
    assert_eq!(first["library"], library("examplemodule").to_str().unwrap());
    assert_eq!(first["path"], std::fs::canonicalize(library("examplemodule")).unwrap().to_str().unwrap());
    assert_eq!(first["abi_version"], 1);
    assert_eq!(first["built_against"], module_abi::MODULE_ABI_VERSION);
    assert_eq!(first["author_name"], "Apache Mesos");
    assert_eq!(first["author_email"], "modules@mesos.apache.org");
    assert_eq!(first["description"], "This is a test module.");
    assert_eq!(first["parameters"], serde_json::json!([{"key": "operation", "value": "sum"}]));
    assert_eq!(printed[2]["kind"], "Isolator");
}

#[test]
fn a_library_name_is_searched_on_ld_library_path() {
    let manifest =
        format!(r#"{{"libraries":[{{"name":"examplemodule","modules":[{{"name":"{TEST_MODULE}"}}]}}]}}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_agent-harness"))
        .args(["modules", &format!("--modules={manifest}")])
        .env("LD_LIBRARY_PATH", library_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed[0]["library"], "examplemodule");
    assert_eq!(
        printed[0]["path"],
        std::fs::canonicalize(library("examplemodule")).unwrap().to_str().unwrap()
    );
    // Without the search path, the loader cannot find it.
    let out = Command::new(env!("CARGO_BIN_EXE_agent-harness"))
        .args(["modules", &format!("--modules={manifest}")])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(refused(&out).contains("Could not load library 'libexamplemodule.so'"));
}

#[test]
fn every_broken_module_is_refused_with_one_line() {
    let broken = library("brokenmodules");
    let cases = [
        ("org_apache_mesos_TestModule_NewerLibrary", "but module is compiled with version 100.1.0"),
        ("org_apache_mesos_TestModule_OlderThanKind", "Minimum supported version for 'TestModule' is"),
        ("org_apache_mesos_TestModule_WrongAbi", "Module API version mismatch"),
        ("org_apache_mesos_TestModule_UnknownKind", "Unknown module kind: NotTestModule"),
        ("org_apache_mesos_TestModule_Incompatible", "has determined to be incompatible"),
        ("org_apache_mesos_TestModule_PanicsInCompatible", "failed in compatible(): module panicked"),
        ("org_apache_mesos_TestModule_MissingFields", "missing fields"),
        ("brokenmodules_a_function", "is a function, not a module descriptor"),
        ("brokenmodules_not_a_module", "too small for a module descriptor"),
    ];
    for (symbol, expected) in cases {
        let line = refused(&modules(&manifest_for(&broken, &[(symbol, &[])]), &[]));
        assert!(line.starts_with("Error loading modules: "), "{symbol}: {line}");
        assert!(line.contains(expected), "{symbol}: {line}");
        assert!(line.contains(symbol), "names the module: {line}");
        assert!(line.contains("libbrokenmodules.so"), "names the library: {line}");
        assert!(line.contains("manifest the inline --modules JSON"), "names the manifest: {line}");
    }
}

#[test]
fn creation_failures_are_refused_only_with_create() {
    let broken = library("brokenmodules");
    for (symbol, expected) in [
        ("org_apache_mesos_TestModule_PanicsInCreate", "PanicsInCreate: deliberate panic"),
        ("org_apache_mesos_TestModule_FailsCreate", "FailsCreate: deliberate failure"),
    ] {
        let manifest = manifest_for(&broken, &[(symbol, &[])]);
        assert!(modules(&manifest, &[]).status.success(), "{symbol} loads");
        let line = refused(&modules(&manifest, &["--create"]));
        assert!(line.contains(expected) && line.contains(symbol), "{line}");
    }
}

#[test]
fn flag_misuse_and_bad_manifests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir_flag = format!("--modules_dir={}", dir.path().display());
    let both = harness(&["modules", "--modules={}", &dir_flag]);
    assert_eq!(refused(&both), "Error: Only one of --modules or --modules_dir should be specified");
    assert!(refused(&harness(&["modules"])).contains("one of --modules or --modules_dir is required"));
    assert!(refused(&harness(&["modules", "--bogus"])).contains("--bogus"));
    assert!(refused(&modules("{not json", &[])).contains("Failed to parse JSON"));
    let line = refused(&modules(r#"{"libraries":[{"name":"x","moduls":[]}]}"#, &[]));
    assert!(line.contains("Unknown field 'moduls' in libraries[0]"), "{line}");
    let line = refused(&modules("file:///nonexistent/modules.json", &[]));
    assert!(line.contains("Error reading file '/nonexistent/modules.json'"), "{line}");
}

#[test]
fn a_modules_dir_loads_every_file_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.json"),
        manifest_for(&library("testisolator"), &[("org_apache_mesos_TestCpuIsolator", &[])]),
    )
    .unwrap();
    std::fs::write(dir.path().join("a.json"), default_manifest()).unwrap();
    let out = harness(&["modules", &format!("--modules_dir={}", dir.path().display())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = printed.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, [TEST_MODULE, "org_apache_mesos_TestCpuIsolator"]);
}

#[test]
fn a_path_without_the_file_scheme_warns_but_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modules.json");
    std::fs::write(&path, default_manifest()).unwrap();
    let out = harness(&["modules", &format!("--modules={}", path.display())]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without using 'file:// is deprecated"), "{stderr}");
    let out = harness(&["modules", &format!("--modules=file://{}", path.display())]);
    assert!(out.status.success() && out.stderr.is_empty());
}

/// A library in a directory everyone can write to could have been swapped for anything, and it
/// would run as root: refused before it is opened, unless the dangerous flag says otherwise.
#[test]
fn a_library_others_can_write_is_refused_unless_dangerously_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let copy = open.join("libexamplemodule.so");
    std::fs::copy(library("examplemodule"), &copy).unwrap();
    let manifest = manifest_for(&copy, &[(TEST_MODULE, &[("operation", "sum")])]);

    let line = refused(&modules(&manifest, &[]));
    assert!(line.contains("refusing module library"), "{line}");
    assert!(line.contains(&format!("'{}' is writable by everyone (mode 0777)", open.display())), "{line}");

    let out = modules(&manifest, &["--dangerously_allow_writable_modules"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_manifest_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("modules.json");
    std::fs::write(&file, default_manifest()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let line = refused(&modules(&format!("file://{}", file.display()), &[]));
    assert!(line.contains("refusing module manifest"), "{line}");
    assert!(line.contains("is writable by everyone (mode 0666)"), "{line}");

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = modules(&format!("file://{}", file.display()), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `modules` with the example manifest and `extra` flags, `RUST_LOG` set to `rust_log` (or unset).
fn modules_logged(extra: &[&str], rust_log: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agent-harness"));
    command.args(extra).arg("modules").arg(format!("--modules={}", default_manifest()));
    match rust_log {
        Some(value) => command.env("RUST_LOG", value),
        None => command.env_remove("RUST_LOG"),
    };
    command.output().expect("agent-harness runs")
}

/// The stderr lines that log the load of the example module, and that stdout is still the JSON.
fn load_lines(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("stdout is only the JSON");
    assert_eq!(printed[0]["name"], TEST_MODULE);
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|line| line.contains("INFO") && line.contains("loaded module") && line.contains(TEST_MODULE))
        .map(str::to_owned)
        .collect()
}

#[test]
fn logs_go_to_stderr_at_the_level_asked_for_and_the_default_is_quiet() {
    let quiet = modules_logged(&[], None);
    assert!(load_lines(&quiet).is_empty());
    assert!(quiet.stderr.is_empty(), "WARNING by default: {}", String::from_utf8_lossy(&quiet.stderr));

    for flag in ["--logging_level=INFO", "--log_level=info", "--logging_level=Debug"] {
        let out = modules_logged(&[flag], None);
        let lines = load_lines(&out);
        assert_eq!(lines.len(), 1, "{flag}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(lines[0].contains("libexamplemodule.so"), "the line names the library: {}", lines[0]);
    }
    // A global flag: after the command's name as well.
    let out = Command::new(env!("CARGO_BIN_EXE_agent-harness"))
        .args(["modules", "--log_level=INFO", &format!("--modules={}", default_manifest())])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(load_lines(&out).len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let quiet = modules_logged(&["--logging_level=ERROR"], None);
    assert!(quiet.stderr.is_empty(), "{}", String::from_utf8_lossy(&quiet.stderr));
}

#[test]
fn rust_log_overrides_the_level_flag() {
    assert_eq!(load_lines(&modules_logged(&[], Some("info"))).len(), 1);
    assert_eq!(load_lines(&modules_logged(&[], Some("agent_harness::module_manager=info"))).len(), 1);
    let out = modules_logged(&["--logging_level=INFO"], Some("error"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // An empty RUST_LOG is no RUST_LOG; a bad directive is reported and the rest applies.
    assert_eq!(load_lines(&modules_logged(&["--logging_level=INFO"], Some(""))).len(), 1);
    let out = modules_logged(&[], Some("info,=bogus"));
    assert_eq!(load_lines(&out).len(), 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Warning: ignoring RUST_LOG directive '=bogus'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_level_is_refused_with_one_line() {
    let line = refused(&harness(&["--logging_level=LOUD", "modules"]));
    assert!(line.contains("'LOUD'") && line.contains("INFO, WARNING, ERROR"), "{line}");
}
