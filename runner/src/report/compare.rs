//! Compares a report with an earlier one: which cells changed outcome, and
//! whose median latency moved beyond both 95% confidence intervals.

use std::fmt::Write;

use qbench_core::schema::{Cell, CellKey, Report};

/// How one cell changed between two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The cell.
    pub key: CellKey,
    /// Status before (`None`: the cell was not in the earlier report).
    pub before: Option<&'static str>,
    /// Status now (`None`: the cell is gone).
    pub after: Option<&'static str>,
    /// Median now / median before, when both were measured.
    pub median_ratio: Option<f64>,
    /// `slower` / `faster` when the confidence intervals do not overlap, else `same`.
    pub latency: &'static str,
}

impl Change {
    /// Whether a cell that worked before no longer does.
    pub fn is_regression(&self) -> bool {
        self.before == Some("ok") && self.after != Some("ok") || self.latency == "slower"
    }
}

fn find<'a>(cells: &'a [Cell], key: &CellKey) -> Option<&'a Cell> {
    cells.iter().find(|c| &c.key() == key)
}

/// Every cell of either report, matched by browser, backend, precision and batch.
pub fn changes(before: &Report, after: &Report) -> Vec<Change> {
    let mut keys: Vec<CellKey> = after.cells.iter().map(Cell::key).collect();
    keys.extend(before.cells.iter().map(Cell::key).filter(|k| find(&after.cells, k).is_none()));
    keys.into_iter()
        .map(|key| {
            let (old, new) = (find(&before.cells, &key), find(&after.cells, &key));
            let (lo, hi) = (old.and_then(|c| c.latency_ms.as_ref()), new.and_then(|c| c.latency_ms.as_ref()));
            let (median_ratio, latency) = match (lo, hi) {
                (Some(o), Some(n)) => {
                    let verdict = if n.summary.ci95_low > o.summary.ci95_high {
                        "slower"
                    } else if n.summary.ci95_high < o.summary.ci95_low {
                        "faster"
                    } else {
                        "same"
                    };
                    (Some(n.summary.median / o.summary.median), verdict)
                }
                _ => (None, "–"),
            };
            Change { key, before: old.map(|c| c.outcome.status()), after: new.map(|c| c.outcome.status()), median_ratio, latency }
        })
        .collect()
}

/// The comparison as a Markdown table, regressions first.
pub fn render(changes: &[Change]) -> String {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| !c.is_regression());
    let mut out = String::from("| browser | backend | precision | batch | before | after | median now/before | latency |\n|---|---|---|---|---|---|---|---|\n");
    for c in sorted {
        let (browser, backend, precision, batch) = &c.key;
        let _ = writeln!(
            out,
            "| {browser} | {backend} | {precision} | {batch} | {} | {} | {} | {}{} |",
            c.before.unwrap_or("absent"),
            c.after.unwrap_or("absent"),
            c.median_ratio.map_or("–".into(), |r| format!("{r:.3}")),
            c.latency,
            if c.is_regression() { " **regression**" } else { "" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Latency, Outcome, RunSettings};
    use qbench_core::stats::Summary;
    use qbench_core::{Backend, Precision};

    fn report(cells: Vec<Cell>) -> Report {
        let settings = RunSettings { warmup: 1, warmup_ms: 0, samples: 5, time_per_cell_ms: 1, timeout_per_cell_ms: 1, quality_inputs: 1 };
        let mut r = Report::new("0", 0, settings);
        r.cells = cells;
        r
    }

    fn cell(precision: Precision, outcome: Outcome, samples: &[f64]) -> Cell {
        let mem = qbench_model::weights::memory(precision);
        let mut c = Cell::new("firefox", Backend::Webgpu, precision, 1, mem);
        c.outcome = outcome;
        if !samples.is_empty() {
            c.latency_ms = Some(Latency { first: 1.0, summary: Summary::from_samples(samples).unwrap(), raw: samples.to_vec() });
        }
        c
    }

    #[test]
    fn status_and_latency_changes() {
        let fast: Vec<f64> = (0..10).map(|i| 10.0 + f64::from(i) * 0.1).collect();
        let slow: Vec<f64> = fast.iter().map(|v| v * 2.0).collect();
        let before = report(vec![
            cell(Precision::F32, Outcome::Ok, &fast),
            cell(Precision::F16, Outcome::Ok, &fast),
            cell(Precision::Int8, Outcome::Ok, &fast),
        ]);
        let after = report(vec![
            cell(Precision::F32, Outcome::Ok, &slow),
            cell(Precision::F16, Outcome::Timeout { message: "x".into() }, &[]),
            cell(Precision::F16Native, Outcome::Ok, &fast),
        ]);
        let c = changes(&before, &after);
        assert_eq!(c.len(), 4);
        assert_eq!((c[0].latency, c[0].median_ratio), ("slower", Some(2.0)));
        assert!(c[0].is_regression());
        assert_eq!((c[1].before, c[1].after), (Some("ok"), Some("timeout")));
        assert!(c[1].is_regression());
        assert_eq!((c[2].before, c[2].after, c[2].is_regression()), (None, Some("ok"), false));
        assert_eq!((c[3].before, c[3].after), (Some("ok"), None));
        assert!(c[3].is_regression(), "a cell that disappeared is a regression");
        let md = render(&c);
        assert_eq!(md.matches("**regression**").count(), 3);
        assert!(md.contains("| firefox | webgpu | f32 | 1 | ok | ok | 2.000 | slower **regression** |"), "{md}");
    }
}
