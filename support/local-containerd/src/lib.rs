//! A private containerd and a locally built image, for the integration tests and the bench:
//! nothing of the machine's own containerd (if any) is used or touched, and no registry is needed.
//!
//! - [`Settings`] and [`Daemon`] (`daemon`): a containerd whose root, state, gRPC and ttrpc
//!   sockets, config and log live in one folder, optionally with its CRI plugin serving a runtime
//!   handler that names a runc-compatible binary; started, waited for, `ctr` commands on its
//!   socket, stopped by its pid.
//! - [`image`]: a busybox OCI image-layout tar (an image and a CRI pause image of one layer),
//!   deterministic and cached, for `ctr image import`.
//!
//! What callers check after a stop (leftover shims, mounts, cgroups) is theirs: the integration
//! tests assert it, the bench reports it.

mod daemon;
pub mod image;

pub use daemon::{CRI_NAMESPACE, CriRuntime, Daemon, Settings, shim_socket};

/// What can go wrong building the image or running containerd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("the busybox image: {0}")]
    Image(String),
    #[error("containerd: {0}")]
    Containerd(String),
}

impl Error {
    /// A `map_err` adapter naming what was being done.
    pub fn io(what: impl Into<String>) -> impl Fn(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what: what.clone(), source }
    }
}
