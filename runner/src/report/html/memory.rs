//! Weight memory per precision: stored bytes, estimates and what the device reported.

use std::fmt::Write;

use qbench_core::Precision;
use qbench_core::schema::Report;

use super::*;
use crate::fmt::human_bytes;
use crate::report::charts::{Chart, Kind, Point, Series};

/// Estimated bytes of a precision's weights and scales, from any of its cells.
fn estimate(report: &Report, p: Precision) -> Option<u64> {
    report
        .cells
        .iter()
        .find(|c| c.precision == p)
        .map(|c| c.memory.estimated_weight_bytes + c.memory.estimated_scale_bytes)
}

/// The memory section: a chart of estimated against measured bytes, then the table.
pub(super) fn memory(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("memory", "Weight memory");
    page.push("<p class=\"meta\">Estimated bytes are parameters × bytes per weight plus int8 scales; measured bytes are what the backend holds on its device after loading the weights (burn's memory pool on WebGPU).</p><div class=\"charts\">");
    let chart = Chart {
        title: "weight memory".into(),
        y_label: "bytes".into(),
        categories: precisions(&report.cells)
            .iter()
            .map(|p| p.to_string())
            .collect(),
        log: false,
        y_range: None,
        kind: Kind::Bars,
        series: memory_series(report),
        references: None,
    };
    page.chart(
        "memory",
        &chart,
        "Estimated against measured weight bytes per precision.",
    )?;
    memory_table(page, report);
    Ok(())
}

/// The estimate, then what each row measured, per precision.
fn memory_series(report: &Report) -> Vec<Series> {
    let multi_host = report.hosts().len() > 1;
    let ps = precisions(&report.cells);
    let mut series = vec![Series {
        name: "estimated (weights + scales)".into(),
        color: 0x7f7f7f,
        points: ps
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Some(Point {
                    category: i,
                    value: estimate(report, *p)? as f64,
                    interval: None,
                })
            })
            .collect(),
    }];
    for (k, row) in rows(&report.cells).iter().enumerate() {
        let mut points = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            if let Some(m) = ok_cells(report, row)
                .filter(|c| c.precision == *p)
                .find_map(|c| c.memory.measured_bytes)
            {
                points.push(Point {
                    category: i,
                    value: m as f64,
                    interval: None,
                });
            }
        }
        if !points.is_empty() {
            series.push(Series {
                name: format!("measured, {}", row_name(row, multi_host)),
                color: PALETTE[(k + 1) % PALETTE.len()],
                points,
            });
        }
    }
    series
}

/// The table: a row per precision, its estimate and each row's measured bytes.
fn memory_table(page: &mut Page, report: &Report) {
    let multi_host = report.hosts().len() > 1;
    page.push("</div><table><tr><th>precision</th><th>estimated</th>");
    let measured_rows: Vec<Row> = rows(&report.cells)
        .into_iter()
        .filter(|r| ok_cells(report, r).any(|c| c.memory.measured_bytes.is_some()))
        .collect();
    for r in &measured_rows {
        let _ = write!(
            page.body,
            "<th>measured, {}</th>",
            esc(&row_name(r, multi_host))
        );
    }
    page.push("</tr>");
    for p in &precisions(&report.cells) {
        let _ = write!(
            page.body,
            "<tr><td>{p}</td><td class=\"num\">{}</td>",
            estimate(report, *p).map_or("–".into(), human_bytes)
        );
        for r in &measured_rows {
            let m = ok_cells(report, r)
                .filter(|c| c.precision == *p)
                .find_map(|c| c.memory.measured_bytes);
            let _ = write!(
                page.body,
                "<td class=\"num\">{}</td>",
                m.map_or("–".into(), human_bytes)
            );
        }
        page.push("</tr>");
    }
    page.push("</table>");
}
