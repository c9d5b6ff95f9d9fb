//! `qbench native`: the browser cell's measurements run natively on burn's CPU
//! backend, for every precision. It is the reference browser cells are compared with.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::Device;
use qbench_core::matrix::NATIVE_BROWSER;
use qbench_core::protocol::{CellRequest, CellResponse};
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{Cell, Environment, Outcome, Report, RunSettings};
use qbench_core::{Backend, Precision};
use qbench_model::network::{CLASSES, images_tensor};
use qbench_model::{Digits, Net, assets, weights};

use crate::collect::{self, References, elapsed_ms};
use crate::report;

/// What `qbench native` measures.
#[derive(Debug, Clone, clap::Args)]
pub struct NativeArgs {
    /// Precisions to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Precision::ALL.to_vec())]
    pub precisions: Vec<Precision>,
    /// Batch sizes to time, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1u32, 32])]
    pub batch: Vec<u32>,
    /// Untimed warm-up inferences after the first one.
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Untimed warm-up time after the first inference, at least, milliseconds.
    #[arg(long = "warmup-time", default_value_t = 300)]
    pub warmup_ms: u64,
    /// Timed samples per cell (fewer if the time budget runs out first).
    #[arg(long, default_value_t = 100)]
    pub samples: u32,
    /// Time budget for a cell's timed samples, milliseconds.
    #[arg(long = "time-per-cell", default_value_t = 3000)]
    pub time_per_cell_ms: u64,
    /// Held-out digits to measure quality on (at most 2,000).
    #[arg(long, default_value_t = 2000)]
    pub quality_inputs: usize,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl NativeArgs {
    fn plan(&self) -> SamplePlan {
        SamplePlan { warmup: self.warmup, warmup_ms: self.warmup_ms as f64, max_samples: self.samples, min_samples: 5, budget_ms: self.time_per_cell_ms as f64 }
    }
}

/// Runs `qbench native`: measures, prints the table, writes JSON if asked.
pub fn run(args: &NativeArgs) -> anyhow::Result<()> {
    let report = measure(args)?;
    println!("{}", report::terminal::table(&report.cells));
    if let Some(path) = &args.json {
        report::json::write(&report, path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Measures every requested precision × batch natively.
///
/// Each cell runs in its own `qbench cell` process with the same code the
/// browser runs (`qbench_wasm::cell`): burn fixes the CPU device's float type
/// once per process, so `f16-native` needs a fresh one, and every cell gets
/// the same clean start as a fresh page.
pub fn measure(args: &NativeArgs) -> anyhow::Result<Report> {
    let weights = assets::weights().context("loading the shipped weights")?;
    let digits = assets::digits().context("loading the shipped held-out digits")?.take(args.quality_inputs);
    let settings = RunSettings {
        warmup: args.warmup,
        warmup_ms: args.warmup_ms,
        samples: args.samples,
        time_per_cell_ms: args.time_per_cell_ms,
        timeout_per_cell_ms: 0,
        quality_inputs: digits.len(),
    };
    let mut report = Report::new(env!("CARGO_PKG_VERSION"), unix_now(), settings);
    report.environments.push(environment());

    let device = Device::flex();
    let reference = probabilities(&Net::from_weights(&weights, &device), &digits, 100, &device)?;
    let refs = References { same_backend_f32: None, native_f32: &reference, labels: digits.labels() };
    for &precision in &args.precisions {
        for (i, &batch) in args.batch.iter().enumerate() {
            let request = CellRequest {
                backend: Backend::Cpu,
                precision,
                batch,
                plan: args.plan(),
                // Quality does not depend on the batch: measured with the first one.
                quality_inputs: if i == 0 { digits.len() } else { 0 },
                quality_batch: 100,
            };
            let blank = Cell::new(NATIVE_BROWSER, Backend::Cpu, precision, batch, weights::memory(precision));
            let started = Instant::now();
            let cell = match run_cell_process(&request) {
                Ok(response) => collect::measured(blank, &response, &refs, elapsed_ms(started)),
                Err(err) => Cell { outcome: Outcome::Error { message: format!("{err:#}") }, wall_ms: Some(elapsed_ms(started)), ..blank },
            };
            report.upsert_cell_sharing_quality(cell);
        }
    }
    Ok(report)
}

/// Runs one cell in a child `qbench cell` process.
fn run_cell_process(request: &CellRequest) -> anyhow::Result<CellResponse> {
    let exe = std::env::current_exe().context("finding the qbench executable")?;
    let out = std::process::Command::new(&exe)
        .arg("cell")
        .arg(serde_json::to_string(request)?)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {} cell", exe.display()))?;
    anyhow::ensure!(out.status.success(), "the cell process failed: {}", out.status);
    serde_json::from_slice(&out.stdout).context("the cell process did not print a CellResponse")
}

/// `qbench cell JSON`: runs one cell natively with the browser's cell code, prints its response.
pub fn cell_process(request_json: &str) -> anyhow::Result<()> {
    let request: CellRequest = serde_json::from_str(request_json).context("parsing the cell request")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let response = runtime.block_on(qbench_wasm::cell::run(&request));
    println!("{}", serde_json::to_string(&response)?);
    Ok(())
}

/// Class probabilities of every digit, `[n × 10]`, read back to the host.
pub fn probabilities(net: &Net, digits: &Digits, batch: usize, device: &Device) -> anyhow::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(digits.len() * CLASSES);
    for start in (0..digits.len()).step_by(batch) {
        let end = (start + batch).min(digits.len());
        out.extend(infer(net, &digits.pixels(start, end), device)?);
    }
    Ok(out)
}

/// One inference: upload, forward, softmax, read back as float32.
fn infer(net: &Net, pixels: &[f32], device: &Device) -> anyhow::Result<Vec<f32>> {
    let data = net
        .probabilities(images_tensor(pixels, device))
        .try_into_data()
        .map_err(|e| anyhow::anyhow!("reading probabilities back: {e}"))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("probabilities are not float: {e:?}"))
}

fn environment() -> Environment {
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    Environment {
        browser: NATIVE_BROWSER.into(),
        name: "native".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        user_agent: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        timer_resolution_ms: Some(1e-6), // std::time::Instant: nanoseconds
        extra: [("cpu_backend".to_string(), "burn-flex".to_string()), ("hardware_threads".to_string(), threads.to_string())]
            .into_iter()
            .collect(),
        ..Environment::default()
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
