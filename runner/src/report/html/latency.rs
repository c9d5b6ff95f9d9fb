//! Latency and first-inference charts, a chart per row of the matrix.

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
        let cells: Vec<&Cell> = ok_cells(report, &row).collect();
        let series = precisions(&report.cells)
            .into_iter()
            .map(|p| Series {
                name: p.to_string(),
                color: precision_color(p),
                points: cells
                    .iter()
                    .filter(|c| c.precision == p)
                    .filter_map(|c| {
                        let l = c.latency_ms.as_ref()?;
                        Some(Point {
                            category: batches.iter().position(|b| *b == c.batch)?,
                            value: l.summary.median,
                            interval: Some((l.summary.ci95_low, l.summary.ci95_high)),
                        })
                    })
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
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
