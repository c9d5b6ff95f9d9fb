//! The fixture the in-browser tests compare with: float32 probabilities of the
//! first held-out digits, computed natively by the same cell code. Checked here
//! against a fresh native run, so a change of the weights or the network shows
//! up natively first; `QBENCH_WRITE_FIXTURE=1` rewrites it.
#![cfg(not(target_family = "wasm"))]

use qbench_core::protocol::{CellRequest, PowerPreference};
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::Status;
use qbench_core::{Backend, Precision};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/native_f32.json"
);
/// Held-out digits in the fixture.
const INPUTS: usize = 8;

#[test]
fn the_fixture_is_what_native_float32_computes() {
    let request = CellRequest {
        backend: Backend::Cpu,
        precision: Precision::F32,
        batch: 1,
        plan: SamplePlan {
            warmup: 0,
            warmup_ms: 0.0,
            settle_ms: 0.0,
            warmup_max_ms: 0.0,
            max_samples: 1,
            min_samples: 1,
            budget_ms: 0.0,
            ci_target: 0.0,
            timer_steps: 0,
            throughput_samples: 0,
        },
        quality_inputs: INPUTS,
        quality_batch: INPUTS,
        power_preference: PowerPreference::default(),
        profile: false,
        paired: None,
        readback_floor_ms: None,
        gpu_timestamps: false,
    };
    let response = pollster::block_on(qbench_wasm::cell::run(&request));
    assert_eq!(response.status, Status::Ok, "{:?}", response.reason);
    let fresh = serde_json::json!({ "inputs": INPUTS, "probabilities": response.probabilities });
    if std::env::var_os("QBENCH_WRITE_FIXTURE").is_some() {
        std::fs::write(PATH, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let shipped: Vec<f64> = shipped["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(shipped.len(), INPUTS * 10);
    for (i, (a, b)) in shipped.iter().zip(&response.probabilities).enumerate() {
        assert!(
            (a - f64::from(*b)).abs() <= 1e-6,
            "probability {i}: fixture {a}, native now {b}; rewrite with QBENCH_WRITE_FIXTURE=1 if the weights changed on purpose"
        );
    }
}
