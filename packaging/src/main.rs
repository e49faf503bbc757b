//! `agent-harness-deb`: stages every file of the Debian packages, at its installed path, for
//! `cargo deb` (whose assets are one glob per package, see packaging/Cargo.toml).
//!
//! Run it from the release build (`target/release/agent-harness-deb --helper FILE`): it takes the
//! built files from its own directory, the launch helper from FILE, and writes `deb/<package>/` there, which cargo-deb reads as
//! `target/release/deb/<package>/**/*`. Everything comes from the one place each thing is defined:
//!
//! | package | file | from |
//! |---|---|---|
//! | agent-harness | `/usr/bin/agent-harness` | the build |
//! | | `<INSTALLED_MODULES_DIR>/libisolation_suite.so` | the build: `SUITE_LIBRARY`, every module of the suite (agent-harness's engine::modules) |
//! | | `<INSTALLED_MODULES_DIR>/lib<family>.so`, links to it | each family of `SUITE`, for manifests that name a family's library |
//! | | `<INSTALLED_MODULES_DIR>/mesos-containerizer` | `--helper`: the build for `<arch>-unknown-linux-musl` (scripts/build-helper.sh; static, it starts without glibc's `cpuid` probes), found by the containerizer beside its library |
//! | | `/etc/agent-harness/modules.json` (a conffile) | `SUITE_LIBRARY` and every module of `SUITE`, by absolute path |
//! | | `/usr/share/man/man1/agent-harness*.1.gz` | the clap definitions (clap_mangen) |
//! | agent-harness-dev | `/usr/include/agent-harness/mesos_module.h` | module-abi/include |
//! | | `/usr/lib/<triplet>/pkgconfig/agent-harness-module.pc` | module-abi's versions and the paths above |
//! | both | `/usr/share/lintian/overrides/<package>` | packaging/debian/<package>.lintian-overrides |
//! | | `/usr/share/doc/<package>/copyright` (staged as `deb/<package>.copyright`) | packaging/debian/copyright and `cargo metadata` (the linked crates) |
//!
//! cargo-deb adds the changelog and the control files. So adding a module family to the packages
//! is its line in `SUITE` (and its crate as a dependency of the `suite` crate).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agent_harness::engine::modules::{
    INSTALLED_MANIFEST, INSTALLED_MODULES_DIR, MULTIARCH, SUITE, SUITE_LIBRARY, suite_library_file,
    suite_module_names,
};
use agent_harness::manifest::{LibraryEntry, Manifest, ModuleEntry};
use anyhow::{Context, Result, bail};
use clap::CommandFactory;

/// The binary packages.
const HARNESS: &str = "agent-harness";
const DEV: &str = "agent-harness-dev";

/// The harness's executable, the helper's.
const HARNESS_BIN: &str = "agent-harness";
const HELPER_BIN: &str = linux_containerizer::params::HELPER_NAME;
/// The OCI runtime front (runc's command line over the same modules).
const RUNC_BIN: &str = "isolation-runc";

/// The name of the pkg-config module for module authors.
const PC_NAME: &str = "agent-harness-module";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exe = std::env::current_exe().context("cannot find this program")?;
    let build = exe.parent().context("no build directory")?.to_path_buf();
    let usage = "usage: agent-harness-deb --helper FILE [--out DIR]   (stages the Debian packages' files; \
                 FILE: the launch helper to ship, scripts/build-helper.sh's; default DIR: <build>/deb)";
    let (mut helper, mut out) = (None, build.join("deb"));
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value\n{usage}"));
        match flag.as_str() {
            "--helper" => helper = Some(PathBuf::from(value?)),
            "--out" => out = PathBuf::from(value?),
            _ => bail!("unknown argument {flag:?}\n{usage}"),
        }
    }
    let helper = helper.with_context(|| format!("no --helper given\n{usage}"))?;
    if !helper.is_file() {
        bail!("no launch helper at {} (scripts/build-helper.sh builds it)", helper.display());
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace")?.to_path_buf();
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    let stage = Stage { build, helper, source, out };
    stage.harness()?;
    stage.dev()?;
    let copyright = stage.copyright()?;
    // Beside the trees, not in them: cargo-deb writes a copyright of its own unless an asset that
    // is not a glob names that path (packaging/Cargo.toml names these).
    for package in [HARNESS, DEV] {
        let path = stage.out.join(format!("{package}.copyright"));
        fs::write(&path, &copyright).with_context(|| format!("cannot write {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    }
    println!("{}", stage.out.display());
    Ok(())
}

struct Stage {
    /// Where the release build put its files.
    build: PathBuf,
    /// The launch helper the package ships: the static musl build of scripts/build-helper.sh. A
    /// helper starts for every container, and glibc's start-up asks the CPU for its cache layout
    /// with dozens of `cpuid` instructions, each a trap to the hypervisor in a virtual machine
    /// (about 10 µs each on an Intel guest here, 0.9 ms per process); musl's start-up asks nothing.
    helper: PathBuf,
    /// The workspace's sources.
    source: PathBuf,
    /// `<out>/<package>/<installed path>`.
    out: PathBuf,
}

impl Stage {
    fn path(&self, package: &str, installed: &str) -> PathBuf {
        self.out.join(package).join(installed.trim_start_matches('/'))
    }

    fn write(&self, package: &str, installed: &str, contents: &[u8], mode: u32) -> Result<()> {
        let path = self.path(package, installed);
        fs::create_dir_all(path.parent().context("no parent")?)?;
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    fn copy(&self, package: &str, from: &Path, installed: &str, mode: u32) -> Result<()> {
        let contents = fs::read(from).with_context(|| {
            format!("cannot read {} (run `cargo build --release --workspace` first)", from.display())
        })?;
        self.write(package, installed, &contents, mode)
    }

    /// `agent-harness`: the harness, the suite's libraries and helper, the default manifest, man pages.
    fn harness(&self) -> Result<()> {
        self.copy(HARNESS, &self.build.join(HARNESS_BIN), &format!("/usr/bin/{HARNESS_BIN}"), 0o755)?;
        self.copy(HARNESS, &self.build.join(RUNC_BIN), &format!("/usr/bin/{RUNC_BIN}"), 0o755)?;
        self.write(
            HARNESS,
            &format!("/usr/share/man/man1/{RUNC_BIN}.1.gz"),
            &gzip(&runtime_man_page()?)?,
            0o644,
        )?;
        let suite = suite_library_file();
        self.copy(HARNESS, &self.build.join(&suite), &format!("{INSTALLED_MODULES_DIR}/{suite}"), 0o644)?;
        for (family, _) in SUITE {
            self.symlink(HARNESS, &suite, &format!("{INSTALLED_MODULES_DIR}/lib{family}.so"))?;
        }
        self.copy(HARNESS, &self.helper, &format!("{INSTALLED_MODULES_DIR}/{HELPER_BIN}"), 0o755)?;
        self.write(HARNESS, INSTALLED_MANIFEST, default_manifest()?.as_bytes(), 0o644)?;
        for (name, page) in man_pages()? {
            self.write(HARNESS, &format!("/usr/share/man/man1/{name}.1.gz"), &gzip(&page)?, 0o644)?;
        }
        self.lintian_overrides(HARNESS)
    }

    /// A symbolic link at `installed` to `target` (relative to the link's folder).
    fn symlink(&self, package: &str, target: &str, installed: &str) -> Result<()> {
        let path = self.path(package, installed);
        fs::create_dir_all(path.parent().context("no parent")?)?;
        std::os::unix::fs::symlink(target, &path).with_context(|| format!("cannot link {}", path.display()))
    }

    /// packaging/debian/<package>.lintian-overrides, where lintian looks for it.
    fn lintian_overrides(&self, package: &str) -> Result<()> {
        let overrides = self.source.join(format!("packaging/debian/{package}.lintian-overrides"));
        self.copy(package, &overrides, &format!("/usr/share/lintian/overrides/{package}"), 0o644)
    }

    /// `agent-harness-dev`: the C header and the pkg-config file.
    fn dev(&self) -> Result<()> {
        let header = self.source.join("module-abi/include/mesos_module.h");
        self.copy(DEV, &header, "/usr/include/agent-harness/mesos_module.h", 0o644)?;
        self.write(
            DEV,
            &format!("/usr/lib/{MULTIARCH}/pkgconfig/{PC_NAME}.pc"),
            pkg_config().as_bytes(),
            0o644,
        )?;
        self.lintian_overrides(DEV)
    }

    /// packaging/debian/copyright, then one paragraph per crate the binaries link statically.
    fn copyright(&self) -> Result<String> {
        let mut text = fs::read_to_string(self.source.join("packaging/debian/copyright"))?;
        let crates = linked_crates(&self.source)?;
        let mut licenses = BTreeSet::new();
        for c in &crates {
            let license = debian_license(&c.license);
            licenses.extend(license_names(&license));
            let authors = if c.authors.is_empty() {
                format!("the {} authors", c.name)
            } else {
                c.authors.join("\n           ")
            };
            text.push_str(&format!(
                "\nFiles: vendor/{}-{}/*\nCopyright: {}\nLicense: {}\nComment: the Rust crate {} {}, linked statically into the binaries and libraries.\n",
                c.name, c.version, authors, license, c.name, c.version
            ));
        }
        // The suite's own license (Apache-2.0) has its paragraph in the file already.
        let missing: Vec<&String> =
            licenses.iter().filter(|n| !text.contains(&format!("\nLicense: {n}\n "))).collect();
        for name in missing {
            text.push_str(&format!("\nLicense: {name}\n{}", license_text(name, &crates)?));
        }
        Ok(text)
    }
}

/// The default manifest: every module of the suite, from its one library by absolute path, with
/// Mesos's default parameters.
fn default_manifest() -> Result<String> {
    let library = LibraryEntry {
        file: Some(format!("{INSTALLED_MODULES_DIR}/{}", suite_library_file())),
        name: None,
        modules: suite_module_names()
            .map(|m| ModuleEntry { name: Some(m.to_string()), parameters: Vec::new() })
            .collect(),
    };
    let json: serde_json::Value = serde_json::from_str(&Manifest { libraries: vec![library] }.to_json())?;
    Ok(serde_json::to_string_pretty(&json)? + "\n")
}

/// A man page per command: `agent-harness` and `agent-harness-<subcommand>`, each with FILES.
fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = agent_harness::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("agent-harness {}", cmd.get_version().unwrap_or_default());
    let mut commands = vec![cmd.clone()];
    commands.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    let mut pages = Vec::new();
    for command in commands {
        let name = command.get_display_name().unwrap_or_else(|| command.get_name()).to_string();
        let man = clap_mangen::Man::new(command.clone()).manual("agent-harness manual").source(&source);
        let mut page = Vec::new();
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut page)?;
        }
        if command.has_subcommands() {
            man.render_subcommands_section(&mut page)?;
        }
        page.extend_from_slice(files_section().as_bytes());
        if command.get_version().is_some() {
            man.render_version_section(&mut page)?;
        }
        pages.push((name, allow_breaks_in_defaults(&String::from_utf8(page)?).into_bytes()));
    }
    Ok(pages)
}

/// `isolation-runc(1)`: the OCI runtime's one page, its commands in a section.
fn runtime_man_page() -> Result<Vec<u8>> {
    let mut cmd = oci_runtime::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("isolation-runc {}", cmd.get_version().unwrap_or_default());
    let man = clap_mangen::Man::new(cmd).manual("agent-harness manual").source(&source);
    let mut page = Vec::new();
    man.render(&mut page)?;
    Ok(page)
}

/// A long comma-separated default (`--isolation`'s) has no place to break a line: let troff
/// break after its commas (`\:` is a zero-width break point), so man renders it without warnings.
fn allow_breaks_in_defaults(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for line in page.split_inclusive('\n') {
        match line.split_once("[default: ") {
            Some((head, tail)) => {
                out.push_str(head);
                out.push_str("[default: ");
                out.push_str(&tail.replace(',', ",\\:"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The FILES section every page shares: what the package installs and where the harness works.
fn files_section() -> String {
    let entries = [
        (
            INSTALLED_MANIFEST.to_string(),
            "The default module manifest (Mesos's --modules JSON). With no --modules or --modules_dir, \
             the installed harness loads the suite's modules from it; a module taken out of it is \
             not loaded, and the parameters set there apply. Modules given with --modules or \
             --modules_dir are loaded first, and a module of the same name replaces the one from \
             this file. If the file is deleted, the harness loads every module of the suite's \
             library in the directory below with default parameters. Upgrades keep your edits."
                .to_string(),
        ),
        (
            INSTALLED_MODULES_DIR.to_string(),
            format!(
                "The suite's module library libisolation_suite.so, a link to it under each module \
                 family's name (libcgroups_isolator.so, ...), and {HELPER_BIN}, the \
                 containerizer's helper, which it finds beside its library (its launcher_dir \
                 parameter)."
            ),
        ),
        (
            agent_harness::cli::DEFAULT_WORK_DIR.to_string(),
            "The default --work_dir: checkpoints (meta/) and each container's sandbox with its \
             output (sandboxes/). Purging the package removes both."
                .to_string(),
        ),
        (
            linux_containerizer::params::DEFAULT_RUNTIME_DIR.to_string(),
            "The containerizer's runtime directory (its runtime_dir parameter), one directory per \
             live container."
                .to_string(),
        ),
    ];
    let mut roff = String::from(".SH FILES\n");
    for (path, text) in entries {
        roff.push_str(&format!(".TP\n.I {}\n{}\n", roff_escape(&path), roff_escape(&text)));
    }
    roff.push_str(
        ".SH SEE ALSO\n.BR agent-harness (1),\n.BR agent-harness-run (1),\n.BR agent-harness-test (1)\n",
    );
    roff
}

fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

fn pkg_config() -> String {
    format!(
        "prefix=/usr\n\
         includedir=${{prefix}}/include/agent-harness\n\
         libdir=${{prefix}}/lib/{MULTIARCH}\n\
         # Where Debian packages install module libraries of the suite's own; a module of yours goes\n\
         # elsewhere, named by absolute path in your manifest.\n\
         moduledir={INSTALLED_MODULES_DIR}\n\
         manifest={INSTALLED_MANIFEST}\n\
         abi_version={abi}\n\
         \n\
         Name: {PC_NAME}\n\
         Description: The module ABI of agent-harness (mesos_module.h), for isolator and containerizer modules in C and C++\n\
         Version: {version}\n\
         Cflags: -I${{includedir}}\n",
        abi = module_abi::ABI_VERSION,
        version = module_abi::MODULE_ABI_VERSION,
    )
}

/// `gzip -9n`: what Debian wants for man pages (lintian checks the maximum compression and that
/// no name or time stamp is stored).
fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new("gzip")
        .args(["-9n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run gzip")?;
    child.stdin.take().context("no stdin")?.write_all(data)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("gzip failed: {}", output.status);
    }
    Ok(output.stdout)
}

/// A crate from crates.io linked into a packaged binary or library.
#[derive(Debug)]
struct Crate {
    name: String,
    version: String,
    authors: Vec<String>,
    license: String,
    dir: PathBuf,
}

/// The registry crates the packaged files link: the normal dependencies (no build dependencies,
/// no proc macros, which never reach the binaries) of the workspace packages that build them,
/// for this target.
fn linked_crates(source: &Path) -> Result<Vec<Crate>> {
    let target = rust_host()?;
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version=1", "--locked", "--filter-platform", &target])
        .arg("--manifest-path")
        .arg(source.join("Cargo.toml"))
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let packages: BTreeMap<&str, &serde_json::Value> = metadata["packages"]
        .as_array()
        .context("no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let wanted: BTreeSet<String> = SUITE
        .iter()
        .map(|(library, _)| library.to_string())
        .chain([SUITE_LIBRARY.to_string()])
        .chain([HARNESS_BIN.replace('-', "_"), HELPER_BIN.replace('-', "_"), RUNC_BIN.replace('-', "_")])
        .collect();
    let builds_a_packaged_file = |p: &serde_json::Value| {
        p["targets"].as_array().into_iter().flatten().any(|t| {
            let kinds: Vec<&str> =
                t["kind"].as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
            let name = t["name"].as_str().unwrap_or_default().replace('-', "_");
            (kinds.contains(&"bin") || kinds.contains(&"cdylib")) && wanted.contains(&name)
        })
    };
    let is_proc_macro = |p: &serde_json::Value| {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["kind"].as_array().into_iter().flatten().any(|k| k.as_str() == Some("proc-macro")))
    };
    let nodes: BTreeMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut todo: Vec<&str> =
        packages.iter().filter(|(_, p)| builds_a_packaged_file(p)).map(|(id, _)| *id).collect();
    let mut seen = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes.get(id).and_then(|n| n["deps"].as_array()).into_iter().flatten() {
            let normal = dep["dep_kinds"].as_array().into_iter().flatten().any(|k| k["kind"].is_null());
            if let Some(dep_id) = dep["pkg"].as_str()
                && normal
                && packages.get(dep_id).is_some_and(|p| !is_proc_macro(p))
            {
                todo.push(dep_id);
            }
        }
    }
    let mut crates: Vec<Crate> = seen
        .iter()
        .filter_map(|id| packages.get(id))
        .filter(|p| p["source"].as_str().is_some_and(|s| s.starts_with("registry+")))
        .map(|p| Crate {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            version: p["version"].as_str().unwrap_or_default().to_string(),
            authors: p["authors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str())
                .map(|a| a.to_string())
                .collect(),
            license: p["license"].as_str().unwrap_or("UNKNOWN").to_string(),
            dir: PathBuf::from(p["manifest_path"].as_str().unwrap_or_default())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        })
        .collect();
    crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(crates)
}

/// Rust's name for this machine's target (`x86_64-unknown-linux-gnu`).
fn rust_host() -> Result<String> {
    let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["-vV"])
        .output()
        .context("cannot run rustc")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV names no host")
}

/// An SPDX expression in Debian's copyright syntax: `MIT OR Apache-2.0` -> `MIT or Apache-2.0`,
/// `Apache-2.0 WITH LLVM-exception` -> `Apache-2.0 with LLVM-exception exception`.
fn debian_license(spdx: &str) -> String {
    let spdx = spdx.replace('/', " OR ");
    let words: Vec<String> = spdx
        .split_whitespace()
        .map(|w| match w {
            "OR" => "or".to_string(),
            "AND" => "and".to_string(),
            w => w.to_string(),
        })
        .collect();
    let mut out = Vec::new();
    let mut words = words.into_iter().peekable();
    while let Some(w) = words.next() {
        if w == "WITH" {
            if let Some(exception) = words.next() {
                let last = out.pop().unwrap_or_default();
                out.push(format!("{last} with {exception} exception"));
            }
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}

/// The license short names of a Debian license expression.
fn license_names(expression: &str) -> Vec<String> {
    expression
        .split([' ', '(', ')'])
        .filter(|w| !w.is_empty() && !["or", "and", "with", "exception"].contains(w))
        .map(str::to_string)
        .collect()
}

/// A standalone License paragraph's text (each line indented), for a license name: Apache-2.0
/// points to Debian's copy; the others are quoted from the first crate that ships their text.
fn license_text(name: &str, crates: &[Crate]) -> Result<String> {
    if name == "Apache-2.0" {
        return Ok(" On Debian systems, the full text of the Apache License, Version 2.0, can be\n found in /usr/share/common-licenses/Apache-2.0.\n".to_string());
    }
    if name == "LLVM-exception" {
        // Crates under "Apache-2.0 WITH LLVM-exception" (rustix, linux-raw-sys) ship the licence
        // and the exception in one file; the exception is its part from its heading on.
        let texts = crates
            .iter()
            .filter_map(|c| fs::read_to_string(c.dir.join("LICENSE-Apache-2.0_WITH_LLVM-exception")).ok());
        for text in texts {
            if let Some(found) = text.find("LLVM Exceptions to the Apache 2.0 License") {
                let start = text[..found].rfind('\n').map_or(0, |n| n + 1);
                return Ok(text[start..]
                    .trim_end()
                    .lines()
                    .map(
                        |l| if l.trim().is_empty() { " .".to_string() } else { format!(" {}", l.trim_end()) },
                    )
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n");
            }
        }
    }
    let upper = name.to_ascii_uppercase();
    let short = upper.split(['-', '.']).next().unwrap_or_default().to_string();
    let candidates = [
        format!("LICENSE-{name}"),
        format!("LICENSE-{upper}"),
        format!("LICENSE-{short}"),
        format!("LICENSE.{short}"),
        format!("{short}-LICENSE"),
        upper.clone(),
    ];
    for c in crates.iter().filter(|c| license_names(&debian_license(&c.license)).iter().any(|n| n == name)) {
        let mut files: Vec<PathBuf> = candidates.iter().map(|f| c.dir.join(f)).collect();
        if !debian_license(&c.license).contains(" or ") && !debian_license(&c.license).contains(" and ") {
            files.extend(
                ["LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING", "UNLICENSE"].map(|f| c.dir.join(f)),
            );
        }
        if let Some(text) = files.iter().find_map(|f| fs::read_to_string(f).ok()) {
            // The crate's own copyright line is in its Files paragraph; keep the license's words.
            return Ok(text
                .trim_end()
                .lines()
                .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with("Copyright"))
                .map(|l| if l.trim().is_empty() { " .".to_string() } else { format!(" {}", l.trim_end()) })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n");
        }
    }
    bail!(
        "no crate linked under {name} ships its text; add a License: {name} paragraph to packaging/debian/copyright"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_becomes_debian_syntax() {
        assert_eq!(debian_license("MIT OR Apache-2.0"), "MIT or Apache-2.0");
        assert_eq!(debian_license("MIT/Apache-2.0"), "MIT or Apache-2.0");
        assert_eq!(
            debian_license("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"),
            "Apache-2.0 with LLVM-exception exception or Apache-2.0 or MIT"
        );
        assert_eq!(
            license_names("(MIT or Apache-2.0) and Unicode-3.0"),
            ["MIT", "Apache-2.0", "Unicode-3.0"]
        );
        assert_eq!(
            license_names("Apache-2.0 with LLVM-exception exception or MIT"),
            ["Apache-2.0", "LLVM-exception", "MIT"]
        );
    }

    #[test]
    fn the_default_manifest_names_every_suite_module_in_the_one_library_by_absolute_path() {
        let manifest = agent_harness::manifest::parse(&default_manifest().unwrap()).unwrap();
        assert_eq!(manifest.libraries.len(), 1);
        assert_eq!(
            manifest.libraries[0].file.as_deref(),
            Some(format!("{INSTALLED_MODULES_DIR}/libisolation_suite.so").as_str())
        );
        let names: Vec<_> = manifest.libraries[0].modules.iter().filter_map(|m| m.name.as_deref()).collect();
        let families: Vec<&str> = SUITE.iter().flat_map(|(_, modules)| modules.iter().copied()).collect();
        assert_eq!(names, families);
    }

    #[test]
    fn the_runtime_has_a_man_page_with_its_commands() {
        let page = String::from_utf8(runtime_man_page().unwrap()).unwrap();
        assert!(
            page.contains("isolation\\-runc") && page.contains("create") && page.contains("delete"),
            "{page}"
        );
    }

    #[test]
    fn every_command_has_a_man_page() {
        let pages = man_pages().unwrap();
        let names: Vec<_> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "agent-harness",
                "agent-harness-modules",
                "agent-harness-run",
                "agent-harness-run-many",
                "agent-harness-recover",
                "agent-harness-test"
            ]
        );
        let main = String::from_utf8(pages[0].1.clone()).unwrap();
        assert!(main.contains(".SH FILES") && main.contains("/etc/agent\\-harness/modules.json"), "{main}");
        let run = String::from_utf8(pages[2].1.clone()).unwrap();
        assert!(run.contains("[default: cgroups/cpu,\\:cgroups/mem,\\:namespaces/pid]"), "{run}");
    }
}
