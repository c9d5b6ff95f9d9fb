//! The Markdown report: environments, compatibility matrix, latency, memory
//! and quality, with the native baseline as reference rows.

use std::fmt::Write;

use qbench_core::schema::{Cell, Report};
use qbench_core::{Backend, Precision};

use super::terminal::human_bytes;

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "–".to_string(), f)
}

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.settings;
    let _ = writeln!(out, "# qbench report\n");
    let _ = writeln!(
        out,
        "qbench {} · schema {} · started {} (Unix s) · warm-up ≥ {} runs and ≥ {} ms · up to {} samples or {} ms per cell · timeout {} s · quality on {} held-out digits\n",
        report.qbench_version, report.schema_version, report.started_unix_s, s.warmup, s.warmup_ms, s.samples, s.time_per_cell_ms, s.timeout_per_cell_ms / 1000, s.quality_inputs
    );
    if let Some(b) = &report.bundle {
        let _ = writeln!(
            out,
            "wasm module: {} ({} B), built with {}, {}\n",
            human_bytes(b.wasm_bytes),
            b.wasm_bytes,
            b.build.as_deref().unwrap_or("unknown settings"),
            b.wasm_opt.as_deref().map_or("no wasm-opt".to_string(), |v| format!("optimised by {v}"))
        );
    }
    environments(&mut out, report);
    compatibility(&mut out, report);
    latency(&mut out, report);
    memory(&mut out, report);
    quality(&mut out, report);
    problems(&mut out, report);
    out
}

fn environments(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Environments\n");
    let _ = writeln!(out, "| browser | version | isolated | timer resolution | wasm SIMD | WebGPU adapter | fallback | shader-f16 |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for e in &report.environments {
        let adapter = match (&e.webgpu, &e.webgpu_unavailable_reason) {
            (Some(a), _) => {
                let name = [a.vendor.as_str(), a.architecture.as_str(), a.device.as_str(), a.description.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" / ");
                if name.is_empty() { "(adapter reports no names)".to_string() } else { name }
            }
            (None, Some(reason)) => format!("none: {reason}"),
            (None, None) => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {} | {} | {} |",
            e.browser,
            e.name,
            e.version,
            opt(e.cross_origin_isolated, |b| b.to_string()),
            opt(e.timer_resolution_ms, |t| format!("{t:.4} ms")),
            opt(e.wasm_simd, |b| b.to_string()),
            adapter,
            opt(e.webgpu.as_ref(), |a| a.is_fallback_adapter.to_string()),
            opt(e.webgpu.as_ref(), |a| a.features.iter().any(|f| f == "shader-f16").to_string()),
        );
    }
    let _ = writeln!(out);
}

/// Rows are browser × backend × batch, columns precisions; each entry the outcome.
fn compatibility(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Compatibility\n");
    let precisions: Vec<Precision> = Precision::ALL.iter().copied().filter(|p| report.cells.iter().any(|c| c.precision == *p)).collect();
    let _ = write!(out, "| browser | backend | batch |");
    for p in &precisions {
        let _ = write!(out, " {p} |");
    }
    let _ = writeln!(out, "\n|---|---|---|{}", "---|".repeat(precisions.len()));
    let mut rows: Vec<(String, Backend, u32)> = Vec::new();
    for c in &report.cells {
        let key = (c.browser.clone(), c.backend, c.batch);
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    for (browser, backend, batch) in rows {
        let _ = write!(out, "| {browser} | {backend} | {batch} |");
        for p in &precisions {
            let status = report
                .cells
                .iter()
                .find(|c| c.browser == browser && c.backend == backend && c.batch == batch && c.precision == *p)
                .map_or("–", |c| c.outcome.status());
            let _ = write!(out, " {status} |");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
}

fn all_cells(report: &Report) -> impl Iterator<Item = &Cell> {
    report.cells.iter().chain(report.baseline.iter())
}

fn latency(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Latency (ms per inference, output read back)\n");
    let _ = writeln!(out, "| browser | backend | precision | batch | first | median | p95 | 95% CI of median | samples | median per input |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for c in all_cells(report).filter(|c| c.latency_ms.is_some()) {
        let l = c.latency_ms.as_ref().expect("filtered");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.3} | {:.3} | {:.3} – {:.3} | {} | {:.4} |",
            c.browser, c.backend, c.precision, c.batch, l.first, l.summary.median, l.summary.p95, l.summary.ci95_low, l.summary.ci95_high, l.summary.samples,
            l.summary.median / f64::from(c.batch.max(1))
        );
    }
    let _ = writeln!(out);
}

fn memory(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Weight memory\n");
    let _ = writeln!(out, "Estimated = parameters × bytes per weight; int8 scales (4 bytes each) apart. Measured where the backend reports it.\n");
    let _ = writeln!(out, "| browser | backend | precision | parameters | estimated weights | estimated scales | measured |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for c in all_cells(report) {
        let key = (c.browser.clone(), c.backend, c.precision);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let m = &c.memory;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ({} B) | {} B | {} |",
            c.browser, c.backend, c.precision, m.parameters, human_bytes(m.estimated_weight_bytes), m.estimated_weight_bytes, m.estimated_scale_bytes,
            opt(m.measured_bytes, |b| format!("{} B ({})", b, m.measured_how.clone().unwrap_or_default()))
        );
    }
    let _ = writeln!(out);
}

fn quality(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Quality versus float32 on the same backend\n");
    let _ = writeln!(out, "| browser | backend | precision | inputs | top-1 agreement % | drift mean | drift max | accuracy % | max abs diff vs native f32 |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for c in all_cells(report) {
        let Some(q) = c.quality else { continue };
        let key = (c.browser.clone(), c.backend, c.precision);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2e} | {:.2e} | {:.2} | {} |",
            c.browser, c.backend, c.precision, q.n, q.top1_agreement_pct, q.drift_mean, q.drift_max, q.accuracy_pct,
            opt(q.max_abs_diff_vs_native, |d| format!("{d:.2e}"))
        );
    }
    let _ = writeln!(out);
}

fn problems(out: &mut String, report: &Report) {
    let failed: Vec<&Cell> = report.cells.iter().filter(|c| c.outcome.reason().is_some()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Cells that did not run\n");
    for c in failed {
        let _ = writeln!(out, "- {} {} {} batch {}: **{}**: {}", c.browser, c.backend, c.precision, c.batch, c.outcome.status(), c.outcome.reason().unwrap_or_default());
    }
    let _ = writeln!(out);
}
