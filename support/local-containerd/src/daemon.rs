//! A containerd of one's own: [`Settings`] say where (one folder) and whether CRI serves a
//! runtime handler; [`Daemon::start`] writes the config (version 2), starts containerd, waits
//! until `ctr version` answers; [`Daemon::stop`] sends SIGTERM to its pid and waits.
//!
//! containerd 1.6 puts its shims' sockets in `/run/containerd/s` whatever its state dir is
//! ([`shim_socket`] says which one a container's is); everything else stays in the folder, as
//! long as `ctr run` gets `--runc-root` and `--fifo-dir` there too (see [`Settings`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::{Error, image};

/// The containerd namespace of everything CRI makes.
pub const CRI_NAMESPACE: &str = "k8s.io";

/// Where containerd 1.6's shims put their sockets.
const SHIM_SOCKETS: &str = "/run/containerd/s";

/// How long one `ctr` call may take before it counts as hung.
const CTR_TIMEOUT: Duration = Duration::from_secs(300);

/// A CRI runtime handler and the runc-compatible binary behind it.
#[derive(Debug, Clone)]
pub struct CriRuntime {
    /// The handler's name (RunPodSandbox's `runtime_handler`); CRI's default one as well.
    pub handler: String,
    pub binary: PathBuf,
    /// The binary's `--root`.
    pub root: PathBuf,
}

/// Where a containerd lives and what it serves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Config, log, root, state and sockets.
    pub dir: PathBuf,
    /// Enable the CRI plugin: host-network pods only (no CNI), [`crate::image::PAUSE_IMAGE`] as
    /// the sandbox image, `restrict_oom_score_adj` (no CAP_SYS_RESOURCE needed), no AppArmor.
    pub cri: Option<CriRuntime>,
}

/// A TOML basic string.
fn toml(value: &Path) -> String {
    let s = value.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{s}\"")
}

impl Settings {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("containerd.log")
    }

    /// containerd's config: everything under [`Self::dir`]; the plugins that would touch the
    /// host's own folders (`opt`) or cannot work here disabled.
    pub fn config(&self) -> String {
        let mut disabled = vec![
            "io.containerd.internal.v1.opt",
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.zfs",
            "io.containerd.tracing.processor.v1.otlp",
        ];
        if self.cri.is_none() {
            disabled.push("io.containerd.grpc.v1.cri");
        }
        let disabled: Vec<String> = disabled.iter().map(|p| format!("\"{p}\"")).collect();
        let mut config = format!(
            "version = 2\nroot = {root}\nstate = {state}\ndisabled_plugins = [{disabled}]\n\n\
             [grpc]\n  address = {socket}\n\n[ttrpc]\n  address = {ttrpc}\n\n[debug]\n  level = \"info\"\n",
            root = toml(&self.dir.join("root")),
            state = toml(&self.dir.join("state")),
            disabled = disabled.join(", "),
            socket = toml(&self.socket()),
            ttrpc = toml(&self.dir.join("containerd.sock.ttrpc")),
        );
        if let Some(runtime) = &self.cri {
            let cri = r#"plugins."io.containerd.grpc.v1.cri""#;
            config.push_str(&format!(
                "\n[{cri}]\n  sandbox_image = \"{pause}\"\n  restrict_oom_score_adj = true\n  \
                 disable_apparmor = true\n  stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"0\"\n\
                 [{cri}.containerd]\n  default_runtime_name = \"{handler}\"\n\
                 [{cri}.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                 [{cri}.containerd.runtimes.{handler}]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                 [{cri}.containerd.runtimes.{handler}.options]\n  BinaryName = {binary}\n  Root = {root}\n\
                 [{cri}.cni]\n  bin_dir = {cni_bin}\n  conf_dir = {cni_conf}\n",
                pause = image::PAUSE_IMAGE,
                handler = runtime.handler,
                binary = toml(&runtime.binary),
                root = toml(&runtime.root),
                cni_bin = toml(&self.dir.join("cni/bin")),
                cni_conf = toml(&self.dir.join("cni/conf")),
            ));
        }
        config
    }
}

/// The shim socket containerd 1.6 derives for container (or CRI pod) `id` of `namespace`, from
/// containerd's socket `address`.
pub fn shim_socket(address: &Path, namespace: &str, id: &str) -> PathBuf {
    let key = format!("{}/{namespace}/{id}", address.display());
    Path::new(SHIM_SOCKETS).join(image::hex(&Sha256::digest(key.as_bytes())))
}

/// Runs a command to its end with its output captured; kills it past `timeout`.
pub(crate) fn bounded(mut command: Command, timeout: Duration) -> Result<Output, Error> {
    use std::io::Read;
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::io(what.clone()))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(Error::io(what.clone()))? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Containerd(format!("{what} still running after {timeout:?}; killed")));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// A running containerd; killed when dropped unless [`Daemon::stop`] ended it.
#[derive(Debug)]
pub struct Daemon {
    pub settings: Settings,
    child: Option<Child>,
}

impl Daemon {
    /// Writes the config, starts containerd and waits (up to `timeout`) until it answers.
    pub fn start(settings: Settings, timeout: Duration) -> Result<Daemon, Error> {
        for dir in [settings.dir.clone(), settings.dir.join("cni/bin"), settings.dir.join("cni/conf")] {
            std::fs::create_dir_all(&dir).map_err(Error::io(dir.display().to_string()))?;
        }
        let config = settings.config_path();
        std::fs::write(&config, settings.config()).map_err(Error::io(config.display().to_string()))?;
        let log_path = settings.log_path();
        let log = std::fs::File::create(&log_path).map_err(Error::io(log_path.display().to_string()))?;
        let err = log.try_clone().map_err(Error::io(log_path.display().to_string()))?;
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(Error::io("starting containerd"))?;
        let mut daemon = Daemon { settings, child: Some(child) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                daemon.child = None;
                return Err(Error::Containerd(format!(
                    "exited at start ({status}); its log:\n{}",
                    daemon.log_tail()
                )));
            }
            if daemon.settings.socket().exists()
                && daemon.ctr_output("default", &["version"])?.status.success()
            {
                return Ok(daemon);
            }
            if Instant::now() > deadline {
                return Err(Error::Containerd(format!(
                    "not ready after {timeout:?}; its log:\n{}",
                    daemon.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// containerd's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last lines of containerd's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.settings.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// `ctr --address SOCKET --namespace NAMESPACE ARGS`, ready to run.
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address").arg(self.settings.socket()).args(["--namespace", namespace]).args(args);
        ctr.stdin(Stdio::null());
        ctr
    }

    /// [`Self::ctr`] run to its end (bounded).
    pub fn ctr_output(&self, namespace: &str, args: &[&str]) -> Result<Output, Error> {
        bounded(self.ctr(namespace, args), CTR_TIMEOUT)
    }

    /// `ctr image import TAR` into `namespace`.
    pub fn import(&self, namespace: &str, tar: &Path) -> Result<(), Error> {
        let tar = tar.display().to_string();
        let out = self.ctr_output(namespace, &["image", "import", &tar])?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Containerd(format!("ctr image import {tar}: {}", stderr.trim())));
        }
        Ok(())
    }

    /// SIGTERM, then waits up to `timeout`; past it, SIGKILL and an error.
    pub fn stop(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + timeout;
        while child.try_wait().map_err(Error::io("waiting for containerd"))?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Containerd(format!("did not stop within {timeout:?} of SIGTERM")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_keeps_everything_in_the_folder() {
        let settings = Settings {
            dir: PathBuf::from("/tmp/x"),
            cri: Some(CriRuntime {
                handler: "isolation".into(),
                binary: "/opt/isolation-runc".into(),
                root: "/tmp/x/root".into(),
            }),
        };
        let config = settings.config();
        assert!(
            config.contains("root = \"/tmp/x/root\"")
                && config.contains("address = \"/tmp/x/containerd.sock\"")
        );
        assert!(
            config.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.isolation.options]")
        );
        assert!(
            config.contains("BinaryName = \"/opt/isolation-runc\"")
                && config.contains("restrict_oom_score_adj = true")
        );
        let plain = Settings { dir: PathBuf::from("/tmp/x"), cri: None }.config();
        assert!(plain.contains("\"io.containerd.grpc.v1.cri\"]") && !plain.contains("sandbox_image"));
    }

    #[test]
    fn shim_sockets_are_named_as_containerd_1_6_names_them() {
        // sha256("/run/c.sock/default/c1")
        let socket = shim_socket(Path::new("/run/c.sock"), "default", "c1");
        let expected = image::hex(&Sha256::digest(b"/run/c.sock/default/c1"));
        assert_eq!(socket, Path::new("/run/containerd/s").join(expected));
    }
}
