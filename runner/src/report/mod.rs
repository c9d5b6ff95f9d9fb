//! Exporters: turn a computed report into bytes. Statistics are computed
//! before they get here; exporters only format.

use qbench_core::schema::{Bundle, Cell, Status};

/// Whether a cell's outcome was unexpected: against its expectation when it has
/// one, else when it errored or timed out.
pub fn is_unexpected(c: &Cell) -> bool {
    match &c.expectation {
        Some(j) => j.verdict.is_unexpected(),
        None => matches!(c.outcome.kind(), Status::Error | Status::Timeout),
    }
}

pub mod charts;
pub mod compare;
pub mod expect;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod summary;
pub mod terminal;

/// The download table of a report: one row per served file and a total, each
/// row the name and the raw, gzip and brotli sizes in human units with the exact
/// bytes; empty when the report does not list the files.
pub fn download_rows(bundle: &Bundle) -> Vec<[String; 4]> {
    let cell = |b: u64| format!("{} ({b} B)", terminal::human_bytes(b));
    let mut rows: Vec<[String; 4]> = bundle
        .files
        .iter()
        .map(|f| [f.name.clone(), cell(f.raw), cell(f.gzip), cell(f.brotli)])
        .collect();
    if bundle.files.len() > 1 {
        let sum = |g: fn(&qbench_core::schema::ServedFile) -> u64| bundle.files.iter().map(g).sum();
        rows.push([
            "total".to_string(),
            cell(sum(|f| f.raw)),
            cell(sum(|f| f.gzip)),
            cell(sum(|f| f.brotli)),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use qbench_core::schema::ServedFile;

    use super::*;

    #[test]
    fn download_rows_list_each_file_and_their_total() {
        let file = |name: &str, raw, gzip, brotli| ServedFile {
            name: name.to_string(),
            raw,
            gzip,
            brotli,
        };
        let mut bundle = Bundle {
            wasm_bytes: 3 << 20,
            files: vec![
                file("qbench_wasm_bg.wasm", 3 << 20, 1 << 20, 900 << 10),
                file("qbench_wasm.js", 2048, 1000, 900),
            ],
            wasm_opt: None,
            build: None,
        };
        let rows = download_rows(&bundle);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            [
                "qbench_wasm_bg.wasm".to_string(),
                "3.00 MiB (3145728 B)".to_string(),
                "1.00 MiB (1048576 B)".to_string(),
                "900.0 KiB (921600 B)".to_string(),
            ]
        );
        assert_eq!(rows[2][0], "total");
        assert_eq!(rows[2][1], "3.00 MiB (3147776 B)");
        assert_eq!(rows[2][3], "900.9 KiB (922500 B)");
        // A report from before the sizes were recorded: nothing to show.
        bundle.files.clear();
        assert!(download_rows(&bundle).is_empty());
    }
}
