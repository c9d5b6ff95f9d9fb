//! The history of runs: recent runs, each cell's trend and status strip.

use std::collections::BTreeMap;
use std::fmt::Write;

use qbench_core::schema::Status;
use qbench_core::{Agent, Backend, Precision};

use super::*;
use crate::history::store::{HistoryView, TrendRow};
use crate::report::charts::{Chart, Kind, Point, Series};

/// The history section: a trend chart per row and batch, then the status strip.
pub(super) fn history(page: &mut Page, h: &HistoryView) -> anyhow::Result<()> {
    page.section("history", "History");
    let _ = write!(
        page.body,
        "<p class=\"meta\">The last {} runs in <code>{}</code>: each cell's median over the runs (log scale), and its status per run, oldest on the left.</p><div class=\"charts\">",
        h.runs.len(),
        esc(&h.source)
    );
    let categories = trend_charts(page, h)?;
    status_strip(page, h, &categories);
    Ok(())
}

/// One chart per host × browser × backend × batch, one line per precision;
/// returns the runs' names (the charts' categories).
fn trend_charts(page: &mut Page, h: &HistoryView) -> anyhow::Result<Vec<String>> {
    let run_index: BTreeMap<i64, usize> =
        h.runs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let categories: Vec<String> = h
        .runs
        .iter()
        .map(|r| format!("#{} {}", r.id, r.started.get(5..10).unwrap_or(&r.started)))
        .collect();
    // One chart per host × browser × backend × batch, one line per precision.
    let mut groups: BTreeMap<(Option<String>, Agent, Backend, u32), Vec<&TrendRow>> =
        BTreeMap::new();
    for t in &h.trend {
        groups
            .entry((t.id.host.clone(), t.id.browser, t.id.backend, t.id.batch))
            .or_default()
            .push(t);
    }
    for ((host, browser, backend, batch), points) in &groups {
        let series: Vec<Series> = Precision::ALL
            .iter()
            .map(|p| Series {
                name: p.to_string(),
                color: precision_color(*p),
                points: points
                    .iter()
                    .filter(|t| t.id.precision == *p && t.status == Status::Ok.name())
                    .filter_map(|t| {
                        let (m, lo, hi) = t.median?;
                        Some(Point {
                            category: *run_index.get(&t.run)?,
                            value: m,
                            interval: Some((lo, hi)),
                        })
                    })
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let name = match host {
            Some(h) if !h.is_empty() => format!("{h} {browser} {backend} batch {batch}"),
            _ => format!("{browser} {backend} batch {batch}"),
        };
        page.chart(
            &format!(
                "history-{}-b{batch}",
                slug(&(host.clone(), *browser, *backend))
            ),
            &Chart {
                title: format!("{name} over runs"),
                y_label: "median ms".into(),
                categories: categories.clone(),
                log: true,
                y_range: None,
                kind: Kind::Lines,
                series,
                references: None,
            },
            &format!("{name}: median per run, one line per precision."),
        )?;
    }
    Ok(categories)
}

/// Each cell's status per run, oldest on the left.
fn status_strip(page: &mut Page, h: &HistoryView, categories: &[String]) {
    page.push("</div><table class=\"strip\"><tr><th>cell</th>");
    for c in categories {
        let _ = write!(
            page.body,
            "<th title=\"{0}\">{1}</th>",
            esc(c),
            esc(c.split(' ').next().unwrap_or(c))
        );
    }
    page.push("</tr>");
    let mut by_cell: BTreeMap<&str, Vec<&TrendRow>> = BTreeMap::new();
    for t in &h.trend {
        by_cell.entry(&t.cell).or_default().push(t);
    }
    for (cell, runs) in by_cell {
        let _ = write!(page.body, "<tr><td class=\"name\">{}</td>", esc(cell));
        for r in &h.runs {
            match runs.iter().find(|t| t.run == r.id) {
                Some(t) => {
                    let _ = write!(
                        page.body,
                        "<td class=\"st-{}\" title=\"run #{} {}: {}{}\"></td>",
                        esc(&t.status),
                        r.id,
                        esc(&r.started),
                        esc(&t.status),
                        t.median
                            .map_or(String::new(), |(m, _, _)| format!(", median {m:.3} ms"))
                    );
                }
                None => page.push("<td class=\"st-missing\" title=\"not in this run\"></td>"),
            }
        }
        page.push("</tr>");
    }
    page.push("</table>");
}
