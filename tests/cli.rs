//! The `qbench` binary end to end, without a browser: `native`, `inspect`,
//! `compare`, `expect`, `config`, and the exit codes of `run` when it cannot start.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use qbench_core::{ParamRole, Precision};
use serde_json::Value;

fn qbench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qbench"));
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("qbench runs");
    assert!(
        out.status.success(),
        "qbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small native report: every precision, batch 1 and 4, few samples.
fn native_report(path: &Path) -> Value {
    run_ok(
        qbench()
            .args([
                "native",
                "--max-samples",
                "8",
                "--min-samples",
                "8",
                "--warmup",
                "1",
                "--time-per-cell",
                "200ms",
                "--batch",
                "1,4",
                "--json",
            ])
            .arg(path),
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn native_report_meets_the_native_reference_contract() {
    let dir = tempfile::tempdir().unwrap();
    let report = native_report(&dir.path().join("native.json"));
    assert_eq!(report["schema_version"], 2);
    assert!(
        report["started"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC: {}",
        report["started"]
    );
    assert!(report["finished"].is_string());
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), Precision::ALL.len() * 2);
    assert_eq!(cells[0]["precision"], "f32", "float32 first");
    for c in cells {
        assert_eq!(c["browser"], "native");
        assert_eq!(c["status"], "ok", "{c}");
        let precision: Precision = c["precision"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            c["memory"]["estimated_weight_bytes"],
            qbench_model::weights::memory(precision).estimated_weight_bytes
        );
        assert_eq!(c["quality"]["n"], 1000, "run's default: {c}");
        assert_eq!(c["latency_ms"]["samples"], 8);
        // Eight samples are both the minimum and the maximum: stopped at the
        // maximum, or at the precision target when that was reached too.
        assert!(
            ["max", "target"].contains(&c["sampling"]["stop"].as_str().unwrap()),
            "{c}"
        );
        assert!(c["latency_ms"]["median"].as_f64().unwrap() > 0.0);
        let acc = c["quality"]["accuracy_pct"].as_f64().unwrap();
        assert!(acc >= 97.0, "{precision} accuracy {acc}");
        if precision == Precision::F32 {
            assert!(acc >= 98.0, "f32 accuracy {acc}");
            assert_eq!(c["quality"]["top1_agreement_pct"], 100.0);
            assert_eq!(c["quality"]["drift_max"], 0.0);
        }
    }
}

#[test]
fn inspect_export_round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let table = run_ok(qbench().arg("inspect").arg("--export").arg(dir.path()));
    assert!(
        table.contains("fc1.weight") && table.contains("SQNR"),
        "{table}"
    );
    let weights = qbench_model::assets::weights().unwrap();
    let read = |tensor: &str, name: &str| {
        let bytes = std::fs::read(dir.path().join(tensor).join(format!("{name}.npy"))).unwrap();
        npy_values(&bytes)
    };
    for (spec, values) in weights.iter() {
        assert_eq!(bits(&read(spec.name, "f32")), bits(values), "{}", spec.name);
        for p in [Precision::F16, Precision::Int8, Precision::Int8Channel] {
            let expected = p.quantize(values, spec.shape, spec.role).unwrap().values;
            assert_eq!(
                bits(&read(spec.name, p.name())),
                bits(&expected),
                "{} {p}",
                spec.name
            );
        }
        if spec.role == ParamRole::DenseWeight {
            assert_eq!(spec.shape.len(), 2);
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Minimal independent `.npy` reader: float32 data after the header.
fn npy_values(bytes: &[u8]) -> Vec<f32> {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    bytes[10 + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn bad_flag_values_are_named_and_exit_2() {
    let out = qbench()
        .args(["native", "--precisions", "int4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown precision `int4`"),
        "{}",
        stderr(&out)
    );
}

/// The native report's cell of `precision` at `batch`.
fn cell_mut<'a>(report: &'a mut Value, precision: &str, batch: u64) -> &'a mut Value {
    report["cells"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["precision"] == precision && c["batch"] == batch)
        .unwrap()
}

/// Multiplies every latency sample of one cell by `factor` (and its statistics).
fn scale_cell(report: &mut Value, precision: &str, batch: u64, factor: f64) {
    let l = &mut cell_mut(report, precision, batch)["latency_ms"];
    let raw: Vec<f64> = l["raw"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() * factor)
        .collect();
    l["raw"] = serde_json::json!(raw);
    for k in [
        "median",
        "mean",
        "min",
        "max",
        "p95",
        "ci95_low",
        "ci95_high",
        "first",
    ] {
        l[k] = serde_json::json!(l[k].as_f64().unwrap() * factor);
    }
}

/// Replaces one cell's samples with steady ones (within ±1% of its median),
/// so what a test asks of the verdict does not hang on this machine's noise: a
/// busy machine gives some cells two speeds, and a 25% shift of eight such
/// samples is honestly `unsure`.
fn steady_cell(report: &mut Value, precision: &str, batch: u64) {
    let l = &mut cell_mut(report, precision, batch)["latency_ms"];
    let median = l["median"].as_f64().unwrap();
    let n = l["raw"].as_array().unwrap().len();
    let raw: Vec<f64> = (0..n)
        .map(|i| median * (1.0 + 0.01 * ((i * 7 % 11) as f64 - 5.0) / 5.0))
        .collect();
    l["raw"] = serde_json::json!(raw);
}

#[test]
fn compare_exit_codes_same_regressed_and_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let mut report = native_report(&a);
    steady_cell(&mut report, "int8", 4);
    // Its peers (the other simulated precisions: the same arithmetic, each in a
    // process of its own) agree with it, as on a quiet machine; peers that lie
    // far apart would honestly leave a 25% shift of one run `unsure`.
    let steady = cell_mut(&mut report, "int8", 4)["latency_ms"].clone();
    for peer in ["f32", "f16", "int8-channel"] {
        cell_mut(&mut report, peer, 4)["latency_ms"] = steady.clone();
    }
    std::fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
    // The same report against itself: nothing regressed, never slower or faster
    // (eight samples may leave a cell `unsure`).
    let out = qbench()
        .args(["compare", "--fail-on-regression"])
        .arg(&a)
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("0 regressions, 0 fixes; latency: 0 slower, 0 faster, "),
        "{text}"
    );
    // One cell 25% slower in a copy: caught, named, exit 1.
    scale_cell(&mut report, "int8", 4, 1.25);
    let b = dir.path().join("b.json");
    std::fs::write(&b, serde_json::to_vec(&report).unwrap()).unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("comparison.json");
    let out = qbench()
        .args(["compare", "--fail-on-regression"])
        .arg(&a)
        .arg(&b)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("native cpu int8 batch 4: slower ×1.250"),
        "{}",
        stderr(&out)
    );
    // The JSON names the same one regression, with its ratio and verdict.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(json["counts"]["regressions"], 1, "{json}");
    let regressed: Vec<&serde_json::Value> = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["regression"] == true)
        .collect();
    assert_eq!(regressed.len(), 1, "{json}");
    let cell = regressed[0];
    assert_eq!(
        (
            &cell["precision"],
            &cell["batch"],
            &cell["latency"]["verdict"]
        ),
        (&"int8".into(), &4.into(), &"slower".into()),
        "{json}"
    );
    assert!(
        (cell["latency"]["ratio"].as_f64().unwrap() - 1.25).abs() < 1e-9,
        "{json}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.tests).sum::<usize>(),
        Precision::ALL.len() * 2
    );
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.failures).sum::<usize>(),
        1
    );
    // Without the gate flag the same comparison exits 0.
    assert_eq!(
        qbench()
            .arg("compare")
            .arg(&a)
            .arg(&b)
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    // A corrupt or missing input is bad input: 2, naming the file.
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"schema_version\": 2, \"cells\": [").unwrap();
    for bad in [&corrupt, &dir.path().join("absent.json")] {
        let out = qbench()
            .args(["compare", "--fail-on-regression"])
            .arg(&a)
            .arg(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(bad.file_name().unwrap().to_str().unwrap()),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn expect_from_a_report_writes_a_file_it_satisfies() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let mut report = native_report(&a);
    let cell = cell_mut(&mut report, "f16-native", 1);
    cell["status"] = "unsupported".into();
    cell["reason"] = "no F16 here".into();
    std::fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
    let file = dir.path().join("expect.toml");
    run_ok(qbench().arg("expect").arg(&a).arg("--toml").arg(&file));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("precision = \"f16-native\"\nbatch = 1\nstatus = \"unsupported\"\nreason = \"no F16 here\""), "{text}");
}

#[test]
fn config_prints_the_effective_configuration_and_refuses_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("qbench.toml");
    std::fs::write(
        &file,
        "browsers = [\"firefox\"]\nprecisions = [\"f32\"]\nrounds = 3\n",
    )
    .unwrap();
    let text = run_ok(
        qbench()
            .arg("config")
            .arg("--config")
            .arg(&file)
            .args(["--rounds", "2"]),
    );
    let printed: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(printed["browsers"].as_array().unwrap().len(), 1);
    assert_eq!(
        printed["rounds"].as_integer(),
        Some(2),
        "the flag overrides the file"
    );
    assert_eq!(
        printed["max-samples"].as_integer(),
        Some(100),
        "the default"
    );
    assert_eq!(
        printed["time-per-cell"].as_str(),
        Some("3s"),
        "a duration with its unit"
    );
    // Found in the working directory without --config.
    let text = run_ok(qbench().arg("config").current_dir(dir.path()));
    assert!(text.contains("rounds = 3"), "{text}");
    std::fs::write(&file, "browsers = [\"firefox\"]\nbrowser = \"chromium\"\n").unwrap();
    for out in [
        qbench()
            .arg("config")
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap(),
        qbench()
            .arg("run")
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap(),
    ] {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("unknown field `browser`") && stderr(&out).contains("line 2"),
            "{}",
            stderr(&out)
        );
    }
}

/// A package folder with every file a page loads, none of them working:
/// enough for runs that must stop before any page does.
fn fake_package(pkg: &Path) {
    std::fs::create_dir_all(pkg).unwrap();
    for module in ["qbench_wasm", "qbench_cpu"] {
        std::fs::write(pkg.join(format!("{module}_bg.wasm")), b"\0asm").unwrap();
        std::fs::write(pkg.join(format!("{module}.js")), b"export default null;\n").unwrap();
    }
    for (name, _) in qbench_model::assets::FILES {
        std::fs::write(pkg.join(name), b"not the file").unwrap();
    }
}

/// `qbench run` of one cell (Chromium, CPU, f32, batch 1) on package `pkg` into `out`.
fn one_cell_run(pkg: &Path, out: &Path) -> Command {
    let mut cmd = qbench();
    cmd.args(["run", "--browsers", "chromium", "--backends", "cpu"])
        .args(["--precisions", "f32", "--batch", "1"])
        .arg("--pkg")
        .arg(pkg)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn a_driver_that_exits_at_once_is_exit_3_naming_it_within_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (pkg, out) = (dir.path().join("pkg"), dir.path().join("out"));
    fake_package(&pkg);
    let started = Instant::now();
    let result = qbench()
        .env("CHROMEDRIVER", "/bin/false")
        .args([
            "run",
            "--browsers",
            "chromium",
            "--backends",
            "cpu",
            "--precisions",
            "f32",
            "--batch",
            "1",
            "--max-samples",
            "5",
            "--min-samples",
            "5",
            "--time-per-cell",
            "100ms",
        ])
        .arg("--pkg")
        .arg(&pkg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(result.status.code(), Some(3), "{}", stderr(&result));
    let err = stderr(&result);
    assert!(
        err.contains("no browser could be started") && err.contains("/bin/false"),
        "{err}"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["cells"][0]["status"], "error");
    assert!(
        report["environments"][0]["start_error"]
            .as_str()
            .unwrap()
            .contains("/bin/false"),
        "{report}"
    );
    // A missing driver is named with its install command.
    let result = one_cell_run(&pkg, &out)
        .env("CHROMEDRIVER", dir.path().join("no-such-driver"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(3), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("no-such-driver, which is not a file"),
        "{}",
        stderr(&result)
    );
    assert!(
        out.join("report.prev.json").is_file(),
        "the earlier report was moved aside, not replaced"
    );
}

#[test]
fn bad_run_inputs_are_exit_2_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("expect.toml");
    std::fs::write(&expect, "[[cell]]\nstatus = \"fine\"\n").unwrap();
    // A baseline package that is not one, or one that cannot run paired cells.
    let old_pkg = dir.path().join("old-pkg");
    fake_package(&old_pkg);
    for (flag, path, says) in [
        ("--expect", expect, ["fine", "expect.toml"]),
        (
            "--baseline-pkg",
            dir.path().join("missing"),
            ["--baseline-pkg", "no readable qbench_wasm.js"],
        ),
        (
            "--baseline-pkg",
            old_pkg,
            ["--baseline-pkg", "cannot run paired cells"],
        ),
    ] {
        let out = qbench()
            .arg("run")
            .arg(flag)
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            says.iter().all(|s| stderr(&out).contains(s)),
            "{}",
            stderr(&out)
        );
        assert!(!dir.path().join("out").exists(), "nothing was started");
    }
    let out = qbench()
        .args(["run", "--max-samples", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A checkout without TF.js installed: what to run, named.
    std::fs::create_dir_all(dir.path().join("crates/qbench-wasm")).unwrap();
    std::fs::write(dir.path().join("crates/qbench-wasm/Cargo.toml"), "").unwrap();
    let out = qbench()
        .args(["run", "--baseline-tfjs", "--root"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--baseline-tfjs: TF.js is not installed")
            && stderr(&out).contains("npm ci --prefix"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("out").exists(), "nothing was started");
    let out = qbench()
        .args(["run", "--fail-on-regression"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--baseline-report"),
        "{}",
        stderr(&out)
    );
}

/// Sets the host label of every environment and cell of a report.
fn relabel(report: &mut Value, host: &str) {
    for key in ["environments", "cells", "baseline"] {
        if let Some(items) = report.get_mut(key).and_then(Value::as_array_mut) {
            for item in items {
                item["host"] = host.into();
            }
        }
    }
}

#[test]
fn merge_puts_two_hosts_in_one_report_and_refuses_one_host_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = native_report(&dir.path().join("native.json"));
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    relabel(&mut report, "gpu-box");
    std::fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
    relabel(&mut report, "laptop");
    std::fs::write(&b, serde_json::to_vec(&report).unwrap()).unwrap();
    let out = dir.path().join("merged");
    let text = run_ok(qbench().arg("merge").arg(&a).arg(&b).arg("--out").arg(&out));
    let cells = 2 * Precision::ALL.len() * 2;
    assert!(
        text.contains(&format!("merged 2 reports (2 hosts, {cells} cells)")),
        "{text}"
    );
    let merged: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let hosts: std::collections::BTreeSet<&str> = merged["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts.into_iter().collect::<Vec<_>>(),
        vec!["gpu-box", "laptop"]
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| host | browser | backend | batch |"),
        "host rows in the matrix: {md}"
    );
    let out = qbench()
        .arg("merge")
        .arg(&a)
        .arg(&a)
        .arg("--out")
        .arg(dir.path().join("twice"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("give each machine its own --host-label"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outside_a_checkout_a_build_is_refused_naming_what_to_pass() {
    let empty = tempfile::tempdir().unwrap();
    for args in [
        vec!["build"],
        vec!["run", "--browsers", "chromium", "--out", "out"],
    ] {
        let out = qbench()
            .args(&args)
            .current_dir(empty.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("no qbench checkout at or above") && err.contains("--pkg DIR"),
            "{args:?}: {err}"
        );
        assert!(!empty.path().join("out").exists(), "nothing was started");
    }
    // A --root that is not a checkout is named.
    let out = qbench()
        .args(["build", "--root"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a qbench checkout"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_read_only_out_folder_is_exit_3_before_any_browser_starts() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    fake_package(&pkg);
    // /proc is read-only even for root, whose writes ignore permission bits.
    let out = qbench()
        .args([
            "run",
            "--browsers",
            "chromium",
            "--backends",
            "cpu",
            "--precisions",
            "f32",
            "--batch",
            "1",
            "--out",
            "/proc/qbench-report",
        ])
        .arg("--pkg")
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("creating the report folder /proc/qbench-report"),
        "{}",
        stderr(&out)
    );
}

/// Two runs into one folder: the second is refused at once, naming the
/// folder, and leaves the first one's report where it is.
#[test]
fn a_second_run_into_a_folder_in_use_is_exit_3_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pkg, out) = (dir.path().join("pkg"), dir.path().join("out"));
    fake_package(&pkg);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), b"the first run's").unwrap();
    // The first run, as far as the lock goes: this process holds it.
    let held = std::fs::File::create(out.join(".qbench-run.lock")).unwrap();
    held.lock().unwrap();
    let result = one_cell_run(&pkg, &out).output().unwrap();
    assert_eq!(result.status.code(), Some(3), "{}", stderr(&result));
    let err = stderr(&result);
    assert!(
        err.contains("another qbench run is writing to") && err.contains(&*out.to_string_lossy()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(out.join("report.json")).unwrap(),
        b"the first run's"
    );
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // Released, the folder is free again: the run gets past the lock (and
    // stops later, at the fake package's first page).
    drop(held);
    let result = one_cell_run(&pkg, &out)
        .env("CHROMEDRIVER", "/bin/false")
        .output()
        .unwrap();
    assert!(
        !stderr(&result).contains("another qbench run"),
        "{}",
        stderr(&result)
    );
    assert!(stderr(&result).contains("kept the earlier report as"));
}

#[test]
fn history_imports_reports_and_answers_trend_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let mut report = native_report(&a);
    // A second night, a day later, where one cell broke.
    report["started"] = "2099-01-02T00:00:00Z".into();
    let cell = cell_mut(&mut report, "int8", 1);
    cell["status"] = "timeout".into();
    cell["reason"] = "no answer within 180 s".into();
    std::fs::write(&b, serde_json::to_vec(&report).unwrap()).unwrap();
    let db = dir.path().join("history.sqlite");
    let history = |args: &[&str]| run_ok(qbench().arg("history").arg("--db").arg(&db).args(args));
    let text = history(&["import", a.to_str().unwrap(), b.to_str().unwrap()]);
    let cells = Precision::ALL.len() * 2;
    assert!(
        text.contains(&format!("run 1, {cells} cells"))
            && text.contains(&format!("run 2, {cells} cells")),
        "{text}"
    );
    assert!(
        history(&["import", a.to_str().unwrap()]).contains("already in"),
        "a run is imported once"
    );
    let list = history(&["list"]);
    assert_eq!(list.lines().count(), 1 + 2, "{list}");
    assert!(
        list.contains(&format!("{cells}/{cells}"))
            && list.contains(&format!("{}/{cells}", cells - 1)),
        "{list}"
    );
    let trend = history(&["trend", "--precision", "int8", "--batch", "1"]);
    assert!(trend.starts_with("native cpu int8 batch 1\n"), "{trend}");
    assert!(
        trend.contains("ok") && trend.contains("timeout") && trend.contains("median"),
        "{trend}"
    );
    let changes = history(&["changes", "--since", "2099-01-01"]);
    assert!(
        changes.contains(
            "native cpu int8 batch 1: broke (ok → timeout) in run 2 started 2099-01-02T00:00:00Z"
        ),
        "{changes}"
    );
    assert!(changes.contains("no answer within 180 s"), "{changes}");
    let out = qbench()
        .arg("history")
        .arg("--db")
        .arg(&db)
        .args(["changes", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `compare --history` learns from a real history's pages, never from the
/// two runs it compares; a history that is not there, or an empty window,
/// is bad input naming it; `history spread` tells what each class allows.
#[test]
fn compare_learns_from_a_history_but_not_from_the_runs_it_compares() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let (before, after) = (golden("before.json"), golden("after.json"));
    let compare = |extra: &[&str]| {
        qbench()
            .arg("compare")
            .arg(&before)
            .arg(&after)
            .args(extra)
            .output()
            .unwrap()
    };
    let db_arg = db.to_str().unwrap();
    let out = compare(&["--history", db_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("--history {db_arg}: no such file")),
        "{}",
        stderr(&out)
    );
    assert!(!db.exists(), "a missing history is not created");
    run_ok(
        qbench()
            .args(["history", "--db", db_arg, "import"])
            .arg(&before)
            .arg(&after),
    );
    let spread = run_ok(qbench().args(["history", "--db", db_arg, "spread"]));
    assert!(
        spread.starts_with(&format!(
            "{db_arg}: 2 of the newest 30 runs have quiet pages of ok cells\nclass"
        )),
        "{spread}"
    );
    assert!(spread.contains("chromium webgpu batch 1"), "{spread}");
    let json = dir.path().join("comparison.json");
    let out = compare(&["--history", db_arg, "--json", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        v["learned_from"],
        serde_json::json!({"source": db_arg, "runs": 0}),
        "both runs of the history are the compared ones"
    );
    let out = compare(&["--history", db_arg, "--history-window", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--history-window 0"),
        "{}",
        stderr(&out)
    );
}

/// The golden fixtures: two runs a day apart, the newer with a breakage.
fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(name)
}

#[test]
fn history_takes_db_anywhere_checks_filters_alerts_on_breakage_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let db = db.to_str().unwrap();
    run_ok(
        qbench()
            .args(["history", "import"])
            .arg(golden("before.json"))
            .arg(golden("after.json"))
            .args(["--db", db]),
    );
    // --db after the subcommand, as before it.
    let listed = run_ok(qbench().args(["history", "list", "--db", db]));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    // An unknown browser, backend or precision is refused, named, exit 2.
    for (flag, value) in [
        ("--browser", "safarii"),
        ("--backend", "metal"),
        ("--precision", "int4"),
    ] {
        let out = qbench()
            .args(["history", "--db", db, "trend", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(value), "{}", stderr(&out));
    }
    // What changed in the newest run: one breakage, one fix; the alert exits 1.
    let changed = run_ok(qbench().args(["history", "--db", db, "changes"]));
    assert!(
        changed.contains("firefox cpu int8 batch 1: broke"),
        "{changed}"
    );
    assert!(
        changed.contains("firefox webgpu int8 batch 4: fixed"),
        "{changed}"
    );
    let out = qbench()
        .args(["history", "--db", db, "changes", "--fail-on-breakage"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 cells broke") && stderr(&out).contains("firefox cpu int8 batch 1"),
        "{}",
        stderr(&out)
    );
    // Nothing broke after a date past both runs: exit 0.
    run_ok(qbench().args([
        "history",
        "--db",
        db,
        "changes",
        "--since",
        "2027-01-01",
        "--fail-on-breakage",
    ]));
    // Prune needs to be told what; then keeps the newest run.
    let out = qbench()
        .args(["history", "--db", db, "prune"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let pruned = run_ok(qbench().args(["history", "--db", db, "prune", "--keep", "1"]));
    assert!(pruned.starts_with("deleted 1 runs; 1 remain"), "{pruned}");
    let listed = run_ok(qbench().args(["history", "list", "--db", db]));
    assert!(listed.contains("2026-12-06T20:00:00Z"), "{listed}");
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn doctor_names_a_missing_driver_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    fake_package(&pkg);
    let doctor = |path: &str| {
        qbench()
            .args(["doctor", "--browsers", "chromium", "--no-probe", "--pkg"])
            .arg(&pkg)
            .env("PATH", path)
            .env_remove("CHROMEDRIVER")
            .env("CARGO_HOME", dir.path())
            .output()
            .unwrap()
    };
    // A PATH without chromedriver.
    let out = doctor(dir.path().to_str().unwrap());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{said}{}", stderr(&out));
    assert!(
        said.contains("MISSING chromium driver") && said.contains("chromedriver not found"),
        "{said}"
    );
    assert!(
        stderr(&out).contains("missing:") && stderr(&out).contains("apt-get install"),
        "{}",
        stderr(&out)
    );
    // With the system's PATH the driver is there (this machine has Chromium).
    if Path::new("/usr/bin/chromedriver").is_file() {
        let out = doctor(&std::env::var("PATH").unwrap());
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.contains("ok      chromium driver"), "{said}");
    }
}
