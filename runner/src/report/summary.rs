//! A short Markdown summary for a CI step: the verdict in one line, the
//! compatibility matrix with unexpected cells marked, regressions and fixes
//! against the earlier report, and the slowest cells.

use qbench_core::schema::{Cell, PairedWith, Report, Status};
use std::fmt::Write;

use super::markdown;
use super::text::markdown as md;
use crate::fmt::significant;
use qbench_core::comparison::Comparison;

/// How many of the slowest cells are listed.
const SLOWEST: usize = 5;

/// Renders the summary.
pub fn render(report: &Report, comparison: Option<&Comparison>) -> String {
    let mut out = String::from("## qbench\n\n");
    let count = |s: Status| {
        report
            .cells
            .iter()
            .filter(|c| c.outcome.kind() == s)
            .count()
    };
    let unexpected = report.unexpected();
    let _ = writeln!(
        out,
        "{} cells: {} ok, {} unsupported, {} error, {} timeout. {}{}\n",
        report.cells.len(),
        count(Status::Ok),
        count(Status::Unsupported),
        count(Status::Error),
        count(Status::Timeout),
        if unexpected.is_empty() {
            "**Everything as expected.**".to_string()
        } else {
            format!("**{} unexpected.**", unexpected.len())
        },
        if report.is_complete() {
            ""
        } else {
            " The run is partial: some planned cells did not run."
        }
    );
    markdown::compatibility(&mut out, report);
    if let Some(c) = comparison {
        let against = c.paired.map_or("the earlier report", PairedWith::label);
        let _ = writeln!(out, "### Against {against}\n\n{}\n", c.counts());
        for (title, rows) in [
            ("Regressions", c.regressions().collect::<Vec<_>>()),
            ("Fixes", c.fixes().collect()),
        ] {
            if !rows.is_empty() {
                let _ = writeln!(out, "**{title}**\n");
                for r in rows {
                    let _ = writeln!(out, "- {}: {}", md(&r.id.to_string()), md(&r.describe()));
                }
                let _ = writeln!(out);
            }
        }
    }
    let mut measured: Vec<&Cell> = report
        .cells
        .iter()
        .filter(|c| c.latency_ms.is_some())
        .collect();
    measured.sort_by(|a, b| median(b).total_cmp(&median(a)));
    if !measured.is_empty() {
        let _ = writeln!(out, "### Slowest cells (median ms per inference)\n");
        for c in measured.iter().take(SLOWEST) {
            let _ = writeln!(
                out,
                "- {}: {} ms",
                md(&c.id().to_string()),
                significant(median(c))
            );
        }
        let _ = writeln!(out);
    }
    out
}

fn median(c: &Cell) -> f64 {
    c.latency_ms.as_ref().map_or(0.0, |l| l.summary.median)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Latency, Outcome};
    use qbench_core::stats::Summary;
    use qbench_core::{Backend, Precision};

    #[test]
    fn summary_counts_marks_and_lists_the_slowest() {
        let mut r = Report::new("0", "2026-11-28T00:00:00Z", crate::testing::settings());
        for (p, outcome, ms) in [
            (Precision::F32, Outcome::Ok, 5.0),
            (Precision::F16, Outcome::Ok, 50.0),
            (
                Precision::Int8,
                Outcome::Timeout {
                    message: "x".into(),
                },
                0.0,
            ),
        ] {
            let mut c = Cell::new(
                "chromium".parse().unwrap(),
                Backend::Cpu,
                p,
                1,
                qbench_model::weights::memory(p),
            );
            if ms > 0.0 {
                c.latency_ms = Some(Latency {
                    first: ms,
                    summary: Summary::from_samples(&[ms]).unwrap(),
                    raw: vec![ms],
                });
            }
            c.outcome = outcome;
            r.planned.push(c.id());
            r.cells.push(c);
        }
        r.finished = Some("2026-11-28T00:01:00Z".into());
        let md = render(&r, None);
        assert!(
            md.contains("3 cells: 2 ok, 0 unsupported, 0 error, 1 timeout. **1 unexpected.**"),
            "{md}"
        );
        assert!(
            md.contains("| chromium | cpu | 1 | ok | ok | **timeout** ✗ |"),
            "{md}"
        );
        let slowest = md.split("### Slowest").nth(1).unwrap();
        assert!(
            slowest.find("f16").unwrap() < slowest.find("f32").unwrap(),
            "{md}"
        );
    }
}
