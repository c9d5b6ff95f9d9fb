//! A comparison as Markdown text: the count line, the caveats that apply to
//! how it was measured, then a row per cell, regressions first. The
//! comparison itself is computed in `crate::analysis::compare`.

use std::fmt::Write;

use qbench_core::schema::PairedWith;
use qbench_core::verdict::{Basis, RatioEstimate};

use super::text::markdown as md;
use crate::fmt::significant;
use qbench_core::comparison::{
    CellChange, Comparison, LatencyChange, LearnedFrom, Transition, status,
};

/// A ratio and its interval in the table, with what a single-round interval
/// was widened by after it: `1.070 [1.012, 1.125] (swing)`, or
/// `0.569 [0, ∞) (unbounded)` when nothing bounds it.
fn interval(e: &RatioEstimate) -> String {
    let bounds = match e.basis {
        Basis::Unbounded => "[0, ∞)".to_string(),
        _ => format!("[{:.3}, {:.3}]", e.low, e.high),
    };
    let mark = match e.basis {
        Basis::Peers | Basis::Swing | Basis::History | Basis::Unbounded => {
            format!(" ({})", e.basis.name())
        }
        Basis::Samples | Basis::Rounds | Basis::Pairs => String::new(),
    };
    format!("{:.3} {bounds}{mark}", e.ratio)
}

/// The caveat printed under a comparison of single-round reports.
pub const SINGLE_ROUND: &str = "One side ran a single round: a cell's samples show one browser session, not how much \
separate runs of one build differ (on a shared 2-core machine, by up to ×1.6 on CPU cells). Each interval is widened \
by how far the cell's peers (the simulated precisions of its browser, backend and batch, the same arithmetic in pages of \
their own) differ from one another, and at least by the largest swing of level inside any page of that browser, backend \
and batch (a level moved that far while the code stayed the same); an interval so widened is marked (peers) or (swing), and \
holds with the comparison's other speed verdicts at 95% together, as a gate needs. With fewer \
than two peers on both sides nothing bounds it: it is marked (unbounded) and the cell is unsure. For a gate, run both sides with \
--rounds 3 or more, or pair the builds (--baseline-pkg).\n";

/// The line under a comparison of single rounds that learned from a history.
pub fn learned_line(from: &LearnedFrom) -> String {
    format!(
        "Learned from the history {}: how far pages of each class (host, browser, backend and batch) \
landed apart in {} of its newest runs, pooled with the peers; an interval that spread decided is marked (history). \
`qbench history spread` shows each class's spread and the smallest slowdown it lets a single round call.\n",
        md(&from.source),
        from.runs
    )
}

/// The caveat under a paired comparison of a single round.
pub const PAIRED_SINGLE_ROUND: &str = "One round: the pairs cancel the machine's drift, but not a module's own state \
in its page (in one page a module instance can run up to ×2.4 slower than another, seen on Chromium's CPU cells). \
For a gate, run --rounds 3 or more (the default for paired runs).\n";

/// The caveat under a paired comparison of two rounds.
pub const PAIRED_TWO_ROUNDS: &str = "Two rounds: a cell whose pages land on one of two levels (Firefox's lavapipe \
reads back in steps of about 100 ms) can land the same way in both pages and look like a change of a step, with a \
tight interval (seen: ×1.77 [1.58, 1.98] that four rounds called unsure). For a gate, run --rounds 3 or more (the \
default for paired runs).\n";

/// The line under a paired comparison.
pub fn paired_line(with: PairedWith) -> String {
    format!(
        "Before: {}, warm samples alternating one for one with now's; latency judged on the pairs.\n",
        with.label()
    )
}

/// The comparison as Markdown: a count line, then the cells, regressions first.
pub fn render(c: &Comparison) -> String {
    let mut out = format!("{}\n", c.counts());
    if let Some(with) = c.paired {
        out.push_str(&paired_line(with));
    }
    if c.partial {
        out.push_str(
            "The newer report is partial: cells it lacks are \"not run\", not regressions.\n",
        );
    }
    if c.single_round() {
        out.push_str(if c.paired.is_some() {
            PAIRED_SINGLE_ROUND
        } else {
            SINGLE_ROUND
        });
        if let Some(from) = &c.learned_from {
            out.push_str(&learned_line(from));
        }
    } else if c.paired.is_some() && c.rounds == 2 {
        out.push_str(PAIRED_TWO_ROUNDS);
    }
    let mut sorted: Vec<&CellChange> = c.cells.iter().collect();
    sorted.sort_by_key(|c| (!c.is_regression(), c.transition != Transition::Fix));
    out.push_str(&format!(
        "\n| cell | before | now | median before → now (ms) | ratio now/before [95% CI] | latency (±{:.0}%) | quality (points) | |\n|---|---|---|---|---|---|---|---|\n",
        c.threshold * 100.0
    ));
    for ch in sorted {
        let medians = ch.medians.map_or("–".into(), |(b, a)| {
            format!("{} → {}", significant(b), significant(a))
        });
        let (ratio, latency) = match &ch.latency {
            LatencyChange::Judged(e) => (interval(e), e.verdict.name().to_string()),
            LatencyChange::NotComparable(why) => {
                ("–".into(), format!("not comparable: {}", md(why)))
            }
            LatencyChange::Missing => ("–".into(), "–".into()),
        };
        // Throughput's verdict joins the latency column when it has one.
        let latency = match &ch.throughput {
            LatencyChange::Judged(e) => {
                format!("{latency}; throughput {} {}", interval(e), e.verdict.name())
            }
            _ => latency,
        };
        let quality = ch.quality.map_or("–".into(), |q| {
            format!(
                "agreement {:+.2}, accuracy {:+.2}",
                q.agreement_points, q.accuracy_points
            )
        });
        let flag = if ch.is_regression() {
            "**regression**"
        } else if ch.transition == Transition::Fix {
            "fix"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {medians} | {ratio} | {latency} | {quality} | {flag} |",
            md(&ch.id.to_string()),
            status(ch.before),
            status(ch.after)
        );
    }
    out
}
