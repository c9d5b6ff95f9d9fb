//! `report.html`: one self-contained page (CSS and SVG charts inline, no
//! scripts, a Content-Security-Policy that forbids every request) with the
//! run's header, environments, compatibility matrix, charts of latency, first
//! inference, memory and quality, what changed, and the history when there is one.

mod changes;
mod environment;
mod history;
mod latency;
mod matrix;
mod memory;
mod quality;
mod time;

use changes::changes;
use environment::{adapter_cell, environments, header};
use history::history;
use latency::{first_inference, latency, ok_cells, slug, throughput};
use matrix::{Row, batches, matrix, precisions, problems, row_name, rows};
use memory::memory;
use quality::quality;
use time::time;

use std::fmt::Write;

use qbench_core::Precision;
use qbench_core::schema::Report;

use super::charts::{self, Chart};
use crate::history::store::HistoryView;
use qbench_core::comparison::Comparison;

/// What else the page shows beside the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// A comparison with an earlier run, and what that run was.
    pub comparison: Option<(&'a str, &'a Comparison)>,
    /// The history.
    pub history: Option<&'a HistoryView>,
}

/// Colour of each precision's series.
pub(super) fn precision_color(p: Precision) -> u32 {
    match p {
        Precision::F32 => 0x1f77b4,
        Precision::F16 => 0xff7f0e,
        Precision::Int8 => 0x2ca02c,
        Precision::Int8Channel => 0xd62728,
        Precision::F16Native => 0x9467bd,
        Precision::Int8Native => 0x8c564b,
        Precision::Int8Compute => 0xe377c2,
    }
}

/// Colours of other series, in order.
pub(super) const PALETTE: [u32; 8] = [
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
    throughput(&mut page, report)?;
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
pub(super) struct Page {
    pub(super) body: String,
    pub(super) nav: Vec<(String, String)>,
}

impl Page {
    pub(super) fn section(&mut self, id: &str, title: &str) {
        self.nav.push((id.to_string(), title.to_string()));
        let _ = writeln!(self.body, "<h2 id=\"{id}\">{}</h2>", esc(title));
    }

    pub(super) fn push(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// Draws a chart into a figure, or says that there is nothing to draw.
    pub(super) fn chart(&mut self, slug: &str, chart: &Chart, caption: &str) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::TrendRow;
    use qbench_core::Backend;
    use qbench_core::schema::{Adapter, Cell, Environment, Latency, Outcome};
    use qbench_core::stats::Summary;

    fn cell(host: &str, browser: &str, backend: Backend, p: Precision, batch: u32) -> Cell {
        let mut c = Cell::new(
            browser.parse().unwrap(),
            backend,
            p,
            batch,
            qbench_model::weights::memory(p),
        );
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
        let mut r = Report::new("0.1.0", "2026-11-29T00:00:00Z", crate::testing::settings());
        for host in ["gpu-box", "ci"] {
            for browser in ["chromium", "firefox"] {
                r.environments.push(Environment {
                    host: Some(host.into()),
                    browser: browser.parse().unwrap(),
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
                .map(|i| crate::history::store::RunRow {
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
            changes: vec![crate::history::store::ChangeRow {
                cell: id.to_string(),
                change: crate::history::store::Change::Fixed,
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
