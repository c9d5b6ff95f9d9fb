//! The report written by `qbench native` and `qbench run`: what the checks and
//! dashboards read. Field names are part of the interface; bump
//! [`SCHEMA_VERSION`] when one changes meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::adapter::AdapterClass;
use crate::expect::Judgement;

use crate::matrix::{Agent, Backend, named_enum};
use crate::memory::WeightMemory;
use crate::precision::Precision;
use crate::profile::StageTime;
use crate::quality::Quality;
use crate::sampling::{Stop, Warmup};
use crate::stats::Summary;

/// Version of this schema. Version 2 added hosts, RFC 3339 times, the planned
/// cells, sampling stops, attempts and expectations; version-1 reports are still read.
pub const SCHEMA_VERSION: u32 = 2;

/// A whole run: the environments measured and one cell per matrix point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// Version of qbench that wrote the report.
    pub qbench_version: String,
    /// The git commit qbench was built from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// When the run started, RFC 3339.
    pub started: String,
    /// When the run ended, RFC 3339; `None` while it runs or when it was cut short
    /// before writing it: such a report is partial.
    #[serde(default)]
    pub finished: Option<String>,
    /// The signal that stopped the run, when one did (`SIGINT`, `SIGTERM`, `SIGHUP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// The settings the run was asked for.
    pub settings: RunSettings,
    /// Every cell the run set out to measure; cells missing from `cells` were not run.
    #[serde(default)]
    pub planned: Vec<CellId>,
    /// The expectations file the cells were judged against, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectations: Option<String>,
    /// One entry per host × browser (or `native`).
    pub environments: Vec<Environment>,
    /// One entry per browser × backend × precision × batch.
    pub cells: Vec<Cell>,
    /// The native reference cells (`qbench native`) a browser run is compared with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline: Vec<Cell>,
    /// When the native reference cells were measured (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_measured: Option<String>,
    /// The native reference cells were kept from an earlier run of the same
    /// qbench binary with the same settings, not measured by this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline_kept: bool,
    /// The wasm module the browsers ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Bundle>,
    /// What was measured in the same pages as this build (`run --baseline-pkg`
    /// or `run --baseline-tfjs`): its files and build; each cell's measurements
    /// of it are in `Cell.paired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_bundle: Option<Bundle>,
    /// Which kind of thing `paired_bundle` is; absent in reports from before
    /// TF.js could be paired, which were always a package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_with: Option<PairedWith>,
}

/// What the cells of a paired run are measured against, in the same pages,
/// their warm samples alternating with this build's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairedWith {
    /// Another build of qbench (`run --baseline-pkg`): the pull-request gate.
    Package,
    /// TF.js running the same network on the same weights and digits
    /// (`run --baseline-tfjs`): wasm (XNNPACK) for CPU cells, WebGPU for WebGPU cells.
    Tfjs,
}

impl PairedWith {
    /// How headings and the page name the other side.
    pub fn label(self) -> &'static str {
        match self {
            PairedWith::Package => "the baseline package, measured in the same pages",
            PairedWith::Tfjs => "TF.js, measured in the same pages",
        }
    }
}

/// The wasm module a browser run served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Size of the module after wasm-bindgen (and wasm-opt), bytes.
    pub wasm_bytes: u64,
    /// What the browser downloads: the module, its JavaScript glue, the weights
    /// and the held-out digits, raw and compressed as a web server would send them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ServedFile>,
    /// The wasm-opt that optimised it, if any.
    pub wasm_opt: Option<String>,
    /// How it was built (cargo profile and code generation flags); `None` when
    /// qbench served a package it did not build.
    pub build: Option<String>,
}

/// One file of the package: its size raw, gzipped (level 9) and
/// brotli-compressed (quality 11), bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedFile {
    /// The file's name in the package folder.
    pub name: String,
    /// Bytes on disk.
    pub raw: u64,
    /// Bytes after `gzip -9`.
    pub gzip: u64,
    /// Bytes after brotli at quality 11.
    pub brotli: u64,
}

impl Report {
    /// An empty report for the given settings; `started` is RFC 3339.
    pub fn new(qbench_version: &str, started: &str, settings: RunSettings) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            qbench_version: qbench_version.to_string(),
            git_commit: None,
            started: started.to_string(),
            finished: None,
            interrupted: None,
            settings,
            planned: Vec::new(),
            expectations: None,
            environments: Vec::new(),
            cells: Vec::new(),
            baseline: Vec::new(),
            baseline_measured: None,
            baseline_kept: false,
            bundle: None,
            paired_bundle: None,
            paired_with: None,
        }
    }

    /// Cells that did not go as expected, a line each: against the
    /// expectations when given, else every cell that errored or timed out.
    pub fn unexpected(&self) -> Vec<String> {
        self.cells
            .iter()
            .filter(|c| c.is_unexpected())
            .map(|c| match &c.expectation {
                Some(j) => format!("{}: {} ({})", c.id(), c.outcome.status(), j.verdict.name()),
                None => format!("{}: {}", c.id(), c.outcome.status()),
            })
            .collect()
    }

    /// Replaces the cell with the same id, or adds it in the planned order
    /// (whatever order the cells ran in; a cell not planned goes last).
    pub fn upsert_cell(&mut self, cell: Cell) {
        let id = cell.id();
        if let Some(slot) = self.cells.iter_mut().find(|c| c.id() == id) {
            *slot = cell;
            return;
        }
        let rank = |id: &CellId| self.planned.iter().position(|p| p == id);
        let at = match rank(&id) {
            Some(mine) => self
                .cells
                .iter()
                .position(|c| rank(&c.id()).is_none_or(|theirs| theirs > mine))
                .unwrap_or(self.cells.len()),
            None => self.cells.len(),
        };
        self.cells.insert(at, cell);
    }

    /// Whether the run ended and measured every planned cell.
    pub fn is_complete(&self) -> bool {
        self.finished.is_some()
            && self.interrupted.is_none()
            && self
                .planned
                .iter()
                .all(|id| self.cells.iter().any(|c| &c.id() == id))
    }

    /// The environment a cell ran in (same host and browser).
    pub fn environment_of(&self, cell: &Cell) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.host == cell.host && e.browser == cell.browser)
    }

    /// The host labels of the report, in order of first appearance (`None`: unknown host).
    pub fn hosts(&self) -> Vec<Option<String>> {
        let mut hosts: Vec<Option<String>> = Vec::new();
        for h in self
            .environments
            .iter()
            .map(|e| &e.host)
            .chain(self.cells.iter().map(|c| &c.host))
        {
            if !hosts.contains(h) {
                hosts.push(h.clone());
            }
        }
        hosts
    }
}

/// How many samples and how much time each cell was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Warm-up inferences after the first run, at least; not recorded.
    pub warmup: u32,
    /// Warm-up time after the first run, at least, milliseconds.
    pub warmup_ms: u64,
    /// Then warm-up until this long passed without the inference getting
    /// faster, milliseconds (0: a fixed warm-up; reports before it had none).
    #[serde(default)]
    pub settle_ms: u64,
    /// Timed samples wanted per cell (the cell stops earlier at the time budget).
    pub samples: u32,
    /// Time budget for a cell's timed samples, milliseconds.
    pub time_per_cell_ms: u64,
    /// Wall-clock limit for a whole cell before it is a timeout, milliseconds.
    pub timeout_per_cell_ms: u64,
    /// Held-out digits used for quality.
    pub quality_inputs: usize,
    /// Samples taken before the precision target may stop a cell.
    #[serde(default)]
    pub min_samples: u32,
    /// Target half-width of the median's 95% interval, fraction of the median (0: none).
    #[serde(default)]
    pub ci_target: f64,
    /// Each timed sample spans at least this many steps of the page's clock
    /// (0, and reports before it: one inference per sample).
    #[serde(default)]
    pub timer_steps: u32,
    /// Pipelined-throughput samples per WebGPU cell (0: none).
    #[serde(default)]
    pub throughput_samples: u32,
    /// Times each cell was run, in an order shuffled per round; samples are pooled.
    #[serde(default = "one")]
    pub rounds: u32,
    /// Seed of the per-round shuffles.
    #[serde(default)]
    pub seed: u64,
    /// Retries of a failed cell on a fresh session.
    #[serde(default)]
    pub retries: u32,
    /// Retakes of a round whose page ran on a busy host.
    #[serde(default)]
    pub retry_busy: u32,
    /// The CPUs local browsers were pinned to (`--pin-browser`; absent
    /// before the setting: not pinned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_browser: Option<crate::host::Pinning>,
}

fn one() -> u32 {
    1
}

/// Where cells ran: a browser with its WebGPU adapter, or the native machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Environment {
    /// The machine's label (`--host-label`); `None` in version-1 reports.
    #[serde(default)]
    pub host: Option<String>,
    /// Where the browser ran: `local` (a driver qbench started) or a WebDriver URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `chromium`, `firefox` or `native`.
    pub browser: Agent,
    /// Why the browser could not be started, when it could not (its cells are errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// The product name the browser reports (WebDriver `browserName`).
    pub name: String,
    /// The browser's version (WebDriver `browserVersion`), or qbench's for native.
    pub version: String,
    /// `navigator.userAgent`, or the target triple for native.
    pub user_agent: String,
    /// `crossOriginIsolated` of the page; `None` natively.
    pub cross_origin_isolated: Option<bool>,
    /// Smallest non-zero step of `performance.now()` observed, milliseconds.
    pub timer_resolution_ms: Option<f64>,
    /// Whether WebAssembly SIMD (128-bit) validates.
    pub wasm_simd: Option<bool>,
    /// Whether relaxed SIMD validates (the page then runs CPU cells on
    /// `qbench_cpu_relaxed`); `None` natively and in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_relaxed_simd: Option<bool>,
    /// The WebGPU adapter, when there is one.
    pub webgpu: Option<Adapter>,
    /// Why there is no adapter, when there is none.
    pub webgpu_unavailable_reason: Option<String>,
    /// Median of the smallest WebGPU round trip (four floats up, one dispatch,
    /// read back), milliseconds: no WebGPU cell can be faster; `None` without WebGPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readback_floor_ms: Option<f64>,
    /// The `powerPreference` the adapter was requested with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_preference: Option<crate::protocol::PowerPreference>,
    /// Anything else measured about the environment (driver versions, hardware threads).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// The machine a local browser ran on (absent for remote endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<crate::host::Machine>,
}

/// A WebGPU adapter as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Adapter {
    /// `adapter.info.vendor`.
    pub vendor: String,
    /// `adapter.info.architecture`.
    pub architecture: String,
    /// `adapter.info.device`.
    pub device: String,
    /// `adapter.info.description`.
    pub description: String,
    /// `adapter.isFallbackAdapter` (or `adapter.info.isFallbackAdapter`).
    pub is_fallback_adapter: bool,
    /// `adapter.features`, sorted.
    pub features: Vec<String>,
    /// Key `adapter.limits`.
    pub limits: BTreeMap<String, f64>,
    /// `navigator.gpu.wgslLanguageFeatures`, sorted (empty in older reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wgsl_language_features: Vec<String>,
    /// Hardware or software ([`crate::adapter::classify`]); filled in by the runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<AdapterClass>,
    /// Why it has that class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_reason: Option<String>,
}

/// The WebGPU feature that lets a page read the GPU's clock.
pub const TIMESTAMP_QUERY: &str = "timestamp-query";

/// The environment's `extra` line on GPU timestamps.
pub const GPU_TIMESTAMPS_KEY: &str = "gpu timestamps";

impl Adapter {
    /// Whether the adapter's WGSL has `dot4I8Packed`, as the page read it;
    /// `None` when the page listed no WGSL language features (an older report).
    pub fn packed_dot(&self) -> Option<bool> {
        (!self.wgsl_language_features.is_empty()).then(|| {
            crate::protocol::IntegerDot::for_features(&self.wgsl_language_features)
                == crate::protocol::IntegerDot::Packed
        })
    }

    /// Whether the adapter offers `feature` (`adapter.features`).
    pub fn offers(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// What the environment says about GPU time: recorded, or why not.
    pub fn gpu_timestamps(&self) -> String {
        if self.offers(TIMESTAMP_QUERY) {
            format!("{TIMESTAMP_QUERY} offered: each WebGPU cell records its dispatches' GPU time")
        } else {
            format!("none: the adapter does not offer {TIMESTAMP_QUERY}")
        }
    }
}

named_enum!(
    /// A cell's outcome without its reason: what expectations name.
    Status, "status", {
        /// Measured.
        Ok => "ok",
        /// Cannot run here.
        Unsupported => "unsupported",
        /// Failed.
        Error => "error",
        /// Did not finish in time.
        Timeout => "timeout",
    }
);

/// The outcome of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OutcomeFields", into = "OutcomeFields")]
pub enum Outcome {
    /// Measured.
    Ok,
    /// The combination cannot run here; the reason says why (e.g. no `shader-f16`).
    Unsupported {
        /// Why.
        reason: String,
    },
    /// The cell failed; the message says how.
    Error {
        /// What went wrong.
        message: String,
    },
    /// The cell did not finish within its time limit.
    Timeout {
        /// What was running when time ran out.
        message: String,
    },
}

impl Outcome {
    /// The status word: `ok`, `unsupported`, `error` or `timeout`.
    pub fn status(&self) -> &'static str {
        self.kind().name()
    }

    /// The status without the reason.
    pub fn kind(&self) -> Status {
        match self {
            Outcome::Ok => Status::Ok,
            Outcome::Unsupported { .. } => Status::Unsupported,
            Outcome::Error { .. } => Status::Error,
            Outcome::Timeout { .. } => Status::Timeout,
        }
    }

    /// The reason or message, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Ok => None,
            Outcome::Unsupported { reason } => Some(reason),
            Outcome::Error { message } | Outcome::Timeout { message } => Some(message),
        }
    }
}

/// How an [`Outcome`] is written: `status` plus `reason`.
#[derive(Serialize, Deserialize)]
struct OutcomeFields {
    status: String,
    reason: Option<String>,
}

impl From<Outcome> for OutcomeFields {
    fn from(o: Outcome) -> Self {
        Self {
            status: o.status().to_string(),
            reason: o.reason().map(str::to_string),
        }
    }
}

impl TryFrom<OutcomeFields> for Outcome {
    type Error = String;
    fn try_from(f: OutcomeFields) -> Result<Self, String> {
        let reason = || f.reason.clone().unwrap_or_default();
        Ok(match f.status.as_str() {
            "ok" => Outcome::Ok,
            "unsupported" => Outcome::Unsupported { reason: reason() },
            "error" => Outcome::Error { message: reason() },
            "timeout" => Outcome::Timeout { message: reason() },
            other => {
                return Err(format!(
                    "unknown cell status `{other}`; expected ok, unsupported, error or timeout"
                ));
            }
        })
    }
}

/// One point of the matrix and what was measured there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The machine's label; `None` in version-1 reports.
    #[serde(default)]
    pub host: Option<String>,
    /// `chromium`, `firefox` or `native`.
    pub browser: Agent,
    /// Where the arithmetic ran.
    pub backend: Backend,
    /// Weight precision.
    pub precision: Precision,
    /// Inputs per inference.
    pub batch: u32,
    /// `status` and `reason`.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Latency of one inference including readback, milliseconds.
    pub latency_ms: Option<Latency>,
    /// Pipelined throughput (WebGPU): what one more inference costs when
    /// many are queued and read back once, milliseconds per inference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_ms: Option<Throughput>,
    /// GPU time of one inference's dispatches from the adapter's timestamps
    /// (WebGPU, where the adapter offers `timestamp-query`), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_ms: Option<GpuTime>,
    /// Weight memory.
    pub memory: Memory,
    /// Quality versus float32 on the same backend.
    pub quality: Option<Quality>,
    /// Wall-clock time the whole cell took, milliseconds.
    pub wall_ms: Option<f64>,
    /// How sampling went: why it stopped, the precision reached, each round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    /// Where a warm inference's time went, when the page measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_ms: Option<Split>,
    /// Stage by stage (`run --profile`): the network cut after each stage, timed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<StageTime>,
    /// Runs of the cell's last round it took (1 + retries used).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Failed first and passed on a retry.
    #[serde(default)]
    pub flaky: bool,
    /// What the expectations file said and whether the outcome met it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<Judgement>,
    /// The same cell measured with the baseline package (`run --baseline-pkg`)
    /// in the same pages, its warm samples interleaved one for one with this
    /// cell's: `latency_ms.raw[i]` here and there ran back to back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<Box<Cell>>,
    /// The module the page ran the cell with, when the page named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<crate::protocol::Module>,
    /// The activation scales of an `int8-compute` cell, calibrated on the
    /// training digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_scales: Option<crate::quantize::ActivationScales>,
    /// How an `int8-compute` WebGPU cell's kernels took their products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer_dot: Option<crate::protocol::IntegerDot>,
}

/// How a cell's latency samples were taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Why the (last round's) sampling stopped.
    pub stop: Stop,
    /// Half-width of the pooled median's 95% interval, percent of the median.
    pub ci_half_width_pct: f64,
    /// Each round, in the order run.
    pub rounds: Vec<Round>,
}

/// A warm inference in two parts, medians over the pooled samples, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Until the forward call returned: host-side work in the module (on
    /// WebGPU, recording and submitting the dispatches; on the CPU, the
    /// computation itself).
    pub enqueue: f64,
    /// The rest, until the probabilities were on the host (on WebGPU, the GPU
    /// work not yet done and the readback).
    pub wait: f64,
}

/// One round of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Median of this round's samples, milliseconds.
    pub median: f64,
    /// This round's first inference, milliseconds.
    pub first: f64,
    /// Samples taken in this round.
    pub samples: usize,
    /// Inferences each of this round's samples timed back to back, chosen
    /// from the page's clock step (absent: one, as before repetitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions: Option<u32>,
    /// The page's clock step the repetitions were chosen from, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_step_ms: Option<f64>,
    /// Why this round stopped sampling.
    pub stop: Stop,
    /// This round's warm-up (absent from reports before warm-up settled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Warmup>,
    /// Opening the device (or adapter) in this round's page, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_init_ms: Option<f64>,
    /// Building the network and uploading its weights in this round's page, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_load_ms: Option<f64>,
    /// What the host did while this round's page ran (local browsers on
    /// Linux; absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<crate::host::HostActivity>,
}

/// Identifies a cell: host, browser, backend, precision and batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellId {
    /// The machine's label.
    #[serde(default)]
    pub host: Option<String>,
    /// `chromium`, `firefox` or `native`.
    pub browser: Agent,
    /// Backend.
    pub backend: Backend,
    /// Precision.
    pub precision: Precision,
    /// Inputs per inference.
    pub batch: u32,
}

impl std::fmt::Display for CellId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(host) = &self.host {
            write!(f, "{host} ")?;
        }
        write!(
            f,
            "{} {} {} batch {}",
            self.browser, self.backend, self.precision, self.batch
        )
    }
}

impl Cell {
    /// A cell with nothing measured yet.
    pub fn new(
        browser: Agent,
        backend: Backend,
        precision: Precision,
        batch: u32,
        memory: WeightMemory,
    ) -> Self {
        Self {
            host: None,
            browser,
            backend,
            precision,
            batch,
            outcome: Outcome::Ok,
            latency_ms: None,
            throughput_ms: None,
            gpu_ms: None,
            memory: Memory::estimated(memory),
            quality: None,
            wall_ms: None,
            split_ms: None,
            profile: Vec::new(),
            sampling: None,
            attempts: 1,
            flaky: false,
            expectation: None,
            paired: None,
            module: None,
            activation_scales: None,
            integer_dot: None,
        }
    }

    /// Whether its outcome was unexpected: against its expectation when it has
    /// one, else when it errored or timed out.
    pub fn is_unexpected(&self) -> bool {
        match &self.expectation {
            Some(j) => j.verdict.is_unexpected(),
            None => matches!(self.outcome.kind(), Status::Error | Status::Timeout),
        }
    }

    /// Host, browser, backend, precision and batch.
    pub fn id(&self) -> CellId {
        CellId {
            host: self.host.clone(),
            browser: self.browser,
            backend: self.backend,
            precision: self.precision,
            batch: self.batch,
        }
    }
}

/// Latency of one inference, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// The first inference, pipeline and shader compilation included.
    pub first: f64,
    /// Statistics of the warm samples (`samples` is their count).
    #[serde(flatten)]
    pub summary: Summary,
    /// The warm samples as measured, in order.
    pub raw: Vec<f64>,
}

/// Pipelined throughput of a cell ([`crate::throughput`]), milliseconds per inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// The shortest queue of each round's samples (`K`; samples queued `k`
    /// and `2k` with `k` in `[K, 2K)`), per round in order.
    pub queue: Vec<u32>,
    /// Statistics of the samples of every round pooled.
    #[serde(flatten)]
    pub summary: Summary,
    /// The samples, in order.
    pub raw: Vec<f64>,
}

/// GPU time of one inference's dispatches, from the adapter's timestamps:
/// each layer's from the start of its first compute pass to the end of its
/// last; an inference's is the sum of its layers'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuTime {
    /// Statistics of the inferences of every round pooled, milliseconds.
    #[serde(flatten)]
    pub summary: Summary,
    /// Each layer's median, in the order they run.
    pub layers: Vec<GpuLayer>,
    /// The smallest step between two different samples, milliseconds: the
    /// clock's quantum as far as the samples show it (browsers round
    /// timestamps, Chromium to 0.1 ms by default); `None` when all were equal.
    pub step_ms: Option<f64>,
    /// The samples, in order.
    pub raw: Vec<f64>,
}

/// One layer's GPU time, the median over the timed inferences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpuLayer {
    /// The layer (`conv1`, `conv2`, `fc1`, `fc2`).
    pub stage: crate::profile::Stage,
    /// Its median, milliseconds.
    pub median: f64,
}

/// The smallest positive difference between two of `samples`.
pub fn smallest_step(samples: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .min_by(f64::total_cmp)
}

/// Weight memory of a cell, bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Parameters in the network.
    pub parameters: u64,
    /// Parameters × bytes per weight (an estimate, not a measurement).
    pub estimated_weight_bytes: u64,
    /// int8 scales × 4 (an estimate).
    pub estimated_scale_bytes: u64,
    /// Bytes measured on the device after loading the weights, where the backend reports it.
    pub measured_bytes: Option<u64>,
    /// What `measured_bytes` measured.
    pub measured_how: Option<String>,
}

impl Memory {
    /// Only the estimate.
    pub fn estimated(m: WeightMemory) -> Self {
        Self {
            parameters: m.parameters,
            estimated_weight_bytes: m.estimated_weight_bytes,
            estimated_scale_bytes: m.estimated_scale_bytes,
            measured_bytes: None,
            measured_how: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::estimate;
    use crate::quantize::ParamRole;

    pub(crate) fn settings() -> RunSettings {
        RunSettings {
            warmup: 1,
            warmup_ms: 0,
            settle_ms: 0,
            samples: 2,
            time_per_cell_ms: 3,
            timeout_per_cell_ms: 4,
            quality_inputs: 5,
            min_samples: 2,
            ci_target: 0.02,
            timer_steps: 0,
            throughput_samples: 0,
            rounds: 1,
            seed: 0,
            retries: 0,
            retry_busy: 0,
            pin_browser: None,
        }
    }

    fn cell() -> Cell {
        let mem = estimate([(ParamRole::Bias, &[10usize][..])], Precision::Int8);
        Cell::new(
            Agent::Browser(crate::Browser::Chromium),
            Backend::Webgpu,
            Precision::F16Native,
            32,
            mem,
        )
    }

    #[test]
    fn cell_json_has_the_documented_field_names() {
        let mut c = cell();
        c.outcome = Outcome::Unsupported {
            reason: "adapter lacks shader-f16".into(),
        };
        c.latency_ms = Some(Latency {
            first: 9.0,
            summary: Summary::from_samples(&[1.0, 2.0, 3.0]).unwrap(),
            raw: vec![1.0, 2.0, 3.0],
        });
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["browser"], "chromium");
        assert_eq!(v["backend"], "webgpu");
        assert_eq!(v["precision"], "f16-native");
        assert_eq!(v["batch"], 32);
        assert_eq!(v["status"], "unsupported");
        assert_eq!(v["reason"], "adapter lacks shader-f16");
        assert_eq!(v["latency_ms"]["first"], 9.0);
        assert_eq!(v["latency_ms"]["median"], 2.0);
        assert_eq!(v["latency_ms"]["samples"], 3);
        assert_eq!(v["latency_ms"]["ci95_low"], 1.0);
        assert_eq!(v["latency_ms"]["ci95_high"], 3.0);
        assert_eq!(v["memory"]["estimated_weight_bytes"], 10);
        assert_eq!(v["memory"]["estimated_scale_bytes"], 4);
        let back: Cell = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn ok_cell_has_null_reason() {
        let v = serde_json::to_value(cell()).unwrap();
        assert_eq!(v["status"], "ok");
        assert!(v["reason"].is_null());
    }

    #[test]
    fn unknown_status_is_refused_by_name() {
        let mut v = serde_json::to_value(cell()).unwrap();
        v["status"] = "crashed".into();
        let err = serde_json::from_value::<Cell>(v).unwrap_err().to_string();
        assert!(err.contains("unknown cell status `crashed`"), "{err}");
    }

    #[test]
    fn the_smallest_step_is_between_different_samples() {
        assert_eq!(smallest_step(&[0.75, 0.25, 0.75, 0.5]), Some(0.25));
        assert_eq!(smallest_step(&[2.0, 2.0]), None, "all equal");
        assert_eq!(smallest_step(&[]), None);
        assert_eq!(smallest_step(&[1.0, f64::NAN, 1.5]), Some(0.5));
    }

    #[test]
    fn upsert_replaces_by_key() {
        let mut r = Report::new("0.1.0", "2026-11-28T00:00:00Z", settings());
        r.upsert_cell(cell());
        let mut again = cell();
        again.outcome = Outcome::Timeout {
            message: "x".into(),
        };
        r.upsert_cell(again.clone());
        assert_eq!(r.cells, vec![again]);
        assert_eq!(
            serde_json::to_value(&r).unwrap()["schema_version"],
            SCHEMA_VERSION
        );
    }

    #[test]
    fn cells_take_their_planned_places_whatever_order_they_ran_in() {
        let mut r = Report::new("0.1.0", "2026-11-28T00:00:00Z", settings());
        let at = |batch| Cell { batch, ..cell() };
        r.planned = [1, 4, 32].map(|b| at(b).id()).to_vec();
        for batch in [32, 7, 1, 4] {
            r.upsert_cell(at(batch));
        }
        let order: Vec<u32> = r.cells.iter().map(|c| c.batch).collect();
        assert_eq!(order, [1, 4, 32, 7], "batch 7 was not planned: last");
    }
}
