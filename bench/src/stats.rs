//! Summaries of timing samples: median, 95th percentile, mean, min, max.
//!
//! Percentiles use the nearest-rank method on the sorted samples (the value at rank
//! `ceil(p * n)`), so every reported number is one that was measured.

use serde::Serialize;

/// A summary of samples, in the samples' unit (milliseconds throughout the bench).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub median: f64,
    pub p95: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// The value at percentile `p` (0 < p <= 1) of already sorted samples, by nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises `samples`; `None` when there are none (or one is not a number).
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // The median of an even count is the mean of the two middle samples, as usual.
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    Some(Summary {
        count: n,
        median,
        p95: percentile(&sorted, 0.95),
        mean: sorted.iter().sum::<f64>() / n as f64,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// `a / b`, or `None` when `b` is not a positive number.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(summarize(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
        assert_eq!(summarize(&[7.0]).unwrap().median, 7.0);
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(summarize(&samples).unwrap().p95, 95.0);
        let samples: Vec<f64> = (1..=10).map(f64::from).collect();
        // ceil(0.95 * 10) = 10: with ten samples the p95 is the largest.
        assert_eq!(summarize(&samples).unwrap().p95, 10.0);
        assert_eq!(percentile(&[1.0, 2.0], 0.5), 1.0);
        assert_eq!(percentile(&[5.0], 0.01), 5.0);
    }

    #[test]
    fn mean_min_max_and_unsorted_input() {
        let s = summarize(&[2.0, 8.0, 5.0]).unwrap();
        assert_eq!((s.count, s.mean, s.min, s.max), (3, 5.0, 2.0, 8.0));
    }

    #[test]
    fn nothing_to_summarise() {
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn ratios_refuse_a_zero_base() {
        assert_eq!(ratio(6.0, 3.0), Some(2.0));
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(f64::INFINITY, 1.0), None);
    }
}
