//! The compatibility matrix (a row per host × browser × backend, a column per precision × batch) and the problems list.

use std::fmt::Write;

use qbench_core::schema::{Cell, Report, Status};
use qbench_core::{Agent, Backend, Precision};

use super::*;

/// host × browser × backend, in order of first appearance.
pub(super) type Row = (Option<String>, Agent, Backend);

pub(super) fn rows(cells: &[Cell]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for c in cells {
        let key = (c.host.clone(), c.browser, c.backend);
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    rows
}

pub(super) fn row_name((host, browser, backend): &Row, multi_host: bool) -> String {
    match host {
        Some(h) if multi_host => format!("{h} {browser} {backend}"),
        _ => format!("{browser} {backend}"),
    }
}

pub(super) fn precisions(cells: &[Cell]) -> Vec<Precision> {
    Precision::ALL
        .iter()
        .copied()
        .filter(|p| cells.iter().any(|c| c.precision == *p))
        .collect()
}

pub(super) fn batches(cells: &[Cell]) -> Vec<u32> {
    let mut b: Vec<u32> = cells.iter().map(|c| c.batch).collect();
    b.sort_unstable();
    b.dedup();
    b
}

pub(super) fn entry(c: &Cell) -> String {
    let mut title = format!("{}\nstatus: {}", c.id(), c.outcome.status());
    if let Some(r) = c.outcome.reason() {
        let _ = write!(title, "\nreason: {r}");
    }
    if let Some(l) = &c.latency_ms {
        let _ = write!(
            title,
            "\nmedian {:.3} ms, 95% CI {:.3}–{:.3}, {} samples; first {:.2} ms",
            l.summary.median, l.summary.ci95_low, l.summary.ci95_high, l.summary.samples, l.first
        );
    }
    if let Some(j) = &c.expectation {
        let expected: Vec<&str> = j.expected.iter().map(|s| s.name()).collect();
        let _ = write!(
            title,
            "\nexpected {}: {}{}",
            expected.join(" or "),
            j.verdict.name(),
            j.reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"))
        );
    }
    if c.flaky {
        let _ = write!(title, "\nflaky: passed on attempt {}", c.attempts);
    }
    let text = match (&c.outcome.kind(), &c.latency_ms) {
        (Status::Ok, Some(l)) => format!("{} ms", short_ms(l.summary.median)),
        (s, _) => s.name().to_string(),
    };
    format!(
        "<td class=\"entry st-{}{}\" data-cell=\"{}\" title=\"{}\">{}{}{}</td>",
        c.outcome.status(),
        if c.is_unexpected() { " unexpected" } else { "" },
        esc(&c.id().to_string()),
        esc(&title),
        esc(&text),
        if c.is_unexpected() { " ✗" } else { "" },
        if c.flaky {
            " <small>(flaky)</small>"
        } else {
            ""
        },
    )
}

pub(super) fn short_ms(ms: f64) -> String {
    match ms {
        m if m >= 100.0 => format!("{m:.0}"),
        m if m >= 10.0 => format!("{m:.1}"),
        m => format!("{m:.2}"),
    }
}

pub(super) fn matrix(page: &mut Page, report: &Report) {
    page.section("matrix", "Compatibility");
    if report.cells.is_empty() && report.planned.is_empty() {
        page.push("<p class=\"empty\">No cells were run.</p>");
        return;
    }
    let multi_host = report.hosts().len() > 1;
    let all: Vec<Cell> = report.cells.clone();
    let precisions = precisions(&all);
    let batches = batches(&all);
    page.push("<table class=\"matrix\"><tr><th rowspan=\"2\">browser × backend</th><th rowspan=\"2\">adapter</th>");
    for p in &precisions {
        let _ = write!(page.body, "<th colspan=\"{}\">{p}</th>", batches.len());
    }
    page.push("</tr><tr>");
    for _ in &precisions {
        for b in &batches {
            let _ = write!(page.body, "<th>batch {b}</th>");
        }
    }
    page.push("</tr>");
    for row in rows(&all) {
        let adapter = report
            .environments
            .iter()
            .find(|e| e.host == row.0 && e.browser == row.1)
            .map_or("–".to_string(), |e| match row.2 {
                Backend::Webgpu => adapter_cell(e),
                Backend::Cpu => "wasm on the CPU".into(),
            });
        let _ = write!(
            page.body,
            "<tr><th>{}</th><td>{adapter}</td>",
            esc(&row_name(&row, multi_host))
        );
        for p in &precisions {
            for b in &batches {
                let cell = all.iter().find(|c| {
                    c.host == row.0
                        && c.browser == row.1
                        && c.backend == row.2
                        && c.precision == *p
                        && c.batch == *b
                });
                let planned = report.planned.iter().any(|id| {
                    id.host == row.0
                        && id.browser == row.1
                        && id.backend == row.2
                        && id.precision == *p
                        && id.batch == *b
                });
                match (cell, planned) {
                    (Some(c), _) => page.push(&entry(c)),
                    (None, true) => page.push(
                        "<td class=\"entry st-missing\" data-missing=\"1\" title=\"planned but not run\">not run</td>",
                    ),
                    (None, false) => page.push("<td class=\"entry\"></td>"),
                }
            }
        }
        page.push("</tr>");
    }
    page.push("</table><p class=\"meta\">ok entries show the median latency. Colours: <span class=\"st-ok\">ok</span> <span class=\"st-unsupported\">unsupported</span> <span class=\"st-error\">error</span> <span class=\"st-timeout\">timeout</span>.</p>");
}

pub(super) fn problems(page: &mut Page, report: &Report) {
    let failed: Vec<&Cell> = report
        .cells
        .iter()
        .filter(|c| c.outcome.kind() != Status::Ok)
        .collect();
    page.section("problems", "Cells that did not run");
    if failed.is_empty() {
        page.push("<p class=\"empty\">Every cell ran.</p>");
        return;
    }
    page.push("<table><tr><th>cell</th><th>status</th><th>reason</th></tr>");
    for c in failed {
        let _ = write!(
            page.body,
            "<tr><td>{}</td><td class=\"st-{}{}\">{}</td><td>{}</td></tr>",
            esc(&c.id().to_string()),
            c.outcome.status(),
            if c.is_unexpected() { " unexpected" } else { "" },
            c.outcome.status(),
            esc(c.outcome.reason().unwrap_or_default())
        );
    }
    page.push("</table>");
}
