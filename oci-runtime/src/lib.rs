//! `isolation-runc`: an OCI runtime with runc's command line, so containerd (its
//! `containerd-shim-runc-v2`), CRI and other engines run containers through the suite's modules.
//!
//! It is a thin front over `agent-harness`'s engine, the same modules and lifecycle as
//! `agent-harness run`:
//! - [`bundle`] reads `config.json`; [`translate`] (with [`mounts`] and [`resources`]) decides
//!   which isolator modules serve it, with which parameters, and the `ContainerConfig` and launch
//!   info they get, refusing by name whatever it cannot honour;
//! - [`modules`] loads and creates them ([`config`]: the runtime's own configuration file);
//! - [`lifecycle`] runs the commands: `create` launches up to the command and leaves the init
//!   blocked on a FIFO, `start` releases it, `delete` destroys and cleans up through the engine's
//!   recovery; [`state`] keeps what a later command needs in `<root>/<id>/`; [`cgroups`] serves
//!   `ps`, `pause` and `resume`; [`exec`] runs a process inside a running container.
//! - [`cli`] is the command line, [`log`] the `--log` file containerd's shim reads errors from.

pub mod bundle;
pub mod cgroups;
pub mod cli;
pub mod config;
pub mod console;
pub mod exec;
pub mod features;
pub mod lifecycle;
pub mod log;
pub mod modules;
pub mod mounts;
pub mod resources;
pub mod state;
pub mod translate;
