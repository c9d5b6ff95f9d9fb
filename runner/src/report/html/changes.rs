//! What changed against an earlier run, and what broke or got fixed in the history's newest run.

use std::fmt::Write;

use super::*;
use crate::history::store::HistoryView;
use qbench_core::comparison::Transition;

pub(super) fn changes(page: &mut Page, extras: Extras<'_>) {
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
    if let Some(from) = c.learned_from.as_ref().filter(|_| c.single_round()) {
        let _ = write!(
            page.body,
            "<p class=\"meta\">Single-round intervals pool how far pages of each class landed apart in {} runs of the history {}.</p>",
            from.runs,
            esc(&from.source)
        );
    }
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

pub(super) fn history_changes(page: &mut Page, h: &HistoryView) {
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
            if c.change == crate::history::store::Change::Fixed {
                "ok"
            } else {
                "error"
            },
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
