//! When a cell stops taking latency samples: the one policy native and
//! browser cells share.

use serde::{Deserialize, Serialize};

/// How a cell's latency is sampled: one first run, then warm-up (at least
/// `warmup` inferences and at least `warmup_ms`, so JIT tiers and GPU clocks
/// settle), then samples until `max_samples` or until `budget_ms` has passed
/// (at least `min_samples`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplePlan {
    /// Untimed inferences after the first run, at least.
    pub warmup: u32,
    /// Untimed warm-up time after the first run, at least, milliseconds.
    pub warmup_ms: f64,
    /// Stop after this many samples.
    pub max_samples: u32,
    /// Always take at least this many samples, whatever the budget.
    pub min_samples: u32,
    /// Stop once the timed samples have taken this long, milliseconds.
    pub budget_ms: f64,
}

impl SamplePlan {
    /// Whether to warm up once more after `done` warm-up inferences that took `elapsed_ms`.
    pub fn wants_warmup(&self, done: u32, elapsed_ms: f64) -> bool {
        done < self.warmup || elapsed_ms < self.warmup_ms
    }

    /// Whether another sample should be taken after `taken` samples that took `elapsed_ms` in all.
    pub fn wants_more(&self, taken: u32, elapsed_ms: f64) -> bool {
        taken < self.max_samples && (taken < self.min_samples || elapsed_ms < self.budget_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_count_or_budget_but_not_before_minimum() {
        let p = SamplePlan { warmup: 2, warmup_ms: 0.0, max_samples: 10, min_samples: 3, budget_ms: 100.0 };
        assert!(p.wants_more(0, 0.0));
        assert!(p.wants_more(2, 500.0)); // below minimum
        assert!(!p.wants_more(3, 100.0)); // budget spent
        assert!(p.wants_more(9, 99.9));
        assert!(!p.wants_more(10, 0.0)); // count reached
    }

    #[test]
    fn warmup_needs_both_count_and_time() {
        let p = SamplePlan { warmup: 2, warmup_ms: 50.0, max_samples: 1, min_samples: 1, budget_ms: 0.0 };
        assert!(p.wants_warmup(0, 100.0));
        assert!(p.wants_warmup(2, 49.0));
        assert!(!p.wants_warmup(2, 50.0));
        assert!(p.wants_warmup(1, 500.0));
    }
}
