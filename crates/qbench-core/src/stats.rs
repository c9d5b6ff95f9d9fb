//! Sample statistics: computed once here, only formatted by reporters.

use serde::{Deserialize, Serialize};

/// Why a set of samples has no statistics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// No samples at all.
    #[error("no samples to summarise")]
    Empty,
    /// A sample is NaN or infinite.
    #[error("sample {index} is {value}, not a finite number")]
    NotFinite {
        /// Position of the sample.
        index: usize,
        /// The sample.
        value: f64,
    },
}

/// Summary of a set of samples (all in the samples' unit, milliseconds for latency).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub samples: usize,
    /// Median.
    pub median: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// 95th percentile, linear interpolation between closest ranks.
    pub p95: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Sample standard deviation (n − 1 denominator; 0 for one sample).
    pub stddev: f64,
    /// Lower end of the distribution-free 95% confidence interval of the median.
    pub ci95_low: f64,
    /// Upper end of the distribution-free 95% confidence interval of the median.
    pub ci95_high: f64,
}

impl Summary {
    /// Summarises `samples`; refuses an empty set and any NaN or infinity.
    pub fn from_samples(samples: &[f64]) -> Result<Self, StatsError> {
        if samples.is_empty() {
            return Err(StatsError::Empty);
        }
        if let Some(index) = samples.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::NotFinite {
                index,
                value: samples[index],
            });
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let (lo, hi) = median_ci_ranks(n);
        Ok(Self {
            samples: n,
            median: quantile(&sorted, 0.5),
            mean,
            p95: quantile(&sorted, 0.95),
            min: sorted[0],
            max: sorted[n - 1],
            stddev,
            ci95_low: sorted[lo],
            ci95_high: sorted[hi],
        })
    }
}

/// Half-width of the median's 95% confidence interval as a fraction of the median
/// (0.02 = ±2%); `None` for no samples, a non-finite sample or a median ≤ 0.
pub fn median_ci_half_width(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() || samples.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = quantile(&sorted, 0.5);
    let (lo, hi) = median_ci_ranks(sorted.len());
    (median > 0.0).then(|| (sorted[hi] - sorted[lo]) / 2.0 / median)
}

/// The median of unsorted data (`None` when empty).
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(quantile(&sorted, 0.5))
}

/// The `q` quantile of sorted data, linear interpolation (NumPy's default, Hyndman–Fan type 7).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let below = pos.floor() as usize;
    let above = pos.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (pos - below as f64)
}

/// Zero-based ranks `(lo, hi)` of the order statistics bounding a ≥95% confidence
/// interval of the median: the widest symmetric pair with
/// `P(lo < B ≤ hi) ≥ 0.95` for `B ~ Binomial(n, ½)`. Fewer than 6 samples cannot
/// reach 95%; their interval is `[min, max]`.
pub fn median_ci_ranks(n: usize) -> (usize, usize) {
    // cdf[k] = P(B ≤ k), computed in log space so large n does not overflow.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut cdf = 0.0f64;
    let mut lo = 0usize; // largest k with P(B ≤ k - 1) ≤ 0.025, as a 1-based rank
    for k in 0..n {
        cdf += (ln_choose + ln_half_n).exp();
        if cdf <= 0.025 {
            lo = k + 1;
        } else {
            break;
        }
        ln_choose += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
    }
    // 1-based ranks lo' = lo and hi' = n - lo + 1; lo' ≥ 1.
    let lo_rank = lo.max(1);
    (lo_rank - 1, n - lo_rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_fixed_samples() {
        let s = Summary::from_samples(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.samples, 5);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert_eq!(s.p95, 4.8); // pos 3.8 → 4 + 0.8 × 1
        assert_eq!(s.stddev, 2.5f64.sqrt());
        assert_eq!((s.ci95_low, s.ci95_high), (1.0, 5.0));
    }

    #[test]
    fn even_count_median_interpolates() {
        let s = Summary::from_samples(&[1.0, 2.0, 3.0, 10.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(s.p95, 3.0 + 7.0 * (0.95 * 3.0 - 2.0)); // 8.95 up to f64 rounding of 0.95 × 3
    }

    #[test]
    fn single_sample() {
        let s = Summary::from_samples(&[7.5]).unwrap();
        assert_eq!(
            (s.median, s.p95, s.stddev, s.ci95_low, s.ci95_high),
            (7.5, 7.5, 0.0, 7.5, 7.5)
        );
    }

    #[test]
    fn median_ci_ranks_match_binomial_tables() {
        // Classic distribution-free table (e.g. Conover): n → 1-based lower rank.
        assert_eq!(median_ci_ranks(5), (0, 4));
        assert_eq!(median_ci_ranks(6), (0, 5)); // P(B ≤ 0) = 1/64 ≤ 0.025
        assert_eq!(median_ci_ranks(10), (1, 8)); // rank 2 and 9
        assert_eq!(median_ci_ranks(20), (5, 14)); // rank 6 and 15
        assert_eq!(median_ci_ranks(100), (39, 60)); // rank 40 and 61
    }

    #[test]
    fn ci_of_twenty_samples() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Summary::from_samples(&samples).unwrap();
        assert_eq!((s.ci95_low, s.ci95_high), (6.0, 15.0));
        assert_eq!(s.median, 10.5);
    }

    #[test]
    fn half_width_is_relative_to_the_median() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(
            median_ci_half_width(&samples),
            Some((15.0 - 6.0) / 2.0 / 10.5)
        );
        assert_eq!(median_ci_half_width(&[2.0; 7]), Some(0.0));
        assert_eq!(median_ci_half_width(&[]), None);
        assert_eq!(median_ci_half_width(&[0.0, 0.0]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn empty_and_nan_are_errors() {
        assert_eq!(Summary::from_samples(&[]).unwrap_err(), StatsError::Empty);
        assert!(matches!(
            Summary::from_samples(&[1.0, f64::NAN]),
            Err(StatsError::NotFinite { index: 1, .. })
        ));
        assert_eq!(
            Summary::from_samples(&[f64::INFINITY])
                .unwrap_err()
                .to_string(),
            "sample 0 is inf, not a finite number"
        );
    }
}
