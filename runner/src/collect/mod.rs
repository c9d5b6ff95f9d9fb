//! Turns what a cell answered (a page, or a native `qbench cell` process) into
//! a report cell: statistics and quality are computed here, once, from the raw
//! samples and probabilities of every round.

pub mod sink;

use qbench_core::Precision;
use qbench_core::host::HostActivity;
use qbench_core::profile::{CutSamples, stage_times};
use qbench_core::protocol::CellResponse;
use qbench_core::quality::{self, Quality};
use qbench_core::schema::{
    Cell, Environment, GpuLayer, GpuTime, Latency, Outcome, Round, Sampling, Split, Status,
    Throughput, smallest_step,
};
use qbench_core::stats::{Summary, median_ci_half_width};
use qbench_model::network::CLASSES;
use qbench_model::weights;

use crate::plan::PlannedCell;

/// What happened, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An agent started and was probed (or could not start: then its reason is set).
    Environment(Environment),
    /// A run of a cell finished; the cell as it stands with every round so far.
    Ran {
        /// The cell.
        cell: Cell,
        /// Which round finished, from 1.
        round: u32,
    },
    /// A cell changed without running (its quality reference arrived).
    Updated(Cell),
    /// Something a person should read (restarts, failures to start).
    Message(String),
}

/// Milliseconds since `started`.
pub fn elapsed_ms(started: std::time::Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// What quality is measured against: float32 computed natively on the same digits.
#[derive(Debug, Clone)]
pub struct References {
    /// Float32 probabilities computed natively on the CPU, `[n × 10]`.
    pub native_f32: Vec<f32>,
    /// Labels of the same digits.
    pub labels: Vec<u8>,
}

/// An empty cell for `plan` on `host` (estimated memory only).
pub fn blank(plan: &PlannedCell, host: Option<&str>) -> Cell {
    let mut cell = Cell::new(
        plan.agent,
        plan.backend,
        plan.precision,
        plan.batch,
        weights::memory(plan.precision),
    );
    cell.host = host.map(str::to_string);
    cell
}

/// One run of a cell (one round, after its retries).
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// How it ended.
    pub outcome: Outcome,
    /// What the page answered: whole when `ok`, the part that parsed when the
    /// answer broke the protocol, `None` when nothing came back.
    pub response: Option<CellResponse>,
    /// Attempts this run took (1 + retries used).
    pub attempts: u32,
    /// Wall-clock time of the run, page load included, milliseconds.
    pub wall_ms: f64,
    /// What the host did during the run's page, where it could be seen.
    pub host: Option<HostActivity>,
}

/// The outcome a page's answer reports.
pub fn outcome_of(response: &CellResponse) -> Outcome {
    let reason = || {
        response
            .reason
            .clone()
            .unwrap_or_else(|| "the page gave no reason".into())
    };
    match response.status {
        Status::Ok => Outcome::Ok,
        Status::Unsupported => Outcome::Unsupported { reason: reason() },
        Status::Error => Outcome::Error { message: reason() },
        Status::Timeout => Outcome::Timeout { message: reason() },
    }
}

/// Medians of each sample's host-side part and of the rest, over every round
/// that timed both; `None` when none did.
fn split(responses: &[&CellResponse]) -> Option<Split> {
    let (mut enqueue, mut wait) = (Vec::new(), Vec::new());
    for r in responses
        .iter()
        .filter(|r| r.enqueue_ms.len() == r.samples_ms.len())
    {
        for (total, part) in r.samples_ms.iter().zip(&r.enqueue_ms) {
            enqueue.push(*part);
            wait.push(total - part);
        }
    }
    Some(Split {
        enqueue: qbench_core::stats::median(&enqueue)?,
        wait: qbench_core::stats::median(&wait)?,
    })
}

/// Pipelined throughput from every round that measured it, samples pooled;
/// `None` when none did (or a page's samples are not numbers).
fn throughput(responses: &[&CellResponse]) -> Option<Throughput> {
    let measured: Vec<_> = responses
        .iter()
        .filter_map(|r| r.throughput.as_ref())
        .collect();
    let raw: Vec<f64> = measured
        .iter()
        .flat_map(|t| t.samples_ms.iter().copied())
        .collect();
    Some(Throughput {
        queue: measured.iter().map(|t| t.queue).collect(),
        summary: Summary::from_samples(&raw).ok()?,
        raw,
    })
}

/// Each round's median, first inference, samples, how they were taken and
/// what the host did meanwhile; a round that lacks any of them is left out.
fn rounds(runs: &[RunResult]) -> Vec<Round> {
    runs.iter()
        .filter_map(|run| {
            let r = run.response.as_ref()?;
            Some(Round {
                median: qbench_core::stats::median(&r.samples_ms)?,
                first: r.first_ms?,
                samples: r.samples_ms.len(),
                repetitions: r.repetitions,
                timer_step_ms: r.timer_step_ms,
                stop: r.stop?,
                warmup: r.warmup,
                device_init_ms: r.device_init_ms,
                model_load_ms: r.model_load_ms,
                host: run.host.clone(),
            })
        })
        .collect()
}

/// GPU time from every round that measured it: each inference's the sum of
/// its layers' (inferences with every layer timed), pooled, and each
/// layer's median; `None` when no round did.
fn gpu_time(responses: &[&CellResponse]) -> Option<GpuTime> {
    let mut raw = Vec::new();
    let mut layers: Vec<CutSamples> = Vec::new();
    for r in responses.iter().filter(|r| !r.gpu_ms.is_empty()) {
        let timed = r
            .gpu_ms
            .iter()
            .map(|l| l.samples_ms.len())
            .min()
            .unwrap_or(0);
        raw.extend((0..timed).map(|i| r.gpu_ms.iter().map(|l| l.samples_ms[i]).sum::<f64>()));
        for layer in &r.gpu_ms {
            match layers.iter_mut().find(|l| l.stage == layer.stage) {
                Some(l) => l.samples_ms.extend(&layer.samples_ms),
                None => layers.push(layer.clone()),
            }
        }
    }
    Some(GpuTime {
        summary: Summary::from_samples(&raw).ok()?,
        layers: layers
            .iter()
            .filter_map(|l| {
                Some(GpuLayer {
                    stage: l.stage,
                    median: qbench_core::stats::median(&l.samples_ms)?,
                })
            })
            .collect(),
        step_ms: smallest_step(&raw),
        raw,
    })
}

/// The cell from every run of it so far: the first failure's outcome (or `ok`),
/// latency from every sample of every round pooled, each round's median kept.
pub fn pooled(blank: Cell, runs: &[RunResult]) -> Cell {
    let mut cell = Cell {
        wall_ms: Some(runs.iter().map(|r| r.wall_ms).sum()),
        ..blank
    };
    cell.attempts = runs.iter().map(|r| r.attempts).max().unwrap_or(1);
    cell.flaky = runs
        .iter()
        .any(|r| r.attempts > 1 && r.outcome == Outcome::Ok);
    cell.outcome = runs
        .iter()
        .map(|r| &r.outcome)
        .find(|o| **o != Outcome::Ok)
        .cloned()
        .unwrap_or(Outcome::Ok);
    let responses: Vec<&CellResponse> = runs.iter().filter_map(|r| r.response.as_ref()).collect();
    cell.module = responses.iter().find_map(|r| r.module.clone());
    cell.activation_scales = responses.iter().find_map(|r| r.activation_scales);
    cell.integer_dot = responses.iter().find_map(|r| r.integer_dot);
    if let Some(r) = responses.iter().find(|r| r.measured_bytes.is_some()) {
        cell.memory.measured_bytes = r.measured_bytes;
        cell.memory.measured_how = r.measured_how.clone();
    }
    let raw: Vec<f64> = responses
        .iter()
        .flat_map(|r| r.samples_ms.iter().copied())
        .collect();
    if raw.is_empty() {
        if cell.outcome == Outcome::Ok && runs.iter().any(|r| r.outcome == Outcome::Ok) {
            cell.outcome = Outcome::Error {
                message: "the page returned no latency samples".into(),
            };
        }
        return cell;
    }
    let first = responses.iter().find_map(|r| r.first_ms);
    match (Summary::from_samples(&raw), first) {
        (Ok(summary), Some(first)) => {
            let rounds = rounds(runs);
            if let Some(last) = rounds.last() {
                cell.sampling = Some(Sampling {
                    stop: last.stop,
                    ci_half_width_pct: median_ci_half_width(&raw).map_or(f64::NAN, |w| w * 100.0),
                    rounds,
                });
            }
            cell.latency_ms = Some(Latency {
                first,
                summary,
                raw,
            });
            cell.split_ms = split(&responses);
            cell.throughput_ms = throughput(&responses);
            cell.gpu_ms = gpu_time(&responses);
            let cuts: Vec<&[CutSamples]> = responses.iter().map(|r| r.cuts.as_slice()).collect();
            cell.profile = stage_times(&cuts);
        }
        (Err(e), _) => {
            cell.outcome = Outcome::Error {
                message: format!("latency samples: {e}"),
            }
        }
        (_, None) => {
            cell.outcome = Outcome::Error {
                message: "the page returned no first-run time".into(),
            }
        }
    }
    cell
}

/// Quality of `probs` versus float32 on the same backend (`same_backend_f32`,
/// native float32 when that is missing); float32 is its own reference.
pub fn quality(
    precision: Precision,
    probs: &[f32],
    same_backend_f32: Option<&[f32]>,
    refs: &References,
) -> Result<Quality, String> {
    let n = probs.len() / CLASSES;
    let native = refs
        .native_f32
        .get(..probs.len())
        .ok_or("more probabilities than native reference inputs")?;
    let baseline: &[f32] = match (precision, same_backend_f32) {
        (Precision::F32, _) => probs,
        (_, Some(f32_probs)) => f32_probs
            .get(..probs.len())
            .ok_or("float32 cell returned fewer inputs")?,
        (_, None) => native,
    };
    let labels = refs
        .labels
        .get(..n)
        .ok_or("more probabilities than labels")?;
    let mut q =
        Quality::compare(probs, baseline, labels, CLASSES).map_err(|e| format!("quality: {e}"))?;
    q.max_abs_diff_vs_native =
        Some(quality::max_abs_diff(probs, native).map_err(|e| e.to_string())?);
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Agent;
    use qbench_core::profile::Stage;
    use qbench_core::sampling::Stop;
    use qbench_core::throughput::ThroughputSamples;
    use qbench_core::{Backend, Browser};

    fn plan(precision: Precision) -> PlannedCell {
        PlannedCell {
            agent: Agent::Browser(Browser::Firefox),
            backend: Backend::Webgpu,
            precision,
            batch: 1,
        }
    }

    fn response(samples: &[f64]) -> CellResponse {
        CellResponse {
            status: Status::Ok,
            reason: None,
            first_ms: Some(40.0),
            warmup: None,
            samples_ms: samples.to_vec(),
            stop: Some(Stop::Budget),
            measured_bytes: Some(1234),
            measured_how: Some("pool".into()),
            ..CellResponse::failed(Status::Ok, "")
        }
    }

    fn run(outcome: Outcome, response: Option<CellResponse>, attempts: u32) -> RunResult {
        RunResult {
            outcome,
            response,
            attempts,
            host: None,
            wall_ms: 10.0,
        }
    }

    fn one_hot(class: usize, p: f32) -> Vec<f32> {
        let mut row = vec![(1.0 - p) / 9.0; 10];
        row[class] = p;
        row
    }

    #[test]
    fn one_ok_run_becomes_a_measured_cell() {
        let c = pooled(
            blank(&plan(Precision::Int8), Some("ci")),
            &[run(Outcome::Ok, Some(response(&[3.0, 1.0, 2.0])), 1)],
        );
        assert_eq!(c.outcome, Outcome::Ok);
        assert_eq!(c.host.as_deref(), Some("ci"));
        let l = c.latency_ms.unwrap();
        assert_eq!(
            (l.first, l.summary.median, l.summary.samples),
            (40.0, 2.0, 3)
        );
        assert_eq!(l.raw, vec![3.0, 1.0, 2.0]);
        let s = c.sampling.unwrap();
        assert_eq!(
            (s.stop, s.rounds.len(), s.rounds[0].median),
            (Stop::Budget, 1, 2.0)
        );
        assert_eq!(
            s.ci_half_width_pct, 50.0,
            "three samples: the interval is min–max, (3 − 1) / 2 / 2"
        );
        assert_eq!(c.memory.measured_bytes, Some(1234));
        assert_eq!(c.memory.estimated_weight_bytes, 421_642);
        assert_eq!((c.wall_ms, c.attempts, c.flaky), (Some(10.0), 1, false));
    }

    #[test]
    fn rounds_are_pooled_and_each_median_kept() {
        let mut second = response(&[10.0, 12.0]);
        second.first_ms = Some(99.0);
        second.stop = Some(Stop::Target);
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[
                run(Outcome::Ok, Some(response(&[1.0, 2.0, 3.0])), 1),
                run(Outcome::Ok, Some(second), 2),
            ],
        );
        let l = c.latency_ms.unwrap();
        assert_eq!(l.raw, vec![1.0, 2.0, 3.0, 10.0, 12.0]);
        assert_eq!((l.summary.median, l.first), (3.0, 40.0));
        let s = c.sampling.unwrap();
        assert_eq!(
            s.rounds.iter().map(|r| r.median).collect::<Vec<_>>(),
            vec![2.0, 11.0]
        );
        assert_eq!(s.stop, Stop::Target);
        assert_eq!((c.attempts, c.flaky, c.wall_ms), (2, true, Some(20.0)));
        assert_eq!(c.split_ms, None, "no round timed the host-side part");
    }

    #[test]
    fn throughput_and_repetitions_are_kept_per_round() {
        let mut first = response(&[1.0, 2.0, 3.0]);
        first.repetitions = Some(12);
        first.timer_step_ms = Some(0.02);
        first.throughput = Some(ThroughputSamples {
            queue: 128,
            floor_ms: 100.0,
            samples_ms: vec![3.0, 3.5, 2.5],
        });
        let mut second = response(&[4.0]);
        // Two inferences timed layer by layer: 0.25 + 0.5 and 0.5 + 0.25.
        second.gpu_ms = vec![
            CutSamples {
                stage: Stage::Conv1,
                samples_ms: vec![0.25, 0.5],
            },
            CutSamples {
                stage: Stage::Fc2,
                samples_ms: vec![0.5, 0.25],
            },
        ];
        second.throughput = Some(ThroughputSamples {
            queue: 256,
            floor_ms: 100.0,
            samples_ms: vec![4.0, 5.0],
        });
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[
                run(Outcome::Ok, Some(first), 1),
                run(Outcome::Ok, Some(second), 1),
                run(Outcome::Ok, Some(response(&[5.0])), 1),
            ],
        );
        let t = c.throughput_ms.unwrap();
        assert_eq!(t.queue, vec![128, 256]);
        assert_eq!(t.raw, vec![3.0, 3.5, 2.5, 4.0, 5.0]);
        assert_eq!((t.summary.median, t.summary.samples), (3.5, 5));
        let gpu = c.gpu_ms.unwrap();
        assert_eq!(
            gpu.raw,
            [0.75, 0.75],
            "each inference the sum of its layers"
        );
        assert_eq!(gpu.step_ms, None, "all equal");
        assert_eq!(
            gpu.layers,
            [
                GpuLayer {
                    stage: Stage::Conv1,
                    median: 0.375
                },
                GpuLayer {
                    stage: Stage::Fc2,
                    median: 0.375
                }
            ]
        );
        let rounds = c.sampling.unwrap().rounds;
        assert_eq!(
            rounds
                .iter()
                .map(|r| (r.repetitions, r.timer_step_ms))
                .collect::<Vec<_>>(),
            [(Some(12), Some(0.02)), (None, None), (None, None)]
        );
        let plain = pooled(
            blank(&plan(Precision::F32), None),
            &[run(Outcome::Ok, Some(response(&[5.0])), 1)],
        );
        assert_eq!(
            (plain.throughput_ms, plain.gpu_ms),
            (None, None),
            "no round measured them"
        );
    }

    #[test]
    fn the_split_pools_the_rounds_that_timed_it() {
        let mut first = response(&[10.0, 20.0, 30.0]);
        first.enqueue_ms = vec![6.0, 8.0, 9.0];
        let mut second = response(&[40.0]);
        second.enqueue_ms = vec![10.0];
        // A round whose parts do not match its samples is left out of the split.
        let mut odd = response(&[50.0, 60.0]);
        odd.enqueue_ms = vec![1.0];
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[
                run(Outcome::Ok, Some(first), 1),
                run(Outcome::Ok, Some(second), 1),
                run(Outcome::Ok, Some(odd), 1),
            ],
        );
        // Host parts 6, 8, 9, 10 → 8.5; the rest 4, 12, 21, 30 → 16.5.
        assert_eq!(
            c.split_ms,
            Some(Split {
                enqueue: 8.5,
                wait: 16.5
            })
        );
    }

    #[test]
    fn a_failed_round_fails_the_cell_but_keeps_the_samples() {
        let timeout = Outcome::Timeout {
            message: "no answer".into(),
        };
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[
                run(Outcome::Ok, Some(response(&[1.0, 2.0])), 1),
                run(timeout.clone(), None, 1),
            ],
        );
        assert_eq!(c.outcome, timeout);
        assert_eq!(c.latency_ms.unwrap().raw, vec![1.0, 2.0]);
        // A broken answer that still carried samples keeps them.
        let broken = Outcome::Error {
            message: "not a CellResponse".into(),
        };
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[run(broken.clone(), Some(response(&[5.0])), 1)],
        );
        assert_eq!((c.outcome, c.latency_ms.unwrap().raw), (broken, vec![5.0]));
    }

    #[test]
    fn unsupported_and_empty_answers() {
        let unsupported = Outcome::Unsupported {
            reason: "no shader-f16".into(),
        };
        let c = pooled(
            blank(&plan(Precision::F16Native), None),
            &[run(unsupported.clone(), None, 1)],
        );
        assert_eq!((c.outcome, c.latency_ms), (unsupported, None));
        let c = pooled(
            blank(&plan(Precision::F32), None),
            &[run(Outcome::Ok, Some(response(&[])), 1)],
        );
        assert_eq!(
            c.outcome,
            Outcome::Error {
                message: "the page returned no latency samples".into()
            }
        );
        assert_eq!(
            outcome_of(&CellResponse::failed(Status::Error, "boom")),
            Outcome::Error {
                message: "boom".into()
            }
        );
    }

    #[test]
    fn quality_against_the_same_backend_and_native() {
        let native: Vec<f32> = [one_hot(3, 0.9), one_hot(5, 0.8)].concat();
        let f32_browser: Vec<f32> = [one_hot(3, 0.9), one_hot(5, 0.7)].concat();
        let int8: Vec<f32> = [one_hot(3, 0.6), one_hot(2, 0.5)].concat();
        let refs = References {
            native_f32: native.clone(),
            labels: vec![3, 2],
        };
        let q = quality(Precision::Int8, &int8, Some(&f32_browser), &refs).unwrap();
        assert_eq!(q.n, 2);
        assert_eq!(q.top1_agreement_pct, 50.0); // vs the browser's f32, not native
        assert_eq!(q.accuracy_pct, 100.0);
        assert_eq!(q.drift_max, f64::from(0.9f32) - f64::from(0.6f32));
        assert_eq!(
            q.max_abs_diff_vs_native,
            Some(f64::from(0.8f32) - f64::from((1.0f32 - 0.5) / 9.0))
        );
        // Float32 agrees with itself and is diffed against native.
        let q = quality(Precision::F32, &f32_browser, None, &refs).unwrap();
        assert_eq!((q.top1_agreement_pct, q.drift_max), (100.0, 0.0));
        assert_eq!(
            q.max_abs_diff_vs_native,
            Some(f64::from(0.8f32) - f64::from(0.7f32))
        );
        // Without the browser's f32, native is the reference.
        let q = quality(Precision::Int8, &int8, None, &refs).unwrap();
        assert_eq!(q.drift_max, f64::from(0.8f32) - f64::from(0.5f32));
        assert!(quality(Precision::Int8, &[int8.clone(), int8].concat(), None, &refs).is_err());
    }
}
