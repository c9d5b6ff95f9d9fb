//! When a cell stops taking latency samples: the one policy native and
//! browser cells share.

use serde::{Deserialize, Serialize};

use crate::stats;

/// How a cell's latency is sampled: one first run, then warm-up until the
/// inference time has settled (see [`Warming::wants_more`]), then at
/// least `min_samples` samples, then more until the 95% confidence interval of
/// the median is within `ci_target` of the median, or `budget_ms` has passed,
/// or `max_samples` were taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplePlan {
    /// Untimed inferences after the first run, at least.
    pub warmup: u32,
    /// Untimed warm-up time after the first run, at least, milliseconds.
    pub warmup_ms: f64,
    /// Warm-up goes on until this long has passed without the inference
    /// getting faster (a browser compiles its optimised code in the background,
    /// function by function, for a second or more after the first runs);
    /// milliseconds, 0: a fixed warm-up of `warmup` and `warmup_ms`.
    #[serde(default)]
    pub settle_ms: f64,
    /// Warm-up stops here even when not settled, milliseconds (0: no limit).
    #[serde(default)]
    pub warmup_max_ms: f64,
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
    /// Each timed sample spans at least this many steps of the page's clock:
    /// it times [`repetitions`] inferences back to back and records their
    /// mean (criterion's iteration batching). 0: one inference per sample.
    #[serde(default)]
    pub timer_steps: u32,
    /// Pipelined-throughput samples of a WebGPU cell after its latency
    /// samples ([`crate::throughput`]); 0: none.
    #[serde(default)]
    pub throughput_samples: u32,
}

/// Most inferences one timed sample may cover: a clock so coarse that more
/// would be needed is reported as it is rather than hidden in a long sample.
pub const MAX_REPETITIONS: u32 = 1000;

/// Inferences per timed sample so that one sample spans at least
/// `timer_steps` steps of a clock that advances by `step_ms`, for an
/// inference of about `inference_ms`: 1 when one inference is long enough
/// (or either time is unknown), never more than [`MAX_REPETITIONS`].
pub fn repetitions(timer_steps: u32, step_ms: f64, inference_ms: f64) -> u32 {
    if timer_steps == 0
        || !(step_ms.is_finite() && step_ms > 0.0)
        || !(inference_ms.is_finite() && inference_ms > 0.0)
    {
        return 1;
    }
    let wanted = (f64::from(timer_steps) * step_ms / inference_ms).ceil();
    (wanted as u32).clamp(1, MAX_REPETITIONS)
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

/// Warm-up inferences whose median is one step of the settling test: a median
/// damps a single fast or slow run.
const SETTLE_WINDOW: usize = 3;

/// A window median at least this much below the best one so far is the
/// inference getting faster (a tier-up), not noise.
const SETTLE_GAIN: f64 = 0.05;

/// How a cell's warm-up went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    /// Untimed inferences after the first one.
    pub inferences: u32,
    /// Their summed time, milliseconds.
    pub ms: f64,
    /// Whether the inference time had settled (false: stopped at `warmup_max_ms`).
    pub settled: bool,
}

/// A warm-up in progress, judged by its plan as each inference comes, in
/// constant time per inference (a CPU cell warms up over thousands).
#[derive(Debug, Clone, PartialEq)]
pub struct Warming {
    plan: SamplePlan,
    /// The last [`SETTLE_WINDOW`] inference times, oldest first.
    recent: [f64; SETTLE_WINDOW],
    inferences: u32,
    ms: f64,
    /// The lowest window median so far.
    best: f64,
    /// Inferences and their time since the last window median [`SETTLE_GAIN`]
    /// below every earlier one (since the start when there was none).
    quiet_inferences: usize,
    quiet_ms: f64,
}

impl Warming {
    /// A warm-up under `plan` with no inference yet.
    pub fn new(plan: SamplePlan) -> Self {
        Self {
            plan,
            recent: [f64::NAN; SETTLE_WINDOW],
            inferences: 0,
            ms: 0.0,
            best: f64::INFINITY,
            quiet_inferences: 0,
            quiet_ms: 0.0,
        }
    }

    /// The warm-up that took `times` (milliseconds each), one after the other.
    pub fn over(plan: SamplePlan, times: &[f64]) -> Self {
        let mut warming = Self::new(plan);
        for &ms in times {
            warming.record(ms);
        }
        warming
    }

    /// One more warm-up inference, `ms` long.
    pub fn record(&mut self, ms: f64) {
        self.inferences += 1;
        self.ms += ms;
        self.quiet_inferences += 1;
        self.quiet_ms += ms;
        self.recent.rotate_left(1);
        self.recent[SETTLE_WINDOW - 1] = ms;
        if self.inferences as usize >= SETTLE_WINDOW {
            let median = stats::median(&self.recent).unwrap_or(f64::NAN);
            if self.best.is_finite() && median < self.best * (1.0 - SETTLE_GAIN) {
                self.quiet_inferences = 0;
                self.quiet_ms = 0.0;
            }
            self.best = self.best.min(median);
        }
    }

    /// Whether to warm up once more. Always until `warmup` inferences and
    /// `warmup_ms` are done; then, with a `settle_ms`, until the inference
    /// time has settled or `warmup_max_ms` has passed.
    pub fn wants_more(&self) -> bool {
        let plan = &self.plan;
        if self.inferences < plan.warmup || self.ms < plan.warmup_ms {
            return true;
        }
        let capped = plan.warmup_max_ms > 0.0 && self.ms >= plan.warmup_max_ms;
        !capped && !self.settled()
    }

    /// Whether the inference time has settled: at least `settle_ms` and
    /// [`SETTLE_WINDOW`] inferences since the last window of them whose
    /// median was [`SETTLE_GAIN`] below every earlier window's.
    pub fn settled(&self) -> bool {
        self.plan.settle_ms <= 0.0
            || (self.quiet_inferences >= SETTLE_WINDOW && self.quiet_ms >= self.plan.settle_ms)
    }

    /// What a warm inference takes, as the warm-up has seen it: the lowest
    /// median of [`SETTLE_WINDOW`] inferences, else the mean so far; `None`
    /// before any inference.
    pub fn typical_ms(&self) -> Option<f64> {
        if self.best.is_finite() {
            Some(self.best)
        } else {
            (self.inferences > 0).then(|| self.ms / f64::from(self.inferences))
        }
    }

    /// The record of the warm-up so far.
    pub fn summary(&self) -> Warmup {
        Warmup {
            inferences: self.inferences,
            ms: self.ms,
            settled: self.settled(),
        }
    }
}

impl SamplePlan {
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
            settle_ms: 0.0,
            warmup_max_ms: 0.0,
            max_samples: 10,
            min_samples: 3,
            budget_ms: 100.0,
            ci_target,
            timer_steps: 0,
            throughput_samples: 0,
        }
    }

    #[test]
    fn a_sample_spans_enough_steps_of_the_clock() {
        // Firefox's isolated clock (0.02 ms) and a 0.175 ms inference: 100
        // steps are 2 ms, 11.4 inferences, so 12.
        assert_eq!(repetitions(100, 0.02, 0.175), 12);
        // Chromium's (0.005 ms): 0.5 ms, 2.86 inferences, so 3.
        assert_eq!(repetitions(100, 0.005, 0.175), 3);
        // A batch-32 inference outlasts 100 steps alone.
        assert_eq!(repetitions(100, 0.02, 4.8), 1);
        assert_eq!(repetitions(100, 0.02, 2.0), 1, "exactly 100 steps");
        assert_eq!(repetitions(100, 0.02, 1.99), 2);
        // Off, or nothing known: one inference per sample.
        assert_eq!(repetitions(0, 0.02, 0.175), 1);
        assert_eq!(repetitions(100, f64::INFINITY, 0.175), 1, "no step seen");
        assert_eq!(repetitions(100, 0.02, 0.0), 1);
        assert_eq!(repetitions(100, 0.02, f64::NAN), 1);
        // A clock of 1 ms steps and a 1 µs inference: capped.
        assert_eq!(repetitions(100, 1.0, 0.001), MAX_REPETITIONS);
    }

    #[test]
    fn the_typical_inference_is_the_best_window_median() {
        let p = plan(0.0);
        assert_eq!(Warming::new(p).typical_ms(), None);
        assert_eq!(
            Warming::over(p, &[4.0, 2.0]).typical_ms(),
            Some(3.0),
            "the mean of two"
        );
        assert_eq!(
            Warming::over(p, &[9.0, 5.0, 6.0, 1.0, 8.0, 7.0]).typical_ms(),
            Some(5.0),
            "the windows' medians are 6, 5, 6 and 7"
        );
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

    fn warmup_plan(settle_ms: f64, warmup_max_ms: f64) -> SamplePlan {
        SamplePlan {
            warmup: 2,
            warmup_ms: 50.0,
            settle_ms,
            warmup_max_ms,
            ..plan(0.0)
        }
    }

    /// Whether a warm-up under `p` that took `times` wants another inference.
    fn wants(p: SamplePlan, times: &[f64]) -> bool {
        Warming::over(p, times).wants_more()
    }

    #[test]
    fn a_fixed_warmup_needs_both_count_and_time() {
        let p = warmup_plan(0.0, 0.0);
        assert!(wants(p, &[]));
        assert!(wants(p, &[100.0]), "one inference, though 100 ms");
        assert!(wants(p, &[24.0, 25.0]), "two inferences, 49 ms");
        assert!(!wants(p, &[25.0, 25.0]));
        assert_eq!(
            Warming::over(p, &[25.0, 25.0]).summary(),
            Warmup {
                inferences: 2,
                ms: 50.0,
                settled: true
            }
        );
    }

    #[test]
    fn warmup_goes_on_until_the_time_stops_falling() {
        let p = warmup_plan(100.0, 0.0);
        // Steady from the start: settled once 100 ms and 3 inferences are done.
        assert!(wants(p, &[40.0, 40.0]), "two inferences");
        assert!(!wants(p, &[40.0, 40.0, 40.0]));
        // A tier-up: 10 ms runs become 5 ms runs after the sixth. The window
        // ending at the 8th run is the first whose median (5) is 5% below the
        // best before it (10), so the quiet time counts from there: 20 runs of
        // 5 ms are needed after it.
        let mut times = vec![10.0; 6];
        times.extend([5.0; 2]);
        assert!(wants(p, &times), "60 ms of slow runs then a drop");
        times.extend([5.0; 19]);
        assert!(wants(p, &times), "95 ms since the drop");
        times.push(5.0);
        assert!(!wants(p, &times), "100 ms since the drop");
        // Within 5% is noise, not a tier-up: it does not restart the quiet time.
        let noisy = [
            10.0, 10.0, 10.0, 9.6, 9.6, 9.6, 10.0, 10.0, 10.0, 10.0, 10.0,
        ];
        assert!(!wants(p, &noisy));
        // One fast run alone does not move a window's median.
        let once = [
            10.0, 10.0, 10.0, 1.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0,
        ];
        assert!(!wants(p, &once));
    }

    #[test]
    fn warmup_that_never_settles_stops_at_the_limit_and_says_so() {
        let p = warmup_plan(100.0, 500.0);
        // 10% faster every run: from the second window on, every window is a
        // new low, so the quiet time never starts.
        let falling: Vec<f64> = (0..7).map(|i| 100.0 * 0.9f64.powi(i)).collect();
        assert!(wants(p, &falling[..6]), "469 ms");
        assert!(!wants(p, &falling[..7]), "522 ms: past the limit");
        assert!(!Warming::over(p, &falling).settled());
        assert!(
            wants(warmup_plan(100.0, 0.0), &falling),
            "no limit: still falling"
        );
    }
}
