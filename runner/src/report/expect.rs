//! Expectations files: read (an unknown key or value is bad input naming it and
//! its line), and written from a report (`qbench expect REPORT`) for a person to
//! review and commit.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use qbench_core::expect::Expectations;
use qbench_core::schema::{Report, Status};
use qbench_core::{Backend, Precision};

use crate::exit::{ResultExt, bad_input};

/// Reads an expectations file.
pub fn read(path: &Path) -> anyhow::Result<Expectations> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the expectations file {}", path.display()))
        .bad_input()?;
    parse(&text).map_err(|e| bad_input(anyhow::anyhow!("{}: {e:#}", path.display())))
}

/// Parses the text of an expectations file.
pub fn parse(text: &str) -> anyhow::Result<Expectations> {
    toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Host, browser, backend, precision: the cells an entry may cover.
type GroupKey = (Option<String>, qbench_core::Agent, Backend, Precision);
/// Batch, status and reason of one cell.
type Row = (u32, Status, Option<String>);

/// The expectations file `report` satisfies: one entry per browser × backend ×
/// precision whose cells were not all `ok` (with `batch` only where the batch
/// rows differ), naming the adapter where the cell ran on WebGPU, with the
/// cell's reason as the entry's reason and a comment saying where it came from.
pub fn from_report(report: &Report, source: &str) -> String {
    let mut out = format!(
        "# qbench expectations written by `qbench expect {source}`\n# from the run started {} (qbench {}). A cell no entry matches is expected `ok`;\n# the last matching entry wins. Review before committing.\n",
        report.started, report.qbench_version
    );
    // (host, browser, backend, precision) → [(batch, status, reason)]
    let mut groups: BTreeMap<GroupKey, Vec<Row>> = BTreeMap::new();
    for c in &report.cells {
        groups
            .entry((c.host.clone(), c.browser, c.backend, c.precision))
            .or_default()
            .push((
                c.batch,
                c.outcome.kind(),
                c.outcome.reason().map(str::to_string),
            ));
    }
    let multi_host = report.hosts().len() > 1;
    for ((host, browser, backend, precision), rows) in groups {
        if rows.iter().all(|r| r.1 == Status::Ok) {
            continue;
        }
        let uniform = rows.iter().all(|r| r.1 == rows[0].1);
        let adapter = report
            .environments
            .iter()
            .find(|e| e.host == host && e.browser == browser)
            .and_then(|e| e.webgpu.as_ref())
            .map(|a| a.architecture.clone())
            .filter(|a| !a.is_empty() && backend == Backend::Webgpu);
        let entries: Vec<(Option<u32>, Status, Option<String>)> = if uniform {
            vec![(None, rows[0].1, rows[0].2.clone())]
        } else {
            rows.iter()
                .filter(|r| r.1 != Status::Ok)
                .map(|r| (Some(r.0), r.1, r.2.clone()))
                .collect()
        };
        for (batch, status, reason) in entries {
            let where_ = batch.map_or("every batch".to_string(), |b| format!("batch {b}"));
            let _ = writeln!(
                out,
                "\n# {browser} {backend} {precision}, {where_}: {} in this report",
                status.name()
            );
            let _ = writeln!(out, "[[cell]]");
            if multi_host && let Some(h) = &host {
                let _ = writeln!(out, "host = {}", quoted(h));
            }
            let _ = writeln!(out, "browser = {}", quoted(browser.name()));
            let _ = writeln!(out, "backend = {}", quoted(backend.name()));
            let _ = writeln!(out, "precision = {}", quoted(precision.name()));
            if let Some(b) = batch {
                let _ = writeln!(out, "batch = {b}");
            }
            if let Some(a) = &adapter {
                let _ = writeln!(out, "adapter = {}", quoted(a));
            }
            let _ = writeln!(out, "status = {}", quoted(status.name()));
            if let Some(r) = reason {
                let _ = writeln!(
                    out,
                    "reason = {}",
                    quoted(r.lines().next().unwrap_or_default())
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::expect::{Expectation, Facts};
    use qbench_core::schema::{Adapter, Cell, Environment, Outcome};

    #[test]
    fn the_documented_shape_is_accepted() {
        let e = parse(
            r#"
[[cell]]
browser = "chromium"            # optional; a string or a list; absent = any
backend = "webgpu"              # optional
precision = "f16-native"        # optional
batch = 1                       # optional
adapter = "swiftshader"         # optional: the WebGPU adapter's architecture
status = "unsupported"          # or a list, e.g. ["ok", "timeout"]: a known flaky cell
reason = "why this is expected" # optional, shown in reports

[[cell]]
browser = ["chromium", "firefox"]
batch = [1, 32]
status = ["ok", "timeout"]
"#,
        )
        .unwrap();
        assert_eq!(e.cell.len(), 2);
        assert_eq!(e.cell[0].reason.as_deref(), Some("why this is expected"));
        assert_eq!(e.cell[1].status.0, vec![Status::Ok, Status::Timeout]);
    }

    #[test]
    fn unknown_keys_and_values_are_named() {
        for (text, names) in [
            (
                "[[cell]]\nstatus = \"ok\"\nbrowsr = \"chromium\"\n",
                ["browsr", "line 3"],
            ),
            ("[[cell]]\nstatus = \"passed\"\n", ["passed", "line 2"]),
            (
                "[[cell]]\nbrowser = \"safari\"\nstatus = \"ok\"\n",
                ["safari", "line 2"],
            ),
            (
                "[[cell]]\nprecision = [\"f32\", \"int4\"]\nstatus = \"ok\"\n",
                ["int4", "line 2"],
            ),
            ("[[cell]]\nbrowser = \"chromium\"\n", ["status", "line 1"]),
            ("[[cells]]\nstatus = \"ok\"\n", ["cells", "line 1"]),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            for n in names {
                assert!(err.contains(n), "{text}: {err}");
            }
        }
    }

    #[test]
    fn a_report_satisfies_the_file_written_from_it() {
        let mut r = Report::new("0.1.0", "2026-11-28T00:00:00Z", crate::testing::settings());
        r.environments.push(Environment {
            browser: "chromium".parse().unwrap(),
            webgpu: Some(Adapter {
                architecture: "swiftshader".into(),
                ..Adapter::default()
            }),
            ..Environment::default()
        });
        let mut add = |precision: Precision, batch: u32, outcome: Outcome| {
            let mut c = Cell::new(
                "chromium".parse().unwrap(),
                Backend::Webgpu,
                precision,
                batch,
                qbench_model::weights::memory(precision),
            );
            c.outcome = outcome;
            r.cells.push(c);
        };
        let unsupported = Outcome::Unsupported {
            reason: "WebGPU adapter lacks the `shader-f16` feature".into(),
        };
        add(Precision::F32, 1, Outcome::Ok);
        add(Precision::F32, 32, Outcome::Ok);
        add(Precision::F16Native, 1, unsupported.clone());
        add(Precision::F16Native, 32, unsupported);
        add(Precision::Int8, 1, Outcome::Ok);
        add(
            Precision::Int8,
            32,
            Outcome::Timeout {
                message: "no answer within 180 s".into(),
            },
        );
        let text = from_report(&r, "report.json");
        assert!(
            text.contains("# chromium webgpu f16-native, every batch: unsupported in this report"),
            "{text}"
        );
        assert!(text.contains("adapter = \"swiftshader\""), "{text}");
        assert!(text.contains("batch = 32"), "{text}");
        let e = parse(&text).unwrap();
        assert_eq!(e.cell.len(), 2, "{text}");
        for c in &r.cells {
            let facts = Facts {
                browser: c.browser,
                backend: c.backend,
                precision: c.precision,
                batch: c.batch,
                adapter: Some("swiftshader"),
                host: None,
            };
            assert_eq!(
                e.judge(&facts, c.outcome.kind()).verdict,
                Expectation::Expected,
                "{}",
                c.id()
            );
        }
    }
}
