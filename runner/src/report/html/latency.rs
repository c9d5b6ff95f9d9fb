//! Latency, throughput and first-inference charts, a chart per row of the matrix.

use qbench_core::Precision;
use qbench_core::schema::{Cell, Report, Status};

use super::*;
use crate::report::charts::{Chart, Kind, Point, Reference, Series};

pub(super) fn ok_cells<'a>(report: &'a Report, row: &'a Row) -> impl Iterator<Item = &'a Cell> {
    report.cells.iter().filter(move |c| {
        c.host == row.0
            && c.browser == row.1
            && c.backend == row.2
            && c.outcome.kind() == Status::Ok
    })
}

pub(super) fn slug(row: &Row) -> String {
    let mut s = format!("{}-{}", row.1, row.2);
    if let Some(h) = &row.0 {
        s = format!("{h}-{s}");
    }
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

pub(super) fn latency(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("latency", "Latency");
    page.push("<p class=\"meta\">Median per inference with its 95% confidence interval as whiskers, readback included; log scale. The dashed line is the native float32 reference at that batch.</p><div class=\"charts\">");
    let multi_host = report.hosts().len() > 1;
    let batches = batches(&report.cells);
    for row in rows(&report.cells) {
        let series = per_precision(report, &row, &batches, |c| {
            c.latency_ms.as_ref().map(|l| &l.summary)
        });
        let references: Vec<Reference> = batches
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let base = report.baseline.iter().find(|c| {
                    c.precision == Precision::F32 && c.batch == *b && c.latency_ms.is_some()
                })?;
                Some(Reference {
                    category: i,
                    value: base.latency_ms.as_ref()?.summary.median,
                })
            })
            .collect();
        let chart = Chart {
            title: format!("{} latency", row_name(&row, multi_host)),
            y_label: "ms per inference".into(),
            categories: batches.iter().map(|b| format!("batch {b}")).collect(),
            log: true,
            y_range: None,
            kind: Kind::Whiskers,
            series,
            references: (!references.is_empty()).then(|| ("native f32".to_string(), references)),
        };
        page.chart(
            &format!("latency-{}", slug(&row)),
            &chart,
            &format!("{}: one series per precision.", row_name(&row, multi_host)),
        )?;
    }
    page.push("</div>");
    Ok(())
}

/// One series per precision of `row`'s `ok` cells: `summary`'s median with
/// its interval, one point per batch.
fn per_precision(
    report: &Report,
    row: &Row,
    batches: &[u32],
    summary: impl Fn(&Cell) -> Option<&qbench_core::stats::Summary>,
) -> Vec<Series> {
    let cells: Vec<&Cell> = ok_cells(report, row).collect();
    precisions(&report.cells)
        .into_iter()
        .map(|p| Series {
            name: p.to_string(),
            color: precision_color(p),
            points: cells
                .iter()
                .filter(|c| c.precision == p)
                .filter_map(|c| {
                    let s = summary(c)?;
                    Some(Point {
                        category: batches.iter().position(|b| *b == c.batch)?,
                        value: s.median,
                        interval: Some((s.ci95_low, s.ci95_high)),
                    })
                })
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// Pipelined throughput (WebGPU rows that measured it), a chart per row;
/// no section when no cell measured it.
pub(super) fn throughput(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    if report.cells.iter().all(|c| c.throughput_ms.is_none()) {
        return Ok(());
    }
    page.section("throughput", "Pipelined throughput");
    page.push("<p class=\"meta\">Median cost of one more inference when many are queued back to back and read back once, with its 95% confidence interval; log scale. The readback and its wait cancel out, so where latency sits on the adapter's readback floor this still moves (how it is taken: <a href=\"#time\">Where the time goes</a>).</p><div class=\"charts\">");
    let multi_host = report.hosts().len() > 1;
    let batches = batches(&report.cells);
    for row in rows(&report.cells) {
        let series = per_precision(report, &row, &batches, |c| {
            c.throughput_ms.as_ref().map(|t| &t.summary)
        });
        if series.is_empty() {
            continue;
        }
        let chart = Chart {
            title: format!("{} throughput", row_name(&row, multi_host)),
            y_label: "ms per queued inference".into(),
            categories: batches.iter().map(|b| format!("batch {b}")).collect(),
            log: true,
            y_range: None,
            kind: Kind::Whiskers,
            series,
            references: None,
        };
        page.chart(
            &format!("throughput-{}", slug(&row)),
            &chart,
            &format!(
                "{}: pipelined throughput, one series per precision.",
                row_name(&row, multi_host)
            ),
        )?;
    }
    page.push("</div>");
    Ok(())
}

pub(super) fn first_inference(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("first", "First inference and steady state");
    page.push("<p class=\"meta\">The first inference (pipeline and shader compilation, weight upload) beside the steady-state median, smallest batch, log scale.</p><div class=\"charts\">");
    let multi_host = report.hosts().len() > 1;
    let Some(batch) = batches(&report.cells).first().copied() else {
        page.push("</div>");
        return Ok(());
    };
    for row in rows(&report.cells) {
        let cells: Vec<&Cell> = ok_cells(report, &row)
            .filter(|c| c.batch == batch)
            .collect();
        let ps = precisions(&report.cells);
        let pick = |f: fn(&qbench_core::schema::Latency) -> f64| -> Vec<Point> {
            cells
                .iter()
                .filter_map(|c| {
                    Some(Point {
                        category: ps.iter().position(|p| *p == c.precision)?,
                        value: f(c.latency_ms.as_ref()?),
                        interval: None,
                    })
                })
                .collect()
        };
        let chart = Chart {
            title: format!(
                "{} first vs steady, batch {batch}",
                row_name(&row, multi_host)
            ),
            y_label: "ms".into(),
            categories: ps.iter().map(|p| p.to_string()).collect(),
            log: true,
            y_range: None,
            kind: Kind::Bars,
            series: vec![
                Series {
                    name: "first inference".into(),
                    color: 0xd62728,
                    points: pick(|l| l.first),
                },
                Series {
                    name: "steady median".into(),
                    color: 0x1f77b4,
                    points: pick(|l| l.summary.median),
                },
            ],
            references: None,
        };
        page.chart(
            &format!("first-{}", slug(&row)),
            &chart,
            &format!(
                "{}: first inference against the steady median.",
                row_name(&row, multi_host)
            ),
        )?;
    }
    page.push("</div>");
    Ok(())
}
