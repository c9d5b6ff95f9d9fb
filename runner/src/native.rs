//! `qbench native`: the browser cell's measurements run natively on burn's CPU
//! backend, for every precision. It is the reference browser cells are compared with.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Device, FloatDType};
use qbench_core::matrix::NATIVE_BROWSER;
use qbench_core::quality::{self, Quality};
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{Cell, Environment, Latency, Outcome, Report, RunSettings};
use qbench_core::stats::Summary;
use qbench_core::{Backend, Precision};
use qbench_model::network::{CLASSES, images_tensor};
use qbench_model::{Digits, Net, Weights, assets, weights};

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
    // f16-native reconfigures the CPU device for good, so it runs last.
    let mut precisions = args.precisions.clone();
    precisions.sort_by_key(|p| *p == Precision::F16Native);
    for precision in precisions {
        let cells = measure_precision(&weights, &digits, &reference, precision, &args.batch, args.plan());
        for cell in cells {
            report.upsert_cell(cell);
        }
    }
    Ok(report)
}

fn measure_precision(
    weights: &Weights,
    digits: &Digits,
    reference: &[f32],
    precision: Precision,
    batches: &[u32],
    plan: SamplePlan,
) -> Vec<Cell> {
    let new_cell = |batch| Cell::new(NATIVE_BROWSER, Backend::Cpu, precision, batch, weights::memory(precision));
    let attempt = || -> anyhow::Result<Vec<Cell>> {
        let (device, net) = match load(weights, precision)? {
            Loaded::Ready(device, net) => (device, net),
            Loaded::Unsupported(reason) => {
                return Ok(batches.iter().map(|&b| Cell { outcome: Outcome::Unsupported { reason: reason.clone() }, ..new_cell(b) }).collect());
            }
        };
        let probs = probabilities(&net, digits, 100, &device)?;
        let mut q = Quality::compare(&probs, reference, digits.labels(), CLASSES)?;
        q.max_abs_diff_vs_native = Some(quality::max_abs_diff(&probs, reference)?);
        batches
            .iter()
            .map(|&batch| {
                let started = Instant::now();
                let latency = time_inference(&net, digits, batch as usize, &device, plan)?;
                Ok(Cell {
                    latency_ms: Some(latency),
                    quality: Some(q),
                    wall_ms: Some(started.elapsed().as_secs_f64() * 1e3),
                    ..new_cell(batch)
                })
            })
            .collect()
    };
    attempt().unwrap_or_else(|err| {
        batches.iter().map(|&b| Cell { outcome: Outcome::Error { message: format!("{err:#}") }, ..new_cell(b) }).collect()
    })
}

enum Loaded {
    Ready(Device, Net),
    Unsupported(String),
}

fn load(weights: &Weights, precision: Precision) -> anyhow::Result<Loaded> {
    let mut device = Device::flex();
    if precision == Precision::F16Native {
        if !device.supports_dtype(FloatDType::F16) {
            return Ok(Loaded::Unsupported("burn's CPU backend does not support F16 here".into()));
        }
        device.configure(FloatDType::F16).map_err(|e| anyhow::anyhow!("configuring the CPU device for F16: {e:?}"))?;
    }
    let weights = weights.quantized(precision)?.weights;
    Ok(Loaded::Ready(device.clone(), Net::from_weights(&weights, &device)))
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

fn time_inference(net: &Net, digits: &Digits, batch: usize, device: &Device, plan: SamplePlan) -> anyhow::Result<Latency> {
    let pixels = digits.pixels(0, batch.min(digits.len()));
    let timed = || -> anyhow::Result<f64> {
        let t = Instant::now();
        infer(net, &pixels, device)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let first = timed()?;
    let (mut warmups, mut warm_ms) = (0, 0.0);
    while plan.wants_warmup(warmups, warm_ms) {
        warm_ms += timed()?;
        warmups += 1;
    }
    let mut raw = Vec::new();
    let mut spent = 0.0;
    while plan.wants_more(raw.len() as u32, spent) {
        let ms = timed()?;
        spent += ms;
        raw.push(ms);
    }
    Ok(Latency { first, summary: Summary::from_samples(&raw)?, raw })
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
