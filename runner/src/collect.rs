//! Turns what a cell answered (a page, or a native `qbench cell` process) into
//! a report cell: statistics and quality are computed here, once, from the raw
//! samples and probabilities.

use qbench_core::Precision;
use qbench_core::protocol::CellResponse;
use qbench_core::quality::{self, Quality};
use qbench_core::schema::{Cell, Latency, Outcome};
use qbench_core::stats::Summary;
use qbench_model::network::CLASSES;
use qbench_model::weights;

use crate::run::plan::PlannedCell;

/// Milliseconds since `started`.
pub fn elapsed_ms(started: std::time::Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// What quality is measured against.
pub struct References<'a> {
    /// Float32 probabilities from the same browser and backend, if that cell succeeded.
    pub same_backend_f32: Option<&'a [f32]>,
    /// Float32 probabilities computed natively on the CPU.
    pub native_f32: &'a [f32],
    /// Labels of the same digits.
    pub labels: &'a [u8],
}

/// An empty cell for `plan` (estimated memory only).
pub fn blank(plan: &PlannedCell) -> Cell {
    Cell::new(plan.browser.name(), plan.backend, plan.precision, plan.batch, weights::memory(plan.precision))
}

/// A cell that ended without measurements.
pub fn failed(plan: &PlannedCell, outcome: Outcome, wall_ms: f64) -> Cell {
    Cell { outcome, wall_ms: Some(wall_ms), ..blank(plan) }
}

/// The cell for `plan` from the page's `response`.
pub fn cell(plan: &PlannedCell, response: &CellResponse, refs: &References, wall_ms: f64) -> Cell {
    measured(blank(plan), response, refs, wall_ms)
}

/// Fills `blank` (a cell with its key and estimated memory) from `response`.
pub fn measured(blank: Cell, response: &CellResponse, refs: &References, wall_ms: f64) -> Cell {
    let precision = blank.precision;
    let outcome = match response.status.as_str() {
        "ok" => Outcome::Ok,
        "unsupported" => Outcome::Unsupported { reason: reason(response) },
        "error" => Outcome::Error { message: reason(response) },
        other => Outcome::Error { message: format!("page answered unknown status `{other}`") },
    };
    let mut cell = Cell { wall_ms: Some(wall_ms), ..blank };
    if outcome != Outcome::Ok {
        cell.outcome = outcome;
        return cell;
    }
    cell.memory.measured_bytes = response.measured_bytes;
    cell.memory.measured_how = response.measured_how.clone();
    match latency(response).and_then(|l| Ok((l, quality(precision, response, refs)?))) {
        Ok((latency, quality)) => {
            cell.latency_ms = Some(latency);
            cell.quality = quality;
        }
        Err(message) => cell.outcome = Outcome::Error { message },
    }
    cell
}

fn reason(response: &CellResponse) -> String {
    response.reason.clone().unwrap_or_else(|| "the page gave no reason".into())
}

fn latency(response: &CellResponse) -> Result<Latency, String> {
    let first = response.first_ms.ok_or("the page returned no first-run time")?;
    let summary = Summary::from_samples(&response.samples_ms).map_err(|e| format!("latency samples: {e}"))?;
    Ok(Latency { first, summary, raw: response.samples_ms.clone() })
}

/// Quality versus float32 on the same backend (native float32 when that is missing),
/// or `None` when the page returned no probabilities.
fn quality(precision: Precision, response: &CellResponse, refs: &References) -> Result<Option<Quality>, String> {
    let probs = &response.probabilities;
    if probs.is_empty() {
        return Ok(None);
    }
    let n = probs.len() / CLASSES;
    let native = refs.native_f32.get(..probs.len()).ok_or("more probabilities than native reference inputs")?;
    // Float32 is its own reference; other precisions compare with float32 on the
    // same backend, or with native float32 when that cell did not succeed.
    let baseline: &[f32] = match (precision, refs.same_backend_f32) {
        (Precision::F32, _) => probs,
        (_, Some(f32_probs)) => f32_probs.get(..probs.len()).ok_or("float32 cell returned fewer inputs")?,
        (_, None) => native,
    };
    let labels = refs.labels.get(..n).ok_or("more probabilities than labels")?;
    let mut q = Quality::compare(probs, baseline, labels, CLASSES).map_err(|e| format!("quality: {e}"))?;
    q.max_abs_diff_vs_native = Some(quality::max_abs_diff(probs, native).map_err(|e| e.to_string())?);
    Ok(Some(q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::{Backend, Browser};

    fn plan(precision: Precision) -> PlannedCell {
        PlannedCell { browser: Browser::Firefox, backend: Backend::Webgpu, precision, batch: 1 }
    }

    fn response(probs: Vec<f32>) -> CellResponse {
        CellResponse {
            status: "ok".into(),
            first_ms: Some(40.0),
            samples_ms: vec![3.0, 1.0, 2.0],
            probabilities: probs,
            measured_bytes: Some(1234),
            measured_how: Some("pool".into()),
            ..CellResponse::failed("ok", "")
        }
    }

    fn one_hot(class: usize, p: f32) -> Vec<f32> {
        let mut row = vec![(1.0 - p) / 9.0; 10];
        row[class] = p;
        row
    }

    #[test]
    fn ok_response_becomes_a_measured_cell() {
        let native: Vec<f32> = [one_hot(3, 0.9), one_hot(5, 0.8)].concat();
        let f32_browser: Vec<f32> = [one_hot(3, 0.9), one_hot(5, 0.7)].concat();
        let int8: Vec<f32> = [one_hot(3, 0.6), one_hot(2, 0.5)].concat();
        let refs = References { same_backend_f32: Some(&f32_browser), native_f32: &native, labels: &[3, 2] };
        let c = cell(&plan(Precision::Int8), &response(int8), &refs, 99.0);
        assert_eq!(c.outcome, Outcome::Ok);
        let l = c.latency_ms.unwrap();
        assert_eq!((l.first, l.summary.median, l.summary.samples), (40.0, 2.0, 3));
        assert_eq!(l.raw, vec![3.0, 1.0, 2.0]);
        let q = c.quality.unwrap();
        assert_eq!(q.n, 2);
        assert_eq!(q.top1_agreement_pct, 50.0); // vs the browser's f32, not native
        assert_eq!(q.accuracy_pct, 100.0);
        assert_eq!(q.drift_max, f64::from(0.9f32) - f64::from(0.6f32));
        assert_eq!(q.max_abs_diff_vs_native, Some(f64::from(0.8f32) - f64::from((1.0f32 - 0.5) / 9.0)));
        assert_eq!(c.memory.measured_bytes, Some(1234));
        assert_eq!(c.memory.estimated_weight_bytes, 421_642);
        assert_eq!(c.wall_ms, Some(99.0));
    }

    #[test]
    fn f32_cell_agrees_with_itself_and_diffs_against_native() {
        let native: Vec<f32> = one_hot(1, 0.9);
        let mine: Vec<f32> = one_hot(1, 0.8);
        let refs = References { same_backend_f32: None, native_f32: &native, labels: &[1] };
        let q = cell(&plan(Precision::F32), &response(mine), &refs, 1.0).quality.unwrap();
        assert_eq!((q.top1_agreement_pct, q.drift_max), (100.0, 0.0));
        assert_eq!(q.max_abs_diff_vs_native, Some(f64::from(0.9f32) - f64::from(0.8f32)));
    }

    #[test]
    fn unsupported_and_bad_responses() {
        let refs = References { same_backend_f32: None, native_f32: &[], labels: &[] };
        let c = cell(&plan(Precision::F16Native), &CellResponse::failed("unsupported", "no shader-f16"), &refs, 5.0);
        assert_eq!(c.outcome, Outcome::Unsupported { reason: "no shader-f16".into() });
        assert!(c.latency_ms.is_none());
        let mut empty = response(vec![]);
        empty.samples_ms.clear();
        let c = cell(&plan(Precision::F32), &empty, &refs, 5.0);
        assert_eq!(c.outcome, Outcome::Error { message: "latency samples: no samples to summarise".into() });
        let c = cell(&plan(Precision::F32), &CellResponse::failed("exploded", "x"), &refs, 5.0);
        assert_eq!(c.outcome.status(), "error");
    }
}
