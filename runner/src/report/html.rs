//! `report.html`: one self-contained page (CSS and SVG charts inline, no
//! scripts, a Content-Security-Policy that forbids every request) with the
//! run's header, environments, compatibility matrix, charts of latency, first
//! inference, memory and quality, what changed, and the history when there is one.

use std::collections::BTreeMap;
use std::fmt::Write;

use qbench_core::schema::{Cell, Environment, Report, Status};
use qbench_core::{Backend, Precision};

use super::charts::{self, Chart, Kind, Point, Reference, Series};
use super::compare::{Comparison, Transition};
use super::is_unexpected;
use super::markdown::adapter_name;
use super::terminal::human_bytes;
use crate::history::{HistoryView, TrendRow};

/// What else the page shows beside the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// A comparison with an earlier run, and what that run was.
    pub comparison: Option<(&'a str, &'a Comparison)>,
    /// The history.
    pub history: Option<&'a HistoryView>,
}

/// Colour of each precision's series.
fn precision_color(p: Precision) -> u32 {
    match p {
        Precision::F32 => 0x1f77b4,
        Precision::F16 => 0xff7f0e,
        Precision::Int8 => 0x2ca02c,
        Precision::Int8Channel => 0xd62728,
        Precision::F16Native => 0x9467bd,
        Precision::Int8Native => 0x8c564b,
    }
}

/// Colours of other series, in order.
const PALETTE: [u32; 8] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x17becf,
];

/// `&`, `<`, `>`, `"` and `'` escaped for text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d232a;margin:0;background:#f6f7f9}
main{max-width:1320px;margin:0 auto;padding:18px 24px 48px}
h1{font-size:24px;margin:4px 0 6px}h2{font-size:18px;margin:28px 0 10px;padding-top:6px;border-top:1px solid #dde1e6}
.meta{color:#4a5561;margin:2px 0}nav a{margin-right:12px;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;background:#fff;margin:6px 0 10px}th,td{border:1px solid #d5dae0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.matrix td.entry{text-align:center;min-width:74px;font-variant-numeric:tabular-nums;cursor:help}
.st-ok{background:#dff3e2}.st-unsupported{background:#e9ecef;color:#505a64}.st-error{background:#fbd9d7}.st-timeout{background:#fde6c8}.st-missing{background:#fff;color:#8a949e;border-style:dashed}
.unexpected{outline:2px solid #b3261e;outline-offset:-2px;font-weight:700}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;font-weight:600}
.badge.software{background:#fde6c8;color:#7a4100}.badge.hardware{background:#dff3e2;color:#1b5e20}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure.chart{margin:0;background:#fff;border:1px solid #d5dae0;padding:4px}
.legend{padding:4px 8px 0;font-size:12px}.key{margin-right:12px;white-space:nowrap}.key i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:-1px}.key i.dashed{height:0;border-top:2px dashed #000;vertical-align:3px}
figure.chart figcaption{font-size:12px;color:#4a5561;padding:2px 6px 4px;max-width:610px}
.strip td{width:16px;height:16px;padding:0}.strip td.name{width:auto;padding:2px 8px;white-space:nowrap}
.empty{color:#6b7580;font-style:italic}details{margin:4px 0}code{background:#eef1f4;padding:0 3px;border-radius:3px}
";

/// The whole page.
pub fn render(report: &Report, extras: Extras<'_>) -> anyhow::Result<String> {
    let mut page = Page::default();
    header(&mut page, report);
    environments(&mut page, report);
    matrix(&mut page, report);
    changes(&mut page, extras);
    latency(&mut page, report)?;
    first_inference(&mut page, report)?;
    time(&mut page, report);
    memory(&mut page, report)?;
    quality(&mut page, report)?;
    if let Some(h) = extras.history {
        history(&mut page, h)?;
    }
    problems(&mut page, report);
    Ok(page.finish(report))
}

/// The page under construction: sections and the navigation to them.
#[derive(Default)]
struct Page {
    body: String,
    nav: Vec<(String, String)>,
}

impl Page {
    fn section(&mut self, id: &str, title: &str) {
        self.nav.push((id.to_string(), title.to_string()));
        let _ = writeln!(self.body, "<h2 id=\"{id}\">{}</h2>", esc(title));
    }

    fn push(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// Draws a chart into a figure, or says that there is nothing to draw.
    fn chart(&mut self, slug: &str, chart: &Chart, caption: &str) -> anyhow::Result<()> {
        if chart.is_empty() {
            return Ok(());
        }
        let svg = charts::render(chart)?;
        let mut legend: String = chart
            .series
            .iter()
            .map(|s| {
                format!(
                    "<span class=\"key\"><i style=\"background:#{:06x}\"></i>{}</span>",
                    s.color,
                    esc(&s.name)
                )
            })
            .collect();
        if let Some((name, _)) = &chart.references {
            let _ = write!(
                legend,
                "<span class=\"key\"><i class=\"dashed\"></i>{}</span>",
                esc(name)
            );
        }
        let _ = writeln!(
            self.body,
            "<figure class=\"chart\" data-chart=\"{}\"><div class=\"legend\">{legend}</div>{svg}<figcaption>{}</figcaption></figure>",
            esc(slug),
            esc(caption)
        );
        Ok(())
    }

    fn finish(self, report: &Report) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>qbench report {}</title><style>{STYLE}</style></head><body><main>\n",
            esc(&report.started)
        );
        out.push_str(&self.body_with_nav());
        let _ = write!(
            out,
            "<p class=\"meta\">Written by qbench {}. Hover a matrix entry for its reason.</p></main></body></html>",
            esc(&report.qbench_version)
        );
        out
    }

    fn body_with_nav(&self) -> String {
        // The header comes first; the navigation goes after it.
        let (head, rest) = self
            .body
            .split_once("<!--nav-->")
            .unwrap_or(("", &self.body));
        let links: String = self
            .nav
            .iter()
            .map(|(id, t)| format!("<a href=\"#{id}\">{}</a>", esc(t)))
            .collect();
        format!("{head}<nav>{links}</nav>{rest}")
    }
}

fn header(page: &mut Page, report: &Report) {
    let state = match (&report.finished, &report.interrupted) {
        (_, Some(signal)) => format!("<b>interrupted by {}: partial</b>", esc(signal)),
        (Some(f), None) if report.is_complete() => format!("finished {}", esc(f)),
        (Some(f), None) => format!("finished {}, <b>partial: planned cells missing</b>", esc(f)),
        (None, None) => "<b>still running or cut short: partial</b>".to_string(),
    };
    let hosts: Vec<String> = report
        .hosts()
        .into_iter()
        .map(|h| h.unwrap_or_else(|| "unknown host".into()))
        .collect();
    let _ = write!(
        page.body,
        "<h1>qbench report</h1>\
         <p class=\"meta\">started {} · {state} · {} · qbench {}{}</p>\
         <p class=\"meta\">{} cells · {}{}</p>",
        esc(&report.started),
        esc(&hosts.join(", ")),
        esc(&report.qbench_version),
        report
            .git_commit
            .as_deref()
            .map_or(String::new(), |c| format!(" ({})", esc(c))),
        report.cells.len(),
        esc(&super::markdown::sampling(&report.settings)),
        report
            .expectations
            .as_deref()
            .map_or(String::new(), |e| format!(
                " · judged against <code>{}</code>: outlined entries are unexpected",
                esc(e)
            )),
    );
    if let Some(native) = super::markdown::native_rows(report) {
        let _ = write!(page.body, "<p class=\"meta\">{}</p>", esc(&native));
    }
    if let Some(b) = &report.bundle {
        let _ = write!(
            page.body,
            "<p class=\"meta\">wasm module {} ({} B), {}, {}</p>",
            human_bytes(b.wasm_bytes),
            b.wasm_bytes,
            esc(b.build.as_deref().unwrap_or("built elsewhere")),
            esc(&b
                .wasm_opt
                .as_deref()
                .map_or("no wasm-opt".to_string(), |v| format!("optimised by {v}")))
        );
        let rows = super::download_rows(b);
        if !rows.is_empty() {
            page.push("<table class=\"downloads\"><tr><th>downloaded file</th><th>raw</th><th>gzip -9</th><th>brotli 11</th></tr>");
            for row in rows {
                page.push("<tr>");
                for v in row {
                    let _ = write!(page.body, "<td>{}</td>", esc(&v));
                }
                page.push("</tr>");
            }
            page.push("</table>");
        }
    }
    page.push("<!--nav-->");
}

fn adapter_cell(e: &Environment) -> String {
    match (&e.webgpu, &e.webgpu_unavailable_reason, &e.start_error) {
        (_, _, Some(err)) => format!(
            "<span class=\"st-error\">did not start</span> {}",
            esc(err.lines().next().unwrap_or_default())
        ),
        (Some(a), _, None) => {
            let badge = a.class.map_or(String::new(), |c| {
                format!(
                    " <span class=\"badge {0}\" title=\"{1}\">{0}</span>",
                    c.name(),
                    esc(a.class_reason.as_deref().unwrap_or_default())
                )
            });
            format!("{}{badge}", esc(&adapter_name(a)))
        }
        (None, Some(reason), None) => format!("none: {}", esc(reason)),
        (None, None, None) => "–".into(),
    }
}

fn environments(page: &mut Page, report: &Report) {
    page.section("environments", "Environments");
    page.push(
        "<table><tr><th>host</th><th>browser</th><th>version</th><th>where</th><th>WebGPU adapter</th>\
         <th>shader-f16</th><th title=\"median of four floats up, one dispatch, read back: no WebGPU cell is faster\">readback floor</th><th>wasm SIMD</th><th>timer step</th><th>isolated</th></tr>",
    );
    for e in &report.environments {
        let _ = write!(
            page.body,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(e.host.as_deref().unwrap_or("–")),
            esc(&e.browser),
            esc(&e.name),
            esc(&e.version),
            esc(e.endpoint.as_deref().unwrap_or("–")),
            adapter_cell(e),
            e.webgpu
                .as_ref()
                .map_or("–", |a| if a.features.iter().any(|f| f == "shader-f16") {
                    "yes"
                } else {
                    "no"
                }),
            e.readback_floor_ms
                .map_or("–".into(), |t| format!("{t:.2} ms")),
            e.wasm_simd.map_or("–", |b| if b { "yes" } else { "no" }),
            e.timer_resolution_ms
                .map_or("–".into(), |t| format!("{t:.4} ms")),
            e.cross_origin_isolated
                .map_or("–", |b| if b { "yes" } else { "no" }),
        );
    }
    page.push("</table>");
}

/// host × browser × backend, in order of first appearance.
type Row = (Option<String>, String, Backend);

fn rows(cells: &[Cell]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for c in cells {
        let key = (c.host.clone(), c.browser.clone(), c.backend);
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    rows
}

fn row_name((host, browser, backend): &Row, multi_host: bool) -> String {
    match host {
        Some(h) if multi_host => format!("{h} {browser} {backend}"),
        _ => format!("{browser} {backend}"),
    }
}

fn precisions(cells: &[Cell]) -> Vec<Precision> {
    Precision::ALL
        .iter()
        .copied()
        .filter(|p| cells.iter().any(|c| c.precision == *p))
        .collect()
}

fn batches(cells: &[Cell]) -> Vec<u32> {
    let mut b: Vec<u32> = cells.iter().map(|c| c.batch).collect();
    b.sort_unstable();
    b.dedup();
    b
}

fn entry(c: &Cell) -> String {
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
        if is_unexpected(c) { " unexpected" } else { "" },
        esc(&c.id().to_string()),
        esc(&title),
        esc(&text),
        if is_unexpected(c) { " ✗" } else { "" },
        if c.flaky {
            " <small>(flaky)</small>"
        } else {
            ""
        },
    )
}

fn short_ms(ms: f64) -> String {
    match ms {
        m if m >= 100.0 => format!("{m:.0}"),
        m if m >= 10.0 => format!("{m:.1}"),
        m => format!("{m:.2}"),
    }
}

fn matrix(page: &mut Page, report: &Report) {
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

fn changes(page: &mut Page, extras: Extras<'_>) {
    let Some((against, c)) = extras.comparison else {
        if let Some(h) = extras.history {
            page.section("changes", "What changed");
            history_changes(page, h);
        }
        return;
    };
    page.section("changes", "What changed");
    let _ = write!(
        page.body,
        "<p class=\"meta\">Against {}: {}. Latency verdicts need the whole 95% interval of the ratio beyond ±{:.0}%.</p>",
        esc(against),
        esc(&c.counts()),
        c.threshold * 100.0
    );
    let changed: Vec<_> = c
        .cells
        .iter()
        .filter(|x| {
            x.transition != Transition::Unchanged
                || matches!(
                    x.verdict(),
                    Some(
                        qbench_core::verdict::Verdict::Faster
                            | qbench_core::verdict::Verdict::Slower
                    )
                )
                || x.quality.is_some_and(|q| q.is_regression())
        })
        .collect();
    if changed.is_empty() {
        page.push(
            "<p class=\"empty\">Nothing changed: same outcomes, no latency or quality verdict.</p>",
        );
    } else {
        page.push("<table><tr><th>cell</th><th>change</th><th>regression</th></tr>");
        for x in changed {
            let _ = write!(
                page.body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.id.to_string()),
                esc(&x.describe()),
                if x.is_regression() {
                    "<b>yes</b>"
                } else {
                    "no"
                }
            );
        }
        page.push("</table>");
    }
    if let Some(h) = extras.history {
        history_changes(page, h);
    }
}

fn history_changes(page: &mut Page, h: &HistoryView) {
    if h.changes.is_empty() {
        let _ = write!(
            page.body,
            "<p class=\"empty\">No cell broke or got fixed in this run (history {}).</p>",
            esc(&h.source)
        );
        return;
    }
    page.push("<table><tr><th>cell</th><th>change</th><th>run</th><th>browser version</th><th>adapter</th><th>reason</th></tr>");
    for c in &h.changes {
        let _ = write!(
            page.body,
            "<tr><td>{}</td><td class=\"st-{}\">{} ({} → {})</td><td>#{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.cell),
            if c.change == "fixed" { "ok" } else { "error" },
            c.change,
            esc(&c.from),
            esc(&c.to),
            c.run,
            esc(&c.started),
            esc(c.browser_version.as_deref().unwrap_or("–")),
            esc(c.adapter.as_deref().unwrap_or("–")),
            esc(c.reason.as_deref().unwrap_or("")),
        );
    }
    page.push("</table>");
}

fn ok_cells<'a>(report: &'a Report, row: &'a Row) -> impl Iterator<Item = &'a Cell> {
    report.cells.iter().filter(move |c| {
        c.host == row.0
            && c.browser == row.1
            && c.backend == row.2
            && c.outcome.kind() == Status::Ok
    })
}

fn slug(row: &Row) -> String {
    let mut s = format!("{}-{}", row.1, row.2);
    if let Some(h) = &row.0 {
        s = format!("{h}-{s}");
    }
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn latency(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("latency", "Latency");
    page.push("<p class=\"meta\">Median per inference with its 95% confidence interval as whiskers, readback included; log scale. The dashed line is the native float32 baseline at that batch.</p><div class=\"charts\">");
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

fn first_inference(page: &mut Page, report: &Report) -> anyhow::Result<()> {
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

/// A table of text, the first column a name and the rest numbers.
fn table(page: &mut Page, t: &super::time::Table) {
    page.push("<table><tr>");
    for h in &t.header {
        let _ = write!(page.body, "<th>{}</th>", esc(h));
    }
    page.push("</tr>");
    for row in &t.rows {
        page.push("<tr>");
        for (i, v) in row.iter().enumerate() {
            let class = if i == 0 { "" } else { " class=\"num\"" };
            let _ = write!(page.body, "<td{class}>{}</td>", esc(v));
        }
        page.push("</tr>");
    }
    page.push("</table>");
}

/// Where the time goes: the split of a warm inference and, after `run
/// --profile`, the stage-by-stage table; no section when there is neither.
fn time(page: &mut Page, report: &Report) {
    let tables: Vec<(&str, &str, super::time::Table)> = [
        (
            "A warm inference",
            super::time::SPLIT_NOTE,
            super::time::split(report),
        ),
        (
            "Stage by stage",
            super::time::PROFILE_NOTE,
            super::time::profile(report),
        ),
    ]
    .into_iter()
    .filter_map(|(title, note, t)| Some((title, note, t?)))
    .collect();
    if tables.is_empty() {
        return;
    }
    page.section("time", "Where the time goes");
    for (title, note, t) in tables {
        let _ = write!(
            page.body,
            "<h3>{title} (medians, ms)</h3><p class=\"meta\">{}</p>",
            esc(&note.replace('`', ""))
        );
        table(page, &t);
    }
}

fn memory(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("memory", "Weight memory");
    let multi_host = report.hosts().len() > 1;
    let ps = precisions(&report.cells);
    let estimate = |p: Precision| {
        report
            .cells
            .iter()
            .find(|c| c.precision == p)
            .map(|c| c.memory.estimated_weight_bytes + c.memory.estimated_scale_bytes)
    };
    let mut series = vec![Series {
        name: "estimated (weights + scales)".into(),
        color: 0x7f7f7f,
        points: ps
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Some(Point {
                    category: i,
                    value: estimate(*p)? as f64,
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
    page.push("<p class=\"meta\">Estimated bytes are parameters × bytes per weight plus int8 scales; measured bytes are what the backend holds on its device after loading the weights (burn's memory pool on WebGPU).</p><div class=\"charts\">");
    let chart = Chart {
        title: "weight memory".into(),
        y_label: "bytes".into(),
        categories: ps.iter().map(|p| p.to_string()).collect(),
        log: false,
        y_range: None,
        kind: Kind::Bars,
        series,
        references: None,
    };
    page.chart(
        "memory",
        &chart,
        "Estimated against measured weight bytes per precision.",
    )?;
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
    for p in &ps {
        let _ = write!(
            page.body,
            "<tr><td>{p}</td><td class=\"num\">{}</td>",
            estimate(*p).map_or("–".into(), human_bytes)
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
    Ok(())
}

/// What a quality chart plots of a cell's quality: a value and its interval.
type QualityValue = dyn Fn(&qbench_core::quality::Quality) -> Option<(f64, Option<(f64, f64)>)>;

fn quality(page: &mut Page, report: &Report) -> anyhow::Result<()> {
    page.section("quality", "Quality versus float32");
    let multi_host = report.hosts().len() > 1;
    let ps = precisions(&report.cells);
    let rows = rows(&report.cells);
    let per_row = |row: &Row, f: &QualityValue| {
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
    let series = |f: &QualityValue| {
        rows.iter()
            .enumerate()
            .map(|(k, row)| Series {
                name: row_name(row, multi_host),
                color: PALETTE[k % PALETTE.len()],
                points: per_row(row, f),
            })
            .filter(|s| !s.points.is_empty())
            .collect::<Vec<_>>()
    };
    let agreement = series(&|q| Some((q.top1_agreement_pct, None)));
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
            categories: ps.iter().map(|p| p.to_string()).collect(),
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
            categories: ps.iter().map(|p| p.to_string()).collect(),
            log: true,
            y_range: None,
            kind: Kind::Whiskers,
            series: series(&|q| {
                (q.drift_mean > 0.0).then_some((q.drift_mean, Some((q.drift_mean, q.drift_max))))
            }),
            references: None,
        },
        "Mean drift, whisker up to the largest.",
    )?;
    page.push("</div><table><tr><th>cell</th><th>inputs</th><th>top-1 agreement</th><th>accuracy</th><th>mean drift</th><th>max drift</th><th>max |Δp| vs native f32</th></tr>");
    for row in &rows {
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
    Ok(())
}

fn history(page: &mut Page, h: &HistoryView) -> anyhow::Result<()> {
    page.section("history", "History");
    let _ = write!(
        page.body,
        "<p class=\"meta\">The last {} runs in <code>{}</code>: each cell's median over the runs (log scale), and its status per run, oldest on the left.</p><div class=\"charts\">",
        h.runs.len(),
        esc(&h.source)
    );
    let run_index: BTreeMap<i64, usize> =
        h.runs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let categories: Vec<String> = h
        .runs
        .iter()
        .map(|r| format!("#{} {}", r.id, r.started.get(5..10).unwrap_or(&r.started)))
        .collect();
    // One chart per host × browser × backend × batch, one line per precision.
    let mut groups: BTreeMap<(Option<String>, String, Backend, u32), Vec<&TrendRow>> =
        BTreeMap::new();
    for t in &h.trend {
        groups
            .entry((
                t.id.host.clone(),
                t.id.browser.clone(),
                t.id.backend,
                t.id.batch,
            ))
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
                slug(&(host.clone(), browser.clone(), *backend))
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
    page.push("</div><table class=\"strip\"><tr><th>cell</th>");
    for c in &categories {
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
    Ok(())
}

fn problems(page: &mut Page, report: &Report) {
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
            if is_unexpected(c) { " unexpected" } else { "" },
            c.outcome.status(),
            esc(c.outcome.reason().unwrap_or_default())
        );
    }
    page.push("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Adapter, Latency, Outcome};
    use qbench_core::stats::Summary;

    fn cell(host: &str, browser: &str, backend: Backend, p: Precision, batch: u32) -> Cell {
        let mut c = Cell::new(browser, backend, p, batch, qbench_model::weights::memory(p));
        c.host = Some(host.into());
        let raw: Vec<f64> = (0..20).map(|i| 2.0 + f64::from(i) * 0.01).collect();
        c.latency_ms = Some(Latency {
            first: 40.0,
            summary: Summary::from_samples(&raw).unwrap(),
            raw,
        });
        c
    }

    /// Two hosts, two browsers, both backends, two precisions and batches; one
    /// cell unsupported with a reason that must be escaped, one planned and not run.
    fn report() -> Report {
        let mut r = Report::new(
            "0.1.0",
            "2026-11-29T00:00:00Z",
            crate::run::tests_settings(),
        );
        for host in ["gpu-box", "ci"] {
            for browser in ["chromium", "firefox"] {
                r.environments.push(Environment {
                    host: Some(host.into()),
                    browser: browser.into(),
                    webgpu: Some(Adapter {
                        vendor: "google".into(),
                        architecture: "swiftshader".into(),
                        class: Some(qbench_core::adapter::AdapterClass::Software),
                        class_reason: Some("names SwiftShader".into()),
                        ..Adapter::default()
                    }),
                    ..Environment::default()
                });
                for backend in [Backend::Webgpu, Backend::Cpu] {
                    for p in [Precision::F32, Precision::F16Native] {
                        for batch in [1, 32] {
                            let mut c = cell(host, browser, backend, p, batch);
                            if p == Precision::F16Native && backend == Backend::Webgpu {
                                c.outcome = Outcome::Unsupported {
                                    reason: "no <shader-f16> & \"f16\"".into(),
                                };
                                c.latency_ms = None;
                            }
                            r.planned.push(c.id());
                            r.cells.push(c);
                        }
                    }
                }
            }
        }
        // Planned, never run.
        r.cells.pop();
        r.finished = Some("2026-11-29T00:10:00Z".into());
        r
    }

    #[test]
    fn the_matrix_has_one_entry_per_cell_and_marks_the_missing_one() {
        let r = report();
        let page = render(&r, Extras::default()).unwrap();
        assert_eq!(page.matches(" data-cell=\"").count(), r.cells.len());
        assert_eq!(r.cells.len(), 31);
        assert_eq!(page.matches("data-missing=\"1\"").count(), 1);
        assert!(page.contains("<b>partial: planned cells missing</b>"));
        // Rows name the host when there are several.
        assert!(page.contains("<th>gpu-box chromium webgpu</th>"), "{page}");
        assert!(page.contains("class=\"badge software\""));
    }

    #[test]
    fn reasons_are_escaped_and_shown_on_hover() {
        let page = render(&report(), Extras::default()).unwrap();
        assert!(!page.contains("<shader-f16>"));
        assert!(page.contains("reason: no &lt;shader-f16&gt; &amp; &quot;f16&quot;"));
    }

    #[test]
    fn the_page_asks_for_nothing_from_the_network() {
        let page = render(&report(), Extras::default()).unwrap();
        assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
        for forbidden in [
            "<script",
            "<link",
            "<img",
            "<iframe",
            " src=",
            "url(",
            "href=\"http",
            "@import",
        ] {
            assert!(!page.contains(forbidden), "{forbidden}");
        }
        // The only URLs are SVG's namespace names, which are never fetched.
        for (i, _) in page.match_indices("://") {
            let around = &page[i.saturating_sub(16)..i];
            assert!(
                around.contains("xmlns"),
                "a URL outside xmlns at {i}: {around}"
            );
        }
    }

    #[test]
    fn every_row_gets_latency_and_first_inference_charts() {
        let page = render(&report(), Extras::default()).unwrap();
        // 2 hosts × 2 browsers × 2 backends.
        assert_eq!(page.matches("data-chart=\"latency-").count(), 8);
        assert_eq!(page.matches("data-chart=\"first-").count(), 8);
        assert_eq!(page.matches("data-chart=\"memory\"").count(), 1);
        assert_eq!(
            page.matches("data-chart=\"quality-").count(),
            0,
            "no quality measured"
        );
        assert_eq!(page.matches("<svg").count(), 17);
        assert!(!page.contains("id=\"history\""));
    }

    #[test]
    fn a_history_adds_trends_a_status_strip_and_the_changes() {
        let r = report();
        let id = r.cells[0].id();
        let view = HistoryView {
            source: "h.sqlite".into(),
            runs: (1..=2)
                .map(|i| crate::history::RunRow {
                    id: i,
                    started: format!("2026-11-2{i}T00:00:00Z"),
                    finished: None,
                    version: "0.1.0".into(),
                    hosts: "gpu-box".into(),
                    ok: 1,
                    cells: 1,
                    source: "qbench run".into(),
                })
                .collect(),
            trend: (1..=2)
                .map(|i| TrendRow {
                    cell: id.to_string(),
                    id: id.clone(),
                    run: i,
                    started: format!("2026-11-2{i}T00:00:00Z"),
                    status: if i == 1 { "error" } else { "ok" }.into(),
                    median: (i == 2).then_some((2.0, 1.9, 2.1)),
                    browser_version: None,
                })
                .collect(),
            changes: vec![crate::history::ChangeRow {
                cell: id.to_string(),
                change: "fixed",
                from: "error".into(),
                to: "ok".into(),
                run: 2,
                started: "2026-11-22T00:00:00Z".into(),
                browser_version: Some("156".into()),
                adapter: None,
                reason: None,
            }],
        };
        let page = render(
            &r,
            Extras {
                comparison: None,
                history: Some(&view),
            },
        )
        .unwrap();
        assert!(page.contains("id=\"history\""));
        assert_eq!(page.matches("data-chart=\"history-").count(), 1);
        assert!(
            page.contains("title=\"run #1 2026-11-21T00:00:00Z: error\""),
            "{page}"
        );
        assert!(page.contains("fixed (error → ok)"));
    }

    #[test]
    fn the_time_section_shows_the_split_and_the_profile_only_when_measured() {
        use qbench_core::profile::{CutSamples, Stage, stage_times};
        let mut r = report();
        let page = render(&r, Extras::default()).unwrap();
        assert!(
            !page.contains("<h2 id=\"time\">"),
            "nothing timed, no section"
        );
        let cut = |stage, ms| CutSamples {
            stage,
            samples_ms: vec![ms],
        };
        r.cells[0].profile = stage_times(&[&[cut(Stage::Upload, 2.0), cut(Stage::Conv1, 7.5)]]);
        r.cells[1].split_ms = Some(qbench_core::schema::Split {
            enqueue: 1.25,
            wait: 30.5,
        });
        let page = render(&r, Extras::default()).unwrap();
        let section = page.split("<h2 id=\"time\">").nth(1).unwrap();
        let section = section.split("<h2 ").next().unwrap();
        assert!(page.contains("<a href=\"#time\">Where the time goes</a>"));
        let profile = section.split("Stage by stage").nth(1).unwrap();
        assert!(
            profile.contains(&format!(
                "<tr><td>{}</td><td class=\"num\">2.000</td><td class=\"num\">5.500</td><td class=\"num\">–</td>",
                esc(&r.cells[0].id().to_string())
            )),
            "{profile}"
        );
        let split = section.split("Stage by stage").next().unwrap();
        assert!(
            split.contains(&format!(
                "<tr><td>{}</td><td class=\"num\">{:.3}</td><td class=\"num\">1.250</td><td class=\"num\">30.500</td>",
                esc(&r.cells[1].id().to_string()),
                r.cells[1].latency_ms.as_ref().unwrap().summary.median
            )),
            "{split}"
        );
        assert_eq!(
            split.matches("<tr><td>").count(),
            1,
            "one timed cell: {split}"
        );
    }
}
