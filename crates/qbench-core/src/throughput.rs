//! Pipelined throughput of a WebGPU cell: the steady cost of one more
//! inference when many are queued back to back and read back once.
//!
//! A latency sample is one inference and its readback, so it can never be
//! shorter than the adapter's readback floor (Firefox on lavapipe delivers a
//! buffer mapping only every ~100 ms: every cell reads 100 ms). Queued
//! inferences share one readback. A throughput sample times `k` inferences
//! queued and read back once, then `2k` the same way; the difference, divided
//! by `k`, is what `k` more inferences cost: the fixed part (the readback and
//! its wait, whatever its granularity) cancels. The shortest queue `K` is
//! sized so its inferences outlast [`FLOORS`] readback floors beyond the
//! readback itself (and [`MIN_QUEUE_MS`]), so the floor's grid is a fraction
//! of what is measured, and each sample moves `k` a little further through
//! `[K, 1.5 K)` ([`queue_lengths`]) so the grid's error does not sit at one
//! value in every sample.
//!
//! What it measures: the rate at which the page, the browser's GPU process
//! and the adapter together finish queued inferences, each uploading its own
//! images. What it does not: the latency of any single inference, nor the GPU
//! alone: the host records and submits inference `i + 1` while the GPU runs
//! `i`, so where recording costs more than the GPU work, that is the rate.

use serde::{Deserialize, Serialize};

/// The inferences of a queue of `K` must last this many readback floors
/// beyond the readback itself.
pub const FLOORS: f64 = 4.0;

/// And the queue at least this long, milliseconds: where the floor is short
/// (Chromium's, 1–3 ms), a queue of one or two inferences would time the
/// host's noise more than the rate.
pub const MIN_QUEUE_MS: f64 = 50.0;

/// The longest queue calibration tries: an inference too quick to fill
/// [`FLOORS`] floors with this many is measured with this many.
pub const MAX_QUEUE: u32 = 4096;

/// What calibration and sampling found in one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputSamples {
    /// `K`: the shortest queue of each sample.
    pub queue: u32,
    /// The readback floor the queue was sized against, milliseconds.
    pub floor_ms: f64,
    /// Each sample's cost per queued inference, milliseconds.
    pub samples_ms: Vec<f64>,
}

/// How long a queue of `K` must take, queued and read back once, against a
/// readback floor of `floor_ms`: [`FLOORS`] floors and the readback's own,
/// at least [`MIN_QUEUE_MS`].
pub fn target_ms(floor_ms: f64) -> f64 {
    ((FLOORS + 1.0) * floor_ms).max(MIN_QUEUE_MS)
}

/// Calibration doubles the queue from one until it takes `target` or more
/// (or reaches [`MAX_QUEUE`]); then `K` lies between the last two queues,
/// `half` and `full` (inferences, milliseconds), where the line through
/// them reaches the target: the queue a doubling overshot by up to twice is
/// not paid for in every sample.
pub fn shortest_queue(target: f64, half: (u32, f64), full: (u32, f64)) -> u32 {
    if full.0 <= 1 || full.1 <= target {
        return full.0.max(1);
    }
    let per = (full.1 - half.1) / f64::from(full.0 - half.0);
    let fixed = full.1 - per * f64::from(full.0);
    if !(per.is_finite() && per > 0.0) {
        return full.0;
    }
    let k = ((target - fixed) / per).ceil();
    (k.max(0.0) as u32).clamp(half.0.max(1), full.0)
}

/// Whether calibration stops at a queue of `queue` that took `queued_ms`.
pub fn long_enough(queue: u32, queued_ms: f64, target: f64) -> bool {
    queue >= MAX_QUEUE || queued_ms >= target
}

/// The two queue lengths of sample `i` of `n` with shortest queue `base`:
/// `k` and `2k`, `k` stepping evenly through `[base, 1.5 · base)`.
pub fn queue_lengths(base: u32, i: u32, n: u32) -> (u32, u32) {
    let base = base.max(1);
    let k = base + (u64::from(base) * u64::from(i) / (2 * u64::from(n.max(1)))) as u32;
    (k, 2 * k)
}

/// One sample: `short` and `long` queues (inferences, milliseconds), each
/// read back once; what one inference more costs, milliseconds.
pub fn per_inference(short: (u32, f64), long: (u32, f64)) -> f64 {
    (long.1 - short.1) / f64::from(long.0 - short.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_must_outlast_several_floors() {
        assert_eq!(target_ms(100.0), 500.0, "Firefox on lavapipe");
        assert_eq!(target_ms(1.07), 50.0, "Chromium: the minimum");
        assert!(!long_enough(32, 499.0, 500.0));
        assert!(long_enough(64, 500.0, 500.0));
        assert!(long_enough(MAX_QUEUE, 1.0, 500.0), "capped");
    }

    #[test]
    fn the_shortest_queue_is_where_the_line_reaches_the_target() {
        // 11.5 ms per inference and 100 ms fixed: 32 take 468, 64 take 836;
        // 500 ms are reached at (500 − 100) / 11.5 = 34.8, so 35.
        assert_eq!(shortest_queue(500.0, (32, 468.0), (64, 836.0)), 35);
        // A queue that barely grew (the floor's grid): the line reaches the
        // target late, (500 − 497.5) / (1.5 / 32) = 53.3, so 54.
        assert_eq!(shortest_queue(500.0, (32, 499.0), (64, 500.5)), 54);
        assert_eq!(
            shortest_queue(500.0, (32, 300.0), (64, 300.0)),
            64,
            "no slope"
        );
        // One inference was already enough; or the cap was reached short of it.
        assert_eq!(shortest_queue(50.0, (0, 0.0), (1, 210.0)), 1);
        assert_eq!(shortest_queue(500.0, (2048, 200.0), (4096, 400.0)), 4096);
    }

    #[test]
    fn samples_step_through_half_an_octave() {
        let ks: Vec<(u32, u32)> = (0..4).map(|i| queue_lengths(128, i, 4)).collect();
        assert_eq!(ks, [(128, 256), (144, 288), (160, 320), (176, 352)]);
        assert_eq!(queue_lengths(1, 3, 4), (1, 2), "a queue of one stays one");
        assert_eq!(queue_lengths(0, 0, 0), (1, 2));
    }

    #[test]
    fn the_fixed_cost_cancels() {
        // 3 ms per inference and a readback that costs 100 ms whatever the queue.
        let time = |k: u32| 100.0 + 3.0 * f64::from(k);
        assert_eq!(per_inference((128, time(128)), (256, time(256))), 3.0);
        // On a 100 ms grid (Firefox): 128 × 3 = 384 → 400, 768 → 800.
        let grid = |k: u32| (3.0 * f64::from(k) / 100.0).ceil() * 100.0;
        assert_eq!(
            per_inference((128, grid(128)), (256, grid(256))),
            400.0 / 128.0
        );
        // Over the half octave the grid's error averages out.
        let mean = (0..8)
            .map(|i| {
                let (k, k2) = queue_lengths(128, i, 8);
                per_inference((k, grid(k)), (k2, grid(k2)))
            })
            .sum::<f64>()
            / 8.0;
        assert!((mean - 3.0).abs() < 0.1, "{mean}");
    }
}
