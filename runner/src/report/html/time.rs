//! Where a warm inference's time goes, and the stage-by-stage profile.

use std::fmt::Write;

use qbench_core::schema::Report;

use super::*;

/// A table of text, the first column a name and the rest numbers.
pub(super) fn table(page: &mut Page, t: &crate::report::time::Table) {
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
pub(super) fn time(page: &mut Page, report: &Report) {
    let tables: Vec<(&str, &str, crate::report::time::Table)> = [
        (
            "A warm inference",
            crate::report::time::SPLIT_NOTE,
            crate::report::time::split(report),
        ),
        (
            "Pipelined throughput and GPU time",
            crate::report::time::THROUGHPUT_NOTE,
            crate::report::time::throughput(report),
        ),
        (
            "Stage by stage",
            crate::report::time::PROFILE_NOTE,
            crate::report::time::profile(report),
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
