//! The table printed in the terminal.

use qbench_core::schema::Cell;

use crate::fmt::human_bytes;

/// One line per cell: outcome, latency, pipelined throughput (WebGPU), memory and quality.
pub fn table(cells: &[Cell]) -> String {
    let mut out = format!(
        "{:<9} {:<7} {:<13} {:>5} {:<11} {:>10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>8} {:>9}\n",
        "browser",
        "backend",
        "precision",
        "batch",
        "status",
        "first ms",
        "median ms",
        "p95 ms",
        "queued ms",
        "weights",
        "agree %",
        "acc %",
        "drift max"
    );
    for c in cells {
        let (first, median, p95) =
            c.latency_ms
                .as_ref()
                .map_or((String::new(), String::new(), String::new()), |l| {
                    (
                        format!("{:.3}", l.first),
                        format!("{:.3}", l.summary.median),
                        format!("{:.3}", l.summary.p95),
                    )
                });
        let queued = c
            .throughput_ms
            .as_ref()
            .map_or(String::new(), |t| format!("{:.3}", t.summary.median));
        let (agree, acc, drift) =
            c.quality
                .as_ref()
                .map_or((String::new(), String::new(), String::new()), |q| {
                    (
                        format!("{:.2}", q.top1_agreement_pct),
                        format!("{:.2}", q.accuracy_pct),
                        format!("{:.2e}", q.drift_max),
                    )
                });
        out.push_str(&format!(
            "{:<9} {:<7} {:<13} {:>5} {:<11} {:>10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>8} {:>9}\n",
            c.browser,
            c.backend.name(),
            c.precision.name(),
            c.batch,
            c.outcome.status(),
            first,
            median,
            p95,
            queued,
            human_bytes(c.memory.estimated_weight_bytes),
            agree,
            acc,
            drift
        ));
        if let Some(reason) = c.outcome.reason() {
            out.push_str(&format!("          └ {reason}\n"));
        }
    }
    out
}
