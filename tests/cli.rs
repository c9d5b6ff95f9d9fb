//! The `qbench` binary end to end, without a browser: `native` and `inspect`.

use std::process::Command;

use qbench_core::{ParamRole, Precision};
use serde_json::Value;

fn qbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qbench"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("qbench runs");
    assert!(out.status.success(), "qbench failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn native_report_meets_the_baseline_contract() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("native.json");
    let table = run_ok(qbench().args(["native", "--samples", "5", "--warmup", "1", "--time-per-cell", "200", "--json"]).arg(&json));
    assert!(table.contains("int8-channel"), "{table}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5 * 2);
    for c in cells {
        assert_eq!(c["browser"], "native");
        assert_eq!(c["status"], "ok", "{c}");
        let precision: Precision = c["precision"].as_str().unwrap().parse().unwrap();
        assert_eq!(c["memory"]["estimated_weight_bytes"], 421_642 * precision.bytes_per_weight());
        assert_eq!(c["quality"]["n"], 2000);
        assert!(c["latency_ms"]["samples"].as_u64().unwrap() >= 5);
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
    assert!(table.contains("fc1.weight") && table.contains("SQNR"), "{table}");
    let weights = qbench_model::assets::weights().unwrap();
    let read = |tensor: &str, name: &str| {
        let bytes = std::fs::read(dir.path().join(tensor).join(format!("{name}.npy"))).unwrap();
        npy_values(&bytes)
    };
    for (spec, values) in weights.iter() {
        assert_eq!(bits(&read(spec.name, "f32")), bits(values), "{}", spec.name);
        for p in [Precision::F16, Precision::Int8, Precision::Int8Channel] {
            let expected = p.quantize(values, spec.shape, spec.role).unwrap().values;
            assert_eq!(bits(&read(spec.name, p.name())), bits(&expected), "{} {p}", spec.name);
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
    bytes[10 + len..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn bad_flag_values_are_named() {
    let out = qbench().args(["native", "--precisions", "int4"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown precision `int4`"), "{err}");
}
