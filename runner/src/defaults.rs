//! Every default of a measurement, in one place. `RunConfig::default` (and so
//! `qbench.toml` and the `[default: …]` of `run --help`), `qbench native`'s
//! flags and the page's form (served as `/defaults.json`) all read them here;
//! `tests/docs.rs` checks the README against `--help`.

use std::time::Duration;

use qbench_core::sampling::SamplePlan;
use serde::Serialize;

/// Batch sizes timed.
pub const BATCH: [u32; 2] = [1, 32];
/// Untimed warm-up inferences after the first, at least.
pub const WARMUP: u32 = 3;
/// Untimed warm-up time after the first inference, at least.
pub const WARMUP_TIME: Duration = Duration::from_millis(300);
/// Then warm up until this long has passed without the inference getting faster.
pub const SETTLE_TIME: Duration = Duration::from_secs(1);
/// A warm-up that has not settled stops here, and says so.
pub const WARMUP_LIMIT: Duration = Duration::from_secs(15);
/// Timed samples per cell, at most.
pub const MAX_SAMPLES: u32 = 100;
/// Timed samples per cell, at least.
pub const MIN_SAMPLES: u32 = 10;
/// Stop sampling once the median's 95% interval is within this many percent of it.
pub const INTERVAL_TARGET_PCT: f64 = 2.0;
/// Each timed sample spans at least this many steps of the page's clock
/// (its inferences repeated back to back until it does).
pub const TIMER_STEPS: u32 = 100;
/// Pipelined-throughput samples of each WebGPU cell.
pub const THROUGHPUT_SAMPLES: u32 = 9;
/// Time budget for a cell's timed samples.
pub const TIME_PER_CELL: Duration = Duration::from_secs(3);
/// A cell still running after this long is a timeout.
pub const TIMEOUT_PER_CELL: Duration = Duration::from_secs(180);
/// Limit for starting a browser and probing it.
pub const TIMEOUT_SESSION: Duration = Duration::from_secs(120);
/// Held-out digits each precision's quality is measured on.
pub const QUALITY_INPUTS: usize = 1000;
/// Passes over each browser's cells.
pub const ROUNDS: u32 = 1;
/// Rounds of a paired run unless told otherwise: in one page a module instance
/// can land in a slower state than another, which only a comparison over
/// pages (rounds) can tell from a change (`docs/methodology.md`).
pub const PAIRED_ROUNDS: u32 = 3;
/// Smallest latency change that counts, percent.
pub const THRESHOLD_PCT: f64 = 5.0;
/// Runs of the history a comparison of single rounds learns the spread of
/// pages from: the newest this many (Bencher's window of past runs).
pub const HISTORY_WINDOW: usize = 30;
/// Speed verdicts a comparison of two default runs gives at once on a
/// machine like CI's (software WebGPU adapters): the 68 `ok` cells' latency
/// and 26 WebGPU cells' throughput (`qbench history spread --verdicts`).
pub const VERDICTS: usize = 94;
/// The report folder.
pub const OUT: &str = "qbench-report";

/// The sampling plan these defaults make.
pub fn plan() -> SamplePlan {
    SamplePlan {
        warmup: WARMUP,
        warmup_ms: ms(WARMUP_TIME),
        settle_ms: ms(SETTLE_TIME),
        warmup_max_ms: ms(WARMUP_LIMIT),
        max_samples: MAX_SAMPLES,
        min_samples: MIN_SAMPLES,
        budget_ms: ms(TIME_PER_CELL),
        ci_target: INTERVAL_TARGET_PCT / 100.0,
        timer_steps: TIMER_STEPS,
        throughput_samples: THROUGHPUT_SAMPLES,
    }
}

/// What the page's form starts from (`/defaults.json`).
#[derive(Debug, Serialize)]
pub struct PageDefaults {
    /// The sampling plan of a cell.
    pub plan: SamplePlan,
    /// The batch sizes a run times.
    pub batch: [u32; 2],
}

/// The page's defaults as JSON.
pub fn page_json() -> String {
    serde_json::to_string(&PageDefaults {
        plan: plan(),
        batch: BATCH,
    })
    .expect("plain numbers serialize")
}

/// A duration in milliseconds, as the protocol carries it.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_the_same_plan_as_a_run() {
        let v: serde_json::Value = serde_json::from_str(&page_json()).unwrap();
        assert_eq!(v["plan"]["warmup"], 3);
        assert_eq!(v["plan"]["warmup_ms"], 300.0);
        assert_eq!(v["plan"]["budget_ms"], 3000.0);
        assert_eq!(v["plan"]["max_samples"], 100);
        assert_eq!(v["batch"], serde_json::json!([1, 32]));
    }
}
