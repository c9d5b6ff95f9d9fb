//! Runs one benchmark cell: device, weights, first inference, warm-up until
//! the inference time settles, timed samples, then probabilities for quality. Every inference is timed up to the
//! moment its probabilities are back on the host (for WebGPU, after `mapAsync`).

use burn::tensor::{DType, Device, FloatDType};
use qbench_core::profile::{CutSamples, Stage};
use qbench_core::protocol::{CellRequest, CellResponse, PowerPreference};
use qbench_core::sampling::{Stop, Warming, repetitions};
use qbench_core::schema::Status;
use qbench_core::throughput::{self, ThroughputSamples};
use qbench_core::{Backend, Precision};
use qbench_model::digits::Digits;
use qbench_model::weights::{QuantizedWeights, Weights};
#[cfg(all(target_family = "wasm", feature = "webgpu"))]
use qbench_model::{ChannelsLast, IntegerWebgpu};
#[cfg(feature = "cpu")]
use qbench_model::{IntegerNet, Lowered};

use crate::assets;
use crate::clock::{self, now_ms};

/// Timed rounds of cuts in a profile (`run --profile`).
const PROFILE_ROUNDS: usize = 7;

/// Inferences whose dispatches are timed on the GPU's clock (WebGPU cells
/// whose adapter offers `timestamp-query`).
const GPU_SAMPLES: usize = 15;

/// Why a cell produced no measurements.
#[derive(Debug)]
enum Failure {
    Unsupported(String),
    Error(String),
}

fn error(context: &str) -> impl FnOnce(String) -> Failure + '_ {
    move |msg| Failure::Error(format!("{context}: {msg}"))
}

/// Runs the cell in one call (native cells, `qbench cell`); never fails, the
/// failure is in the response. In the browser the page drives a [`Session`]
/// one call per inference instead (see `www/qbench.js`).
pub async fn run(request: &CellRequest) -> CellResponse {
    let mut session = match Session::open(request).await {
        Ok(session) => session,
        Err(failed) => return failed,
    };
    while session.warm().await {}
    while !session.satisfied() {
        session.sample().await;
    }
    session.finish().await
}

/// A cell between its first inference and its quality pass: the device, the
/// network, the warm-up and the samples so far. [`run`] drives it alone; a
/// paired page drives two (this build's and the other side's) alternately,
/// warm-up inference by warm-up inference, then sample by sample.
pub struct Session {
    request: CellRequest,
    device: Device,
    net: Model,
    digits: Digits,
    /// The timed samples' inputs in turn: the quality digits in whole
    /// batches (when the cell measures quality on a batch of them at least),
    /// else the first batch alone. The first batch is also what the first
    /// inference, the warm-up and the profile run on ([`Self::first_batch`]).
    inputs: Vec<Vec<f32>>,
    /// How many of `inputs` are batches of quality digits.
    quality_batches: usize,
    /// Probabilities of the quality digits the samples have covered so far.
    sampled_probabilities: Vec<f32>,
    first_ms: f64,
    device_init_ms: f64,
    model_load_ms: f64,
    measured_bytes: Option<u64>,
    warming: Warming,
    /// The page's clock step (when the plan wants samples spanning steps of it).
    timer_step_ms: Option<f64>,
    /// Inferences per timed sample, chosen at the first sample.
    repetitions: Option<u32>,
    /// Timed inferences so far: which input the next one takes.
    inferences: usize,
    samples_ms: Vec<f64>,
    enqueue_ms: Vec<f64>,
    spent: f64,
    stop: Option<Stop>,
    failure: Option<Failure>,
}

impl Session {
    /// Opens the device, uploads the weights and times the first inference; a
    /// cell that cannot get this far is its failed response.
    pub async fn open(request: &CellRequest) -> Result<Session, CellResponse> {
        Self::opened(request).await.map_err(Failure::into_response)
    }

    async fn opened(req: &CellRequest) -> Result<Session, Failure> {
        let started = now_ms();
        let device = open_device(req.backend, req.precision, req.power_preference).await?;
        let device_init_ms = now_ms() - started;

        let raw = assets::weights().map_err(error("loading weights"))?;
        let weights = raw
            .quantized(req.precision)
            .map_err(|e| Failure::Error(format!("loading weights: {e}")))?;
        let digits = assets::digits().map_err(error("loading digits"))?;
        let before = device.memory_pool_usage();
        let load_started = now_ms();
        let net = Model::new(req.backend, req.precision, &raw, &weights, &device)?;
        let model_load_ms = now_ms() - load_started;
        let measured_bytes = match (net.host_bytes(), before, device.memory_pool_usage()) {
            (Some(host), ..) => Some(host),
            (None, Some(b), Some(a)) => Some(a.bytes_in_use.saturating_sub(b.bytes_in_use)),
            _ => None,
        };

        let batch = (req.batch as usize).clamp(1, digits.len());
        let quality_batches = req.quality_inputs.min(digits.len()) / batch;
        let inputs: Vec<Vec<f32>> = (0..quality_batches.max(1))
            .map(|b| digits.pixels(b * batch, (b + 1) * batch))
            .collect();
        let first_ms = timed(&net, &inputs[0], &device).await?;
        Ok(Session {
            request: req.clone(),
            device,
            net,
            digits,
            inputs,
            quality_batches,
            sampled_probabilities: Vec::new(),
            first_ms,
            device_init_ms,
            model_load_ms,
            measured_bytes,
            warming: Warming::new(req.plan),
            timer_step_ms: (req.plan.timer_steps > 0).then(clock::step_ms),
            repetitions: None,
            inferences: 0,
            samples_ms: Vec::new(),
            enqueue_ms: Vec::new(),
            spent: 0.0,
            stop: None,
            failure: None,
        })
    }

    /// One untimed warm-up inference, if the plan still wants one; then
    /// whether it wants another (never once the cell failed).
    pub async fn warm(&mut self) -> bool {
        if self.failure.is_some() || !self.warming.wants_more() {
            return false;
        }
        match timed(&self.net, self.first_batch(), &self.device).await {
            Ok(ms) => self.warming.record(ms),
            Err(failure) => self.failure = Some(failure),
        }
        self.failure.is_none() && self.warming.wants_more()
    }

    /// The first batch of digits: the first inference's, the warm-up's and
    /// the profile's input.
    fn first_batch(&self) -> &[f32] {
        &self.inputs[0]
    }

    /// Whether the sampling plan is met (or the cell failed): then sampling may
    /// stop. Paired sessions go on sampling until both are met.
    pub fn satisfied(&mut self) -> bool {
        if self.failure.is_some() {
            return true;
        }
        self.stop = self.request.plan.stop(&self.samples_ms, self.spent);
        self.stop.is_some()
    }

    /// Times one warm sample (nothing once the cell failed): [`Self::repetitions`]
    /// inferences back to back, their mean recorded; then whether the plan
    /// is met. The inferences take the quality digits in turn, batch by
    /// batch, and keep their probabilities the first time round: the quality
    /// pass then runs only on the digits the samples did not reach.
    pub async fn sample(&mut self) -> bool {
        if self.failure.is_none()
            && let Err(failure) = self.timed_sample().await
        {
            self.failure = Some(failure);
        }
        self.satisfied()
    }

    async fn timed_sample(&mut self) -> Result<(), Failure> {
        let r = self.repetitions().await?;
        let (mut enqueued, started) = (0.0, now_ms());
        for _ in 0..r {
            let turn = self.inferences;
            let pixels = &self.inputs[turn % self.inputs.len()];
            let (_, part, probabilities) = split(&self.net, pixels, &self.device).await?;
            enqueued += part;
            if turn < self.quality_batches {
                self.sampled_probabilities.extend(probabilities);
            }
            self.inferences += 1;
        }
        let ms = now_ms() - started;
        self.spent += ms;
        self.samples_ms.push(ms / f64::from(r));
        self.enqueue_ms.push(enqueued / f64::from(r));
        Ok(())
    }

    /// Inferences per timed sample: enough that a sample spans the plan's
    /// `timer_steps` steps of the page's clock, for an inference as long as
    /// the warm-up's typical one (or, without a warm-up, one timed now).
    async fn repetitions(&mut self) -> Result<u32, Failure> {
        if let Some(r) = self.repetitions {
            return Ok(r);
        }
        let r = match self.timer_step_ms {
            None => 1,
            Some(step) => {
                let typical = match self.warming.typical_ms() {
                    Some(ms) => ms,
                    None => timed(&self.net, self.first_batch(), &self.device).await?,
                };
                repetitions(self.request.plan.timer_steps, step, typical)
            }
        };
        self.repetitions = Some(r);
        Ok(r)
    }

    /// The quality pass, then the cell's response.
    pub async fn finish(mut self) -> CellResponse {
        if self.failure.is_none() && self.stop.is_none() {
            self.satisfied();
        }
        if let Some(failure) = self.failure.take() {
            return failure.into_response();
        }
        let cuts = if self.request.profile {
            match self.profile().await {
                Ok(cuts) => cuts,
                Err(failure) => return failure.into_response(),
            }
        } else {
            Vec::new()
        };
        let throughput = match self.throughput().await {
            Ok(t) => t,
            Err(failure) => return failure.into_response(),
        };
        let gpu_ms = match self.gpu_times().await {
            Ok(t) => t,
            Err(failure) => return failure.into_response(),
        };
        let probabilities = match self.quality().await {
            Ok(p) => p,
            Err(failure) => return failure.into_response(),
        };
        CellResponse {
            status: Status::Ok,
            reason: None,
            first_ms: Some(self.first_ms),
            warmup: Some(self.warming.summary()),
            samples_ms: self.samples_ms,
            repetitions: self.repetitions,
            timer_step_ms: self.timer_step_ms,
            throughput,
            gpu_ms,
            enqueue_ms: self.enqueue_ms,
            stop: self.stop,
            probabilities,
            measured_how: self.measured_bytes.map(|_| {
                match self.net.host_bytes() {
                    Some(_) => "the integer network's int8 weights, int32 biases and float32 scales, as its kernels hold them",
                    None => "burn memory pool: bytes in use after uploading the weights",
                }
                .into()
            }),
            measured_bytes: self.measured_bytes,
            activation_scales: self.net.activation_scales(),
            device_init_ms: Some(self.device_init_ms),
            model_load_ms: Some(self.model_load_ms),
            baseline: None,
            module: None,
            integer_dot: self.net.integer_dot(),
            cuts,
        }
    }

    /// The network cut after each stage, each cut timed up to its summed
    /// output's readback, [`PROFILE_ROUNDS`] times in turn; a first untimed
    /// round compiles the sums' pipelines. The last cut, softmax, is the
    /// inference as a sample times it (softmax runs on the host).
    async fn profile(&self) -> Result<Vec<CutSamples>, Failure> {
        let mut cuts: Vec<CutSamples> = Stage::ALL
            .iter()
            .map(|&stage| CutSamples {
                stage,
                samples_ms: Vec::with_capacity(PROFILE_ROUNDS),
            })
            .collect();
        for round in 0..=PROFILE_ROUNDS {
            for cut in &mut cuts {
                let t = now_ms();
                match cut.stage {
                    Stage::Softmax => {
                        drop(infer(&self.net, self.first_batch(), &self.device).await?)
                    }
                    stage => drop(
                        read_back(self.net.cut(self.first_batch(), &self.device, stage)).await?,
                    ),
                }
                if round > 0 {
                    cut.samples_ms.push(now_ms() - t);
                }
            }
        }
        Ok(cuts)
    }

    /// Pipelined throughput ([`qbench_core::throughput`]), WebGPU cells only:
    /// the queue doubled from one until it lasts long enough against the
    /// readback floor (the request's, else this cell's median latency, which
    /// is at least one), `K` placed between the last two, then
    /// `throughput_samples` samples of `k` and `2k` queued inferences.
    async fn throughput(&self) -> Result<Option<ThroughputSamples>, Failure> {
        let n = self.request.plan.throughput_samples;
        if n == 0 || self.request.backend != Backend::Webgpu {
            return Ok(None);
        }
        let floor_ms = self
            .request
            .readback_floor_ms
            .filter(|f| f.is_finite() && *f > 0.0)
            .or_else(|| qbench_core::stats::median(&self.samples_ms))
            .unwrap_or(self.first_ms);
        let target = throughput::target_ms(floor_ms);
        let (mut half, mut full) = ((0, 0.0), (1, self.queued(1).await?));
        while !throughput::long_enough(full.0, full.1, target) {
            half = full;
            full = (2 * full.0, self.queued(2 * full.0).await?);
        }
        let queue = throughput::shortest_queue(target, half, full);
        let mut samples_ms = Vec::with_capacity(n as usize);
        for i in 0..n {
            let (k, k2) = throughput::queue_lengths(queue, i, n);
            let short = (k, self.queued(k).await?);
            let long = (k2, self.queued(k2).await?);
            samples_ms.push(throughput::per_inference(short, long));
        }
        Ok(Some(ThroughputSamples {
            queue,
            floor_ms,
            samples_ms,
        }))
    }

    /// The GPU time of [`GPU_SAMPLES`] inferences' dispatches, layer by
    /// layer, each layer in a profiling window of burn's, which on WebGPU
    /// writes the adapter's timestamps at the start of the layer's first
    /// compute pass and the end of its last. The inferences are queued back
    /// to back and the last one read back, then every window is resolved:
    /// one readback floor for all. Empty unless asked (the adapter offers
    /// `timestamp-query`: without it burn's profiler would have to block,
    /// which a page cannot).
    async fn gpu_times(&self) -> Result<Vec<CutSamples>, Failure> {
        if !self.request.gpu_timestamps || self.request.backend != Backend::Webgpu {
            return Ok(Vec::new());
        }
        let mut inferences = Vec::with_capacity(GPU_SAMPLES);
        let mut last = None;
        for i in 0..GPU_SAMPLES {
            let pixels = &self.inputs[i % self.inputs.len()];
            let (logits, windows) = self.net.logits_windows(pixels, &self.device)?;
            inferences.push(windows);
            last = Some(logits);
        }
        if let Some(logits) = last {
            read_back(logits).await?;
        }
        let mut layers: Vec<CutSamples> = Vec::new();
        for windows in inferences {
            for (stage, window) in windows {
                let Some(ticks) = window.resolve().await else {
                    continue;
                };
                let ms = ticks.duration().as_secs_f64() * 1e3;
                match layers.iter_mut().find(|l| l.stage == stage) {
                    Some(layer) => layer.samples_ms.push(ms),
                    None => layers.push(CutSamples {
                        stage,
                        samples_ms: vec![ms],
                    }),
                }
            }
        }
        Ok(layers)
    }

    /// `k` inferences on the sampled inputs in turn, each uploading its
    /// images, queued back to back; only the last one's logits read back
    /// (a queue runs in order, so then all are done). Milliseconds.
    async fn queued(&self, k: u32) -> Result<f64, Failure> {
        let started = now_ms();
        let mut last = None;
        for i in 0..k as usize {
            last = Some(
                self.net
                    .logits(&self.inputs[i % self.inputs.len()], &self.device),
            );
        }
        if let Some(logits) = last {
            read_back(logits).await?;
        }
        Ok(now_ms() - started)
    }

    /// Probabilities of the first `quality_inputs` held-out digits: those the
    /// samples computed, then the rest in batches of `quality_batch`.
    async fn quality(&mut self) -> Result<Vec<f32>, Failure> {
        let digits = &self.digits;
        let n = self.request.quality_inputs.min(digits.len());
        let step = self.request.quality_batch.max(1);
        let mut probabilities = std::mem::take(&mut self.sampled_probabilities);
        probabilities.reserve(n * 10 - probabilities.len());
        for start in (probabilities.len() / 10..n).step_by(step) {
            let end = (start + step).min(n);
            probabilities.extend(infer(&self.net, &digits.pixels(start, end), &self.device).await?);
        }
        Ok(probabilities)
    }
}

impl Failure {
    fn into_response(self) -> CellResponse {
        match self {
            Failure::Unsupported(reason) => CellResponse::failed(Status::Unsupported, reason),
            Failure::Error(message) => CellResponse::failed(Status::Error, message),
        }
    }
}

async fn open_device(
    backend: Backend,
    precision: Precision,
    preference: PowerPreference,
) -> Result<Device, Failure> {
    let mut device = match backend {
        #[cfg(feature = "cpu")]
        Backend::Cpu => cpu_device(),
        #[cfg(not(feature = "cpu"))]
        Backend::Cpu => return Err(Failure::Unsupported(NO_CPU.into())),
        #[cfg(all(target_family = "wasm", feature = "webgpu"))]
        Backend::Webgpu => webgpu_device(preference, precision == Precision::F16Native).await?,
        #[cfg(not(all(target_family = "wasm", feature = "webgpu")))]
        Backend::Webgpu => {
            let _ = preference;
            return Err(Failure::Unsupported(NO_WEBGPU.into()));
        }
    };
    if precision == Precision::F16Native {
        if !device.supports_dtype(FloatDType::F16) {
            return Err(Failure::Unsupported(match backend {
                Backend::Webgpu => "WebGPU adapter lacks the `shader-f16` feature".into(),
                Backend::Cpu => format!(
                    "{} has no F16 compute",
                    if cfg!(feature = "cpu-ndarray") {
                        "burn-ndarray"
                    } else {
                        "burn-flex"
                    }
                ),
            }));
        }
        if device.settings().float_dtype != FloatDType::F16 {
            device
                .configure(FloatDType::F16)
                .map_err(|e| Failure::Error(format!("configuring the device for F16: {e:?}")))?;
        }
    }
    Ok(device)
}

/// The page's WebGPU device for `preference` and float type, opened once per page.
///
/// burn initialises a wgpu runtime once per device kind and fixes its float type
/// at first use, so each (preference, float type) pair gets a kind of its own:
/// in the browser the kind only chooses the power preference (integrated →
/// `low-power`, any other → `high-performance`), and the index keeps the
/// runtimes apart. A page that runs several cells (`qbench serve`, the
/// in-browser tests) reuses them; `qbench run` loads a fresh page per cell.
/// Why this build cannot open a WebGPU device.
#[cfg(not(all(target_family = "wasm", feature = "webgpu")))]
pub const NO_WEBGPU: &str = if cfg!(target_family = "wasm") {
    "the CPU-only module has no WebGPU"
} else {
    "WebGPU runs only in the browser build"
};

#[cfg(all(target_family = "wasm", feature = "webgpu"))]
async fn webgpu_device(preference: PowerPreference, f16: bool) -> Result<Device, Failure> {
    use burn::tensor::DeviceKind;
    use std::cell::RefCell;
    thread_local! {
        static OPENED: RefCell<Vec<((PowerPreference, bool), Device)>> = const { RefCell::new(Vec::new()) };
    }
    crate::ctors::run();
    let key = (preference, f16);
    if let Some(device) = OPENED.with(|o| {
        o.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| d.clone())
    }) {
        return Ok(device);
    }
    let index = usize::from(f16);
    let kind = match preference {
        PowerPreference::HighPerformance => DeviceKind::DiscreteGpu(index),
        PowerPreference::LowPower => DeviceKind::IntegratedGpu(index),
    };
    let device = Device::wgpu_options()
        .device_kind(kind)
        .init_async()
        .await
        .map_err(|e| Failure::Unsupported(format!("no WebGPU device: {e}")))?;
    OPENED.with(|o| o.borrow_mut().push((key, device.clone())));
    Ok(device)
}

/// The page's WebGPU device for `preference` (float32), as cells open it: for
/// tests that drive the model crate's WebGPU networks directly.
///
/// # Errors
/// Why no device opened.
#[cfg(all(target_family = "wasm", feature = "webgpu"))]
pub async fn open_webgpu(preference: PowerPreference) -> Result<Device, String> {
    webgpu_device(preference, false).await.map_err(|f| match f {
        Failure::Unsupported(m) | Failure::Error(m) => m,
    })
}

/// The median time of the smallest WebGPU round trip through burn on the page's
/// device: four floats uploaded, one element-wise dispatch, read back. No
/// WebGPU cell can be faster than this, so a reader sees when a backend sits on
/// its adapter's floor.
pub async fn readback_floor_ms(preference: PowerPreference) -> Result<f64, String> {
    #[cfg(all(target_family = "wasm", feature = "webgpu"))]
    {
        use burn::tensor::{Tensor, TensorData};
        // Round trips: the first ones (pipeline compilation) are left out.
        const FLOOR_WARMUP: usize = 3;
        const FLOOR_SAMPLES: usize = 15;
        let device = webgpu_device(preference, false)
            .await
            .map_err(|f| match f {
                Failure::Unsupported(m) | Failure::Error(m) => m,
            })?;
        let mut samples = Vec::with_capacity(FLOOR_SAMPLES);
        for i in 0..FLOOR_WARMUP + FLOOR_SAMPLES {
            let t = now_ms();
            let x =
                Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [4]), &device);
            x.add_scalar(1.0)
                .into_data_async()
                .await
                .map_err(|e| format!("reading back: {e}"))?;
            if i >= FLOOR_WARMUP {
                samples.push(now_ms() - t);
            }
        }
        qbench_core::stats::median(&samples).ok_or_else(|| "no round trip timed".to_string())
    }
    #[cfg(not(all(target_family = "wasm", feature = "webgpu")))]
    {
        let _ = preference;
        Err(NO_WEBGPU.into())
    }
}

/// Why this build cannot run a CPU cell.
#[cfg(not(feature = "cpu"))]
pub const NO_CPU: &str = "the WebGPU module has no CPU backend (CPU cells load qbench_cpu)";

/// burn-flex, or burn-ndarray when built with the `cpu-ndarray` measurement feature.
#[cfg(feature = "cpu")]
fn cpu_device() -> Device {
    #[cfg(feature = "cpu-ndarray")]
    #[allow(deprecated)]
    return Device::ndarray();
    #[cfg(not(feature = "cpu-ndarray"))]
    Device::flex()
}

/// The network as the backend runs it fastest: on qbench's own kernels on
/// WebGPU ([`ChannelsLast`]), lowered to matrix products on the CPU
/// ([`Lowered`]; docs/performance.md, "What limits each backend"). `int8-native` holds its weights as
/// packed int8 on both; `int8-compute` runs [`IntegerNet`] on the host (CPU)
/// or [`IntegerWebgpu`]'s integer kernels (WebGPU). Each module has only its own backend's network: the
/// CPU-only module has no channels-last path and so none of burn's WebGPU
/// kernels, the WebGPU module no lowered one and so none of burn's matrix
/// products.
enum Model {
    #[cfg(all(target_family = "wasm", feature = "webgpu"))]
    ChannelsLast(Box<ChannelsLast>),
    #[cfg(all(target_family = "wasm", feature = "webgpu"))]
    IntegerGpu(Box<IntegerWebgpu>),
    #[cfg(feature = "cpu")]
    Lowered(Box<Lowered>),
    #[cfg(feature = "cpu")]
    Integer(Box<IntegerNet>),
}

impl Model {
    /// The network of `precision` for `backend`: `weights` quantized to it,
    /// `raw` the float32 weights they came from.
    fn new(
        backend: Backend,
        precision: Precision,
        raw: &Weights,
        weights: &QuantizedWeights,
        device: &Device,
    ) -> Result<Self, Failure> {
        let int8 = precision == Precision::Int8Native;
        Ok(match backend {
            #[cfg(feature = "cpu")]
            Backend::Cpu if precision == Precision::Int8Compute => Model::Integer(Box::new(
                IntegerNet::new(raw, qbench_model::integer::calibration()),
            )),
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Backend::Webgpu if precision == Precision::Int8Compute => {
                let layers = qbench_model::integer::IntegerLayers::new(
                    raw,
                    qbench_model::integer::calibration(),
                );
                let dot = qbench_core::protocol::IntegerDot::for_features(
                    &crate::probe::wgsl_language_features(),
                );
                Model::IntegerGpu(Box::new(IntegerWebgpu::new(&layers, dot, device).map_err(
                    |refused| Failure::Unsupported(format!("int8-compute on WebGPU: {refused}")),
                )?))
            }
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Backend::Webgpu => Model::ChannelsLast(Box::new(if int8 {
                ChannelsLast::int8_native(weights, device)
            } else {
                ChannelsLast::new(&weights.weights, device)
            })),
            #[cfg(feature = "cpu")]
            Backend::Cpu => Model::Lowered(Box::new(Lowered::new(weights, int8, device))),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (raw, device);
                unreachable!("open_device refuses {backend:?} in this build")
            }
        })
    }

    /// Upload the images `pixels` and run the network on them up to the
    /// logits; softmax runs on the host ([`read_probabilities`]).
    fn logits(&self, pixels: &[f32], device: &Device) -> burn::tensor::Tensor<2> {
        match self {
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::ChannelsLast(net) => {
                net.forward(qbench_model::network::images_tensor(pixels, device))
            }
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::IntegerGpu(net) => net.forward(pixels),
            #[cfg(feature = "cpu")]
            Model::Lowered(net) => net.logits_of_pixels(pixels, device),
            #[cfg(feature = "cpu")]
            Model::Integer(net) => {
                let logits = net.logits(pixels);
                let rows = logits.len() / qbench_model::network::CLASSES;
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(logits, [rows, qbench_model::network::CLASSES]),
                    device,
                )
            }
        }
    }

    /// Bytes the network holds on the host, where it runs there on its own
    /// arrays (`int8-compute`).
    fn host_bytes(&self) -> Option<u64> {
        match self {
            #[cfg(feature = "cpu")]
            Model::Integer(net) => Some(net.stored_bytes() as u64),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The activation scales an integer network was built with.
    fn activation_scales(&self) -> Option<qbench_core::quantize::ActivationScales> {
        match self {
            #[cfg(feature = "cpu")]
            Model::Integer(net) => Some(net.scales()),
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::IntegerGpu(net) => Some(net.scales()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// How an integer WebGPU network takes its products.
    fn integer_dot(&self) -> Option<qbench_core::protocol::IntegerDot> {
        match self {
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::IntegerGpu(net) => Some(net.dot()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// [`Self::logits`] with each layer in a GPU profiling window (WebGPU).
    fn logits_windows(
        &self,
        pixels: &[f32],
        device: &Device,
    ) -> Result<
        (
            burn::tensor::Tensor<2>,
            Vec<(Stage, burn::tensor::ProfileDuration)>,
        ),
        Failure,
    > {
        match self {
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::ChannelsLast(net) => net
                .forward_windows(qbench_model::network::images_tensor(pixels, device), device)
                .map_err(|e| Failure::Error(format!("opening a GPU timing window: {e}"))),
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::IntegerGpu(net) => net
                .forward_windows(pixels, device)
                .map_err(|e| Failure::Error(format!("opening a GPU timing window: {e}"))),
            #[cfg(feature = "cpu")]
            Model::Lowered(_) | Model::Integer(_) => {
                let _ = (pixels, device);
                Err(Failure::Error("GPU time is for WebGPU cells".into()))
            }
        }
    }

    /// Upload the images `pixels`, run the network up to `last` and sum its output.
    fn cut(&self, pixels: &[f32], device: &Device, last: Stage) -> burn::tensor::Tensor<1> {
        match self {
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::ChannelsLast(net) => {
                net.cut(qbench_model::network::images_tensor(pixels, device), last)
            }
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Model::IntegerGpu(net) => net.cut(pixels, last),
            #[cfg(feature = "cpu")]
            Model::Lowered(net) => net.cut_of_pixels(pixels, device, last),
            #[cfg(feature = "cpu")]
            Model::Integer(net) => burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(vec![net.cut_sum(pixels, last)], [1]),
                device,
            ),
        }
    }
}

async fn timed(net: &Model, pixels: &[f32], device: &Device) -> Result<f64, Failure> {
    Ok(split(net, pixels, device).await?.0)
}

/// One inference timed whole and up to the moment the forward call returned
/// (host-side work), milliseconds; and its probabilities.
async fn split(
    net: &Model,
    pixels: &[f32],
    device: &Device,
) -> Result<(f64, f64, Vec<f32>), Failure> {
    let t = now_ms();
    let logits = net.logits(pixels, device);
    let enqueued = now_ms() - t;
    let probabilities = read_probabilities(logits).await?;
    Ok((now_ms() - t, enqueued, probabilities))
}

/// Upload, forward, read back, softmax: one inference.
async fn infer(net: &Model, pixels: &[f32], device: &Device) -> Result<Vec<f32>, Failure> {
    read_probabilities(net.logits(pixels, device)).await
}

/// The logits read back, then their softmax on the host in float32: ten
/// values per image, where the device would run five dispatches.
async fn read_probabilities(logits: burn::tensor::Tensor<2>) -> Result<Vec<f32>, Failure> {
    let mut values = read_back(logits).await?;
    qbench_model::network::softmax_rows(&mut values);
    Ok(values)
}

/// A tensor's values on the host as float32: for WebGPU, after `mapAsync`.
async fn read_back<const D: usize>(tensor: burn::tensor::Tensor<D>) -> Result<Vec<f32>, Failure> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| Failure::Error(format!("reading the output back: {e}")))?;
    // Only f16 needs converting: a call into burn's generic cast on every
    // inference is enough for the browser to compile its 200 KB optimised
    // (`try_cast`), which delays the tier-up of the network itself.
    let data = match data.dtype() {
        DType::F32 => data,
        _ => data.convert::<f32>(),
    };
    data.try_into_vec::<f32>()
        .map_err(|e| Failure::Error(format!("the output is not float: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::sampling::SamplePlan;

    fn request(precision: Precision) -> CellRequest {
        CellRequest {
            backend: Backend::Cpu,
            precision,
            batch: 2,
            plan: SamplePlan {
                warmup: 1,
                warmup_ms: 0.0,
                settle_ms: 0.0,
                warmup_max_ms: 0.0,
                max_samples: 3,
                min_samples: 3,
                budget_ms: 1e9,
                ci_target: 0.0,
                timer_steps: 0,
                throughput_samples: 0,
            },
            quality_inputs: 7,
            quality_batch: 4,
            power_preference: PowerPreference::default(),
            profile: false,
            paired: None,
            readback_floor_ms: None,
            gpu_timestamps: false,
        }
    }

    #[test]
    fn webgpu_is_unsupported_natively() {
        let mut req = request(Precision::F32);
        req.backend = Backend::Webgpu;
        let r = pollster::block_on(run(&req));
        assert_eq!(
            (r.status, r.reason.as_deref()),
            (
                Status::Unsupported,
                Some("WebGPU runs only in the browser build")
            )
        );
    }

    #[test]
    fn cpu_cell_measures_and_returns_probabilities() {
        let r = pollster::block_on(run(&request(Precision::Int8)));
        assert_eq!(r.status, Status::Ok, "{:?}", r.reason);
        assert_eq!(r.samples_ms.len(), 3);
        assert_eq!(r.stop, Some(qbench_core::sampling::Stop::Max));
        assert!(r.first_ms.unwrap() > 0.0);
        assert_eq!(r.probabilities.len(), 70);
        let warmup = r.warmup.unwrap();
        assert_eq!(
            (warmup.inferences, warmup.settled),
            (1, true),
            "a fixed warm-up of one inference"
        );
        for row in r.probabilities.chunks(10) {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "softmax rows sum to 1, got {sum}");
        }
    }

    #[test]
    fn a_profile_times_every_cut_in_turn() {
        let mut req = request(Precision::F32);
        assert!(pollster::block_on(run(&req)).cuts.is_empty(), "not asked");
        req.profile = true;
        let r = pollster::block_on(run(&req));
        let stages: Vec<(Stage, usize)> = r
            .cuts
            .iter()
            .map(|c| (c.stage, c.samples_ms.len()))
            .collect();
        let want: Vec<(Stage, usize)> = Stage::ALL.iter().map(|&s| (s, PROFILE_ROUNDS)).collect();
        assert_eq!(stages, want);
        assert!(r.cuts.iter().flat_map(|c| &c.samples_ms).all(|t| *t >= 0.0));
        assert_eq!(r.probabilities.len(), 70, "quality still measured");
    }

    /// Samples run on the quality digits two by two (batch 2): five samples
    /// cover the three whole batches of the seven digits and go round again;
    /// the quality pass adds the seventh. With one sample the pass adds five.
    /// Either way the probabilities are the same digits' in order.
    #[test]
    fn samples_take_the_quality_digits_in_turn_and_the_pass_does_the_rest() {
        let mut req = request(Precision::F32);
        let mut with_samples = |n: u32| {
            req.plan.min_samples = n;
            req.plan.max_samples = n;
            let r = pollster::block_on(run(&req));
            assert_eq!(r.status, Status::Ok, "{:?}", r.reason);
            assert_eq!(r.samples_ms.len(), n as usize);
            r.probabilities
        };
        let (five, one) = (with_samples(5), with_samples(1));
        let mut session = pollster::block_on(Session::open(&req)).unwrap();
        for _ in 0..5 {
            pollster::block_on(session.sample());
        }
        assert_eq!(
            session.sampled_probabilities.len(),
            60,
            "three batches of two digits, kept once"
        );
        assert_eq!((five.len(), one.len()), (70, 70));
        let worst = five
            .iter()
            .zip(&one)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "max |Δp| = {worst:e}");
        let mut fewer = request(Precision::F32);
        fewer.batch = 32;
        assert_eq!(
            pollster::block_on(run(&fewer)).probabilities.len(),
            70,
            "seven digits, a batch of 32: the pass alone"
        );
        fewer.quality_inputs = 0;
        assert!(pollster::block_on(run(&fewer)).probabilities.is_empty());
    }

    /// A sample of three repetitions runs three inferences on the quality
    /// digits in turn: two samples cover the three batches of two and go
    /// round once more, and the probabilities are those of one inference per
    /// sample. Without a clock step to go by, a sample is one inference.
    #[test]
    fn a_sample_of_repetitions_takes_the_inputs_in_turn() {
        let mut req = request(Precision::F32);
        req.plan.min_samples = 2;
        req.plan.max_samples = 2;
        let once = pollster::block_on(run(&req));
        assert_eq!((once.repetitions, once.timer_step_ms), (Some(1), None));
        let mut session = pollster::block_on(Session::open(&req)).unwrap();
        session.repetitions = Some(3);
        while !pollster::block_on(session.sample()) {}
        assert_eq!((session.samples_ms.len(), session.inferences), (2, 6));
        assert_eq!(
            session.sampled_probabilities.len(),
            60,
            "three batches, once"
        );
        let thrice = pollster::block_on(session.finish());
        assert_eq!(thrice.repetitions, Some(3));
        let worst = thrice
            .probabilities
            .iter()
            .zip(&once.probabilities)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "max |Δp| = {worst:e}");
        // With a clock step the repetitions come from it, and are recorded.
        req.plan.timer_steps = 100;
        let timed = pollster::block_on(run(&req));
        let step = timed.timer_step_ms.unwrap();
        assert!(step > 0.0 && step.is_finite(), "{step}");
        assert!(timed.repetitions.is_some_and(|r| r >= 1));
    }

    #[test]
    fn warmup_runs_until_the_time_settles() {
        let mut req = request(Precision::F32);
        req.plan.settle_ms = 30.0;
        let r = pollster::block_on(run(&req));
        let warmup = r.warmup.unwrap();
        assert!(warmup.settled, "{warmup:?}");
        assert!(warmup.inferences >= 3, "{warmup:?}");
        assert!(warmup.ms >= 30.0, "{warmup:?}");
        // A limit below the settle time ends warm-up unsettled.
        req.plan.warmup_max_ms = 10.0;
        let r = pollster::block_on(run(&req));
        let warmup = r.warmup.unwrap();
        assert!(!warmup.settled && warmup.ms >= 10.0, "{warmup:?}");
        assert_eq!(r.samples_ms.len(), 3, "then sampling as planned");
    }
}
