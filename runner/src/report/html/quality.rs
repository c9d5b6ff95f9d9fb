//! Quality per precision: agreement with float32, accuracy, confidence drift.

use std::fmt::Write;

use qbench_core::schema::Report;

use super::*;
use crate::report::charts::{Chart, Kind, Point, Series};

/// What a quality chart plots of a cell's quality: a value and its interval.
pub(super) type QualityValue =
    dyn Fn(&qbench_core::quality::Quality) -> Option<(f64, Option<(f64, f64)>)>;

/// A series per row of the matrix, a point per precision, of what `f` plots.
fn quality_series(report: &Report, f: &QualityValue) -> Vec<Series> {
    let multi_host = report.hosts().len() > 1;
    let ps = precisions(&report.cells);
    let per_row = |row: &Row| {
        ps.iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let q = ok_cells(report, row)
                    .filter(|c| c.precision == *p)
                    .find_map(|c| c.quality)?;
                let (value, interval) = f(&q)?;
                Some(Point {
                    category: i,
                    value,
                    interval,
                })
            })
            .collect::<Vec<_>>()
    };
    rows(&report.cells)
        .iter()
        .enumerate()
        .map(|(k, row)| Series {
            name: row_name(row, multi_host),
            color: PALETTE[k % PALETTE.len()],
            points: per_row(row),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The quality section: agreement and drift charts, then the table.
pub(super) fn quality(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("quality", "Quality versus float32");
    let categories: Vec<String> = precisions(&report.cells)
        .iter()
        .map(|p| p.to_string())
        .collect();
    let agreement = quality_series(report, &|q| Some((q.top1_agreement_pct, None)));
    let lowest = agreement
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.value)
        .fold(100.0_f64, f64::min);
    page.push("<p class=\"meta\">Top-1 agreement with the same backend's float32 on the held-out digits, and the drift of the top probability (marker: mean, whisker up to the largest); float32 itself has no drift and is left off the log scale.</p><div class=\"charts\">");
    page.chart(
        "quality-agreement",
        &Chart {
            title: "top-1 agreement with float32".into(),
            y_label: "%".into(),
            categories: categories.clone(),
            log: false,
            y_range: Some(((lowest - 2.0).floor().max(0.0), 100.5)),
            kind: Kind::Bars,
            series: agreement,
            references: None,
        },
        "Top-1 agreement per precision.",
    )?;
    page.chart(
        "quality-drift",
        &Chart {
            title: "drift of the top probability".into(),
            y_label: "|Δp|".into(),
            categories,
            log: true,
            y_range: None,
            kind: Kind::Whiskers,
            series: quality_series(report, &|q| {
                (q.drift_mean > 0.0).then_some((q.drift_mean, Some((q.drift_mean, q.drift_max))))
            }),
            references: None,
        },
        "Mean drift, whisker up to the largest.",
    )?;
    quality_table(page, report);
    Ok(())
}

/// A row per matrix row and precision with quality.
fn quality_table(page: &mut Page, report: &Report) {
    let multi_host = report.hosts().len() > 1;
    let ps = precisions(&report.cells);
    page.push("</div><table><tr><th>cell</th><th>inputs</th><th>top-1 agreement</th><th>accuracy</th><th>mean drift</th><th>max drift</th><th>max |Δp| vs native f32</th></tr>");
    for row in &rows(&report.cells) {
        for p in &ps {
            if let Some(q) = ok_cells(report, row)
                .filter(|c| c.precision == *p)
                .find_map(|c| c.quality)
            {
                let _ = write!(
                    page.body,
                    "<tr><td>{} {p}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}%</td><td class=\"num\">{:.2}%</td><td class=\"num\">{:.2e}</td><td class=\"num\">{:.2e}</td><td class=\"num\">{}</td></tr>",
                    esc(&row_name(row, multi_host)),
                    q.n,
                    q.top1_agreement_pct,
                    q.accuracy_pct,
                    q.drift_mean,
                    q.drift_max,
                    q.max_abs_diff_vs_native
                        .map_or("–".into(), |d| format!("{d:.2e}"))
                );
            }
        }
    }
    page.push("</table>");
}
