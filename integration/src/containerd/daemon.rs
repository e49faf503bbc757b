//! One test's containerd: root, state, gRPC and ttrpc sockets, config and log under the test's
//! [`Sandbox`] temp dir; the busybox image imported; stopped by its pid with SIGTERM.
//!
//! Every container runs through the runtime under test: `ctr run --runc-binary` (with
//! `--runc-root` and `--fifo-dir` under the temp dir too), and, with [`ContainerdOptions::cri`],
//! CRI's default runtime handler [`RUNTIME_HANDLER`]. ctr's containers live in the containerd
//! namespace named after the sandbox (`it-<pid>-<n>`), so their default cgroups path
//! `/<namespace>/<id>` is under the sandbox's cgroups root; the CRI tests put their pods there
//! with `cgroup_parent`. [`Containerd::stop`] then checks that nothing is left.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use local_containerd::{CriRuntime, Daemon, Settings, image, shim_socket};

use super::Runtime;
use crate::run::{RunOutput, output};
use crate::{Sandbox, TestResult, ensure};

pub use local_containerd::CRI_NAMESPACE;

/// The CRI plugin's runtime handler for the runtime under test (its default one too).
pub const RUNTIME_HANDLER: &str = "isolation";

/// How long containerd gets to come up, and to stop on SIGTERM.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long shims get to exit after their last task is deleted.
const REAP_WAIT: Duration = Duration::from_secs(20);

/// What the test's containerd offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContainerdOptions {
    /// Enable the CRI plugin (host-network pods only, no CNI), with the runtime under test as its
    /// default handler [`RUNTIME_HANDLER`], and import the image into [`CRI_NAMESPACE`] too.
    pub cri: bool,
}

/// A running containerd of one test. Dropping it (a failed test) kills containerd, the shims and
/// the containers and removes what they left; [`Containerd::stop`] is the clean end that checks.
#[derive(Debug)]
pub struct Containerd {
    /// The test's cgroups root, temp dir and leak checks; its name is the ctr namespace.
    pub sandbox: Sandbox,
    pub runtime: Runtime,
    pub options: ContainerdOptions,
    /// `<sandbox>/containerd`: config, log, root, state.
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// The runtime's `--root` (ctr's `--runc-root`, CRI's `options.Root`).
    pub runtime_root: PathBuf,
    pub fifo_dir: PathBuf,
    /// The imported image tar.
    pub image_tar: PathBuf,
    daemon: Option<Daemon>,
    /// (namespace, id) of every container and pod the test made: their shim sockets are checked.
    ids: Arc<Mutex<Vec<(String, String)>>>,
}

impl Containerd {
    /// A new sandbox, containerd started in it with the runtime under test, the image imported.
    pub fn start(options: ContainerdOptions) -> TestResult<Containerd> {
        let runtime = Runtime::under_test()?;
        let sandbox = Sandbox::new()?;
        let image_tar = image::cached_image_tar(&sandbox.artifacts.dir.join("oci-images"))?;
        let dir = sandbox.base.join("containerd");
        let runtime_root = sandbox.base.join("runtime-root");
        let fifo_dir = sandbox.base.join("fifo");
        for dir in [&runtime_root, &fifo_dir] {
            std::fs::create_dir_all(dir)?;
        }
        let cri = options.cri.then(|| CriRuntime {
            handler: RUNTIME_HANDLER.to_owned(),
            binary: runtime.path.clone(),
            root: runtime_root.clone(),
        });
        let settings = Settings { dir: dir.clone(), cri };
        let socket = settings.socket();
        let mut containerd = Containerd {
            sandbox,
            runtime,
            options,
            dir,
            socket,
            runtime_root,
            fifo_dir,
            image_tar,
            daemon: None,
            ids: Arc::default(),
        };
        containerd.daemon = Some(Daemon::start(settings, START_TIMEOUT)?);
        let daemon = containerd.daemon()?;
        daemon.import(containerd.namespace(), &containerd.image_tar)?;
        if options.cri {
            daemon.import(CRI_NAMESPACE, &containerd.image_tar)?;
        }
        Ok(containerd)
    }

    fn daemon(&self) -> TestResult<&Daemon> {
        Ok(self.daemon.as_ref().ok_or("containerd is not running")?)
    }

    /// The ctr namespace of the test's containers.
    pub fn namespace(&self) -> &str {
        &self.sandbox.name
    }

    /// The last lines of containerd's log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.daemon.as_ref().map(Daemon::log_tail).unwrap_or_default()
    }

    /// `ctr --address SOCKET --namespace NAMESPACE ARGS`, ready to run.
    pub fn ctr_in(&self, namespace: &str, args: &[&str]) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address").arg(&self.socket).args(["--namespace", namespace]).args(args);
        ctr.stdin(std::process::Stdio::null());
        ctr
    }

    /// `ctr ARGS` in the test's namespace, to its end.
    pub fn ctr(&self, args: &[&str]) -> TestResult<RunOutput> {
        output(self.ctr_in(self.namespace(), args))
    }

    /// `ctr ARGS` that must succeed; its stdout.
    pub fn ctr_ok(&self, args: &[&str]) -> TestResult<String> {
        let out = self.ctr(args)?;
        ensure!(
            out.code == Some(0),
            "ctr {}: exit {:?}; stderr: {}",
            args.join(" "),
            out.code,
            out.stderr.trim()
        );
        Ok(out.stdout)
    }

    /// Remembers a container or pod the test made (its shim socket is checked at the end).
    pub fn track(&self, namespace: &str, id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.push((namespace.to_owned(), id.to_owned()));
        }
    }

    /// The tracked ids' list, shared with a CRI client.
    pub(crate) fn ids(&self) -> Arc<Mutex<Vec<(String, String)>>> {
        Arc::clone(&self.ids)
    }

    /// The runtime flags of every `ctr run`: the runtime under test, its root and ctr's fifos.
    fn runtime_flags(&self) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            self.runtime.path.display().to_string(),
            "--runc-root".into(),
            self.runtime_root.display().to_string(),
            "--fifo-dir".into(),
            self.fifo_dir.display().to_string(),
        ]
    }

    /// `ctr run [FLAGS] IMAGE ID COMMAND...` through the runtime under test, to its end. Add
    /// `--rm` to remove the container, or `-d` to leave it running.
    pub fn run(&self, id: &str, flags: &[&str], command: &[&str]) -> TestResult<RunOutput> {
        self.track(self.namespace(), id);
        let mut ctr = self.ctr_in(self.namespace(), &["run"]);
        ctr.args(self.runtime_flags()).args(flags).arg(image::IMAGE).arg(id).args(command);
        output(ctr)
    }

    /// `ctr run --config SPEC [FLAGS] ID`: a container from a whole OCI spec of the test's own.
    pub fn run_spec(&self, id: &str, spec: &Path, flags: &[&str]) -> TestResult<RunOutput> {
        self.track(self.namespace(), id);
        let mut ctr = self.ctr_in(self.namespace(), &["run", "--config"]);
        ctr.arg(spec).args(self.runtime_flags()).args(flags).arg(id);
        output(ctr)
    }

    /// `ctr oci spec`: containerd's default spec, the base of a test's own.
    pub fn default_spec(&self) -> TestResult<serde_json::Value> {
        let out = self.ctr_ok(&["oci", "spec"])?;
        serde_json::from_str(&out).map_err(|e| format!("ctr oci spec: {e}: {out}").into())
    }

    /// The STATUS column of `ctr task ls` for a task (`RUNNING`, `STOPPED`, `PAUSED`, ...).
    pub fn task_status(&self, id: &str) -> TestResult<Option<String>> {
        let out = self.ctr_ok(&["task", "ls"])?;
        Ok(out.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&id)).then(|| fields.last().map(|s| (*s).to_owned())).flatten()
        }))
    }

    /// The shim socket containerd 1.6 derives for a container (or a pod's group).
    fn shim_socket(&self, namespace: &str, id: &str) -> PathBuf {
        shim_socket(&self.socket, namespace, id)
    }

    /// The processes whose command line names this containerd's folder: containerd itself, its
    /// shims (`-address <socket>`), a CRI client.
    fn own_processes(&self) -> Vec<(i32, String)> {
        let needle = self.dir.display().to_string();
        let me = std::process::id() as i32;
        let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
        all.flatten()
            .filter(|p| p.pid() != me)
            .filter_map(|p| {
                let cmdline = p.cmdline().ok()?;
                cmdline.iter().any(|a| a.contains(&needle)).then(|| (p.pid(), cmdline.join(" ")))
            })
            .collect()
    }

    /// The clean end of a test: the test must already have deleted every container and pod.
    /// Checks that containerd knows none, stops it with SIGTERM, then checks from the outside
    /// that nothing is left: no process (containerd, a shim, a container), no shim socket, no
    /// runtime state, no fifo, and the sandbox's own checks (no cgroup, no mount).
    pub fn stop(mut self) -> TestResult {
        let mut problems = Vec::new();
        let mut namespaces = vec![self.namespace().to_owned()];
        if self.options.cri {
            namespaces.push(CRI_NAMESPACE.to_owned());
        }
        for namespace in &namespaces {
            for what in ["task", "container"] {
                let out = output(self.ctr_in(namespace, &[what, "ls", "-q"]))?;
                for id in out.stdout.split_whitespace() {
                    problems.push(format!("{what} {namespace}/{id} still known to containerd"));
                }
            }
        }
        let mut daemon = self.daemon.take().ok_or("containerd was not started")?;
        if let Err(e) = daemon.stop(STOP_TIMEOUT) {
            problems.push(e.to_string());
        }
        // Shims exit on their own once containerd has deleted their last task (a task still
        // known keeps its shim: no use waiting then).
        let wait = if problems.is_empty() { REAP_WAIT } else { Duration::ZERO };
        let deadline = Instant::now() + wait;
        let mut left = self.own_processes();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = self.own_processes();
        }
        problems.extend(left.iter().map(|(pid, cmdline)| format!("process left: {pid} ({cmdline})")));
        let ids = self.ids.lock().map(|ids| ids.clone()).unwrap_or_default();
        for (namespace, id) in &ids {
            let socket = self.shim_socket(namespace, id);
            if socket.exists() {
                problems.push(format!("shim socket left: {} (of {namespace}/{id})", socket.display()));
            }
        }
        for namespace in entries(&self.runtime_root) {
            for state in entries(&namespace) {
                problems.push(format!("runtime state left: {}", state.display()));
            }
        }
        for fifo in entries(&self.fifo_dir) {
            problems.push(format!("fifo left: {}", fifo.display()));
        }
        ensure!(problems.is_empty(), "the test left things behind: {}", problems.join("; "));
        self.sandbox.assert_clean()
    }
}

/// The entries of a folder (none when it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|e| e.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

impl Drop for Containerd {
    /// After a failed test: kills containerd and every shim of it (the sandbox's own `Drop` then
    /// kills the containers, removes their cgroups and unmounts their root file systems), and
    /// removes the shims' sockets.
    fn drop(&mut self) {
        drop(self.daemon.take());
        for (pid, _) in self.own_processes() {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let ids = self.ids.lock().map(|ids| ids.clone()).unwrap_or_default();
        for (namespace, id) in &ids {
            let _ = std::fs::remove_file(self.shim_socket(namespace, id));
        }
    }
}
