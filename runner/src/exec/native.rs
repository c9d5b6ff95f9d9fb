//! `qbench native`: the browser cell's measurements run natively on burn's CPU
//! backend, for every precision. It is the reference browser cells are
//! compared with. Each cell runs in a child `qbench cell` process (the
//! [`NativeExecutor`]) with the code the page runs: burn fixes the CPU device's
//! float type once per process, so `f16-native` needs a fresh one, and every
//! cell gets the same clean start as a fresh page.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use burn::tensor::Device;
use qbench_core::protocol::{CellRequest, CellResponse};
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{Environment, Report, RunSettings};
use qbench_core::{Backend, Precision};
use qbench_model::network::{CLASSES, images_tensor};
use qbench_model::{Digits, Net, assets};

use crate::cancel::Cancel;
use crate::collect::References;
use crate::collect::sink::{self, Sink};
use crate::defaults;
use crate::exit::{Ended, ResultExt};
use crate::plan::{self, Agent, PlannedCell};
use crate::schedule::{self, ExecError, Executor, Schedule};

/// What `qbench native` measures. Its defaults are `qbench run`'s (one
/// [`defaults`] module), so the rows a run measures for itself and the rows of
/// `qbench native --json` given to `run --native-report` are taken alike.
#[derive(Debug, Clone, clap::Args)]
pub struct NativeArgs {
    /// Precisions to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Precision::ALL.to_vec())]
    pub precisions: Vec<Precision>,
    /// Batch sizes to time, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = defaults::BATCH.to_vec())]
    pub batch: Vec<u32>,
    /// Untimed warm-up inferences after the first one, at least.
    #[arg(long, value_name = "N", default_value_t = defaults::WARMUP)]
    pub warmup: u32,
    /// Untimed warm-up time after the first inference, at least (a duration).
    #[arg(long, value_name = "DURATION", default_value_t = defaults::WARMUP_TIME.into())]
    pub warmup_time: humantime::Duration,
    /// Then warm up until this long has passed without the inference getting
    /// faster; 0s: a fixed warm-up.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::SETTLE_TIME.into())]
    pub settle_time: humantime::Duration,
    /// Timed samples per cell, at most.
    #[arg(long, value_name = "N", default_value_t = defaults::MAX_SAMPLES)]
    pub max_samples: u32,
    /// Timed samples per cell, at least.
    #[arg(long, value_name = "N", default_value_t = defaults::MIN_SAMPLES)]
    pub min_samples: u32,
    /// Stop sampling once the half-width of the median's 95% interval is within this many percent of the median; 0: never.
    #[arg(long, value_name = "PCT", default_value_t = defaults::INTERVAL_TARGET_PCT)]
    pub interval_target: f64,
    /// Each timed sample spans at least this many steps of the clock (its
    /// inferences repeated until it does); 0: one inference per sample.
    #[arg(long, value_name = "N", default_value_t = defaults::TIMER_STEPS)]
    pub timer_steps: u32,
    /// Time budget for a cell's timed samples (a duration).
    #[arg(long, value_name = "DURATION", default_value_t = defaults::TIME_PER_CELL.into())]
    pub time_per_cell: humantime::Duration,
    /// A cell process still running after this long is killed and the cell is a timeout.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::TIMEOUT_PER_CELL.into())]
    pub timeout_per_cell: humantime::Duration,
    /// Held-out digits to measure quality on (at most 2,000).
    #[arg(long, value_name = "N", default_value_t = defaults::QUALITY_INPUTS)]
    pub quality_inputs: usize,
    /// Also write the report as JSON to this file (for `run --native-report`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl NativeArgs {
    /// The sampling plan of every native cell.
    pub fn plan(&self) -> SamplePlan {
        SamplePlan {
            warmup: self.warmup,
            warmup_ms: defaults::ms(*self.warmup_time),
            settle_ms: defaults::ms(*self.settle_time),
            warmup_max_ms: defaults::ms(defaults::WARMUP_LIMIT),
            max_samples: self.max_samples.max(1),
            min_samples: self.min_samples.clamp(1, self.max_samples.max(1)),
            budget_ms: defaults::ms(*self.time_per_cell),
            ci_target: self.interval_target / 100.0,
            timer_steps: self.timer_steps,
            // Native cells have no WebGPU.
            throughput_samples: 0,
        }
    }
}

/// The native references every run compares with: float32 probabilities of
/// the first `n` held-out digits, and their labels.
pub fn references(n: usize) -> anyhow::Result<References> {
    let digits = assets::digits()
        .context("loading the shipped held-out digits")?
        .take(n);
    let device = Device::flex();
    let net = Net::from_weights(
        &assets::weights().context("loading the shipped weights")?,
        &device,
    );
    Ok(References {
        native_f32: probabilities(&net, &digits, 100, &device)?,
        labels: digits.labels().to_vec(),
    })
}

/// The settings a native measurement records.
fn settings(args: &NativeArgs) -> RunSettings {
    RunSettings {
        warmup: args.warmup,
        warmup_ms: args.warmup_time.as_millis() as u64,
        settle_ms: args.settle_time.as_millis() as u64,
        samples: args.max_samples,
        time_per_cell_ms: args.time_per_cell.as_millis() as u64,
        timeout_per_cell_ms: args.timeout_per_cell.as_millis() as u64,
        quality_inputs: args.quality_inputs,
        min_samples: args.plan().min_samples,
        ci_target: args.plan().ci_target,
        timer_steps: args.timer_steps,
        throughput_samples: 0,
        rounds: 1,
        seed: 0,
        retries: 0,
        retry_busy: 0,
        pin_browser: None,
    }
}

/// Measures every requested precision × batch natively, through the scheduler;
/// quality is measured against `refs` (from [`references`], covering `args.quality_inputs`).
pub async fn measure(
    args: &NativeArgs,
    refs: &References,
    cancel: &Cancel,
    observer: Box<dyn sink::Observer>,
) -> anyhow::Result<Report> {
    let settings = settings(args);
    let schedule = Schedule {
        host: None,
        cells: plan::cells(
            &[Agent::Native],
            &[Backend::Cpu],
            &args.precisions,
            &args.batch,
        ),
        rounds: 1,
        seed: 0,
        retries: 0,
        busy_retries: 0,
        plan: args.plan(),
        quality_inputs: args.quality_inputs,
        quality_batch: 100,
        open_timeout: Duration::from_secs(10),
        cell_timeout: *args.timeout_per_cell,
        require_hardware_gpu: false,
        power_preference: qbench_core::protocol::PowerPreference::default(),
        profile: false,
    };
    let mut report = Report::new(
        env!("CARGO_PKG_VERSION"),
        &crate::fmt::now_rfc3339(),
        settings,
    );
    report.planned = schedule.cells.iter().map(|c| c.id(None)).collect();
    let mut sink = Sink::new(report, None, None, vec![observer]);
    sink.started(schedule.cells.len() as u64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut exec = NativeExecutor::new().bad_input()?;
    let (ended, ()) = tokio::join!(
        async move {
            let ended = schedule.run(&mut exec, refs, &tx, cancel).await;
            drop(tx);
            ended
        },
        async {
            while let Some(event) = rx.recv().await {
                sink.apply(event);
            }
        }
    );
    sink.finish();
    let mut report = sink.report;
    // Native cells run in the planned order, f32 first, whatever the shuffle did.
    report.cells.sort_by_key(|c| {
        (
            Precision::ALL.iter().position(|p| *p == c.precision),
            c.batch,
        )
    });
    report.finished = Some(crate::fmt::now_rfc3339());
    if ended == schedule::LoopEnd::Cancelled {
        report.interrupted = cancel.signal().map(|(name, _)| name.to_string());
    }
    Ok(report)
}

/// Runs native cells in child `qbench cell` processes; a cell's process is
/// killed when its run is dropped (timeout, cancellation).
pub struct NativeExecutor {
    exe: PathBuf,
}

impl NativeExecutor {
    /// An executor running this very `qbench` binary.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("finding the qbench executable")?,
        })
    }
}

impl Executor for NativeExecutor {
    fn endpoint(&self) -> String {
        "native".into()
    }

    async fn open(&mut self, agent: Agent) -> Result<Environment, ExecError> {
        match agent {
            Agent::Native => Ok(environment()),
            Agent::Browser(b) => Err(ExecError::Start(format!(
                "the native executor cannot run {b}"
            ))),
        }
    }

    async fn run(
        &mut self,
        _cell: &PlannedCell,
        request: &CellRequest,
    ) -> Result<CellResponse, ExecError> {
        let out = tokio::process::Command::new(&self.exe)
            .arg("cell")
            .arg(serde_json::to_string(request).expect("requests serialise"))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| ExecError::Start(format!("running {} cell: {e}", self.exe.display())))?;
        if !out.status.success() {
            return Err(ExecError::SessionLost(format!(
                "the cell process failed: {}",
                out.status
            )));
        }
        crate::exec::browser::parse_answer(&String::from_utf8_lossy(&out.stdout))
    }

    async fn close(&mut self) {}

    fn discard(&mut self) {}
}

/// `qbench cell JSON`: runs one cell natively with the browser's cell code, prints its response.
pub fn cell_process(request_json: &str) -> anyhow::Result<Ended> {
    let request: CellRequest = serde_json::from_str(request_json)
        .context("parsing the cell request")
        .bad_input()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime.block_on(qbench_wasm::cell::run(&request));
    println!("{}", serde_json::to_string(&response)?);
    Ok(Ended::AsExpected)
}

/// Class probabilities of every digit, `[n × 10]`, read back to the host.
pub fn probabilities(
    net: &Net,
    digits: &Digits,
    batch: usize,
    device: &Device,
) -> anyhow::Result<Vec<f32>> {
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
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("probabilities are not float: {e:?}"))
}

fn environment() -> Environment {
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    Environment {
        browser: qbench_core::Agent::Native,
        name: "native".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        user_agent: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        timer_resolution_ms: Some(1e-6), // std::time::Instant: nanoseconds
        extra: [
            ("cpu_backend".to_string(), "burn-flex".to_string()),
            ("hardware_threads".to_string(), threads.to_string()),
        ]
        .into_iter()
        .collect(),
        ..Environment::default()
    }
}
