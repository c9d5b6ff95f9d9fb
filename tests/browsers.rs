//! The real path: `qbench run` in headless Chromium and Firefox, full matrix
//! with small sample counts, and a cell that throws or hangs.
//! Needs the browsers and drivers `.ci/install` installs.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// One browser run at a time: they share two cores and timing would suffer.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn qbench_run(out: &Path, extra: &[&str]) -> Value {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let status = Command::new(env!("CARGO_BIN_EXE_qbench"))
        .args(["run", "--samples", "5", "--warmup", "1", "--time-per-cell", "300", "--quality-inputs", "300"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .status()
        .expect("qbench runs");
    assert!(status.success(), "qbench run failed: {status}");
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(out.join("report.md").is_file());
    report
}

fn cell<'a>(report: &'a Value, backend: &str, precision: &str, batch: u64) -> &'a Value {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["backend"] == backend && c["precision"] == precision && c["batch"] == batch)
        .unwrap_or_else(|| panic!("no cell {backend} {precision} {batch}"))
}

/// The assertions that hold in every browser.
fn check_full_matrix(report: &Value, browser: &str, expect_shader_f16: bool) {
    let env = &report["environments"][0];
    assert_eq!(env["browser"], browser);
    assert_eq!(env["cross_origin_isolated"], true, "{env}");
    assert!(env["timer_resolution_ms"].as_f64().unwrap() < 0.1, "{env}");
    let features: Vec<&str> = env["webgpu"]["features"].as_array().expect("a WebGPU adapter").iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(features.contains(&"shader-f16"), expect_shader_f16, "{features:?}");
    assert_eq!(report["cells"].as_array().unwrap().len(), 2 * 5 * 2);
    for backend in ["webgpu", "cpu"] {
        for precision in ["f32", "f16", "int8", "int8-channel", "f16-native"] {
            for batch in [1, 32] {
                let c = cell(report, backend, precision, batch);
                let bytes = match precision { "f32" => 4, "f16" | "f16-native" => 2, _ => 1 };
                assert_eq!(c["memory"]["estimated_weight_bytes"], 421_642 * bytes);
                if backend == "webgpu" && precision == "f16-native" && !expect_shader_f16 {
                    assert_eq!(c["status"], "unsupported", "{c}");
                    assert!(c["reason"].as_str().unwrap().contains("shader-f16"), "{c}");
                    continue;
                }
                assert_eq!(c["status"], "ok", "{browser} {backend} {precision} {batch}: {c}");
                assert!(c["latency_ms"]["samples"].as_u64().unwrap() >= 5);
                assert!(c["latency_ms"]["first"].as_f64().unwrap() > 0.0);
                let q = &c["quality"];
                assert_eq!(q["n"], 300, "{c}");
                assert!(q["accuracy_pct"].as_f64().unwrap() >= 97.0, "{c}");
                if precision == "f32" {
                    assert_eq!(q["top1_agreement_pct"], 100.0);
                    let diff = q["max_abs_diff_vs_native"].as_f64().unwrap();
                    assert!(diff <= 1e-4, "{browser} {backend} f32 differs from native by {diff}");
                } else {
                    assert!(q["top1_agreement_pct"].as_f64().unwrap() >= 98.0, "{c}");
                }
            }
        }
    }
}

mod chromium {
    use super::*;

    #[test]
    fn full_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let report = qbench_run(dir.path(), &["--browsers", "chromium"]);
        check_full_matrix(&report, "chromium", false);
    }

    #[test]
    fn a_throwing_cell_is_an_error_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let report = qbench_run(
            dir.path(),
            &["--browsers", "chromium", "--backends", "cpu", "--precisions", "f32,int8,f16", "--batch", "1", "--fault-precision", "int8", "--fault", "throw"],
        );
        assert_eq!(cell(&report, "cpu", "int8", 1)["status"], "error");
        assert!(cell(&report, "cpu", "int8", 1)["reason"].as_str().unwrap().contains("injected fault"));
        assert_eq!(cell(&report, "cpu", "f32", 1)["status"], "ok");
        assert_eq!(cell(&report, "cpu", "f16", 1)["status"], "ok");
    }

    #[test]
    fn a_hanging_cell_is_a_timeout_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let report = qbench_run(
            dir.path(),
            &["--browsers", "chromium", "--backends", "cpu", "--precisions", "f32,int8,f16", "--batch", "1", "--fault-precision", "int8", "--fault", "hang", "--timeout-per-cell", "20"],
        );
        assert_eq!(cell(&report, "cpu", "int8", 1)["status"], "timeout");
        assert_eq!(cell(&report, "cpu", "f32", 1)["status"], "ok");
        assert_eq!(cell(&report, "cpu", "f16", 1)["status"], "ok", "the browser restarted after the hang");
    }
}

mod firefox {
    use super::*;

    #[test]
    fn full_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let report = qbench_run(dir.path(), &["--browsers", "firefox"]);
        check_full_matrix(&report, "firefox", true);
    }
}
