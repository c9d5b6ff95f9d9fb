//! The page code tested where it runs, in Chromium, Firefox and WebKit
//! (`wasm-bindgen-test`; CONTRIBUTING.md, "Tests"): the probe, WebGPU
//! and CPU cells against the native fixture, `f16-native` detection, every
//! stored precision on both backends with its device bytes, profiles cut
//! stage by stage, the clock, and bad requests coming back as errors.
#![cfg(target_family = "wasm")]

use qbench_core::profile::Stage;
use qbench_core::protocol::{CellRequest, CellResponse, IntegerDot, PowerPreference, Probe};
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::Status;
use qbench_core::{Backend, Precision};
use qbench_wasm::bindings;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Float32 probabilities of the first held-out digits, computed natively (tests/fixture.rs).
const FIXTURE: &str = include_str!("fixtures/native_f32.json");
const INPUTS: usize = 8;
/// Parameters of the network.
const PARAMETERS: u64 = 421_642;
/// Slack for the memory pool's alignment of each buffer, bytes.
const POOL_SLACK: u64 = 64 * 1024;

fn fixture() -> Vec<f32> {
    let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap() as f32)
        .collect()
}

fn request(backend: Backend, precision: Precision) -> CellRequest {
    CellRequest {
        backend,
        precision,
        // The samples take the eight digits' one whole batch of 5, the quality
        // pass the other 3: the WebGPU dense kernel's blocks of four rows, one
        // of them partly past the batch, and its one-row path.
        batch: 5,
        plan: SamplePlan {
            warmup: 1,
            warmup_ms: 0.0,
            settle_ms: 0.0,
            warmup_max_ms: 0.0,
            max_samples: 3,
            min_samples: 3,
            budget_ms: 0.0,
            ci_target: 0.0,
            timer_steps: 0,
            throughput_samples: 0,
        },
        quality_inputs: INPUTS,
        quality_batch: 5,
        power_preference: PowerPreference::default(),
        profile: false,
        paired: None,
        readback_floor_ms: None,
        gpu_timestamps: false,
    }
}

/// Runs a cell as the page does: open, warm up, sample, finish, one call
/// into the module per inference.
async fn run(request: &CellRequest) -> CellResponse {
    let opened = bindings::open_cell(serde_json::to_string(request).unwrap())
        .await
        .unwrap();
    let opened: serde_json::Value = serde_json::from_str(&opened).unwrap();
    let Some(handle) = opened["handle"].as_u64() else {
        return serde_json::from_value(opened).unwrap();
    };
    let handle = u32::try_from(handle).unwrap();
    while bindings::warm_cell(handle).await.unwrap() {}
    while !bindings::sample_cell(handle).await.unwrap() {}
    serde_json::from_str(&bindings::finish_cell(handle).await.unwrap()).unwrap()
}

async fn probe() -> Probe {
    serde_json::from_str(&bindings::probe(None).await.unwrap()).unwrap()
}

/// The backends this browser has: both, or only the CPU in a browser with no
/// `navigator.gpu` at all (WebKitGTK). A browser that has `navigator.gpu` but
/// no working adapter still gets its WebGPU tests, and fails them.
async fn backends() -> Vec<Backend> {
    let p = probe().await;
    let absent = p.webgpu.is_none()
        && p.webgpu_unavailable_reason
            .as_deref()
            .is_some_and(|r| r.contains("navigator.gpu is undefined"));
    if absent {
        console_log!("no navigator.gpu here: the CPU backend only");
        vec![Backend::Cpu]
    } else {
        vec![Backend::Webgpu, Backend::Cpu]
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// How many inputs' top-1 class in `p` is the native float32 one.
fn agreeing(p: &[f32]) -> usize {
    top1(p)
        .iter()
        .zip(&top1(&fixture()))
        .filter(|(a, b)| a == b)
        .count()
}

fn top1(p: &[f32]) -> Vec<usize> {
    p.chunks(10)
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_probe_describes_the_browser() {
    let p = probe().await;
    assert!(!p.user_agent.is_empty());
    assert!(
        p.timer_resolution_ms > 0.0 && p.timer_resolution_ms.is_finite(),
        "{}",
        p.timer_resolution_ms
    );
    assert!(p.wasm_simd, "every browser validates wasm SIMD");
    assert!(p.hardware_concurrency > 0);
    match (&p.webgpu, &p.webgpu_unavailable_reason) {
        (Some(a), None) => {
            assert!(!a.features.is_empty(), "{a:?}");
            assert!(
                a.limits.get("maxBufferSize").is_some_and(|v| *v > 0.0),
                "{a:?}"
            );
            assert!(
                a.limits
                    .get("maxComputeWorkgroupSizeX")
                    .is_some_and(|v| *v >= 64.0),
                "{a:?}"
            );
        }
        (None, Some(reason)) => assert!(!reason.is_empty()),
        other => panic!("an adapter or a reason, not {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_webgpu_float32_cell_matches_native() {
    let r = run(&request(Backend::Webgpu, Precision::F32)).await;
    if !backends().await.contains(&Backend::Webgpu) {
        assert_eq!(r.status, Status::Unsupported, "{:?}", r.reason);
        return;
    }
    assert_eq!(r.status, Status::Ok, "{:?}", r.reason);
    assert_eq!(r.samples_ms.len(), 3);
    assert!(r.first_ms.unwrap() > 0.0);
    let diff = max_abs_diff(&r.probabilities, &fixture());
    assert!(diff <= 1e-5, "WebGPU float32 differs from native by {diff}");
}

/// Both network layouts (channels-last on WebGPU, lowered on the CPU and for
/// int8-native) cut after every stage, each cut timed in turn.
#[wasm_bindgen_test]
async fn a_profile_cuts_the_network_after_every_stage_on_both_backends() {
    let here = backends().await;
    for (backend, precision) in [
        (Backend::Webgpu, Precision::F32),
        (Backend::Webgpu, Precision::Int8Native),
        (Backend::Cpu, Precision::F32),
    ]
    .into_iter()
    .filter(|(b, _)| here.contains(b))
    {
        let mut req = request(backend, precision);
        req.profile = true;
        let r = run(&req).await;
        assert_eq!(
            r.status,
            Status::Ok,
            "{backend} {precision}: {:?}",
            r.reason
        );
        let stages: Vec<Stage> = r.cuts.iter().map(|c| c.stage).collect();
        assert_eq!(stages, Stage::ALL, "{backend} {precision}");
        for cut in &r.cuts {
            assert!(
                cut.samples_ms.len() == 7 && cut.samples_ms.iter().all(|t| *t >= 0.0),
                "{backend} {precision} {}: {:?}",
                cut.stage,
                cut.samples_ms
            );
        }
        assert_eq!(
            r.probabilities.len(),
            INPUTS * 10,
            "quality after the profile"
        );
    }
}

#[wasm_bindgen_test]
async fn a_cpu_float32_cell_matches_native() {
    let r = run(&request(Backend::Cpu, Precision::F32)).await;
    assert_eq!(r.status, Status::Ok, "{:?}", r.reason);
    let diff = max_abs_diff(&r.probabilities, &fixture());
    assert!(
        diff <= 1e-5,
        "CPU (wasm) float32 differs from native by {diff}"
    );
}

#[wasm_bindgen_test]
async fn f16_native_runs_exactly_when_the_adapter_has_shader_f16() {
    let has = probe()
        .await
        .webgpu
        .is_some_and(|a| a.features.iter().any(|f| f == "shader-f16"));
    let r = run(&request(Backend::Webgpu, Precision::F16Native)).await;
    if has {
        assert_eq!(r.status, Status::Ok, "{:?}", r.reason);
        let diff = max_abs_diff(&r.probabilities, &fixture());
        assert!(diff <= 1e-2, "half precision drifts by {diff}");
        assert_eq!(top1(&r.probabilities), top1(&fixture()));
        let bytes = r.measured_bytes.expect("the WebGPU pool reports its bytes");
        assert!(
            (PARAMETERS * 2..=PARAMETERS * 2 + POOL_SLACK).contains(&bytes),
            "f16 weights take {bytes} B"
        );
    } else {
        assert_eq!(r.status, Status::Unsupported, "{:?}", r.reason);
        // Without WebGPU at all the reason is the missing device.
        let reason = r.reason.as_deref().unwrap();
        assert!(
            reason.contains("shader-f16") || !backends().await.contains(&Backend::Webgpu),
            "{reason}"
        );
    }
}

#[wasm_bindgen_test]
async fn every_stored_precision_uploads_and_runs_on_both_backends() {
    for backend in backends().await {
        for precision in [
            Precision::F32,
            Precision::F16,
            Precision::Int8,
            Precision::Int8Channel,
        ] {
            let r = run(&request(backend, precision)).await;
            assert_eq!(
                r.status,
                Status::Ok,
                "{backend} {precision}: {:?}",
                r.reason
            );
            assert_eq!(r.probabilities.len(), INPUTS * 10, "{backend} {precision}");
            let agree = agreeing(&r.probabilities);
            assert!(
                agree >= INPUTS - 1,
                "{backend} {precision}: {agree}/{INPUTS} agree with float32"
            );
            match backend {
                // The stored precisions are simulated: the device holds float32.
                Backend::Webgpu => {
                    let bytes = r.measured_bytes.expect("the WebGPU pool reports its bytes");
                    assert!(
                        (PARAMETERS * 4..=PARAMETERS * 4 + POOL_SLACK).contains(&bytes),
                        "{precision}: {bytes} B"
                    );
                }
                // burn-flex has no memory pool to ask.
                Backend::Cpu => assert_eq!(r.measured_bytes, None, "{precision}"),
            }
        }
    }
}

#[wasm_bindgen_test]
async fn int8_native_holds_int8_and_computes_alike_on_both_backends() {
    let estimate = qbench_model::weights::memory(Precision::Int8Native);
    let mut probabilities = Vec::new();
    let here = backends().await;
    for backend in here.iter().copied() {
        let r = run(&request(backend, Precision::Int8Native)).await;
        assert_eq!(r.status, Status::Ok, "{backend}: {:?}", r.reason);
        probabilities.push(r.probabilities.clone());
        let agree = agreeing(&r.probabilities);
        assert!(
            agree >= INPUTS - 1,
            "{backend}: {agree}/{INPUTS} agree with float32"
        );
        match backend {
            // Packed int8 (plus the float32 tensors it cannot pack, and the scales).
            Backend::Webgpu => {
                let bytes = r.measured_bytes.expect("the WebGPU pool reports its bytes");
                let expected = estimate.estimated_weight_bytes + estimate.estimated_scale_bytes;
                assert!(
                    (expected..=expected + POOL_SLACK).contains(&bytes),
                    "int8-native holds {bytes} B, estimated {expected} B"
                );
                assert!(
                    bytes * 100 <= PARAMETERS * 4 * 35,
                    "{bytes} B is more than 0.35× float32's"
                );
            }
            Backend::Cpu => assert_eq!(r.measured_bytes, None),
        }
    }
    if here.len() < 2 {
        return;
    }
    // WebGPU's kernels read the packed words themselves; the CPU's matrix
    // products go through burn: the same network of int8 values.
    let diff = max_abs_diff(&probabilities[0], &probabilities[1]);
    assert!(
        diff <= 1e-5,
        "int8-native differs by {diff} between backends"
    );
}

#[wasm_bindgen_test]
fn the_clock_is_monotonic_and_fine_when_isolated() {
    let mut last = qbench_wasm::clock::now_ms();
    let mut smallest = f64::INFINITY;
    for _ in 0..20_000 {
        let now = qbench_wasm::clock::now_ms();
        assert!(now >= last, "the clock went back from {last} to {now}");
        if now > last {
            smallest = smallest.min(now - last);
        }
        last = now;
    }
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .unwrap()
        .as_bool()
        == Some(true);
    if !isolated {
        console_log!("skipped the resolution check: the page is not cross-origin isolated");
        return;
    }
    assert!(
        smallest < 0.1,
        "smallest clock step {smallest} ms in an isolated page"
    );
}

#[wasm_bindgen_test]
async fn bad_requests_come_back_as_errors_not_panics() {
    let err = bindings::open_cell("not json".into()).await.unwrap_err();
    assert!(
        err.as_string().unwrap().starts_with("bad cell request"),
        "{err:?}"
    );
    let mut value = serde_json::to_value(request(Backend::Cpu, Precision::F32)).unwrap();
    value["precision"] = "int4".into();
    let err = bindings::open_cell(value.to_string()).await.unwrap_err();
    let text = err.as_string().unwrap();
    assert!(text.contains("int4"), "{text}");
    // The module still answers afterwards.
    assert_eq!(
        run(&request(Backend::Cpu, Precision::F16)).await.status,
        Status::Ok
    );
}

/// Warm-up in the browser goes on until the time has settled: at least the
/// settle time and three inferences; the page's judge for TF.js agrees.
#[wasm_bindgen_test]
async fn warmup_runs_until_settled() {
    let mut req = request(Backend::Cpu, Precision::F32);
    req.plan.settle_ms = 200.0;
    let warmup = run(&req).await.warmup.unwrap();
    assert!(warmup.settled, "{warmup:?}");
    assert!(warmup.inferences >= 3 && warmup.ms >= 200.0, "{warmup:?}");
    let plan = serde_json::to_string(&req.plan).unwrap();
    assert!(bindings::wants_warmup(plan.clone(), vec![100.0; 2]).unwrap());
    assert!(!bindings::wants_warmup(plan.clone(), vec![100.0; 3]).unwrap());
    let record = bindings::warmup_record(plan, vec![100.0; 3]).unwrap();
    assert_eq!(record, r#"{"inferences":3,"ms":300.0,"settled":true}"#);
}

/// `int8-compute` in the browser computes the integers native builds do:
/// the logits of the first held-out digits, bit for bit, have the
/// fingerprint the native tests check (qbench-model, `integer`). Built as
/// usual, this is `qbench_cpu`'s kernels; with `--features cpu-relaxed`,
/// `qbench_cpu_relaxed`'s (`.ci/run` runs both).
#[wasm_bindgen_test]
fn int8_compute_gives_native_integers_bit_for_bit() {
    use qbench_model::integer::{self, FINGERPRINT_DIGITS, IntegerNet};
    let weights = qbench_model::assets::weights().unwrap();
    let net = IntegerNet::new(&weights, integer::calibration());
    let pixels = qbench_model::assets::digits()
        .unwrap()
        .pixels(0, FINGERPRINT_DIGITS);
    assert_eq!(
        integer::logits_sha256(&net.logits(&pixels)),
        integer::SHIPPED_LOGITS_SHA256
    );
}

/// An `int8-compute` cell runs on both backends, records its activation
/// scales and holds at most 0.3× float32's bytes; on WebGPU it says which
/// dot product its kernels took, the one the adapter's WGSL offers.
#[wasm_bindgen_test]
async fn int8_compute_runs_on_both_backends() {
    for backend in backends().await {
        let r = run(&request(backend, Precision::Int8Compute)).await;
        assert_eq!(r.status, Status::Ok, "{backend:?}: {:?}", r.reason);
        let agree = agreeing(&r.probabilities);
        assert!(
            agree >= INPUTS - 1,
            "{backend:?}: {agree}/{INPUTS} agree with float32"
        );
        assert_eq!(
            r.activation_scales,
            Some(qbench_model::integer::calibration())
        );
        let bytes = r
            .measured_bytes
            .expect("the integer network's bytes are measured");
        assert!(
            bytes * 100 <= PARAMETERS * 4 * 30,
            "{backend:?}: {bytes} B is more than 0.3× float32's"
        );
        let dot = match backend {
            Backend::Webgpu => {
                let features = probe().await.webgpu.unwrap().wgsl_language_features;
                Some(IntegerDot::for_features(&features))
            }
            Backend::Cpu => None,
        };
        assert_eq!(r.integer_dot, dot, "{backend:?}");
    }
}

/// `int8-compute`'s WebGPU kernels compute the integers native builds do,
/// with either dot product: the logits of the first held-out digits, bit for
/// bit, have the fingerprint the native tests check. `dot4I8Packed` is tried
/// only where the adapter's WGSL has it.
#[wasm_bindgen_test]
async fn int8_compute_on_webgpu_gives_native_integers_bit_for_bit() {
    use qbench_model::IntegerWebgpu;
    use qbench_model::integer::{self, FINGERPRINT_DIGITS, IntegerLayers};
    if !backends().await.contains(&Backend::Webgpu) {
        return;
    }
    let features = probe().await.webgpu.unwrap().wgsl_language_features;
    let device = qbench_wasm::cell::open_webgpu(PowerPreference::default())
        .await
        .unwrap();
    let weights = qbench_model::assets::weights().unwrap();
    let layers = IntegerLayers::new(&weights, integer::calibration());
    let pixels = qbench_model::assets::digits()
        .unwrap()
        .pixels(0, FINGERPRINT_DIGITS);
    let mut dots = vec![IntegerDot::Unpacked];
    if IntegerDot::for_features(&features) == IntegerDot::Packed {
        dots.push(IntegerDot::Packed);
    }
    for dot in dots {
        let net = IntegerWebgpu::new(&layers, dot, &device).unwrap();
        for batch in [FINGERPRINT_DIGITS, 3] {
            let mut logits = Vec::new();
            for images in pixels.chunks(batch * 784) {
                let data = net.forward(images).into_data_async().await.unwrap();
                logits.extend(data.try_into_vec::<f32>().expect("float32 logits"));
            }
            assert_eq!(
                integer::logits_sha256(&logits),
                integer::SHIPPED_LOGITS_SHA256,
                "{dot:?}, batches of {batch}"
            );
        }
    }
}
