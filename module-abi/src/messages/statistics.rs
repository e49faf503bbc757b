//! `ResourceStatistics` with Mesos's field names. Every field is optional; the harness merges the
//! statistics of all isolators of a container, each filling in what it measures.

use serde::{Deserialize, Serialize};

macro_rules! statistics {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// Resource usage of one container (Mesos `ResourceStatistics`).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct ResourceStatistics {
            $( $(#[$doc])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>, )*
        }

        impl ResourceStatistics {
            /// Fills every field `self` lacks from `other`. The first isolator to report a field wins,
            /// as isolators are asked in `--isolation` order.
            pub fn merge(&mut self, other: ResourceStatistics) {
                $( if self.$field.is_none() { self.$field = other.$field; } )*
            }
        }
    };
}

statistics! {
    /// Seconds since the epoch when the statistics were taken.
    timestamp: f64,
    processes: u32,
    threads: u32,
    cpus_user_time_secs: f64,
    cpus_system_time_secs: f64,
    cpus_limit: f64,
    cpus_soft_limit: f64,
    cpus_nr_periods: u32,
    cpus_nr_throttled: u32,
    cpus_throttled_time_secs: f64,
    mem_total_bytes: u64,
    mem_total_memsw_bytes: u64,
    mem_limit_bytes: u64,
    mem_soft_limit_bytes: u64,
    mem_cache_bytes: u64,
    mem_rss_bytes: u64,
    mem_mapped_file_bytes: u64,
    mem_swap_bytes: u64,
    mem_unevictable_bytes: u64,
    mem_kmem_usage_bytes: u64,
    mem_low_pressure_counter: u64,
    mem_medium_pressure_counter: u64,
    mem_critical_pressure_counter: u64,
    disk_limit_bytes: u64,
    disk_used_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_first_value_and_fills_gaps() {
        let mut a = ResourceStatistics { cpus_user_time_secs: Some(1.0), ..Default::default() };
        a.merge(ResourceStatistics {
            cpus_user_time_secs: Some(9.0),
            mem_rss_bytes: Some(4096),
            ..Default::default()
        });
        assert_eq!(a.cpus_user_time_secs, Some(1.0));
        assert_eq!(a.mem_rss_bytes, Some(4096));
    }

    #[test]
    fn empty_statistics_serialize_to_an_empty_object() {
        assert_eq!(serde_json::to_string(&ResourceStatistics::default()).unwrap(), "{}");
    }
}
