//! The page's interface to qbench, the one module that speaks wasm-bindgen.
//! Requests and answers cross as JSON strings of `qbench_core::protocol` types;
//! nothing panics across the boundary unnoticed: the panic hook stores the
//! message where the runner can read it (`globalThis.qbenchPanic`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use qbench_core::protocol::CellRequest;
use qbench_core::sampling::{SamplePlan, Warming};
use qbench_core::stats::Summary;
use qbench_core::{Backend, Precision};
use wasm_bindgen::prelude::*;

use crate::cell::Session;

/// Runs the static constructors and installs the panic hook, once, when the
/// module is instantiated (before any other call into it).
#[wasm_bindgen(start)]
pub fn start() {
    crate::ctors::run();
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&message));
        let _ = js_sys::Reflect::set(&js_sys::global(), &"qbenchPanic".into(), &message.into());
    }));
}

/// Probes the browser: user agent, isolation, timer resolution, SIMD, and the WebGPU
/// adapter requested with `power_preference` (`high-performance` when absent). JSON `Probe`.
#[wasm_bindgen]
pub async fn probe(power_preference: Option<String>) -> Result<String, JsValue> {
    let preference = match power_preference {
        Some(p) => p
            .parse()
            .map_err(|e: qbench_core::ParseNameError| JsValue::from_str(&e.to_string()))?,
        None => qbench_core::protocol::PowerPreference::default(),
    };
    to_json(&crate::probe::probe(preference).await)
}

/// Hands the module the weights and the held-out digits the page fetched
/// (`weights.safetensors`, `digits.safetensors` from the package folder); each is
/// checked against the SHA-256 the module was built with. Call before any cell.
#[wasm_bindgen(js_name = loadAssets)]
pub fn load_assets(weights: Vec<u8>, digits: Vec<u8>) -> Result<(), JsValue> {
    crate::assets::provide(vec![weights, digits]).map_err(|e| JsValue::from_str(&e))
}

/// The files the page fetches before any cell, in the order `loadAssets` takes them.
#[wasm_bindgen(js_name = assetFiles)]
pub fn asset_files() -> Vec<String> {
    qbench_model::assets::FILES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect()
}

thread_local! {
    /// Cells opened with `openCell` and not yet finished, by handle.
    static SESSIONS: RefCell<HashMap<u32, Session>> = RefCell::new(HashMap::new());
    static NEXT_HANDLE: Cell<u32> = const { Cell::new(1) };
}

/// Opens a cell for the page to drive, one call per inference (the browser
/// uses a function's optimised code only from its next call, so a loop in
/// here would run at the baseline tier; a paired page alternates two
/// modules' cells): device, weights and first inference.
/// Resolves to JSON: a `{"handle": n}` for `warmCell`/`sampleCell`/`finishCell`,
/// or the failed `CellResponse`.
#[wasm_bindgen(js_name = openCell)]
pub async fn open_cell(request: String) -> Result<String, JsValue> {
    let request: CellRequest = serde_json::from_str(&request)
        .map_err(|e| JsValue::from_str(&format!("bad cell request: {e}")))?;
    match Session::open(&request).await {
        Ok(session) => {
            let handle = NEXT_HANDLE.with(|n| n.replace(n.get() + 1));
            SESSIONS.with(|s| s.borrow_mut().insert(handle, session));
            Ok(serde_json::json!({ "handle": handle }).to_string())
        }
        Err(failed) => to_json(&failed),
    }
}

/// One untimed warm-up inference of an open cell, if its plan still wants
/// one; resolves to whether it wants another.
#[wasm_bindgen(js_name = warmCell)]
pub async fn warm_cell(handle: u32) -> Result<bool, JsValue> {
    let mut session = take(handle)?;
    let wants = session.warm().await;
    SESSIONS.with(|s| s.borrow_mut().insert(handle, session));
    Ok(wants)
}

/// Whether a cell with the JSON `SamplePlan` `plan` whose warm-up inferences
/// took `times` (ms) should warm up once more: the rule for a side that is
/// not a qbench module (TF.js), so both sides of a pair settle alike.
#[wasm_bindgen(js_name = wantsWarmup)]
pub fn wants_warmup(plan: String, times: Vec<f64>) -> Result<bool, JsValue> {
    Ok(Warming::over(parse_plan(&plan)?, &times).wants_more())
}

/// The JSON `Warmup` record of a warm-up that took `times` (ms) under `plan`.
#[wasm_bindgen(js_name = warmupRecord)]
pub fn warmup_record(plan: String, times: Vec<f64>) -> Result<String, JsValue> {
    to_json(&Warming::over(parse_plan(&plan)?, &times).summary())
}

/// Inferences per timed sample for a side that is not a qbench module
/// (TF.js) under the JSON `SamplePlan` `plan`, whose warm-up inferences took
/// `times` (ms): by this module's rule, from this page's clock step, so both
/// sides of a pair time alike.
#[wasm_bindgen(js_name = sampleRepetitions)]
pub fn sample_repetitions(plan: String, times: Vec<f64>) -> Result<u32, JsValue> {
    let plan = parse_plan(&plan)?;
    if plan.timer_steps == 0 {
        return Ok(1);
    }
    let typical = Warming::over(plan, &times).typical_ms().unwrap_or(f64::NAN);
    Ok(qbench_core::sampling::repetitions(
        plan.timer_steps,
        crate::clock::step_ms(),
        typical,
    ))
}

fn parse_plan(plan: &str) -> Result<SamplePlan, JsValue> {
    serde_json::from_str(plan).map_err(|e| JsValue::from_str(&format!("bad sampling plan: {e}")))
}

/// Times one warm inference of an open cell; resolves to whether its sampling
/// plan is met (always true once the cell failed).
#[wasm_bindgen(js_name = sampleCell)]
pub async fn sample_cell(handle: u32) -> Result<bool, JsValue> {
    let mut session = take(handle)?;
    let satisfied = session.sample().await;
    SESSIONS.with(|s| s.borrow_mut().insert(handle, session));
    Ok(satisfied)
}

/// Runs an open cell's quality pass and closes it; resolves to a JSON `CellResponse`.
#[wasm_bindgen(js_name = finishCell)]
pub async fn finish_cell(handle: u32) -> Result<String, JsValue> {
    to_json(&take(handle)?.finish().await)
}

fn take(handle: u32) -> Result<Session, JsValue> {
    SESSIONS
        .with(|s| s.borrow_mut().remove(&handle))
        .ok_or_else(|| JsValue::from_str(&format!("no open cell {handle}")))
}

/// Summary statistics of latency samples (milliseconds), for the page's own table. JSON `Summary`.
#[wasm_bindgen]
pub fn summarize(samples: Vec<f64>) -> Result<String, JsValue> {
    let summary = Summary::from_samples(&samples).map_err(|e| JsValue::from_str(&e.to_string()))?;
    to_json(&summary)
}

/// The matrix this build can run: `{"backends": [...], "precisions": [...]}`.
#[wasm_bindgen]
pub fn matrix() -> String {
    serde_json::json!({ "backends": Backend::ALL, "precisions": Precision::ALL }).to_string()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| JsValue::from_str(&e.to_string()))
}
