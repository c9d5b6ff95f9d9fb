//! What the runner asks the page for and what the page answers: the JSON that
//! crosses the wasm boundary and the WebDriver connection.

use serde::{Deserialize, Serialize};

use crate::matrix::{Backend, named_enum};
use crate::precision::Precision;
use crate::profile::CutSamples;
use crate::sampling::{SamplePlan, Stop, Warmup};
use crate::schema::{Adapter, Status};

named_enum!(
    /// The `powerPreference` a WebGPU adapter is requested with.
    PowerPreference, "GPU power preference", {
        /// `high-performance`: burn's default, a discrete GPU where there is one.
        HighPerformance => "high-performance",
        /// `low-power`: an integrated GPU where there is one.
        LowPower => "low-power",
    }
);

// The enum comes from `named_enum!`, whose derives cannot take a `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for PowerPreference {
    fn default() -> Self {
        PowerPreference::HighPerformance
    }
}

/// The module that ran a cell, as the page names it: one of the package's
/// (`qbench_wasm`, `qbench_cpu`), or TF.js with one of its backends
/// (`tfjs-backend-wasm`, `tfjs-backend-webgpu`) in a `--baseline-tfjs` run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Module {
    /// The package's module with both backends (WebGPU and CPU).
    QbenchWasm,
    /// The package's CPU-only module.
    QbenchCpu,
    /// TF.js with the named backend (`wasm`, `webgpu`).
    Tfjs(String),
    /// A name this qbench does not know (from a report of another build), kept as it was.
    Other(String),
}

impl Module {
    /// The name the page gives it.
    pub fn name(&self) -> String {
        match self {
            Module::QbenchWasm => "qbench_wasm".into(),
            Module::QbenchCpu => "qbench_cpu".into(),
            Module::Tfjs(backend) => format!("tfjs-backend-{backend}"),
            Module::Other(name) => name.clone(),
        }
    }

    /// Whether TF.js ran the cell (the engine qbench is measured against).
    pub fn is_tfjs(&self) -> bool {
        matches!(self, Module::Tfjs(_))
    }
}

impl From<String> for Module {
    fn from(name: String) -> Self {
        match name.as_str() {
            "qbench_wasm" => Module::QbenchWasm,
            "qbench_cpu" => Module::QbenchCpu,
            other => match other.strip_prefix("tfjs-backend-") {
                Some(backend) => Module::Tfjs(backend.to_string()),
                None => Module::Other(name),
            },
        }
    }
}

impl From<Module> for String {
    fn from(m: Module) -> Self {
        m.name()
    }
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// One cell for the page to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRequest {
    /// Where to run.
    pub backend: Backend,
    /// Which weights and float type.
    pub precision: Precision,
    /// Inputs per timed inference.
    pub batch: u32,
    /// How to sample latency.
    pub plan: SamplePlan,
    /// Held-out digits to return probabilities for (0 skips quality).
    pub quality_inputs: usize,
    /// Inputs per inference while computing quality.
    pub quality_batch: usize,
    /// The adapter's power preference (WebGPU cells).
    #[serde(default)]
    pub power_preference: PowerPreference,
    /// Time the network cut after each stage once sampling is done
    /// (`run --profile`; see [`crate::profile`]).
    #[serde(default)]
    pub profile: bool,
    /// Run it paired: its warm samples alternating with those of what the page
    /// has at `/base/` (another package, or TF.js). Set by the browser executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<crate::schema::PairedWith>,
    /// The page's readback floor (the probe's), milliseconds: what a
    /// throughput queue is sized against; measured in the cell when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readback_floor_ms: Option<f64>,
    /// The adapter offers `timestamp-query`: time each inference's dispatches
    /// on the GPU's clock too (WebGPU cells; without the feature, burn's
    /// profiler cannot time in a page at all).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gpu_timestamps: bool,
}

/// What a cell measured in the page, raw: statistics are computed by the runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResponse {
    /// `ok`, `unsupported` or `error`.
    pub status: Status,
    /// Why, when not `ok`.
    pub reason: Option<String>,
    /// The first inference including pipeline compilation and readback, milliseconds.
    pub first_ms: Option<f64>,
    /// How the warm-up between the first inference and the samples went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Warmup>,
    /// Warm samples, each the mean of `repetitions` inferences run back to
    /// back, each including its readback, milliseconds.
    pub samples_ms: Vec<f64>,
    /// Inferences each sample timed ([`crate::sampling::repetitions`]);
    /// absent from pages before repetitions, which timed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions: Option<u32>,
    /// The page's clock step the repetitions were chosen from, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_step_ms: Option<f64>,
    /// Pipelined throughput (WebGPU cells with `throughput_samples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<crate::throughput::ThroughputSamples>,
    /// GPU time of each timed inference's dispatches, layer by layer (conv1
    /// to fc2), from the adapter's timestamps (`gpu_timestamps` in the
    /// request), milliseconds; the layers' samples in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_ms: Vec<CutSamples>,
    /// For each warm sample, the part until the forward call returned (host-side
    /// work, per inference as `samples_ms`), milliseconds; empty when not measured.
    #[serde(default)]
    pub enqueue_ms: Vec<f64>,
    /// Why sampling stopped.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Probabilities of the first `quality_inputs` held-out digits, row-major `[n × 10]`.
    pub probabilities: Vec<f32>,
    /// Bytes measured after loading the weights, where the backend reports it.
    pub measured_bytes: Option<u64>,
    /// How `measured_bytes` was measured.
    pub measured_how: Option<String>,
    /// The activation scales an `int8-compute` cell's network was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_scales: Option<crate::quantize::ActivationScales>,
    /// Device (or adapter) initialisation, milliseconds.
    pub device_init_ms: Option<f64>,
    /// Building the network and uploading its weights, milliseconds.
    pub model_load_ms: Option<f64>,
    /// A paired cell (`paired` in the request): the baseline package's answer
    /// from the same page, its warm samples taken alternately with these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Box<CellResponse>>,
    /// The module that ran the cell, as the page names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<Module>,
    /// How an `int8-compute` WebGPU cell's kernels took their products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer_dot: Option<IntegerDot>,
    /// The network cut after each stage, timed (`profile` in the request).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<CutSamples>,
}

impl CellResponse {
    /// A response that says the cell cannot run or failed, with nothing measured.
    pub fn failed(status: Status, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: Some(reason.into()),
            first_ms: None,
            warmup: None,
            samples_ms: Vec::new(),
            repetitions: None,
            timer_step_ms: None,
            throughput: None,
            gpu_ms: Vec::new(),
            enqueue_ms: Vec::new(),
            stop: None,
            probabilities: Vec::new(),
            measured_bytes: None,
            measured_how: None,
            activation_scales: None,
            device_init_ms: None,
            model_load_ms: None,
            baseline: None,
            module: None,
            integer_dot: None,
            cuts: Vec::new(),
        }
    }
}

/// How `int8-compute`'s WebGPU kernels multiply words of four int8 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntegerDot {
    /// WGSL's `dot4I8Packed`: the adapter has the
    /// `packed_4x8_integer_dot_product` language feature.
    #[serde(rename = "dot4I8Packed")]
    Packed,
    /// The four bytes sign-extended and multiplied in i32, where the adapter
    /// lacks that feature.
    #[serde(rename = "unpacked")]
    Unpacked,
}

impl IntegerDot {
    /// The WGSL language feature [`IntegerDot::Packed`] needs.
    pub const LANGUAGE_FEATURE: &str = "packed_4x8_integer_dot_product";

    /// The name reports give it.
    pub fn name(self) -> &'static str {
        match self {
            IntegerDot::Packed => "dot4I8Packed",
            IntegerDot::Unpacked => "unpacked",
        }
    }

    /// The dot product for an adapter whose WGSL language features are `features`.
    pub fn for_features<S: AsRef<str>>(features: &[S]) -> Self {
        match features
            .iter()
            .any(|f| f.as_ref() == Self::LANGUAGE_FEATURE)
        {
            true => IntegerDot::Packed,
            false => IntegerDot::Unpacked,
        }
    }
}

/// What the page found out about its browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Probe {
    /// `navigator.userAgent`.
    pub user_agent: String,
    /// `crossOriginIsolated`.
    pub cross_origin_isolated: bool,
    /// Smallest non-zero step of `performance.now()` seen, milliseconds.
    pub timer_resolution_ms: f64,
    /// Whether a module with a 128-bit SIMD instruction validates.
    pub wasm_simd: bool,
    /// Whether a module with a relaxed-SIMD instruction validates.
    #[serde(default)]
    pub wasm_relaxed_simd: bool,
    /// `navigator.hardwareConcurrency`.
    pub hardware_concurrency: u32,
    /// The adapter, if `requestAdapter` gave one.
    pub webgpu: Option<Adapter>,
    /// Why not, if not.
    pub webgpu_unavailable_reason: Option<String>,
    /// Median time of the smallest WebGPU round trip through burn (upload four
    /// floats, one dispatch, read back), milliseconds: the adapter's floor.
    #[serde(default)]
    pub readback_floor_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_round_trip_and_unknown_ones_are_kept() {
        for name in [
            "qbench_wasm",
            "qbench_cpu",
            "tfjs-backend-wasm",
            "tfjs-backend-webgpu",
            "qbench_gpu_v9",
        ] {
            let m = Module::from(name.to_string());
            assert_eq!(m.name(), name);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Module>(&json).unwrap(), m);
        }
        assert!(Module::from("tfjs-backend-wasm".to_string()).is_tfjs());
        assert!(!Module::QbenchCpu.is_tfjs());
        assert_eq!(
            Module::from("qbench_gpu_v9".to_string()),
            Module::Other("qbench_gpu_v9".into())
        );
    }
}
