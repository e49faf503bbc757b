//! What both modules share: a container's sandbox quota from its `disk` resource, the one-time
//! notice that a quota is only accounted, and the statistics timestamp.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use module_abi::Resources;

use crate::bytes::{format_bytes, mb_to_bytes};
use crate::error::{DiskError, Result};

/// The sandbox quota in bytes: the `disk` request (MB), else the `disk` limit; `None` without one
/// or for `inf`.
pub fn sandbox_quota(
    isolator: &'static str,
    container: &str,
    resources: &Resources,
    limits: &Resources,
) -> Result<Option<u64>> {
    match resources.disk_mb().or_else(|| limits.disk_mb()) {
        None => Ok(None),
        Some(mb) if mb.is_infinite() && mb > 0.0 => Ok(None),
        Some(mb) if mb.is_finite() && mb >= 0.0 => Ok(Some(mb_to_bytes(mb))),
        Some(mb) => Err(DiskError::InvalidResources {
            isolator,
            container: container.to_owned(),
            reason: format!("disk must be a non-negative number of MB, not {mb}"),
        }),
    }
}

/// Says once per module instance, on stderr, that quotas are only accounted.
#[derive(Debug, Default)]
pub struct AccountingNotice(AtomicBool);

impl AccountingNotice {
    pub fn tell(&self, isolator: &str, container: &str, quota: u64) {
        if !self.0.swap(true, Ordering::Relaxed) {
            eprintln!(
                "Warning: {isolator}: the disk quota of container '{container}' ({}) is only accounted, \
                 not enforced; pass --enforce_container_disk_quota to enforce disk quotas",
                format_bytes(quota)
            );
        }
    }
}

/// Seconds since the epoch, for `ResourceStatistics.timestamp`.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_wins_then_the_limit() {
        let r = |t: &str| Resources::parse(t).unwrap();
        assert_eq!(sandbox_quota("d", "c", &r("disk:10"), &r("disk:20")).unwrap(), Some(10 << 20));
        assert_eq!(sandbox_quota("d", "c", &r(""), &r("disk:20")).unwrap(), Some(20 << 20));
        assert_eq!(sandbox_quota("d", "c", &r("cpus:1"), &r("")).unwrap(), None);
        assert_eq!(sandbox_quota("d", "c", &r(""), &r("disk:inf")).unwrap(), None);
    }
}
