//! What the page can learn about its browser: read through `js_sys::Reflect`
//! so it needs no unstable WebGPU bindings.

use std::collections::BTreeMap;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array, WebAssembly};
use qbench_core::protocol::{PowerPreference, Probe};
use qbench_core::schema::Adapter;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A module whose only function uses a v128 instruction (as wasm-feature-detect does).
const SIMD_MODULE: [u8; 31] = [
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
    15, 253, 98, 11,
];

/// A module whose only function uses `i32x4.relaxed_dot_i8x16_i7x16_add_s`
/// (the page checks the same bytes before it loads `qbench_cpu_relaxed`).
const RELAXED_SIMD_MODULE: [u8; 37] = [
    0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13,
    1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x93, 0x02, 0x0b,
];

/// Adapter limits worth recording for a CNN.
const LIMITS: [&str; 7] = [
    "maxBufferSize",
    "maxStorageBufferBindingSize",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxStorageBuffersPerShaderStage",
    "maxComputeWorkgroupsPerDimension",
];

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

/// Probes the environment; never fails, missing facts stay empty. The adapter is
/// requested with `preference`, as the cells request theirs.
pub async fn probe(preference: PowerPreference) -> Probe {
    let global = js_sys::global();
    let navigator = get(&global, "navigator");
    let (webgpu, webgpu_unavailable_reason) = match adapter(&navigator, preference).await {
        Ok(a) => (Some(a), None),
        Err(reason) => (None, Some(reason)),
    };
    // Only once the adapter answered: a page without WebGPU has no floor.
    let readback_floor_ms = match &webgpu {
        Some(_) => crate::cell::readback_floor_ms(preference).await.ok(),
        None => None,
    };
    Probe {
        readback_floor_ms,
        user_agent: text(&navigator, "userAgent"),
        cross_origin_isolated: get(&global, "crossOriginIsolated")
            .as_bool()
            .unwrap_or(false),
        timer_resolution_ms: crate::clock::step_ms(),
        wasm_simd: WebAssembly::validate(&Uint8Array::from(&SIMD_MODULE[..]).into())
            .unwrap_or(false),
        wasm_relaxed_simd: WebAssembly::validate(
            &Uint8Array::from(&RELAXED_SIMD_MODULE[..]).into(),
        )
        .unwrap_or(false),
        hardware_concurrency: get(&navigator, "hardwareConcurrency")
            .as_f64()
            .unwrap_or(0.0) as u32,
        webgpu,
        webgpu_unavailable_reason,
    }
}

async fn adapter(navigator: &JsValue, preference: PowerPreference) -> Result<Adapter, String> {
    let gpu = get(navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("navigator.gpu is undefined: WebGPU is not enabled in this browser".into());
    }
    let request: Function = get(&gpu, "requestAdapter")
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is not a function")?;
    let options = js_sys::Object::new();
    Reflect::set(
        &options,
        &"powerPreference".into(),
        &preference.name().into(),
    )
    .map_err(describe)?;
    let promise: Promise = request
        .call1(&gpu, &options)
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise")?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {}", describe(e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("navigator.gpu.requestAdapter() returned null: no adapter".into());
    }
    let info = get(&adapter, "info");
    let is_fallback = get(&adapter, "isFallbackAdapter")
        .as_bool()
        .or_else(|| get(&info, "isFallbackAdapter").as_bool());
    let mut features: Vec<String> = Array::from(&get(&adapter, "features"))
        .iter()
        .filter_map(|f| f.as_string())
        .collect();
    features.sort();
    let limits_js = get(&adapter, "limits");
    let limits: BTreeMap<String, f64> = LIMITS
        .iter()
        .filter_map(|&k| get(&limits_js, k).as_f64().map(|v| (k.to_string(), v)))
        .collect();
    Ok(Adapter {
        vendor: text(&info, "vendor"),
        architecture: text(&info, "architecture"),
        device: text(&info, "device"),
        description: text(&info, "description"),
        is_fallback_adapter: is_fallback.unwrap_or(false),
        features,
        limits,
        wgsl_language_features: wgsl_language_features(),
        ..Adapter::default()
    })
}

/// `navigator.gpu.wgslLanguageFeatures`, sorted; empty where the browser
/// has no WebGPU or does not list them.
pub fn wgsl_language_features() -> Vec<String> {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Vec::new();
    }
    let listed = get(&gpu, "wgslLanguageFeatures");
    if listed.is_undefined() || listed.is_null() {
        return Vec::new();
    }
    let mut features: Vec<String> = Array::from(&listed)
        .iter()
        .filter_map(|f| f.as_string())
        .collect();
    features.sort();
    features
}

fn describe(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            value
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{value:?}"))
}
