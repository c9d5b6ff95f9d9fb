//! `qbench run`: builds and serves the page, drives every browser through the
//! matrix one cell at a time, and rewrites the report after every cell.

pub mod browser;
pub mod build;
pub mod driver;
pub mod plan;
pub mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qbench_core::protocol::CellRequest;
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{Bundle, Outcome, Report, RunSettings};
use qbench_core::{Backend, Browser, Precision};
use qbench_model::{Net, assets};

use crate::collect::{self, elapsed_ms};
use crate::native::{self, NativeArgs};
use crate::report;
use browser::{Fault, Session};

/// What `qbench run` measures and where it writes.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Browsers, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Browser::ALL.to_vec())]
    pub browsers: Vec<Browser>,
    /// Backends, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Backend::ALL.to_vec())]
    pub backends: Vec<Backend>,
    /// Precisions, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Precision::ALL.to_vec())]
    pub precisions: Vec<Precision>,
    /// Batch sizes to time, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1u32, 32])]
    pub batch: Vec<u32>,
    /// Untimed warm-up inferences after the first one.
    #[arg(long, default_value_t = 3)]
    pub warmup: u32,
    /// Untimed warm-up time after the first inference, at least, milliseconds.
    #[arg(long = "warmup-time", default_value_t = 300)]
    pub warmup_ms: u64,
    /// Timed samples per cell (fewer if the time budget runs out first; at least 5).
    #[arg(long, default_value_t = 30)]
    pub samples: u32,
    /// Time budget for a cell's timed samples, milliseconds.
    #[arg(long = "time-per-cell", default_value_t = 3000)]
    pub time_per_cell_ms: u64,
    /// A cell still running after this many seconds is a timeout (its browser is restarted).
    #[arg(long = "timeout-per-cell", default_value_t = 180)]
    pub timeout_per_cell_s: u64,
    /// Held-out digits each precision's quality is measured on (at least 1,000 recommended).
    #[arg(long, default_value_t = 1000)]
    pub quality_inputs: usize,
    /// Report folder: `report.json` (rewritten after every cell), `report.md`, driver logs.
    #[arg(long, value_name = "DIR", default_value = "qbench-report")]
    pub out: PathBuf,
    /// Use this `qbench native --json` report as the baseline instead of measuring one.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// The qbench checkout (holds `www/`, `Cargo.toml`).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    pub root: PathBuf,
    /// Serve this already built package (`qbench_wasm.js` + `qbench_wasm_bg.wasm`) instead of building one.
    #[arg(long, value_name = "DIR")]
    pub pkg: Option<PathBuf>,
    /// Testing aid: make the page fail the cells of this precision.
    #[arg(long, hide = true, value_name = "PRECISION")]
    pub fault_precision: Option<Precision>,
    /// Testing aid: how the page fails (with --fault-precision).
    #[arg(long, hide = true, value_enum, default_value = "throw")]
    pub fault: Fault,
}

impl RunArgs {
    fn settings(&self) -> RunSettings {
        RunSettings {
            warmup: self.warmup,
            warmup_ms: self.warmup_ms,
            samples: self.samples,
            time_per_cell_ms: self.time_per_cell_ms,
            timeout_per_cell_ms: self.timeout_per_cell_s * 1000,
            quality_inputs: self.quality_inputs,
        }
    }

    fn plan(&self) -> SamplePlan {
        SamplePlan { warmup: self.warmup, warmup_ms: self.warmup_ms as f64, max_samples: self.samples.max(1), min_samples: 5.min(self.samples.max(1)), budget_ms: self.time_per_cell_ms as f64 }
    }
}

/// Runs `qbench run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let pkg = match &args.pkg {
        Some(dir) => build::describe(dir)?,
        None => build::ensure(&args.root)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_matrix(args, &pkg))
}

async fn run_matrix(args: &RunArgs, package: &build::Package) -> anyhow::Result<()> {
    let pkg = &package.dir;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let json_path = args.out.join("report.json");
    let server = server::start(&args.root.join("www"), pkg, 0).await?;
    let url = server.url();

    let mut report = Report::new(env!("CARGO_PKG_VERSION"), native::unix_now(), args.settings());
    report.bundle = Some(Bundle {
        wasm_bytes: package.wasm_bytes,
        wasm_opt: package.wasm_opt.clone(),
        build: package.build.clone(),
    });
    report.baseline = baseline(args)?.cells;
    let digits = assets::digits()?.take(args.quality_inputs);
    let device = burn::tensor::Device::flex();
    let native_f32 = native::probabilities(&Net::from_weights(&assets::weights()?, &device), &digits, 100, &device)?;
    report::json::write(&report, &json_path)?;

    let cells = plan::cells(&args.browsers, &args.backends, &args.precisions, &args.batch);
    let bar = ProgressBar::new(cells.len() as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}").expect("template").progress_chars("=> "),
    );
    let limit = Duration::from_secs(args.timeout_per_cell_s);
    let mut f32_probs: HashMap<(Browser, Backend), Vec<f32>> = HashMap::new();
    let mut quality_done: Vec<(Browser, Backend, Precision)> = Vec::new();
    let mut session: Option<Session> = None;
    let mut current: Option<Browser> = None;

    for planned in &cells {
        bar.set_message(format!("{} {} {} batch {}", planned.browser, planned.backend, planned.precision, planned.batch));
        if current != Some(planned.browser) {
            if let Some(s) = session.take() {
                s.close().await;
            }
            current = Some(planned.browser);
            session = open_and_probe(planned.browser, &url, &args.out, &mut report, &bar).await;
        } else if session.is_none() {
            // The browser was restarted after a timeout or crash.
            session = Session::open(planned.browser, &args.out).await.map_err(|e| bar.println(format!("{e:#}"))).ok();
        }
        let key = (planned.browser, planned.backend, planned.precision);
        let wants_quality = !quality_done.contains(&key);
        let request = CellRequest {
            backend: planned.backend,
            precision: planned.precision,
            batch: planned.batch,
            plan: args.plan(),
            quality_inputs: if wants_quality { digits.len() } else { 0 },
            quality_batch: 100,
        };
        let fault = (args.fault_precision == Some(planned.precision)).then_some(args.fault);
        let started = Instant::now();
        let (cell, keep_session) = match &session {
            None => (collect::failed(planned, Outcome::Error { message: format!("{} could not be started", planned.browser) }, 0.0), false),
            Some(s) => match tokio::select! {
                result = tokio::time::timeout(limit, s.run_cell(&url, &request, fault, limit)) => result,
                _ = tokio::signal::ctrl_c() => {
                    // The drivers run in their own process group, out of the terminal's
                    // reach: dropping the session kills them and their browsers.
                    drop(session.take());
                    bar.abandon_with_message("interrupted");
                    finish(&report, &args.out, &json_path)?;
                    anyhow::bail!("interrupted; {} holds the cells measured so far", json_path.display());
                }
            } {
                Ok(Ok(response)) => {
                    let refs = collect::References {
                        same_backend_f32: f32_probs.get(&(planned.browser, planned.backend)).map(Vec::as_slice),
                        native_f32: &native_f32,
                        labels: digits.labels(),
                    };
                    let cell = collect::cell(planned, &response, &refs, elapsed_ms(started));
                    if planned.precision == Precision::F32 && !response.probabilities.is_empty() && cell.outcome == Outcome::Ok {
                        f32_probs.insert((planned.browser, planned.backend), response.probabilities);
                    }
                    (cell, true)
                }
                Ok(Err(err)) => (collect::failed(planned, Outcome::Error { message: format!("{err:#}") }, elapsed_ms(started)), is_page_error(&err)),
                Err(_) => {
                    let message = format!("no answer within {} s", args.timeout_per_cell_s);
                    (collect::failed(planned, Outcome::Timeout { message }, elapsed_ms(started)), false)
                }
            },
        };
        if !keep_session {
            // A hung or crashed browser costs this cell only: kill it, start afresh next cell.
            if let Some(s) = session.take() {
                bar.println(format!("{}: restarting after {} (driver log in {})", planned.browser, cell.outcome.status(), args.out.display()));
                drop(s);
            }
        }
        if cell.quality.is_some() {
            quality_done.push(key);
        }
        report.upsert_cell_sharing_quality(cell);
        report::json::write(&report, &json_path)?;
        bar.inc(1);
    }
    if let Some(s) = session.take() {
        s.close().await;
    }
    bar.finish_and_clear();
    finish(&report, &args.out, &json_path)
}

/// Writes `report.md` and prints the table.
fn finish(report: &Report, out: &Path, json_path: &Path) -> anyhow::Result<()> {
    let md = out.join("report.md");
    std::fs::write(&md, report::markdown::render(report)).with_context(|| format!("writing {}", md.display()))?;
    println!("{}", report::terminal::table(&report.cells));
    println!("wrote {} and {}", json_path.display(), md.display());
    Ok(())
}

/// Whether the session survived: a page that threw is fine, a dead connection is not.
fn is_page_error(err: &anyhow::Error) -> bool {
    err.to_string().starts_with("the page threw") || err.chain().any(|e| e.to_string().starts_with("the page's cell answer"))
}

async fn open_and_probe(browser: Browser, url: &str, out: &Path, report: &mut Report, bar: &ProgressBar) -> Option<Session> {
    let session = match Session::open(browser, out).await {
        Ok(s) => s,
        Err(err) => {
            bar.println(format!("{browser}: {err:#}"));
            report.environments.push(qbench_core::schema::Environment {
                browser: browser.name().into(),
                webgpu_unavailable_reason: Some(format!("browser did not start: {err:#}")),
                ..Default::default()
            });
            return None;
        }
    };
    match session.environment(browser, url).await {
        Ok(env) => report.environments.push(env),
        Err(err) => {
            bar.println(format!("{browser}: probe failed: {err:#}\n{}", session.driver_log()));
            report.environments.push(qbench_core::schema::Environment {
                browser: browser.name().into(),
                webgpu_unavailable_reason: Some(format!("probe failed: {err:#}")),
                ..Default::default()
            });
        }
    }
    Some(session)
}

fn baseline(args: &RunArgs) -> anyhow::Result<Report> {
    match &args.baseline {
        Some(path) => report::json::read(path),
        None => native::measure(&NativeArgs {
            precisions: args.precisions.clone(),
            batch: args.batch.clone(),
            warmup: args.warmup,
            warmup_ms: args.warmup_ms,
            samples: args.samples,
            time_per_cell_ms: args.time_per_cell_ms,
            quality_inputs: args.quality_inputs,
            json: None,
        }),
    }
}

/// What `qbench serve` serves.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The qbench checkout (holds `www/`, `Cargo.toml`).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    pub root: PathBuf,
}

/// Runs `qbench serve` until Ctrl-C.
pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let pkg = build::ensure(&args.root)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let server = server::start(&args.root.join("www"), &pkg.dir, args.port).await?;
        println!("serving qbench at {} (Ctrl-C stops)", server.url());
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
