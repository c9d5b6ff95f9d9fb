//! Compares a report with an earlier one, cell by cell: compatibility
//! transitions (breakages and fixes), latency as a ratio of medians with a 95%
//! interval judged against a threshold (never across software and hardware
//! adapters, never on pages taken on a busy host), and quality drops. Cells
//! missing from a partial report are "not run", never regressions.

use qbench_core::Backend;
use qbench_core::adapter::AdapterClass;
use qbench_core::comparison::{
    CellChange, Comparison, LatencyChange, LearnedFrom, QualityChange, Transition,
};
use qbench_core::schema::{Cell, CellId, Outcome, PairedWith, Report, Status};
use qbench_core::verdict::{self, SessionSpread};

use super::learned::Learned;

/// The id cells are matched by: with hosts only when a report has several.
fn match_id(cell: &Cell, with_host: bool) -> CellId {
    let mut id = cell.id();
    if !with_host {
        id.host = None;
    }
    id
}

fn adapter_class(report: &Report, cell: &Cell) -> Option<(AdapterClass, String)> {
    let adapter = report.environment_of(cell)?.webgpu.as_ref()?;
    let class = adapter
        .class
        .unwrap_or_else(|| qbench_core::adapter::classify(adapter).0);
    let name = [&adapter.architecture, &adapter.description, &adapter.vendor]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "unnamed".into());
    Some((class, name))
}

/// Compares `new` with `old`; `threshold` is a fraction, `seed` fixes the
/// bootstrap. With `learned` (a history's spread of pages on these hosts), a
/// cell judged on one round a side is widened by it as well as by its peers.
pub fn compare(
    old: &Report,
    new: &Report,
    threshold: f64,
    seed: u64,
    learned: Option<&Learned>,
) -> Comparison {
    let family = family(new);
    compare_with(
        old,
        new,
        threshold,
        seed,
        Judging::Separate { learned, family },
    )
}

/// How a comparison's latency is judged.
#[derive(Debug, Clone, Copy)]
enum Judging<'l> {
    /// Two separate runs, with what a history learned of this host's pages,
    /// and how many verdicts the comparison gives at once.
    Separate {
        learned: Option<&'l Learned>,
        family: usize,
    },
    /// The two sides of a paired run.
    Paired(PairedWith),
}

impl Judging<'_> {
    /// What a paired run's sides were.
    fn paired(self) -> Option<PairedWith> {
        match self {
            Judging::Paired(with) => Some(with),
            Judging::Separate { .. } => None,
        }
    }

    /// The history single-round intervals learn from, named for the reader.
    fn learned_from(self) -> Option<LearnedFrom> {
        match self {
            Judging::Separate {
                learned: Some(l), ..
            } => Some(LearnedFrom {
                source: l.source.clone(),
                runs: l.runs,
            }),
            _ => None,
        }
    }

    /// How many verdicts a comparison of separate runs gives at once.
    fn family(self) -> usize {
        match self {
            Judging::Separate { family, .. } => family,
            Judging::Paired(_) => 0,
        }
    }
}

/// How many speed verdicts a comparison with `new` can give: one per
/// latency and one per throughput of its `ok` cells. A gate fails on any of
/// them, so single-round intervals are each one's of a family that holds at
/// 95% together.
fn family(new: &Report) -> usize {
    new.cells
        .iter()
        .filter(|c| c.outcome == Outcome::Ok)
        .map(|c| usize::from(c.latency_ms.is_some()) + usize::from(c.throughput_ms.is_some()))
        .sum()
}

/// Compares each cell of a paired run (`run --baseline-pkg`) with the baseline
/// package's side of it, measured in the same pages: latency verdicts from the
/// paired samples, transitions and quality as for two reports.
pub fn paired(report: &Report, threshold: f64, seed: u64) -> Comparison {
    let mut old = report.clone();
    old.cells = report
        .cells
        .iter()
        .filter_map(|c| c.paired.as_deref().cloned())
        .collect();
    old.bundle = report.paired_bundle.clone();
    let with = report.paired_with.unwrap_or(PairedWith::Package);
    compare_with(&old, report, threshold, seed, Judging::Paired(with))
}

fn compare_with(
    old: &Report,
    new: &Report,
    threshold: f64,
    seed: u64,
    judging: Judging,
) -> Comparison {
    let with_host = old.hosts().len() > 1 || new.hosts().len() > 1;
    let mut ids: Vec<CellId> = new.cells.iter().map(|c| match_id(c, with_host)).collect();
    for c in &old.cells {
        let id = match_id(c, with_host);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let find = |r: &'_ Report, id: &CellId| {
        r.cells
            .iter()
            .find(|c| &match_id(c, with_host) == id)
            .cloned()
    };
    let cells = ids
        .into_iter()
        .map(|id| {
            let (before, after) = (find(old, &id), find(new, &id));
            let transition = transition(before.as_ref(), after.as_ref());
            let (medians, latency) = match (&before, &after) {
                (Some(b), Some(a)) => judge(
                    Metric::Latency,
                    [old, new],
                    [b, a],
                    threshold,
                    seed,
                    judging,
                ),
                _ => (None, LatencyChange::Missing),
            };
            // Throughput samples are not taken alternately: never as pairs; and the
            // history's pages are latency medians: no learned spread.
            let throughput = match (&before, &after) {
                (Some(b), Some(a)) => {
                    judge(
                        Metric::Throughput,
                        [old, new],
                        [b, a],
                        threshold,
                        seed,
                        Judging::Separate {
                            learned: None,
                            family: judging.family(),
                        },
                    )
                    .1
                }
                _ => LatencyChange::Missing,
            };
            let quality = quality_change(before.as_ref(), after.as_ref());
            CellChange {
                id,
                before: before.map(|c| c.outcome.kind()),
                after: after.map(|c| c.outcome.kind()),
                transition,
                medians,
                latency,
                throughput,
                quality,
            }
        })
        .collect();
    Comparison {
        cells,
        threshold,
        partial: !new.is_complete(),
        rounds: old.settings.rounds.min(new.settings.rounds),
        paired: judging.paired(),
        learned_from: judging.learned_from(),
    }
}

/// How a cell's status changed between the reports.
fn transition(before: Option<&Cell>, after: Option<&Cell>) -> Transition {
    match (before, after) {
        (_, None) => Transition::NotRun,
        (None, Some(_)) => Transition::New,
        (Some(b), Some(a)) => match (b.outcome.kind(), a.outcome.kind()) {
            (x, y) if x == y => Transition::Unchanged,
            (Status::Ok, _) => Transition::Breakage,
            (_, Status::Ok) => Transition::Fix,
            _ => Transition::Changed,
        },
    }
}

/// Top-1 agreement and accuracy now minus before, when both have quality.
fn quality_change(before: Option<&Cell>, after: Option<&Cell>) -> Option<QualityChange> {
    let (b, a) = (before?.quality?, after?.quality?);
    Some(QualityChange {
        agreement_points: a.top1_agreement_pct - b.top1_agreement_pct,
        accuracy_points: a.accuracy_pct - b.accuracy_pct,
    })
}

/// What a speed verdict is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// One inference with its readback.
    Latency,
    /// One more inference in a queue read back once (WebGPU).
    Throughput,
}

impl Metric {
    /// The cell's median of this metric, when it has one.
    fn median(self, cell: &Cell) -> Option<f64> {
        match self {
            Metric::Latency => cell.latency_ms.as_ref().map(|l| l.summary.median),
            Metric::Throughput => cell.throughput_ms.as_ref().map(|t| t.summary.median),
        }
    }

    /// The cell's samples of this metric split by round (page load), in the
    /// order they ran; one group when the rounds do not account for them.
    fn rounds(self, cell: &Cell) -> Vec<&[f64]> {
        match self {
            Metric::Latency => by_round(cell),
            Metric::Throughput => {
                let Some(t) = &cell.throughput_ms else {
                    return Vec::new();
                };
                let pages = t.queue.len().max(1);
                if t.raw.len() % pages != 0 || t.raw.is_empty() {
                    return vec![&t.raw];
                }
                t.raw.chunks(t.raw.len() / pages).collect()
            }
        }
    }
}

/// The medians before and now and the verdict on `metric` of cells `b`
/// (in `old`) and `a` (in `new`).
fn judge(
    metric: Metric,
    [old, new]: [&Report; 2],
    [b, a]: [&Cell; 2],
    threshold: f64,
    seed: u64,
    judging: Judging,
) -> (Option<(f64, f64)>, LatencyChange) {
    let (Some(mb), Some(ma)) = (metric.median(b), metric.median(a)) else {
        return (None, LatencyChange::Missing);
    };
    let medians = Some((mb, ma));
    if b.outcome != Outcome::Ok || a.outcome != Outcome::Ok {
        return (medians, LatencyChange::Missing);
    }
    if b.backend == Backend::Webgpu
        && let (Some((cb, nb)), Some((ca, na))) = (adapter_class(old, b), adapter_class(new, a))
        && cb != ca
    {
        let why = format!(
            "{} adapter ({nb}) before, {} adapter ({na}) now: no speed verdict across adapter classes",
            cb.name(),
            ca.name()
        );
        return (medians, LatencyChange::NotComparable(why));
    }
    let judged = match judging {
        // A busy host slows both sides of a pair alike: every page counts.
        Judging::Paired(_) => {
            verdict::compare_paired(&metric.rounds(b), &metric.rounds(a), threshold, seed)
        }
        Judging::Separate { learned, family } => {
            let (before, after) = match (quiet_rounds(metric, b), quiet_rounds(metric, a)) {
                (Ok(before), Ok(after)) => (before, after),
                (Err(reason), _) => return (medians, busy(reason, "before")),
                (_, Err(reason)) => return (medians, busy(reason, "now")),
            };
            let (old_peers, new_peers, swing) = peers_and_swing(metric, [old, new], [b, a]);
            let spread = SessionSpread {
                peers: [&old_peers, &new_peers],
                swing,
                learned: learned
                    .filter(|_| metric == Metric::Latency)
                    .and_then(|l| l.of(a)),
                family,
            };
            verdict::compare_rounds(&before, &after, spread, threshold, seed)
        }
    };
    match judged {
        Ok(e) => (medians, LatencyChange::Judged(e)),
        Err(e) => (medians, LatencyChange::NotComparable(e.to_string())),
    }
}

/// A comparison refused because every page of one side ran on a busy host.
fn busy(reason: String, side: &str) -> LatencyChange {
    LatencyChange::NotComparable(format!(
        "every page {side} ran on a busy host ({reason}): no evidence of speed"
    ))
}

/// What the two reports show of how far pages of `b`'s and `a`'s class lie
/// apart: the peers' medians in each, and the largest swing inside any quiet
/// page of the class in either.
fn peers_and_swing(
    metric: Metric,
    [old, new]: [&Report; 2],
    [b, a]: [&Cell; 2],
) -> (Vec<f64>, Vec<f64>, f64) {
    // With one session on a side, how far sessions move a median comes from
    // the peers' medians and from how far any of those pages swung.
    let medians = |report: &Report, cell: &Cell| -> Vec<f64> {
        class(report, cell)
            .filter(|c| c.precision != cell.precision && c.precision.is_simulated())
            .filter_map(|c| metric.median(c))
            .collect()
    };
    // A page's level is the page's and the machine's, whatever it computes
    // (docs/methodology.md, "Comparing two builds"): any page of the class that swung
    // is evidence.
    let swing = class(old, b)
        .chain(class(new, a))
        .flat_map(|c| quiet_rounds(metric, c).unwrap_or_default())
        .map(verdict::state_swing)
        .fold(0.0, f64::max);
    (medians(old, b), medians(new, a), swing)
}

/// `cell`'s samples of `metric` by page, leaving out the pages taken on a busy
/// host (`host.busy_reason`); when every page was, the first one's reason.
/// Samples that do not split into the cell's rounds are one page, kept.
fn quiet_rounds(metric: Metric, cell: &Cell) -> Result<Vec<&[f64]>, String> {
    let pages = metric.rounds(cell);
    let rounds = cell.sampling.as_ref().map_or(&[][..], |s| &s.rounds[..]);
    if pages.len() != rounds.len() {
        return Ok(pages);
    }
    let reason = |r: &qbench_core::schema::Round| r.host.as_ref()?.busy_reason.clone();
    let quiet: Vec<&[f64]> = pages
        .iter()
        .zip(rounds)
        .filter(|(_, r)| reason(r).is_none())
        .map(|(p, _)| *p)
        .collect();
    match rounds.iter().find_map(reason) {
        Some(first) if quiet.is_empty() => Err(first),
        _ => Ok(quiet),
    }
}

/// The `ok` cells of `cell`'s class in `report`: its host, browser, backend
/// and batch, every precision, `cell`'s own counterpart included. Among them,
/// its *peers* are those of another simulated precision (quantized on the
/// host, float32 arithmetic): they ran the same arithmetic, each in a page of
/// its own, so how far their medians lie apart is how far pages of the class
/// move a median; `f16-native` and `int8-native` cells, in pages of the same
/// kind, are judged against the same spread.
fn class<'r>(report: &'r Report, cell: &Cell) -> impl Iterator<Item = &'r Cell> {
    report.cells.iter().filter(move |c| {
        (&c.host, &c.browser, c.backend, c.batch)
            == (&cell.host, &cell.browser, cell.backend, cell.batch)
            && c.outcome == Outcome::Ok
            && c.latency_ms.is_some()
    })
}

/// A cell's raw samples split by round (page load), in the order they ran; one
/// group when the rounds do not account for every sample.
fn by_round(cell: &Cell) -> Vec<&[f64]> {
    let Some(l) = &cell.latency_ms else {
        return Vec::new();
    };
    let counts: Vec<usize> = cell
        .sampling
        .as_ref()
        .map(|s| s.rounds.iter().map(|r| r.samples).collect())
        .unwrap_or_default();
    if counts.is_empty() || counts.iter().sum::<usize>() != l.raw.len() {
        return vec![&l.raw];
    }
    let mut rest = l.raw.as_slice();
    counts
        .iter()
        .map(|&n| {
            let (round, tail) = rest.split_at(n);
            rest = tail;
            round
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::{
        PAIRED_SINGLE_ROUND, PAIRED_TWO_ROUNDS, SINGLE_ROUND, paired_line, render,
    };
    use qbench_core::Precision;
    use qbench_core::quality::Quality;
    use qbench_core::schema::{Adapter, Environment, Latency};
    use qbench_core::stats::Summary;
    use qbench_core::verdict::{Basis, Verdict};

    fn report(cells: Vec<Cell>) -> Report {
        let mut r = Report::new("0", "2026-11-28T00:00:00Z", crate::testing::settings());
        r.planned = cells.iter().map(Cell::id).collect();
        r.cells = cells;
        r.finished = Some("2026-11-28T00:01:00Z".into());
        r
    }

    fn samples(scale: f64) -> Vec<f64> {
        (0..30)
            .map(|i| scale * (10.0 + f64::from(i % 7) * 0.1))
            .collect()
    }

    fn cell(precision: Precision, outcome: Outcome, raw: &[f64]) -> Cell {
        let mut c = Cell::new(
            "firefox".parse().unwrap(),
            Backend::Webgpu,
            precision,
            1,
            qbench_model::weights::memory(precision),
        );
        c.outcome = outcome;
        if !raw.is_empty() {
            c.latency_ms = Some(Latency {
                first: 1.0,
                summary: Summary::from_samples(raw).unwrap(),
                raw: raw.to_vec(),
            });
        }
        c
    }

    /// Samples taken while the machine switched from its fast to its slow level
    /// half way through: what a paired page sees on both sides.
    fn switching(scale: f64) -> Vec<f64> {
        samples(scale)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i < 15 { v } else { v * 1.6 })
            .collect()
    }

    fn with_side(mut c: Cell, side: Cell) -> Cell {
        c.paired = Some(Box::new(side));
        c
    }

    #[test]
    fn a_paired_run_is_judged_on_its_pairs() {
        let error = Outcome::Error {
            message: "x".into(),
        };
        let mut r = report(vec![
            with_side(
                cell(Precision::F32, Outcome::Ok, &switching(1.0)),
                cell(Precision::F32, Outcome::Ok, &switching(1.0)),
            ),
            with_side(
                cell(Precision::F16, Outcome::Ok, &switching(1.3)),
                cell(Precision::F16, Outcome::Ok, &switching(1.0)),
            ),
            with_side(
                cell(Precision::Int8, Outcome::Ok, &samples(1.0)),
                cell(Precision::Int8, Outcome::Ok, &samples(1.0)[..20]),
            ),
            with_side(
                cell(Precision::Int8Channel, Outcome::Ok, &samples(1.0)),
                cell(Precision::Int8Channel, error, &[]),
            ),
            cell(Precision::F16Native, Outcome::Ok, &samples(1.0)),
        ]);
        r.paired_bundle = Some(qbench_core::schema::Bundle {
            wasm_bytes: 7,
            files: Vec::new(),
            wasm_opt: None,
            build: Some("main".into()),
        });
        let c = paired(&r, 0.05, 1);
        assert!(c.paired == Some(PairedWith::Package) && c.single_round());
        let by = |p: Precision| c.cells.iter().find(|x| x.id.precision == p).unwrap();
        assert_eq!(by(Precision::F32).verdict(), Some(Verdict::Same));
        assert_eq!(by(Precision::F16).verdict(), Some(Verdict::Slower));
        assert!(by(Precision::F16).is_regression());
        assert_eq!(
            by(Precision::Int8).latency,
            LatencyChange::NotComparable(
                "the samples do not pair ([20] before, [30] now, round by round)".into()
            )
        );
        assert_eq!(by(Precision::Int8Channel).transition, Transition::Fix);
        assert_eq!(by(Precision::F16Native).transition, Transition::New);
        assert_eq!(c.regressions().count(), 1);
        let md = render(&c);
        assert!(md.contains(&paired_line(PairedWith::Package)), "{md}");
        assert!(md.contains(PAIRED_SINGLE_ROUND), "{md}");
        assert!(!md.contains(SINGLE_ROUND), "{md}");
        // The same samples as two separate reports: the switch reads as a change.
        let (mut old, mut new) = (r.clone(), r);
        old.cells = vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))];
        new.cells = vec![cell(Precision::F32, Outcome::Ok, &switching(1.0))];
        let separate = compare(&old, &new, 0.05, 1, None);
        assert_ne!(separate.cells[0].verdict(), Some(Verdict::Same));
    }

    /// Throughput measured over three pages on each side: the latency stays
    /// on its floor while the queued cost is half as much again, so the
    /// throughput verdict alone makes the regression, and a cell without
    /// throughput on one side has no verdict on it.
    #[test]
    fn a_throughput_slowdown_is_a_regression_of_its_own() {
        let with_throughput = |scale: f64| {
            let mut c = cell(Precision::F32, Outcome::Ok, &samples(1.0));
            let raw: Vec<f64> = [3.0, 3.1, 2.9, 3.05, 2.95, 3.0, 3.1, 3.0, 2.9]
                .iter()
                .map(|v| v * scale)
                .collect();
            c.throughput_ms = Some(qbench_core::schema::Throughput {
                queue: vec![128, 128, 256],
                summary: Summary::from_samples(&raw).unwrap(),
                raw,
            });
            c
        };
        let mut before = report(vec![with_throughput(1.0)]);
        before.settings.rounds = 3;
        let mut after = report(vec![with_throughput(1.5)]);
        after.settings.rounds = 3;
        let c = compare(&before, &after, 0.05, 1, None);
        let ch = &c.cells[0];
        assert_eq!(
            ch.verdict(),
            Some(Verdict::Unsure),
            "latency unchanged, one page without peers"
        );
        assert_eq!(ch.throughput_verdict(), Some(Verdict::Slower));
        assert!(ch.is_regression());
        assert!(
            ch.describe().starts_with("throughput slower ×1.500"),
            "{}",
            ch.describe()
        );
        assert!(
            c.counts()
                .ends_with("throughput: 1 slower, 0 faster, 0 same, 0 unsure"),
            "{}",
            c.counts()
        );
        let same = compare(&before, &before, 0.05, 1, None);
        assert_eq!(same.cells[0].throughput_verdict(), Some(Verdict::Same));
        let plain = report(vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))]);
        let missing = compare(&plain, &after, 0.05, 1, None);
        assert_eq!(missing.cells[0].throughput, LatencyChange::Missing);
        assert!(!missing.counts().contains("throughput"));
    }

    #[test]
    fn breakages_fixes_and_latency_verdicts() {
        let timeout = Outcome::Timeout {
            message: "x".into(),
        };
        let before = report(vec![
            cell(Precision::F32, Outcome::Ok, &samples(1.0)),
            cell(Precision::F16, Outcome::Ok, &samples(1.0)),
            cell(Precision::Int8, timeout.clone(), &[]),
            cell(Precision::Int8Channel, Outcome::Ok, &samples(1.0)),
        ]);
        let after = report(vec![
            cell(Precision::F32, Outcome::Ok, &samples(1.3)),
            cell(Precision::F16, timeout, &[]),
            cell(Precision::Int8, Outcome::Ok, &samples(1.0)),
            cell(Precision::Int8Channel, Outcome::Ok, &samples(1.0)),
            cell(Precision::F16Native, Outcome::Ok, &samples(1.0)),
        ]);
        let c = compare(&before, &after, 0.05, 1, None);
        let by = |p: Precision| c.cells.iter().find(|x| x.id.precision == p).unwrap();
        assert_eq!(by(Precision::F32).verdict(), Some(Verdict::Slower));
        assert!(by(Precision::F32).is_regression());
        assert_eq!(by(Precision::F16).transition, Transition::Breakage);
        assert!(by(Precision::F16).is_regression());
        assert_eq!(by(Precision::Int8).transition, Transition::Fix);
        assert!(!by(Precision::Int8).is_regression());
        // Unchanged samples, but its peers now lie ×1.3 apart (f32 against
        // int8): sessions of this kind may differ that much, so not `same`.
        assert_eq!(by(Precision::Int8Channel).verdict(), Some(Verdict::Unsure));
        assert_eq!(by(Precision::F16Native).transition, Transition::New);
        assert_eq!(c.regressions().count(), 2);
        assert_eq!(c.fixes().count(), 1);
        let md = render(&c);
        assert!(
            md.starts_with("2 regressions, 1 fixes; latency: 1 slower, 0 faster, 0 same, 1 unsure"),
            "{md}"
        );
        assert!(
            md.contains("| firefox webgpu f32 batch 1 | ok | ok | 10.3 → 13.4 |"),
            "{md}"
        );
    }

    /// Single-round reports: a cell is judged against how far its peers (the
    /// simulated precisions, the same arithmetic) landed from one another.
    #[test]
    fn a_single_session_is_judged_against_its_peers_spread() {
        let run = peers_run;
        let verdicts = |c: &Comparison| c.cells.iter().map(|x| x.verdict()).collect::<Vec<_>>();
        // One build twice, each page at a level of its own (×1.4–1.5 apart).
        let c = compare(
            &run([1.0, 1.4, 1.0, 1.5]),
            &run([1.4, 1.0, 1.5, 1.0]),
            0.05,
            1,
            None,
        );
        assert_eq!(verdicts(&c), vec![Some(Verdict::Unsure); 4]);
        // Peers within 1%: the one cell made ×1.25 slower is caught, and only it.
        let c = compare(
            &run([1.0, 1.01, 0.99, 1.0]),
            &run([1.25, 1.01, 0.99, 1.0]),
            0.05,
            1,
            None,
        );
        let v = verdicts(&c);
        assert_eq!(v[0], Some(Verdict::Slower), "{v:?}");
        assert!(
            v[1..]
                .iter()
                .all(|x| matches!(x, Some(Verdict::Same | Verdict::Unsure))),
            "{v:?}"
        );
        // The same, but one peer's page ran at ×1.5 for a stretch: the
        // machine moved a level that far, so ×1.25 is no longer told apart.
        let mut swung = run([1.0, 1.01, 0.99, 1.0]);
        let raw: Vec<f64> = samples(1.0)
            .iter()
            .enumerate()
            .map(|(i, v)| if (10..20).contains(&i) { v * 1.5 } else { *v })
            .collect();
        swung.cells[3] = cell(Precision::Int8Channel, Outcome::Ok, &raw);
        let c = compare(&swung, &run([1.25, 1.01, 0.99, 1.0]), 0.05, 1, None);
        let f32 = &c.cells[0];
        assert_eq!(f32.verdict(), Some(Verdict::Unsure), "{f32:?}");
        let row = render(&c)
            .lines()
            .find(|l| l.starts_with("| firefox webgpu f32 batch 1 |"))
            .unwrap()
            .to_owned();
        assert!(row.contains("] (swing) | unsure |"), "{row}");
        // Any page of the class counts, whatever it computed: an f16-native
        // page that ran at half its level for a stretch (seen on Firefox's CPU
        // batch 1) widens the simulated cells too.
        let mut with_swung_native = run([1.0, 1.01, 0.99, 1.0]);
        let native: Vec<f64> = samples(8.0)
            .iter()
            .enumerate()
            .map(|(i, v)| if i >= 20 { v / 1.9 } else { *v })
            .collect();
        with_swung_native
            .cells
            .push(cell(Precision::F16Native, Outcome::Ok, &native));
        let c = compare(
            &with_swung_native,
            &run([1.7, 1.01, 0.99, 1.0]),
            0.05,
            1,
            None,
        );
        assert_eq!(
            c.cells[0].verdict(),
            Some(Verdict::Unsure),
            "{:?}",
            c.cells[0]
        );
        // f16-native computes otherwise, in pages of the same kind: judged
        // against the simulated cells' spread; alone, nothing bounds how far
        // its next page lands, so even a quarter is `unsure`, marked so.
        let with_native = |scales: [f64; 4], native: f64| {
            let mut r = run(scales);
            r.cells
                .push(cell(Precision::F16Native, Outcome::Ok, &samples(native)));
            r
        };
        let c = compare(
            &with_native([1.0, 1.4, 1.0, 1.5], 1.0),
            &with_native([1.4, 1.0, 1.5, 1.0], 1.25),
            0.05,
            1,
            None,
        );
        assert_eq!(verdicts(&c)[4], Some(Verdict::Unsure));
        let lone = |s: f64| report(vec![cell(Precision::F16Native, Outcome::Ok, &samples(s))]);
        let c = compare(&lone(1.0), &lone(1.25), 0.05, 1, None);
        assert_eq!(verdicts(&c), vec![Some(Verdict::Unsure)]);
        assert!(
            render(&c).contains("| 1.250 [0, ∞) (unbounded) | unsure |"),
            "{}",
            render(&c)
        );
    }

    /// Four simulated cells of one page each, at `scales`.
    fn peers_run(scales: [f64; 4]) -> Report {
        report(
            Precision::SIMULATED
                .iter()
                .zip(scales)
                .map(|(p, s)| cell(*p, Outcome::Ok, &samples(s)))
                .collect(),
        )
    }

    /// Peers ±10–20% leave 30% `unsure`; a history that saw forty pages of
    /// the class within ±1% pools with them, and the 30% is `slower`, marked
    /// (history), with the history named under the table.
    #[test]
    fn a_history_of_quiet_pages_narrows_a_single_round_comparison() {
        let (before, after) = (
            peers_run([1.0, 1.2, 0.9, 1.1]),
            peers_run([1.3, 1.2, 0.9, 1.1]),
        );
        let alone = compare(&before, &after, 0.05, 1, None);
        assert_eq!(alone.cells[0].verdict(), Some(Verdict::Unsure));
        let tight = [1.0, 1.01, 0.99, 1.0];
        let class = crate::analysis::learned::Class {
            host: String::new(),
            browser: "firefox".parse().unwrap(),
            backend: Backend::Webgpu,
            batch: 1,
        };
        let spread = verdict::LearnedSpread {
            runs: 10,
            ..verdict::LearnedSpread::from_groups(std::iter::repeat_n(&tight[..], 10))
        };
        let learned = Learned {
            source: "h.sqlite".into(),
            runs: 10,
            classes: [(class, spread)].into(),
        };
        let c = compare(&before, &after, 0.05, 1, Some(&learned));
        let LatencyChange::Judged(e) = &c.cells[0].latency else {
            panic!("{:?}", c.cells[0])
        };
        assert_eq!((e.basis, e.verdict), (Basis::History, Verdict::Slower));
        assert!(
            c.cells[1..]
                .iter()
                .all(|x| x.verdict() != Some(Verdict::Slower))
        );
        let md = render(&c);
        assert!(md.contains("] (history) | slower |"), "{md}");
        assert!(md.contains("Learned from the history h.sqlite"), "{md}");
        assert!(!render(&alone).contains("Learned from"));
        // Another batch's class learned nothing: its cells keep the peers.
        let mut other = after.clone();
        for cell in &mut other.cells {
            cell.batch = 32;
        }
        let mut other_before = before.clone();
        for cell in &mut other_before.cells {
            cell.batch = 32;
        }
        let c = compare(&other_before, &other, 0.05, 1, Some(&learned));
        assert_eq!(c.cells[0].verdict(), Some(Verdict::Unsure));
    }

    /// A page taken on a busy host is no evidence: a single busy page refuses
    /// the verdict, naming why; of three pages, the two quiet ones are judged.
    #[test]
    fn pages_on_a_busy_host_are_left_out_of_separate_comparisons() {
        let paged = |scale: f64, busy: [Option<&str>; 3]| {
            let mut c = cell(Precision::F32, Outcome::Ok, &samples(scale));
            let rounds = busy
                .iter()
                .map(|reason| qbench_core::schema::Round {
                    samples: 10,
                    host: Some(crate::testing::host_activity(*reason)),
                    ..crate::testing::round(scale * 10.0)
                })
                .collect();
            c.sampling = Some(qbench_core::schema::Sampling {
                stop: qbench_core::sampling::Stop::Max,
                ci_half_width_pct: 1.0,
                rounds,
            });
            c
        };
        let busy = Some("other processes used 0.9 cores");
        let quiet = report(vec![paged(1.0, [None; 3])]);
        let one_busy = report(vec![paged(1.0, [None, busy, None])]);
        let all_busy = report(vec![paged(1.0, [busy; 3])]);
        let c = compare(&quiet, &all_busy, 0.05, 1, None);
        assert_eq!(
            c.cells[0].latency,
            LatencyChange::NotComparable(
                "every page now ran on a busy host (other processes used 0.9 cores): no evidence of speed"
                    .into()
            )
        );
        let c = compare(&all_busy, &quiet, 0.05, 1, None);
        assert!(
            matches!(&c.cells[0].latency, LatencyChange::NotComparable(w) if w.starts_with("every page before")),
            "{:?}",
            c.cells[0].latency
        );
        // Two quiet pages against three: judged on the rounds.
        let c = compare(&quiet, &one_busy, 0.05, 1, None);
        let LatencyChange::Judged(e) = &c.cells[0].latency else {
            panic!("{:?}", c.cells[0])
        };
        assert_eq!(e.basis, Basis::Rounds);
    }

    #[test]
    fn single_round_reports_carry_the_caveat() {
        let mut before = report(vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))]);
        let mut after = before.clone();
        before.settings.rounds = 3;
        after.settings.rounds = 1;
        let c = compare(&before, &after, 0.05, 1, None);
        assert!(c.single_round());
        assert!(render(&c).contains(SINGLE_ROUND));
        after.settings.rounds = 3;
        let c = compare(&before, &after, 0.05, 1, None);
        assert!(!c.single_round());
        assert!(!render(&c).contains("single round"));
    }

    #[test]
    fn a_paired_run_of_two_rounds_carries_its_caveat() {
        let mut r = report(vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))]);
        r.cells[0].paired = Some(Box::new(r.cells[0].clone()));
        r.paired_bundle = Some(qbench_core::schema::Bundle {
            wasm_bytes: 7,
            files: Vec::new(),
            wasm_opt: None,
            build: Some("main".into()),
        });
        for (rounds, caveat) in [
            (1, Some(PAIRED_SINGLE_ROUND)),
            (2, Some(PAIRED_TWO_ROUNDS)),
            (3, None),
        ] {
            r.settings.rounds = rounds;
            let c = paired(&r, 0.05, 1);
            assert_eq!(c.rounds, rounds);
            let text = render(&c);
            for known in [PAIRED_SINGLE_ROUND, PAIRED_TWO_ROUNDS] {
                assert_eq!(
                    text.contains(known),
                    caveat == Some(known),
                    "{rounds} rounds: {text}"
                );
            }
        }
        // Two reports of two rounds each are judged on their rounds: no caveat.
        let c = compare(&r, &r, 0.05, 1, None);
        assert!(!render(&c).contains(PAIRED_TWO_ROUNDS));
    }

    #[test]
    fn a_partial_report_has_cells_not_run_not_regressions() {
        let before = report(vec![
            cell(Precision::F32, Outcome::Ok, &samples(1.0)),
            cell(Precision::F16, Outcome::Ok, &samples(1.0)),
        ]);
        let mut after = report(vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))]);
        after.planned.push(before.cells[1].id());
        after.interrupted = Some("SIGTERM".into());
        let c = compare(&before, &after, 0.05, 1, None);
        assert!(c.partial);
        let f16 = c
            .cells
            .iter()
            .find(|x| x.id.precision == Precision::F16)
            .unwrap();
        assert_eq!(
            (f16.transition, f16.is_regression()),
            (Transition::NotRun, false)
        );
        assert_eq!(c.regressions().count(), 0);
        assert!(render(&c).contains("is partial"));
    }

    #[test]
    fn quality_drops_beyond_half_a_point_regress() {
        let q = |agreement: f64, accuracy: f64| Quality {
            n: 1000,
            top1_agreement_pct: agreement,
            drift_mean: 0.0,
            drift_max: 0.0,
            accuracy_pct: accuracy,
            max_abs_diff_vs_native: None,
        };
        let with = |quality| Cell {
            quality: Some(quality),
            ..cell(Precision::Int8, Outcome::Ok, &samples(1.0))
        };
        let c = compare(
            &report(vec![with(q(99.9, 98.0))]),
            &report(vec![with(q(99.5, 97.6))]),
            0.05,
            1,
            None,
        );
        assert!(
            !c.cells[0].is_regression(),
            "0.4 points is within tolerance"
        );
        let c = compare(
            &report(vec![with(q(99.9, 98.0))]),
            &report(vec![with(q(99.3, 98.0))]),
            0.05,
            1,
            None,
        );
        assert!(c.cells[0].is_regression());
        assert!(
            c.cells[0].describe().contains("quality dropped"),
            "{}",
            c.cells[0].describe()
        );
    }

    #[test]
    fn software_and_hardware_adapters_are_never_compared_for_speed() {
        let env = |architecture: &str, fallback: bool| Environment {
            browser: "firefox".parse().unwrap(),
            webgpu: Some(Adapter {
                architecture: architecture.into(),
                is_fallback_adapter: fallback,
                ..Adapter::default()
            }),
            ..Environment::default()
        };
        let mut before = report(vec![cell(Precision::F32, Outcome::Ok, &samples(1.0))]);
        before.environments.push(env("", true));
        let mut after = report(vec![cell(Precision::F32, Outcome::Ok, &samples(0.1))]);
        after.environments.push(env("ampere", false));
        let c = compare(&before, &after, 0.05, 1, None);
        let LatencyChange::NotComparable(why) = &c.cells[0].latency else {
            panic!("{:?}", c.cells[0].latency)
        };
        assert!(
            why.contains("software adapter") && why.contains("hardware adapter (ampere)"),
            "{why}"
        );
        assert!(!c.cells[0].is_regression());
    }

    #[test]
    fn hosts_are_matched_only_between_multi_host_reports() {
        let on = |host: &str| Cell {
            host: Some(host.into()),
            ..cell(Precision::F32, Outcome::Ok, &samples(1.0))
        };
        // One host each, with different names (a PR's CI machine and main's): matched.
        let c = compare(
            &report(vec![on("ci-1")]),
            &report(vec![on("ci-2")]),
            0.05,
            1,
            None,
        );
        assert_eq!(c.cells.len(), 1);
        assert_eq!(c.cells[0].transition, Transition::Unchanged);
        assert!(c.cells[0].verdict().is_some(), "{:?}", c.cells[0]);
        // Two hosts: each host's cell with its own.
        let c = compare(
            &report(vec![on("a"), on("b")]),
            &report(vec![on("a"), on("b")]),
            0.05,
            1,
            None,
        );
        assert_eq!(c.cells.len(), 2);
        assert!(
            c.cells
                .iter()
                .all(|x| x.transition == Transition::Unchanged)
        );
    }
}
