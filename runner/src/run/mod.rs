//! `qbench run`: reads its inputs, builds and serves the page, measures the
//! native baseline, runs every endpoint's cells in parallel (one scheduler task
//! per endpoint, cells serial within one), keeps the report on disk after every
//! cell, then writes every report and decides the exit code.

pub mod browser;
pub mod build;
pub mod driver;
pub mod plan;
pub mod server;
pub mod sizes;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use qbench_core::Browser;
use qbench_core::expect::Expectations;
use qbench_core::schema::{PairedWith, Report, RunSettings};
use serde_json::{Map, Value};

use crate::baseline_cache;
use crate::cancel::Cancel;
use crate::collect::References;
use crate::config::{self, RunConfig, RunFlags};
use crate::exit::{Ended, ResultExt, could_not_run};
use crate::native::{self, NativeArgs};
use crate::report;
use crate::schedule::Schedule;
use crate::schedule::observe::{self, Sink};
use browser::{BrowserExecutor, Endpoint};
use plan::PlannedCell;

/// The report files a run writes in `--out`; earlier ones are moved aside.
const REPORT_FILES: [&str; 4] = ["report.json", "report.md", "report.html", "comparison.json"];

/// The file in a report folder a run holds locked while it writes there.
const LOCK_FILE: &str = ".qbench-run.lock";

/// Locks `out` for this run (an exclusive lock on [`LOCK_FILE`], held until
/// the returned file is dropped), so a second run into the same folder is
/// refused (exit 3) instead of moving this one's report aside and writing over
/// its logs. The operating system releases the lock with the process, however
/// it ends, so a crashed run never leaves the folder locked.
fn lock_folder(out: &Path) -> anyhow::Result<std::fs::File> {
    let path = out.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
        .could_not_run()?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(could_not_run(anyhow::anyhow!(
            "another qbench run is writing to {} (it holds {}): wait for it to end, or pass another --out",
            out.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(could_not_run(e).context(format!("locking {}", path.display())))
        }
    }
}

/// One endpoint of the run: where its sessions go, what it runs, its label.
struct EndpointPlan {
    endpoint: Endpoint,
    host: String,
    browsers: Vec<Browser>,
    capabilities: Vec<(Browser, Map<String, Value>)>,
}

/// The endpoints of a run: `--webdriver`, the config's `[[endpoint]]`s, or local drivers.
fn endpoints(config: &RunConfig, host: &str) -> anyhow::Result<Vec<EndpointPlan>> {
    let local = Endpoint::Local {
        log_dir: config.out.clone(),
    };
    if let Some(url) = &config.webdriver {
        let endpoint = Endpoint::Remote {
            url: url.trim_end_matches('/').to_string(),
        };
        return Ok(vec![EndpointPlan {
            endpoint,
            host: host.to_string(),
            browsers: config.browsers.clone(),
            capabilities: Vec::new(),
        }]);
    }
    if config.endpoint.is_empty() {
        return Ok(vec![EndpointPlan {
            endpoint: local,
            host: host.to_string(),
            browsers: config.browsers.clone(),
            capabilities: Vec::new(),
        }]);
    }
    let mut out = Vec::new();
    for e in &config.endpoint {
        let endpoint = if e.url == "local" {
            local.clone()
        } else {
            Endpoint::Remote {
                url: e.url.trim_end_matches('/').to_string(),
            }
        };
        let mut capabilities = Vec::new();
        for (name, caps) in &e.capabilities {
            let browser: Browser = name.parse().bad_input()?;
            let caps = caps
                .as_object()
                .with_context(|| {
                    format!("endpoint `{}`: capabilities.{name} is not a table", e.name)
                })
                .bad_input()?;
            capabilities.push((browser, caps.clone()));
        }
        let browsers = e
            .browsers
            .clone()
            .unwrap_or_else(|| config.browsers.clone());
        out.push(EndpointPlan {
            endpoint,
            host: e.host_label.clone().unwrap_or_else(|| e.name.clone()),
            browsers,
            capabilities,
        });
    }
    let mut hosts: Vec<&str> = out.iter().map(|e| e.host.as_str()).collect();
    hosts.sort_unstable();
    if let Some(w) = hosts.windows(2).find(|w| w[0] == w[1]) {
        return Err(crate::exit::bad_input(anyhow::anyhow!(
            "two endpoints share the host label `{}`: give each its own host-label",
            w[0]
        )));
    }
    Ok(out)
}

/// The settings recorded in the report.
fn settings(config: &RunConfig, seed: u64) -> RunSettings {
    RunSettings {
        warmup: config.warmup,
        warmup_ms: config.warmup_time,
        settle_ms: config.settle_time,
        samples: config.samples,
        time_per_cell_ms: config.time_per_cell,
        timeout_per_cell_ms: config.timeout_per_cell * 1000,
        quality_inputs: config.quality_inputs,
        min_samples: config.min_samples,
        ci_target: config.ci_target / 100.0,
        rounds: config.rounds,
        seed,
        retries: config.retries,
    }
}

/// The native baseline for the run's settings: the one this binary kept for
/// them on this host (`baseline_kept` in the report), else measured now and
/// kept when whole. `None` when cancelled while measuring.
async fn native_baseline(
    config: &RunConfig,
    host: &str,
    refs: &References,
    cancel: &Cancel,
    sink: &mut Sink,
) -> anyhow::Result<Option<Report>> {
    let args = native_args(config);
    let entry = baseline_cache::Entry::for_run(&args, host);
    if let Some(kept) = entry
        .as_ref()
        .filter(|_| !config.fresh_native)
        .and_then(|e| e.load())
    {
        sink.message(&format!(
            "native baseline: kept from {} (this qbench binary, these settings; --fresh-native measures it again)",
            kept.started
        ));
        sink.report.baseline_kept = true;
        return Ok(Some(kept));
    }
    sink.message("measuring the native baseline");
    let measured = native::measure(&args, refs, cancel, observe::for_stderr()).await?;
    if cancel.is_cancelled() {
        return Ok(None);
    }
    if let Some(Err(e)) = entry.map(|e| e.store(&measured)) {
        sink.message(&format!("could not keep the native baseline: {e:#}"));
    }
    Ok(Some(measured))
}

/// The native baseline measured with the run's sampling settings.
fn native_args(config: &RunConfig) -> NativeArgs {
    NativeArgs {
        precisions: config.precisions.clone(),
        batch: config.batch.clone(),
        warmup: config.warmup,
        warmup_ms: config.warmup_time,
        settle_ms: config.settle_time,
        samples: config.samples,
        min_samples: config.min_samples,
        ci_target_pct: config.ci_target,
        time_per_cell_ms: config.time_per_cell,
        timeout_per_cell_s: config.timeout_per_cell,
        quality_inputs: config.quality_inputs,
        json: None,
    }
}

/// Runs `qbench run`.
pub fn run(flags: &RunFlags) -> anyhow::Result<Ended> {
    let config = config::resolve(flags)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(flags, &config))
}

async fn run_async(flags: &RunFlags, config: &RunConfig) -> anyhow::Result<Ended> {
    let cancel = Cancel::on_signals()?;
    // Every input is read before anything starts: a bad one costs nothing.
    let mut history = config
        .history
        .as_deref()
        .map(crate::history::open)
        .transpose()?;
    let expectations: Option<Expectations> = config
        .expect
        .as_deref()
        .map(report::expect::read)
        .transpose()?;
    let earlier = config
        .baseline_report
        .as_deref()
        .map(report::json::read)
        .transpose()?;
    let baseline_file = config
        .baseline
        .as_deref()
        .map(report::json::read)
        .transpose()?;
    let paired_package = match (&config.baseline_pkg, config.baseline_tfjs) {
        (Some(dir), _) => Some((PairedWith::Package, build::describe_baseline(dir))),
        (None, true) => Some((PairedWith::Tfjs, build::describe_tfjs(&flags.root))),
        (None, false) => None,
    }
    .map(|(with, package)| package.map(|p| (with, p)))
    .transpose()
    .bad_input()?;
    let host = config.host_label.clone().unwrap_or_else(config::host_name);
    let seed = config.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let endpoints = endpoints(config, &host)?;

    let out = &config.out;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the report folder {}", out.display()))
        .could_not_run()?;
    let _lock = lock_folder(out)?;
    for moved in report::json::move_aside(out, &REPORT_FILES).could_not_run()? {
        eprintln!("qbench: kept the earlier report as {}", moved.display());
    }
    let json_path = out.join("report.json");

    let mut report = Report::new(
        env!("CARGO_PKG_VERSION"),
        &crate::now_rfc3339(),
        settings(config, seed),
    );
    report.git_commit = option_env!("QBENCH_GIT_COMMIT").map(str::to_string);
    report.expectations = config.expect.as_ref().map(|p| p.display().to_string());
    let mut plans: Vec<(EndpointPlan, Vec<PlannedCell>)> = Vec::new();
    for e in endpoints {
        let cells = plan::cells(
            &plan::browsers(&e.browsers),
            &config.backends,
            &config.precisions,
            &config.batch,
        );
        report
            .planned
            .extend(cells.iter().map(|c| c.id(Some(&e.host))));
        plans.push((e, cells));
    }
    // The report exists from here on: whatever stops the run, it is written.
    let mut sink = Sink::new(
        report,
        Some(json_path.clone()),
        expectations,
        vec![observe::for_stderr()],
    );
    sink.checkpoint();

    let package = {
        let (root, pkg, cancel) = (flags.root.clone(), flags.pkg.clone(), cancel.clone());
        let built = tokio::task::spawn_blocking(move || match pkg {
            Some(dir) => build::describe(&dir),
            None => build::ensure(&root, &cancel),
        });
        built.await.context("the build task")?
    };
    let package = match package {
        Ok(p) => p,
        Err(_) if cancel.is_cancelled() => {
            sink.finish();
            return finish(sink, config, earlier.as_ref(), &cancel, history.as_mut());
        }
        Err(e) => return Err(could_not_run(e)),
    };
    sink.report.bundle = Some(package.bundle());
    sink.report.paired_bundle = paired_package.as_ref().map(|(_, p)| p.bundle());
    sink.report.paired_with = paired_package.as_ref().map(|(with, _)| *with);
    let server = server::start(
        &flags.root.join("www"),
        &package.dir,
        paired_package.as_ref().map(|(_, p)| p.dir.as_path()),
        config.serve_addr,
        &config.serve_host,
    )
    .await
    .could_not_run()?;
    let url = server.url();

    let refs = Arc::new(native::references(config.quality_inputs)?);
    let baseline = match baseline_file {
        Some(file) => Some(file),
        None => native_baseline(config, &host, &refs, &cancel, &mut sink).await?,
    };
    if let Some(b) = baseline {
        sink.report.baseline_measured = Some(b.started.clone());
        // The native rows belong to this machine.
        sink.report.baseline = b
            .cells
            .into_iter()
            .map(|c| qbench_core::schema::Cell {
                host: Some(host.clone()),
                ..c
            })
            .collect();
    }

    if !cancel.is_cancelled() {
        let total: usize = plans.iter().map(|(_, cells)| cells.len()).sum();
        sink.started((total * config.rounds as usize) as u64);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = tokio::task::JoinSet::new();
        for (e, cells) in plans {
            let schedule = Schedule {
                host: Some(e.host.clone()),
                cells,
                rounds: config.rounds,
                seed,
                retries: config.retries,
                plan: native_args(config).plan(),
                quality_inputs: config.quality_inputs,
                quality_batch: 100,
                open_timeout: Duration::from_secs(config.timeout_session),
                cell_timeout: Duration::from_secs(config.timeout_per_cell),
                require_hardware_gpu: config.require_hardware_gpu,
                power_preference: config.gpu,
                profile: config.profile,
            };
            let mut exec = BrowserExecutor::new(e.endpoint, url.clone(), schedule.cell_timeout);
            exec.capabilities = e.capabilities;
            exec.power_preference = config.gpu;
            exec.paired = paired_package.as_ref().map(|(with, _)| *with);
            exec.fault = flags.fault_precision.map(|p| (p, flags.fault));
            let (tx, refs, cancel) = (tx.clone(), refs.clone(), cancel.clone());
            tasks.spawn(async move { schedule.run(&mut exec, &refs, &tx, &cancel).await });
        }
        drop(tx);
        while let Some(event) = rx.recv().await {
            sink.apply(event);
        }
        while let Some(joined) = tasks.join_next().await {
            joined.context("an endpoint's scheduler task")?;
        }
    }
    sink.finish();
    drop(server);
    finish(sink, config, earlier.as_ref(), &cancel, history.as_mut())
}

/// Writes every report, prints the table, and decides how the run ended.
fn finish(
    mut sink: Sink,
    config: &RunConfig,
    earlier: Option<&Report>,
    cancel: &Cancel,
    history: Option<&mut rusqlite::Connection>,
) -> anyhow::Result<Ended> {
    sink.report.finished = Some(crate::now_rfc3339());
    sink.report.interrupted = cancel.signal().map(|(name, _)| name.to_string());
    sink.checkpoint();
    let mut page_history = None;
    let mut previous = None;
    if let (Some(conn), Some(path)) = (history, &config.history) {
        match record_history(conn, path, &sink.report) {
            Ok((id, view, earlier_run)) => {
                sink.message(&format!(
                    "appended run {id} to the history {}",
                    path.display()
                ));
                page_history = Some(view);
                previous = earlier_run;
            }
            Err(e) => {
                sink.message(&format!(
                    "could not append to the history {}: {e:#}",
                    path.display()
                ));
                sink.write_failures.push(format!("history: {e:#}"));
            }
        }
    }
    let report = &sink.report;
    let out = &config.out;
    let threshold = config.threshold / 100.0;
    let seed = qbench_core::verdict::DEFAULT_SEED;
    let comparison = match earlier {
        Some(old) => Some(report::compare::compare(old, report, threshold, seed)),
        None => report
            .paired_bundle
            .is_some()
            .then(|| report::compare::paired(report, threshold, seed)),
    };
    let mut write = |path: &Path, bytes: Vec<u8>| {
        if let Err(e) = report::json::write_atomically(path, &bytes) {
            eprintln!("qbench: could not write {}: {e:#}", path.display());
            sink.write_failures.push(format!("{e:#}"));
        }
    };
    write(
        &out.join("report.md"),
        report::markdown::render(report).into_bytes(),
    );
    if let Some(c) = &comparison {
        write(
            &out.join("comparison.json"),
            report::comparison_json::render(c).into_bytes(),
        );
    }
    // The page compares with the baseline report, or else with the previous run of
    // the history; only the baseline gates the run.
    let against_previous = match (&comparison, &previous) {
        (None, Some((label, old))) => Some((
            label.as_str(),
            report::compare::compare(old, report, threshold, seed),
        )),
        _ => None,
    };
    let extras = report::html::Extras {
        comparison: comparison
            .as_ref()
            .map(|c| (c.paired.map_or("the baseline report", PairedWith::label), c))
            .or(against_previous.as_ref().map(|(l, c)| (*l, c))),
        history: page_history.as_ref(),
    };
    let page_failure = match report::html::render(report, extras) {
        Ok(page) => {
            write(&out.join("report.html"), page.into_bytes());
            None
        }
        Err(e) => {
            eprintln!("qbench: could not draw report.html: {e:#}");
            Some(format!("report.html: {e:#}"))
        }
    };
    if let Some(path) = &config.junit {
        write(
            path,
            report::junit::render(report, comparison.as_ref())?.into_bytes(),
        );
    }
    let summary = report::summary::render(report, comparison.as_ref());
    match (&config.summary, std::env::var_os("GITHUB_STEP_SUMMARY")) {
        (Some(path), _) => write(path, summary.into_bytes()),
        (None, Some(path)) => {
            report::summary::append(Path::new(&path), &summary).unwrap_or_else(|e| {
                eprintln!("qbench: could not append to $GITHUB_STEP_SUMMARY: {e:#}")
            })
        }
        (None, None) => {}
    }
    sink.write_failures.extend(page_failure);
    let report = &sink.report;
    println!("{}", report::terminal::table(&report.cells));
    if let Some(c) = &comparison {
        print!("{}", report::compare::render(c));
    }
    println!(
        "wrote {}, {} and {}",
        out.join("report.json").display(),
        out.join("report.md").display(),
        out.join("report.html").display()
    );

    if let Some((name, number)) = cancel.signal() {
        eprintln!(
            "qbench: stopped by {name}; {} holds the {} cells measured",
            out.join("report.json").display(),
            report.cells.len()
        );
        return Ok(Ended::Interrupted { name, number });
    }
    let browsers: Vec<_> = report.environments.iter().collect();
    if !browsers.is_empty() && browsers.iter().all(|e| e.start_error.is_some()) {
        let reasons: Vec<String> = browsers
            .iter()
            .map(|e| {
                format!(
                    "{} on {}: {}",
                    e.browser,
                    e.endpoint.as_deref().unwrap_or("?"),
                    e.start_error.as_deref().unwrap_or_default()
                )
            })
            .collect();
        return Err(could_not_run(anyhow::anyhow!(
            "no browser could be started:\n  {}",
            reasons.join("\n  ")
        )));
    }
    if !sink.write_failures.is_empty() {
        return Ok(Ended::Unrecorded(format!(
            "{} report writes failed; the first: {}",
            sink.write_failures.len(),
            sink.write_failures[0]
        )));
    }
    let mut problems = unexpected(report);
    if config.fail_on_regression
        && let Some(c) = &comparison
    {
        problems.extend(
            c.regressions()
                .map(|r| format!("{}: {}", r.id, r.describe())),
        );
    }
    Ok(if problems.is_empty() {
        Ended::AsExpected
    } else {
        Ended::Unexpected(problems.join("\n  "))
    })
}

/// Runs shown in a page's history.
pub const HISTORY_RUNS: usize = 20;

/// An earlier run's report and how the page names it.
type Earlier = (String, Report);

/// Appends the run to the history; returns its id, the history to show, and the
/// previous run's report (for the page's "what changed") when the history has it.
fn record_history(
    conn: &mut rusqlite::Connection,
    path: &Path,
    report: &Report,
) -> anyhow::Result<(i64, crate::history::HistoryView, Option<Earlier>)> {
    let id = crate::history::insert(conn, report, "qbench run")?;
    let view = crate::history::view(conn, &path.display().to_string(), HISTORY_RUNS)?;
    let earlier = crate::history::earlier_report(conn, &view, id)?;
    Ok((id, view, earlier))
}

/// Cells that did not go as expected: against the expectations when given, else
/// every cell that errored or timed out.
pub fn unexpected(report: &Report) -> Vec<String> {
    report
        .cells
        .iter()
        .filter(|c| report::is_unexpected(c))
        .map(|c| match &c.expectation {
            Some(j) => format!("{}: {} ({})", c.id(), c.outcome.status(), j.verdict.name()),
            None => format!("{}: {}", c.id(), c.outcome.status()),
        })
        .collect()
}

/// What `qbench serve` serves.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The qbench checkout (holds `www/`, `Cargo.toml`).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    pub root: std::path::PathBuf,
}

/// Runs `qbench serve` until a signal.
pub fn serve(args: &ServeArgs) -> anyhow::Result<Ended> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = Cancel::on_signals()?;
        let pkg = {
            let (root, cancel) = (args.root.clone(), cancel.clone());
            tokio::task::spawn_blocking(move || build::ensure(&root, &cancel))
                .await?
                .could_not_run()?
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let server = server::start(&args.root.join("www"), &pkg.dir, None, addr, &[])
            .await
            .could_not_run()?;
        println!("serving qbench at {} (Ctrl-C stops)", server.url());
        cancel.cancelled().await;
        Ok(Ended::AsExpected)
    })
}

/// Settings for tests.
#[cfg(test)]
pub fn tests_settings() -> RunSettings {
    RunSettings {
        warmup: 1,
        warmup_ms: 0,
        settle_ms: 0,
        samples: 5,
        time_per_cell_ms: 1,
        timeout_per_cell_ms: 1,
        quality_inputs: 1,
        min_samples: 5,
        ci_target: 0.02,
        rounds: 1,
        seed: 0,
        retries: 0,
    }
}
