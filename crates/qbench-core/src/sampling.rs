//! When a cell stops taking latency samples: the one policy native and
//! browser cells share.

use serde::{Deserialize, Serialize};

use crate::stats;

/// How a cell's latency is sampled: one first run, then warm-up (at least
/// `warmup` inferences and at least `warmup_ms`, so JIT tiers and GPU clocks
/// settle), then at least `min_samples` samples, then more until the 95%
/// confidence interval of the median is within `ci_target` of the median, or
/// `budget_ms` has passed, or `max_samples` were taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplePlan {
    /// Untimed inferences after the first run, at least.
    pub warmup: u32,
    /// Untimed warm-up time after the first run, at least, milliseconds.
    pub warmup_ms: f64,
    /// Stop after this many samples.
    pub max_samples: u32,
    /// Always take at least this many samples, whatever the budget or the target.
    pub min_samples: u32,
    /// Stop once the timed samples have taken this long, milliseconds.
    pub budget_ms: f64,
    /// Stop once the half-width of the median's 95% confidence interval is at most
    /// this fraction of the median (0.02 = 2%); 0 never stops on precision.
    #[serde(default)]
    pub ci_target: f64,
}

/// Why a cell stopped sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// The median's confidence interval reached the target width.
    Target,
    /// The time budget ran out first.
    Budget,
    /// The maximum number of samples was reached first.
    Max,
}

impl Stop {
    /// `target`, `budget` or `max`.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Target => "target",
            Stop::Budget => "budget",
            Stop::Max => "max",
        }
    }
}

impl SamplePlan {
    /// Whether to warm up once more after `done` warm-up inferences that took `elapsed_ms`.
    pub fn wants_warmup(&self, done: u32, elapsed_ms: f64) -> bool {
        done < self.warmup || elapsed_ms < self.warmup_ms
    }

    /// Why sampling stops after `samples` (taken in `elapsed_ms` in all), or `None` to
    /// take another. The target is checked first: a cell that reached its precision
    /// says so even when its budget ran out at the same sample.
    pub fn stop(&self, samples: &[f64], elapsed_ms: f64) -> Option<Stop> {
        let taken = samples.len() as u32;
        if taken < self.min_samples.min(self.max_samples) {
            return None;
        }
        if self.ci_target > 0.0
            && stats::median_ci_half_width(samples).is_some_and(|w| w <= self.ci_target)
        {
            return Some(Stop::Target);
        }
        if taken >= self.max_samples {
            return Some(Stop::Max);
        }
        (elapsed_ms >= self.budget_ms).then_some(Stop::Budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(ci_target: f64) -> SamplePlan {
        SamplePlan {
            warmup: 2,
            warmup_ms: 0.0,
            max_samples: 10,
            min_samples: 3,
            budget_ms: 100.0,
            ci_target,
        }
    }

    #[test]
    fn stops_at_count_or_budget_but_not_before_minimum() {
        let p = plan(0.0);
        let noisy = [1.0, 9.0, 3.0, 7.0, 5.0, 2.0, 8.0, 4.0, 6.0, 10.0];
        assert_eq!(p.stop(&[], 0.0), None);
        assert_eq!(p.stop(&noisy[..2], 500.0), None, "below the minimum");
        assert_eq!(p.stop(&noisy[..3], 100.0), Some(Stop::Budget));
        assert_eq!(p.stop(&noisy[..9], 99.9), None);
        assert_eq!(p.stop(&noisy, 0.0), Some(Stop::Max));
    }

    #[test]
    fn stops_on_target_once_the_interval_is_narrow() {
        let p = plan(0.02);
        // Ten identical samples: the interval has zero width.
        assert_eq!(p.stop(&[5.0; 10][..3], 0.0), Some(Stop::Target));
        // 1..=10: the interval of ten samples spans ranks 2..9 → half-width 3.5 around 5.5.
        let spread: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(p.stop(&spread[..9], 0.0), None);
        assert_eq!(p.stop(&spread, 0.0), Some(Stop::Max));
        assert_eq!(
            plan(0.7).stop(&spread, 0.0),
            Some(Stop::Target),
            "3.5 / 5.5 = 0.64 ≤ 0.7"
        );
        // The target wins over a spent budget.
        assert_eq!(p.stop(&[5.0; 4], 1e9), Some(Stop::Target));
    }

    #[test]
    fn minimum_above_maximum_stops_at_maximum() {
        let p = SamplePlan {
            max_samples: 2,
            min_samples: 5,
            ..plan(0.0)
        };
        assert_eq!(p.stop(&[1.0, 2.0], 0.0), Some(Stop::Max));
    }

    #[test]
    fn warmup_needs_both_count_and_time() {
        let p = SamplePlan {
            warmup: 2,
            warmup_ms: 50.0,
            max_samples: 1,
            min_samples: 1,
            budget_ms: 0.0,
            ci_target: 0.0,
        };
        assert!(p.wants_warmup(0, 100.0));
        assert!(p.wants_warmup(2, 49.0));
        assert!(!p.wants_warmup(2, 50.0));
        assert!(p.wants_warmup(1, 500.0));
    }
}
