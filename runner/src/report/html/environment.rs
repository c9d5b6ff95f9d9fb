//! The page's header (when, what, which package) and the environments table.

use std::fmt::Write;

use qbench_core::schema::{Environment, Report};

use super::*;
use crate::fmt::{adapter_name, human_bytes};

pub(super) fn header(page: &mut Page, report: &Report) {
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
        esc(&crate::report::markdown::sampling(&report.settings)),
        report
            .expectations
            .as_deref()
            .map_or(String::new(), |e| format!(
                " · judged against <code>{}</code>: outlined entries are unexpected",
                esc(e)
            )),
    );
    if let Some(native) = crate::report::markdown::native_rows(report) {
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
        let rows = crate::report::download_rows(b);
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

pub(super) fn adapter_cell(e: &Environment) -> String {
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

pub(super) fn environments(page: &mut Page, report: &Report) {
    page.section("environments", "Environments");
    page.push(
        "<table><tr><th>host</th><th>browser</th><th>version</th><th>where</th><th>WebGPU adapter</th>\
         <th>shader-f16</th><th title=\"WGSL's packed_4x8_integer_dot_product: int8-compute's WebGPU kernels take dot4I8Packed\">dot4I8Packed</th><th title=\"median of four floats up, one dispatch, read back: no WebGPU cell is faster\">readback floor</th><th>wasm SIMD</th><th>timer step</th><th>isolated</th></tr>",
    );
    for e in &report.environments {
        let _ = write!(
            page.body,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(e.host.as_deref().unwrap_or("–")),
            esc(e.browser.name()),
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
            match e.webgpu.as_ref().and_then(|a| a.packed_dot()) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            },
            e.readback_floor_ms
                .map_or("–".into(), |t| format!("{t:.2} ms")),
            match (e.wasm_simd, e.wasm_relaxed_simd) {
                (Some(true), Some(true)) => "yes, relaxed",
                (Some(true), _) => "yes",
                (Some(false), _) => "no",
                (None, _) => "–",
            },
            e.timer_resolution_ms
                .map_or("–".into(), |t| format!("{t:.4} ms")),
            e.cross_origin_isolated
                .map_or("–", |b| if b { "yes" } else { "no" }),
        );
    }
    page.push("</table>");
    for (host, m) in crate::report::pages::machines(report) {
        let _ = write!(
            page.body,
            "<p>{}: {}</p>",
            esc(&host),
            esc(&crate::report::pages::describe(m))
        );
    }
}
