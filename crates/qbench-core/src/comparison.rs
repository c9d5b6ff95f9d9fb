//! The comparison of two reports as data: each cell's transition, latency
//! verdict and quality change, and the counts. `comparison.json` is this,
//! serialised. The runner computes it (`analysis::compare`); its exporters
//! format it.

use crate::matrix::named_enum;
use crate::schema::{CellId, PairedWith, Status};
use crate::verdict::{RatioEstimate, Verdict};

/// A drop of top-1 agreement or accuracy larger than this many points is a regression.
pub const QUALITY_POINTS: f64 = 0.5;

named_enum!(
    /// How a cell's outcome changed, named as in `comparison.json`.
    Transition, "transition", {
        /// Same status as before.
        Unchanged => "unchanged",
        /// Was `ok`, is not any more.
        Breakage => "breakage",
        /// Was not `ok`, is now.
        Fix => "fix",
        /// Another non-`ok` status than before (e.g. error → timeout).
        Changed => "changed",
        /// Not in the newer report (a partial run, or left out of the matrix).
        NotRun => "not_run",
        /// Not in the earlier report.
        New => "new",
    }
);

/// What the latency samples say.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyChange {
    /// Both measured and comparable: the ratio new/old and its verdict.
    Judged(RatioEstimate),
    /// Both measured, but no speed verdict may be given; why.
    NotComparable(String),
    /// One side has no latency.
    Missing,
}

/// Top-1 agreement and accuracy, now minus before, percentage points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityChange {
    /// Change of top-1 agreement with float32.
    pub agreement_points: f64,
    /// Change of accuracy.
    pub accuracy_points: f64,
}

impl QualityChange {
    /// Either dropped by more than [`QUALITY_POINTS`].
    pub fn is_regression(&self) -> bool {
        self.agreement_points < -QUALITY_POINTS || self.accuracy_points < -QUALITY_POINTS
    }
}

/// One cell of either report.
#[derive(Debug, Clone, PartialEq)]
pub struct CellChange {
    /// The cell (host left out when both reports have one host each).
    pub id: CellId,
    /// Status before (`None`: not in the earlier report).
    pub before: Option<Status>,
    /// Status now (`None`: not run).
    pub after: Option<Status>,
    /// How the status changed.
    pub transition: Transition,
    /// Median before and now, ms.
    pub medians: Option<(f64, f64)>,
    /// What the latency samples say.
    pub latency: LatencyChange,
    /// What the pipelined-throughput samples say (WebGPU cells that measured it).
    pub throughput: LatencyChange,
    /// Quality change, when both have quality.
    pub quality: Option<QualityChange>,
}

impl CellChange {
    /// A breakage, a slower verdict (latency or throughput), or a quality drop.
    pub fn is_regression(&self) -> bool {
        self.transition == Transition::Breakage
            || self.verdict() == Some(Verdict::Slower)
            || self.throughput_verdict() == Some(Verdict::Slower)
            || self.quality.is_some_and(|q| q.is_regression())
    }

    /// The throughput verdict, when there is one.
    pub fn throughput_verdict(&self) -> Option<Verdict> {
        match &self.throughput {
            LatencyChange::Judged(e) => Some(e.verdict),
            _ => None,
        }
    }

    /// The latency verdict, when there is one.
    pub fn verdict(&self) -> Option<Verdict> {
        match &self.latency {
            LatencyChange::Judged(e) => Some(e.verdict),
            _ => None,
        }
    }

    /// One line on what regressed.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if matches!(
            self.transition,
            Transition::Breakage | Transition::Fix | Transition::Changed
        ) {
            parts.push(format!(
                "{} ({} → {})",
                self.transition.name(),
                status(self.before),
                status(self.after)
            ));
        }
        for (what, change) in [("", &self.latency), ("throughput ", &self.throughput)] {
            if let LatencyChange::Judged(e) = change
                && matches!(e.verdict, Verdict::Slower | Verdict::Faster)
            {
                parts.push(format!(
                    "{what}{} ×{:.3} [{:.3}, {:.3}]",
                    e.verdict.name(),
                    e.ratio,
                    e.low,
                    e.high
                ));
            }
        }
        if let Some(q) = self.quality.filter(QualityChange::is_regression) {
            parts.push(format!(
                "quality dropped (agreement {:+.2}, accuracy {:+.2} points)",
                q.agreement_points, q.accuracy_points
            ));
        }
        parts.join("; ")
    }
}

/// A status as the comparison names it (`absent` when the cell is not there).
pub fn status(s: Option<Status>) -> &'static str {
    s.map_or("absent", Status::name)
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Every cell of either report.
    pub cells: Vec<CellChange>,
    /// The minimum effect, fraction (0.05 = 5%).
    pub threshold: f64,
    /// Whether the newer report is partial (interrupted, or cells missing).
    pub partial: bool,
    /// The fewer rounds of the two sides (`settings.rounds`).
    pub rounds: u32,
    /// What the sides were measured against in the same pages, sample for
    /// sample alternately (`run --baseline-pkg`, `--baseline-tfjs`), and judged
    /// as pairs; `None` for two reports.
    pub paired: Option<PairedWith>,
    /// The history single-round intervals learned the spread of pages from
    /// (`--history`); `None` when none was given.
    pub learned_from: Option<LearnedFrom>,
}

/// Where a comparison learned how far pages of one class land apart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LearnedFrom {
    /// The history, as given (a path).
    pub source: String,
    /// Runs of its window that had pages (the compared reports' own left out).
    pub runs: usize,
}

impl Comparison {
    /// The cells that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &CellChange> {
        self.cells.iter().filter(|c| c.is_regression())
    }

    /// The cells that were fixed.
    pub fn fixes(&self) -> impl Iterator<Item = &CellChange> {
        self.cells
            .iter()
            .filter(|c| c.transition == Transition::Fix)
    }

    /// Whether either report ran a single round: then an interval shows the
    /// samples of one browser session, not how much separate runs differ.
    pub fn single_round(&self) -> bool {
        self.rounds < 2
    }

    /// How many cells regressed, were fixed, have each latency verdict, were
    /// not comparable or not run.
    pub fn tally(&self) -> Counts {
        let count = |v: Verdict| self.cells.iter().filter(|c| c.verdict() == Some(v)).count();
        Counts {
            regressions: self.regressions().count(),
            fixes: self.fixes().count(),
            slower: count(Verdict::Slower),
            faster: count(Verdict::Faster),
            same: count(Verdict::Same),
            unsure: count(Verdict::Unsure),
            not_comparable: self
                .cells
                .iter()
                .filter(|c| matches!(c.latency, LatencyChange::NotComparable(_)))
                .count(),
            not_run: self
                .cells
                .iter()
                .filter(|c| c.transition == Transition::NotRun)
                .count(),
        }
    }

    /// The count line: [`Comparison::tally`] in words, then the throughput
    /// verdicts when any cell has one.
    pub fn counts(&self) -> String {
        let t = self.tally();
        let throughput = |v: Verdict| {
            self.cells
                .iter()
                .filter(|c| c.throughput_verdict() == Some(v))
                .count()
        };
        let judged: usize = Verdict::ALL.iter().map(|&v| throughput(v)).sum();
        let extra = if judged == 0 {
            String::new()
        } else {
            format!(
                "; throughput: {} slower, {} faster, {} same, {} unsure",
                throughput(Verdict::Slower),
                throughput(Verdict::Faster),
                throughput(Verdict::Same),
                throughput(Verdict::Unsure)
            )
        };
        format!(
            "{} regressions, {} fixes; latency: {} slower, {} faster, {} same, {} unsure, {} not comparable; {} not run{extra}",
            t.regressions,
            t.fixes,
            t.slower,
            t.faster,
            t.same,
            t.unsure,
            t.not_comparable,
            t.not_run
        )
    }
}

/// How many cells of a comparison fall in each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Breakages, `slower` verdicts and quality drops.
    pub regressions: usize,
    /// Cells not `ok` before and `ok` now.
    pub fixes: usize,
    /// `slower` verdicts.
    pub slower: usize,
    /// `faster` verdicts.
    pub faster: usize,
    /// `same` verdicts.
    pub same: usize,
    /// `unsure` verdicts.
    pub unsure: usize,
    /// Cells measured on both sides but not comparable.
    pub not_comparable: usize,
    /// Cells the newer report lacks.
    pub not_run: usize,
}
