//! A comparison as JSON (`comparison.json`, `qbench compare --json`): what a
//! CI script reads instead of the Markdown table. One object per cell with its
//! transition, medians, the latency ratio with its interval, basis and verdict,
//! and the quality change; the counts and caveats of the whole comparison.

use serde::Serialize;

use qbench_core::schema::{PairedWith, Status};
use qbench_core::verdict::{Basis, RatioEstimate, Verdict};

use qbench_core::comparison::{
    CellChange, Comparison, Counts, LatencyChange, LearnedFrom, QualityChange, Transition,
};

/// The format's version; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'c> {
    schema_version: u32,
    /// Fraction: 0.05 is 5%.
    threshold: f64,
    paired: Option<PairedWith>,
    partial: bool,
    single_round: bool,
    rounds: u32,
    /// The history single-round intervals learned how far pages land apart from.
    learned_from: Option<&'c LearnedFrom>,
    counts: Counts,
    cells: Vec<CellEntry<'c>>,
}

#[derive(Serialize)]
struct CellEntry<'c> {
    host: Option<&'c str>,
    browser: qbench_core::Agent,
    backend: qbench_core::Backend,
    precision: qbench_core::Precision,
    batch: u32,
    before: Option<Status>,
    after: Option<Status>,
    transition: Transition,
    regression: bool,
    median_before_ms: Option<f64>,
    median_after_ms: Option<f64>,
    /// The ratio now/before; `high` is `null` when the interval is unbounded.
    latency: Option<Latency>,
    not_comparable: Option<&'c str>,
    /// Pipelined throughput, as `latency` (absent when neither side measured it).
    #[serde(skip_serializing_if = "Option::is_none")]
    throughput: Option<Latency>,
    quality: Option<Quality>,
    /// The regression or fix in words, as the gate prints it; empty otherwise.
    summary: String,
}

#[derive(Serialize)]
struct Latency {
    ratio: f64,
    low: f64,
    high: Option<f64>,
    basis: Basis,
    verdict: Verdict,
}

#[derive(Serialize)]
struct Quality {
    agreement_points: f64,
    accuracy_points: f64,
}

impl From<&RatioEstimate> for Latency {
    fn from(e: &RatioEstimate) -> Self {
        Latency {
            ratio: e.ratio,
            low: e.low,
            high: e.high.is_finite().then_some(e.high),
            basis: e.basis,
            verdict: e.verdict,
        }
    }
}

impl From<QualityChange> for Quality {
    fn from(q: QualityChange) -> Self {
        Quality {
            agreement_points: q.agreement_points,
            accuracy_points: q.accuracy_points,
        }
    }
}

fn entry(ch: &CellChange) -> CellEntry<'_> {
    let (latency, not_comparable) = match &ch.latency {
        LatencyChange::Judged(e) => (Some(e.into()), None),
        LatencyChange::NotComparable(why) => (None, Some(why.as_str())),
        LatencyChange::Missing => (None, None),
    };
    CellEntry {
        host: ch.id.host.as_deref(),
        browser: ch.id.browser,
        backend: ch.id.backend,
        precision: ch.id.precision,
        batch: ch.id.batch,
        before: ch.before,
        after: ch.after,
        transition: ch.transition,
        regression: ch.is_regression(),
        median_before_ms: ch.medians.map(|(b, _)| b),
        median_after_ms: ch.medians.map(|(_, a)| a),
        latency,
        not_comparable,
        throughput: match &ch.throughput {
            LatencyChange::Judged(e) => Some(e.into()),
            _ => None,
        },
        quality: ch.quality.map(Quality::from),
        summary: ch.describe(),
    }
}

/// The comparison as pretty-printed JSON, cells in the comparison's order.
pub fn render(c: &Comparison) -> String {
    let document = Document {
        schema_version: SCHEMA_VERSION,
        threshold: c.threshold,
        paired: c.paired,
        partial: c.partial,
        single_round: c.single_round(),
        rounds: c.rounds,
        learned_from: c.learned_from.as_ref(),
        counts: c.tally(),
        cells: c.cells.iter().map(entry).collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("plain data serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::CellId;
    use qbench_core::{Backend, Precision};

    fn change(
        precision: Precision,
        transition: Transition,
        latency: LatencyChange,
        quality: Option<QualityChange>,
    ) -> CellChange {
        CellChange {
            id: CellId {
                host: None,
                browser: "chromium".parse().unwrap(),
                backend: Backend::Webgpu,
                precision,
                batch: 1,
            },
            before: Some(Status::Ok),
            after: Some(if transition == Transition::Breakage {
                Status::Error
            } else {
                Status::Ok
            }),
            transition,
            medians: Some((10.0, 12.5)),
            latency,
            throughput: LatencyChange::Missing,
            quality,
        }
    }

    #[test]
    fn every_cell_carries_its_verdict_interval_and_regression() {
        let slower = RatioEstimate {
            ratio: 1.25,
            low: 1.2,
            high: 1.3,
            basis: Basis::Rounds,
            verdict: Verdict::Slower,
        };
        let unbounded = RatioEstimate {
            ratio: 1.25,
            low: 0.0,
            high: f64::INFINITY,
            basis: Basis::Unbounded,
            verdict: Verdict::Unsure,
        };
        let comparison = Comparison {
            cells: vec![
                change(
                    Precision::F32,
                    Transition::Unchanged,
                    LatencyChange::Judged(slower),
                    Some(QualityChange {
                        agreement_points: 0.0,
                        accuracy_points: -1.0,
                    }),
                ),
                change(
                    Precision::F16,
                    Transition::Unchanged,
                    LatencyChange::Judged(unbounded),
                    None,
                ),
                change(
                    Precision::Int8,
                    Transition::Breakage,
                    LatencyChange::Missing,
                    None,
                ),
                change(
                    Precision::Int8Channel,
                    Transition::NotRun,
                    LatencyChange::NotComparable("software against hardware".into()),
                    None,
                ),
            ],
            threshold: 0.05,
            partial: true,
            rounds: 3,
            paired: Some(PairedWith::Package),
            learned_from: Some(LearnedFrom {
                source: "h.sqlite".into(),
                runs: 12,
            }),
        };
        let v: serde_json::Value = serde_json::from_str(&render(&comparison)).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["threshold"], 0.05);
        assert_eq!(v["paired"], "package");
        assert_eq!(v["partial"], true);
        assert_eq!(v["rounds"], 3);
        assert_eq!(
            v["learned_from"],
            serde_json::json!({"source": "h.sqlite", "runs": 12})
        );
        assert_eq!(
            v["counts"],
            serde_json::json!({"regressions": 2, "fixes": 0, "slower": 1, "faster": 0,
                "same": 0, "unsure": 1, "not_comparable": 1, "not_run": 1})
        );
        let cells = v["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 4);
        assert_eq!(
            cells[0],
            serde_json::json!({
                "host": null, "browser": "chromium", "backend": "webgpu", "precision": "f32",
                "batch": 1, "before": "ok", "after": "ok", "transition": "unchanged",
                "regression": true, "median_before_ms": 10.0, "median_after_ms": 12.5,
                "latency": {"ratio": 1.25, "low": 1.2, "high": 1.3, "basis": "rounds",
                    "verdict": "slower"},
                "not_comparable": null,
                "quality": {"agreement_points": 0.0, "accuracy_points": -1.0},
                "summary": "slower ×1.250 [1.200, 1.300]; quality dropped (agreement +0.00, accuracy -1.00 points)"
            })
        );
        assert_eq!(
            cells[1]["latency"],
            serde_json::json!({"ratio": 1.25, "low": 0.0, "high": null, "basis": "unbounded",
                "verdict": "unsure"})
        );
        assert_eq!(cells[1]["regression"], false);
        assert_eq!(cells[2]["transition"], "breakage");
        assert_eq!(cells[2]["after"], "error");
        assert_eq!(cells[2]["summary"], "breakage (ok → error)");
        assert_eq!(cells[3]["transition"], "not_run");
        assert_eq!(cells[3]["not_comparable"], "software against hardware");
        assert_eq!(cells[3]["latency"], serde_json::Value::Null);
    }
}
