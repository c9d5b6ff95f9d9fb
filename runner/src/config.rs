//! The run's configuration: documented defaults, then `qbench.toml` (found in
//! the working directory, or `--config FILE`), then the command-line flags.
//! The file's keys are the flags' names; an unknown key is an error naming it
//! and its line. `qbench config` prints the result.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use qbench_core::host::Pinning;
use qbench_core::protocol::PowerPreference;
use qbench_core::{Backend, Browser, Precision};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::defaults;
use crate::exit::{ResultExt, bad_input};

pub use crate::defaults::PAIRED_ROUNDS;

/// The file looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "qbench.toml";

/// A WebDriver endpoint in the config file: `[[endpoint]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EndpointConfig {
    /// A name for messages.
    pub name: String,
    /// The WebDriver URL (a Selenium Grid hub or standalone); `local` for drivers qbench starts.
    pub url: String,
    /// The browsers run there (default: the run's `browsers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browsers: Option<Vec<Browser>>,
    /// The host label of its environments and cells (default: `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_label: Option<String>,
    /// Extra capabilities per browser, merged over the defaults: `[endpoint.capabilities.firefox]`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub capabilities: Map<String, Value>,
}

/// Everything a run is told: the documented defaults, overridden by the file, then the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RunConfig {
    /// Browsers to drive.
    pub browsers: Vec<Browser>,
    /// Backends to run.
    pub backends: Vec<Backend>,
    /// Precisions to run.
    pub precisions: Vec<Precision>,
    /// Batch sizes to time.
    pub batch: Vec<u32>,
    /// Untimed warm-up inferences after the first, at least.
    pub warmup: u32,
    /// Untimed warm-up time after the first inference, at least.
    #[serde(with = "humantime_serde")]
    pub warmup_time: Duration,
    /// Then warm-up until this long has passed without the inference getting faster (0s: fixed warm-up).
    #[serde(with = "humantime_serde")]
    pub settle_time: Duration,
    /// Timed samples per cell, at most.
    pub max_samples: u32,
    /// Timed samples per cell, at least.
    pub min_samples: u32,
    /// Target half-width of the median's 95% interval, percent of the median (0: none).
    pub interval_target: f64,
    /// Each timed sample spans at least this many steps of the page's clock; 0: one inference per sample.
    pub timer_steps: u32,
    /// Pipelined-throughput samples of each WebGPU cell; 0: none.
    pub throughput_samples: u32,
    /// Time budget for a cell's timed samples.
    #[serde(with = "humantime_serde")]
    pub time_per_cell: Duration,
    /// Limit for a whole cell.
    #[serde(with = "humantime_serde")]
    pub timeout_per_cell: Duration,
    /// Limit for starting a browser and probing it.
    #[serde(with = "humantime_serde")]
    pub timeout_session: Duration,
    /// Held-out digits quality is measured on.
    pub quality_inputs: usize,
    /// Passes over each browser's cells, shuffled per pass; samples are pooled.
    pub rounds: u32,
    /// Seed of the per-round shuffles (default: a new one per run, recorded in the report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u64>,
    /// Retries of a failed cell on a fresh session.
    pub retries: u32,
    /// Retakes of a round whose page ran on a busy host.
    pub retry_busy: u32,
    /// The CPUs a local browser's processes run on.
    pub pin_browser: Pinning,
    /// Report folder.
    pub out: PathBuf,
    /// Expectations file the cells are judged against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<PathBuf>,
    /// JUnit XML file to write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub junit: Option<PathBuf>,
    /// Markdown step summary to write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<PathBuf>,
    /// SQLite history the run is appended to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<PathBuf>,
    /// `qbench native --json` report used as the native reference rows instead of measuring them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_report: Option<PathBuf>,
    /// An earlier `report.json` to compare this run with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_report: Option<PathBuf>,
    /// A built package (an earlier build) measured in the same pages, sample for
    /// sample alternately with this build's, and compared with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_pkg: Option<PathBuf>,
    /// TF.js (installed in `tfjs/` by `.ci/install`) measured in the same pages
    /// on the same weights, sample for sample alternately with this build, and
    /// compared with it.
    pub baseline_tfjs: bool,
    /// Exit 1 when a cell regressed against `baseline-report`, `baseline-pkg`
    /// or `baseline-tfjs`.
    pub fail_on_regression: bool,
    /// Smallest latency change that counts, percent.
    pub threshold: f64,
    /// This machine's label on environments and cells (default: the host name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_label: Option<String>,
    /// Send every session to this WebDriver endpoint instead of starting local drivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webdriver: Option<String>,
    /// Address the page server listens on (loopback unless told otherwise).
    pub serve_addr: SocketAddr,
    /// Host names remote browsers use to reach the page server; the first is put in the page's URL.
    pub serve_host: Vec<String>,
    /// `powerPreference` the WebGPU adapter is requested with.
    pub gpu: PowerPreference,
    /// WebGPU cells on a software adapter are `unsupported`.
    pub require_hardware_gpu: bool,
    /// After each cell's samples, time the network cut after each stage.
    pub profile: bool,
    /// Measure the native reference rows even when this binary kept them for these settings.
    pub fresh_native: bool,
    /// WebDriver endpoints whose cells run in parallel, one task each.
    pub endpoint: Vec<EndpointConfig>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            browsers: Browser::ALL.to_vec(),
            backends: Backend::ALL.to_vec(),
            precisions: Precision::ALL.to_vec(),
            batch: defaults::BATCH.to_vec(),
            warmup: defaults::WARMUP,
            warmup_time: defaults::WARMUP_TIME,
            settle_time: defaults::SETTLE_TIME,
            max_samples: defaults::MAX_SAMPLES,
            min_samples: defaults::MIN_SAMPLES,
            interval_target: defaults::INTERVAL_TARGET_PCT,
            timer_steps: defaults::TIMER_STEPS,
            throughput_samples: defaults::THROUGHPUT_SAMPLES,
            time_per_cell: defaults::TIME_PER_CELL,
            timeout_per_cell: defaults::TIMEOUT_PER_CELL,
            timeout_session: defaults::TIMEOUT_SESSION,
            quality_inputs: defaults::QUALITY_INPUTS,
            rounds: defaults::ROUNDS,
            shuffle_seed: None,
            retries: 0,
            retry_busy: 0,
            pin_browser: Pinning::Off,
            out: PathBuf::from(defaults::OUT),
            expect: None,
            junit: None,
            summary: None,
            history: None,
            native_report: None,
            baseline_report: None,
            baseline_pkg: None,
            baseline_tfjs: false,
            fail_on_regression: false,
            threshold: defaults::THRESHOLD_PCT,
            host_label: None,
            webdriver: None,
            serve_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            serve_host: Vec::new(),
            gpu: PowerPreference::HighPerformance,
            require_hardware_gpu: false,
            profile: false,
            fresh_native: false,
            endpoint: Vec::new(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The flags of `qbench run` (and `qbench config`): each overrides the config file.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunFlags {
    /// Browsers, comma separated.
    #[arg(help_heading = "Matrix", long, value_delimiter = ',', value_parser = one_of::<Browser>())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browsers: Option<Vec<Browser>>,
    /// Backends, comma separated.
    #[arg(help_heading = "Matrix", long, value_delimiter = ',', value_parser = one_of::<Backend>())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backends: Option<Vec<Backend>>,
    /// Precisions, comma separated.
    #[arg(help_heading = "Matrix", long, value_delimiter = ',', value_parser = one_of::<Precision>())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precisions: Option<Vec<Precision>>,
    /// Batch sizes to time, comma separated.
    #[arg(help_heading = "Matrix", long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<u32>>,
    /// Untimed warm-up inferences after the first one, at least.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u32>,
    /// Untimed warm-up time after the first inference, at least (a duration: 300ms, 2s).
    #[arg(help_heading = "Sampling", long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub warmup_time: Option<Duration>,
    /// Then warm up until this long has passed without the inference getting faster (JIT tiers compiling); 0s: a fixed warm-up.
    #[arg(help_heading = "Sampling", long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub settle_time: Option<Duration>,
    /// Timed samples per cell, at most.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_samples: Option<u32>,
    /// Timed samples per cell, at least (at least 5).
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u32>,
    /// Stop sampling once the half-width of the median's 95% interval is within this many percent of the median; 0: never.
    #[arg(help_heading = "Sampling", long, value_name = "PCT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_target: Option<f64>,
    /// Each timed sample repeats the inference back to back until it spans this many steps of the page's clock (criterion's iteration batching; latency is per inference, the repetitions are in the report); 0: one inference per sample.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timer_steps: Option<u32>,
    /// Pipelined-throughput samples of each WebGPU cell after its latency samples: k and 2k inferences queued and read back once, k sized to outlast 4 readback floors; 0: none.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_samples: Option<u32>,
    /// Time budget for a cell's timed samples (a duration: 3s, 500ms).
    #[arg(help_heading = "Sampling", long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_per_cell: Option<Duration>,
    /// A cell still running after this long is a timeout; its browser is restarted (a duration: 3m, 90s).
    #[arg(help_heading = "Sampling", long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_per_cell: Option<Duration>,
    /// Limit for starting a browser and probing it (a duration).
    #[arg(help_heading = "Sampling", long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_session: Option<Duration>,
    /// Held-out digits each precision's quality is measured on, at most 2,000.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_inputs: Option<usize>,
    /// Run each browser's cells this many times, shuffled per round, samples pooled (3 in a paired run: --baseline-pkg, --baseline-tfjs).
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Seed of the per-round shuffles of the cells [default: a new one, recorded in the report].
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u64>,
    /// Retry a failed cell this many times on a fresh session.
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Take a round again (in a fresh page, this many times at most) when its page ran on a busy host: other processes used over a quarter of a core or the hypervisor took over 5% of one (local browsers on Linux)
    #[arg(help_heading = "Sampling", long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_busy: Option<u32>,
    /// Pin a local browser's processes (driver, browser, renderers) to CPUs: auto (the machine's last CPU when it has two or more, so the runner and the rest keep the others), off, or a list such as 3 or 2,3 [default: off]
    #[arg(help_heading = "Sampling", long, value_name = "CPUS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_browser: Option<Pinning>,
    /// Report folder: report.json (rewritten after every cell), report.md, report.html, comparison.json when comparing, and the logs of the drivers (and of Xvfb for WebKit); an earlier run's files are kept as report.prev.*.
    #[arg(help_heading = "Output", long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    /// Judge every cell against this expectations file (TOML, `[[cell]]` entries).
    #[arg(help_heading = "Comparison", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<PathBuf>,
    /// Write JUnit XML here: a suite per browser × backend, a case per cell.
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown step summary here (default: append to $GITHUB_STEP_SUMMARY when set).
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<PathBuf>,
    /// Append the run to this SQLite history (created when missing; see `qbench history`).
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<PathBuf>,
    /// Use this `qbench native --json` report as the native reference rows instead of measuring them.
    #[arg(help_heading = "Comparison", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_report: Option<PathBuf>,
    /// Compare this run with an earlier report.json (and gate with --fail-on-regression).
    #[arg(help_heading = "Comparison", long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_report: Option<PathBuf>,
    /// Measure this built package (e.g. main's `target/qbench-pkg`) in the same pages, its samples alternating with this build's, and compare with it: the pull-request gate (with --fail-on-regression).
    #[arg(help_heading = "Comparison", long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_pkg: Option<PathBuf>,
    /// Measure TF.js (the engine qbench is measured against; `npm ci --prefix tfjs`) on the same network, weights and digits in the same pages, its samples alternating with this build's, and compare with it [precisions default to f32].
    #[arg(help_heading = "Comparison", long)]
    #[serde(skip_serializing_if = "is_false")]
    pub baseline_tfjs: bool,
    /// Exit 1 when a cell regressed against --baseline-report, --baseline-pkg or --baseline-tfjs.
    #[arg(help_heading = "Comparison", long)]
    #[serde(skip_serializing_if = "is_false")]
    pub fail_on_regression: bool,
    /// Smallest latency change that counts, percent.
    #[arg(help_heading = "Comparison", long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// This machine's label on every environment and cell [default: the host name].
    #[arg(help_heading = "Browsers and endpoints", long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_label: Option<String>,
    /// Send every session to this W3C WebDriver endpoint (e.g. a Selenium Grid) instead of starting local drivers.
    #[arg(help_heading = "Browsers and endpoints", long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webdriver: Option<String>,
    /// Address the page server listens on (port 0: any free one); a non-loopback one needs --serve-host.
    #[arg(
        help_heading = "Browsers and endpoints",
        long,
        value_name = "ADDR:PORT"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve_addr: Option<SocketAddr>,
    /// A host name remote browsers reach the page server by (repeatable); the server answers no other.
    #[arg(help_heading = "Browsers and endpoints", long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve_host: Option<Vec<String>>,
    /// `powerPreference` the WebGPU adapter is requested with.
    #[arg(help_heading = "Browsers and endpoints", long, value_name = "PREFERENCE", value_parser = one_of::<PowerPreference>())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<PowerPreference>,
    /// Make WebGPU cells on a software adapter `unsupported` instead of running them.
    #[arg(help_heading = "Browsers and endpoints", long)]
    #[serde(skip_serializing_if = "is_false")]
    pub require_hardware_gpu: bool,
    /// After each cell's samples, time the network cut after each stage (upload, conv1, conv2, fc1, fc2, softmax) and report what each stage costs.
    #[arg(help_heading = "Output", long)]
    #[serde(skip_serializing_if = "is_false")]
    pub profile: bool,
    /// Measure the native reference rows even when this qbench binary kept them, measured with the same settings on this host.
    #[arg(help_heading = "Comparison", long)]
    #[serde(skip_serializing_if = "is_false")]
    pub fresh_native: bool,
    /// The config file [default: ./qbench.toml when present].
    #[arg(help_heading = "Inputs", long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// The qbench checkout to build the package from (and to find TF.js in) [default: the nearest one at or above the working directory].
    #[arg(help_heading = "Inputs", long, value_name = "DIR")]
    #[serde(skip)]
    pub root: Option<PathBuf>,
    /// Serve this built package (what `qbench build --out DIR` writes: both modules, their glue, the weights and digits) instead of building one; no checkout is needed then.
    #[arg(help_heading = "Inputs", long, value_name = "DIR")]
    #[serde(skip)]
    pub pkg: Option<PathBuf>,
    /// Serve the page from this folder instead of the one built into qbench (for working on `www/`).
    #[arg(help_heading = "Inputs", long, value_name = "DIR")]
    #[serde(skip)]
    pub www: Option<PathBuf>,
}

/// The defaults of `RunConfig::default` as `run --help` shows them, by flag
/// id (`warmup_time`): lists comma separated, durations with units; flags
/// that are off and lists that are empty are not shown.
pub fn shown_defaults() -> Vec<(String, String)> {
    let table = toml::Table::try_from(RunConfig::default()).expect("the defaults are a table");
    table
        .into_iter()
        .filter_map(|(key, value)| Some((key.replace('-', "_"), shown(&value)?)))
        .collect()
}

/// One default as shown; `None` for what is not worth showing.
fn shown(value: &toml::Value) -> Option<String> {
    use toml::Value;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(shown)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

/// A parser that accepts the names of a `named_enum!` type and lists them in `--help`.
fn one_of<T>() -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Named + std::str::FromStr<Err = qbench_core::ParseNameError> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(T::names()).try_map(|s| s.parse::<T>())
}

/// A type whose values have names (`named_enum!`'s).
pub trait Named {
    /// Every name, in order.
    fn names() -> Vec<&'static str>;
}

macro_rules! named {
    ($($t:ty),+) => {$(
        impl Named for $t {
            fn names() -> Vec<&'static str> {
                <$t>::ALL.iter().map(|v| v.name()).collect()
            }
        }
    )+};
}
named!(Browser, Backend, Precision, PowerPreference);

/// Reads a config file; an unknown key or a bad value names itself and its line.
pub fn read_file(path: &Path) -> anyhow::Result<RunConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    toml::from_str(&text).map_err(|e| {
        bad_input(anyhow::anyhow!(
            "{}: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })
}

/// The effective configuration: defaults, the file (`--config`, or `./qbench.toml`), the flags.
pub fn resolve(flags: &RunFlags) -> anyhow::Result<RunConfig> {
    let path = match &flags.config {
        Some(path) => Some(path.as_path()),
        None => Some(Path::new(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let file = path.map(read_file).transpose()?;
    let base = file.unwrap_or_default();
    let mut table = toml::Table::try_from(&base).context("the configuration as a table")?;
    let overrides = toml::Table::try_from(flags).context("the flags as a table")?;
    table.extend(overrides);
    let mut config: RunConfig = table
        .try_into()
        .map_err(|e: toml::de::Error| bad_input(anyhow::anyhow!("flags: {e}")))?;
    // The keys the file sets itself, read once: paired runs change the defaults
    // of `rounds` and `precisions`, never what the file or a flag says.
    let file_keys = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .unwrap_or_default();
    let file_sets = |key: &str| file_keys.contains_key(key);
    let paired = config.baseline_pkg.is_some() || config.baseline_tfjs;
    if paired && flags.rounds.is_none() && !file_sets("rounds") {
        config.rounds = PAIRED_ROUNDS;
    }
    if config.baseline_tfjs && flags.precisions.is_none() && !file_sets("precisions") {
        config.precisions = vec![Precision::F32];
    }
    config.validate()?;
    Ok(config)
}

impl RunConfig {
    /// Refuses values that make no sense, naming the key (exit 2).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.check_matrix()
            .and_then(|()| self.check_sampling())
            .and_then(|()| self.check_comparison())
            .and_then(|()| self.check_endpoints())
            .map_err(|(key, why)| bad_input(anyhow::anyhow!("{key}: {why}")))
    }

    /// The matrix: nothing empty, batches the digits can fill.
    fn check_matrix(&self) -> Result<(), Refusal> {
        if self.browsers.is_empty()
            || self.backends.is_empty()
            || self.precisions.is_empty()
            || self.batch.is_empty()
        {
            return bad(
                "browsers, backends, precisions, batch",
                "none may be empty".into(),
            );
        }
        if let Some(b) = self.batch.iter().find(|b| **b == 0 || **b > 2000) {
            return bad(
                "batch",
                format!("{b} is not between 1 and 2,000 (the held-out digits)"),
            );
        }
        Ok(())
    }

    /// Sampling: enough samples for an interval, targets that are percentages.
    fn check_sampling(&self) -> Result<(), Refusal> {
        if self.max_samples < 5 {
            return bad(
                "max-samples",
                format!("{} is below 5: no confidence interval", self.max_samples),
            );
        }
        if self.min_samples < 5 || self.min_samples > self.max_samples {
            return bad(
                "min-samples",
                format!(
                    "{} is not between 5 and max-samples ({})",
                    self.min_samples, self.max_samples
                ),
            );
        }
        if !(0.0..100.0).contains(&self.interval_target) {
            return bad(
                "interval-target",
                format!("{} is not a percentage in [0, 100)", self.interval_target),
            );
        }
        if self.timer_steps > 100_000 {
            return bad(
                "timer-steps",
                format!("{} is above 100000", self.timer_steps),
            );
        }
        if self.throughput_samples > 1000 {
            return bad(
                "throughput-samples",
                format!("{} is above 1000", self.throughput_samples),
            );
        }
        if self.quality_inputs > 2000 {
            return bad(
                "quality-inputs",
                format!("{}: there are 2,000 held-out digits", self.quality_inputs),
            );
        }
        if self.rounds == 0 {
            return bad("rounds", "must be at least 1".into());
        }
        if self.timeout_per_cell < Duration::from_secs(1)
            || self.timeout_session < Duration::from_secs(1)
        {
            return bad(
                "timeout-per-cell, timeout-session",
                "must be at least 1s".into(),
            );
        }
        Ok(())
    }

    /// What the run is compared with: one thing at most, and one there is
    /// when a gate asks for it.
    fn check_comparison(&self) -> Result<(), Refusal> {
        if !(self.threshold > 0.0 && self.threshold < 100.0) {
            return bad(
                "threshold",
                format!("{} is not a percentage in (0, 100)", self.threshold),
            );
        }
        let against = [
            self.baseline_report.is_some(),
            self.baseline_pkg.is_some(),
            self.baseline_tfjs,
        ];
        if self.fail_on_regression && !against.contains(&true) {
            return bad(
                "fail-on-regression",
                "needs --baseline-report OLD.json, --baseline-pkg DIR or --baseline-tfjs to compare with".into(),
            );
        }
        if against.iter().filter(|a| **a).count() > 1 {
            return bad(
                "baseline-report, baseline-pkg, baseline-tfjs",
                "give one thing to compare with, not several".into(),
            );
        }
        if let Some(p) = self
            .precisions
            .iter()
            .find(|p| self.baseline_tfjs && **p != Precision::F32)
        {
            return bad(
                "precisions",
                format!(
                    "{p}: the TF.js side runs float32 only (--baseline-tfjs compares f32 cells)"
                ),
            );
        }
        Ok(())
    }

    /// Where pages are served and browsers run.
    fn check_endpoints(&self) -> Result<(), Refusal> {
        if !self.serve_addr.ip().is_loopback() && self.serve_host.is_empty() {
            return bad(
                "serve-addr",
                format!(
                    "{} is not loopback: name the host names browsers reach it by with --serve-host",
                    self.serve_addr
                ),
            );
        }
        if self.webdriver.is_some() && !self.endpoint.is_empty() {
            return bad(
                "webdriver",
                "give either --webdriver or [[endpoint]] entries in the config, not both".into(),
            );
        }
        for e in &self.endpoint {
            for key in e.capabilities.keys() {
                if key.parse::<Browser>().is_err() {
                    return bad(
                        "endpoint.capabilities",
                        format!(
                            "`{key}` in endpoint `{}` is not a browser ({})",
                            e.name,
                            Browser::names().join(", ")
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

/// A refused value: the key, and why.
type Refusal = (&'static str, String);

/// Refuses `key` for `why`.
fn bad(key: &'static str, why: String) -> Result<(), Refusal> {
    Err((key, why))
}

/// This machine's host name (for the default host label).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qbench.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn flags(config: &Path) -> RunFlags {
        RunFlags {
            config: Some(config.to_path_buf()),
            ..RunFlags::default()
        }
    }

    #[test]
    fn a_paired_run_defaults_to_three_rounds_unless_told() {
        let (_d, empty) = write("max-samples = 40\n");
        let mut f = flags(&empty);
        f.baseline_pkg = Some("main-pkg".into());
        assert_eq!(resolve(&f).unwrap().rounds, PAIRED_ROUNDS);
        f.rounds = Some(1);
        assert_eq!(resolve(&f).unwrap().rounds, 1, "a flag wins");
        let (_d, file) = write("rounds = 2\n");
        let mut f = flags(&file);
        f.baseline_pkg = Some("main-pkg".into());
        assert_eq!(resolve(&f).unwrap().rounds, 2, "the file wins");
        assert_eq!(resolve(&flags(&empty)).unwrap().rounds, 1, "unpaired: one");
    }

    #[test]
    fn a_run_against_tfjs_is_float32_in_three_rounds_and_refuses_other_precisions() {
        let (_d, empty) = write("max-samples = 40\n");
        let mut f = flags(&empty);
        f.baseline_tfjs = true;
        let c = resolve(&f).unwrap();
        assert_eq!(
            (c.rounds, c.precisions),
            (PAIRED_ROUNDS, vec![Precision::F32])
        );
        f.precisions = Some(vec![Precision::F32, Precision::Int8]);
        let e = format!("{:#}", resolve(&f).unwrap_err());
        assert!(
            e.contains("precisions: int8: the TF.js side runs float32 only"),
            "{e}"
        );
        f.precisions = None;
        f.baseline_pkg = Some("main-pkg".into());
        let e = format!("{:#}", resolve(&f).unwrap_err());
        assert!(e.contains("give one thing to compare with"), "{e}");
    }

    #[test]
    fn defaults_then_file_then_flags() {
        let (_d, path) = write(
            "browsers = [\"firefox\"]\nmax-samples = 40\ntime-per-cell = \"2s 500ms\"\nrounds = 2\n[[endpoint]]\nname = \"gpu-box\"\nurl = \"http://10.0.0.2:4444\"\n[endpoint.capabilities.firefox]\nacceptInsecureCerts = true\n",
        );
        let mut f = flags(&path);
        f.max_samples = Some(50);
        let c = resolve(&f).unwrap();
        assert_eq!(c.browsers, vec![Browser::Firefox], "from the file");
        assert_eq!(c.max_samples, 50, "the flag wins");
        assert_eq!(
            c.time_per_cell,
            Duration::from_millis(2500),
            "a duration with units"
        );
        assert_eq!(c.rounds, 2);
        assert_eq!(c.min_samples, 10, "the default");
        assert_eq!(c.endpoint[0].name, "gpu-box");
        assert_eq!(
            c.endpoint[0].capabilities["firefox"]["acceptInsecureCerts"],
            true
        );
        // Printed and read back, the effective configuration is the same.
        let printed = toml::to_string(&c).unwrap();
        assert_eq!(toml::from_str::<RunConfig>(&printed).unwrap(), c);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let (_d, path) = write("max-samples = 40\n\nsampels = 3\n");
        let err = resolve(&flags(&path)).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("sampels") && text.contains("line 3"),
            "{text}"
        );
        assert_eq!(crate::exit::code_of(&err), 2);
        let (_d, path) = write("browsers = [\"safari\"]\n");
        let text = format!("{:#}", resolve(&flags(&path)).unwrap_err());
        assert!(text.contains("safari") && text.contains("line 1"), "{text}");
    }

    #[test]
    fn a_duration_needs_its_unit() {
        let (_d, path) = write("max-samples = 40\ntime-per-cell = 3000\n");
        let err = resolve(&flags(&path)).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("time-per-cell") && text.contains("line 2"),
            "{text}"
        );
        assert_eq!(crate::exit::code_of(&err), 2);
        let (_d, path) = write("settle-time = \"0s\"\nwarmup-time = \"1m 30s\"\n");
        let c = resolve(&flags(&path)).unwrap();
        assert_eq!(
            (c.settle_time, c.warmup_time),
            (Duration::ZERO, Duration::from_secs(90))
        );
    }

    #[test]
    fn senseless_values_are_refused_by_key() {
        for (text, key) in [
            ("max-samples = 2\n", "max-samples"),
            (
                "timeout-per-cell = \"500ms\"\n",
                "timeout-per-cell, timeout-session",
            ),
            ("min-samples = 200\n", "min-samples"),
            ("batch = [0]\n", "batch"),
            ("serve-addr = \"0.0.0.0:8000\"\n", "serve-addr"),
            ("fail-on-regression = true\n", "fail-on-regression"),
            (
                "baseline-report = \"a.json\"\nbaseline-pkg = \"pkg\"\n",
                "baseline-report, baseline-pkg, baseline-tfjs",
            ),
            (
                "baseline-tfjs = true\nprecisions = [\"f32\", \"f16\"]\n",
                "precisions",
            ),
            ("quality-inputs = 5000\n", "quality-inputs"),
        ] {
            let (_d, path) = write(text);
            let err = resolve(&flags(&path)).unwrap_err();
            assert!(format!("{err:#}").starts_with(key), "{text}: {err:#}");
            assert_eq!(crate::exit::code_of(&err), 2);
        }
    }
}
