//! Exporters: turn a computed report into bytes. Statistics are computed
//! before they get here; exporters only format.

use qbench_core::schema::Bundle;

pub mod charts;
pub mod compare;
pub mod comparison_json;
pub mod expect;
pub mod export;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod npy;
pub mod pages;
pub mod summary;
pub mod terminal;
pub mod text;
pub mod time;

/// The download table of a report: one row per served file, then what one
/// page downloads (each module with its glue, plus the data files): a row per
/// module, or one `total` when the package has a single module. Each row is
/// the name and the raw, gzip and brotli sizes in human units with the exact
/// bytes; empty when the report does not list the files.
pub fn download_rows(bundle: &Bundle) -> Vec<[String; 4]> {
    use qbench_core::schema::ServedFile;
    let cell = |b: u64| format!("{} ({b} B)", crate::fmt::human_bytes(b));
    let row = |name: String, files: &[&ServedFile]| {
        let sum = |g: fn(&ServedFile) -> u64| files.iter().map(|f| g(f)).sum();
        [
            name,
            cell(sum(|f| f.raw)),
            cell(sum(|f| f.gzip)),
            cell(sum(|f| f.brotli)),
        ]
    };
    let mut rows: Vec<[String; 4]> = bundle
        .files
        .iter()
        .map(|f| row(f.name.clone(), &[f]))
        .collect();
    let modules: Vec<&str> = bundle
        .files
        .iter()
        .filter_map(|f| f.name.strip_suffix("_bg.wasm"))
        .collect();
    let of_module = |f: &ServedFile, m: &str| {
        f.name.starts_with(&format!("{m}_")) || f.name == format!("{m}.js")
    };
    let page = |m: &str| -> Vec<&ServedFile> {
        bundle
            .files
            .iter()
            .filter(|f| of_module(f, m) || !modules.iter().any(|other| of_module(f, other)))
            .collect()
    };
    match modules.as_slice() {
        [] | [_] if bundle.files.len() > 1 => rows.push(row(
            "total".into(),
            &bundle.files.iter().collect::<Vec<_>>(),
        )),
        [] | [_] => {}
        several => rows.extend(
            several
                .iter()
                .map(|m| row(format!("a page with {m}"), &page(m))),
        ),
    }
    rows
}

#[cfg(test)]
mod tests {
    use qbench_core::schema::ServedFile;

    use super::*;

    #[test]
    fn download_rows_list_each_file_and_what_a_page_downloads() {
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
        // Two modules: what a page with each downloads, data files included.
        bundle.files = vec![
            file("qbench_wasm_bg.wasm", 3000, 1000, 900),
            file("qbench_wasm.js", 20, 10, 9),
            file("qbench_cpu_bg.wasm", 500, 200, 100),
            file("qbench_cpu.js", 20, 10, 9),
            file("weights.safetensors", 7, 6, 5),
        ];
        let rows = download_rows(&bundle);
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[5][0], "a page with qbench_wasm");
        assert_eq!(rows[5][1], "3.0 KiB (3027 B)");
        assert_eq!(rows[6][0], "a page with qbench_cpu");
        assert_eq!(rows[6][3], "114 B (114 B)");
        // A report from before the sizes were recorded: nothing to show.
        bundle.files.clear();
        assert!(download_rows(&bundle).is_empty());
    }
}
