//! `qbench run`: reads its inputs, builds and serves the page, measures the
//! native reference rows, runs every endpoint's cells in parallel (one scheduler task
//! per endpoint, cells serial within one), keeps the report on disk after every
//! cell, then writes every report and decides the exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use qbench_core::Browser;
use qbench_core::expect::Expectations;
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{PairedWith, Report, RunSettings};
use serde_json::{Map, Value};

use crate::analysis;
use crate::analysis::learned::Learned;
use crate::cancel::Cancel;
use crate::collect::References;
use crate::collect::sink::{self, Sink};
use crate::config::{self, RunConfig, RunFlags};
use crate::exec::baseline_cache;
use crate::exec::browser::{BrowserExecutor, Endpoint};
use crate::exec::native::{self, NativeArgs};
use crate::exec::page::Page;
use crate::exec::{build, host, server};
use crate::exit::{Ended, ResultExt, bad_input, could_not_run};
use crate::history::store::{self, HistoryView};
use crate::plan::{self, PlannedCell};
use crate::report::{self, export, export::Exporter};
use crate::schedule::Schedule;
use qbench_core::comparison::Comparison;

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
    let cores = host::cores();
    let pin = config.pin_browser.cpus(cores);
    if let Some(cpu) = pin.iter().flatten().find(|c| **c >= cores) {
        return Err(bad_input(anyhow::anyhow!(
            "--pin-browser {}: this machine has CPUs 0 to {} only, not {cpu}",
            config.pin_browser,
            cores - 1
        )));
    }
    let local = Endpoint::Local {
        log_dir: config.out.clone(),
        pin,
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
        warmup_ms: config.warmup_time.as_millis() as u64,
        settle_ms: config.settle_time.as_millis() as u64,
        samples: config.max_samples,
        time_per_cell_ms: config.time_per_cell.as_millis() as u64,
        timeout_per_cell_ms: config.timeout_per_cell.as_millis() as u64,
        quality_inputs: config.quality_inputs,
        min_samples: config.min_samples,
        ci_target: config.interval_target / 100.0,
        timer_steps: config.timer_steps,
        throughput_samples: config.throughput_samples,
        rounds: config.rounds,
        seed,
        retries: config.retries,
        retry_busy: config.retry_busy,
        pin_browser: Some(config.pin_browser.clone()),
    }
}

/// The native reference rows for the run's settings: the ones this binary
/// kept for them on this host (`baseline_kept` in the report), else measured
/// now and kept when whole. `None` when cancelled while measuring.
async fn native_reference(
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
            "native reference rows: kept from {} (this qbench binary, these settings; --fresh-native measures them again)",
            kept.started
        ));
        sink.report.baseline_kept = true;
        return Ok(Some(kept));
    }
    sink.message("measuring the native reference rows");
    let measured = native::measure(&args, refs, cancel, sink::for_stderr()).await?;
    if cancel.is_cancelled() {
        return Ok(None);
    }
    if let Some(Err(e)) = entry.map(|e| e.store(&measured)) {
        sink.message(&format!("could not keep the native reference rows: {e:#}"));
    }
    Ok(Some(measured))
}

/// The native reference rows measured with the run's sampling settings.
fn native_args(config: &RunConfig) -> NativeArgs {
    NativeArgs {
        precisions: config.precisions.clone(),
        batch: config.batch.clone(),
        warmup: config.warmup,
        warmup_time: config.warmup_time.into(),
        settle_time: config.settle_time.into(),
        max_samples: config.max_samples,
        min_samples: config.min_samples,
        interval_target: config.interval_target,
        timer_steps: config.timer_steps,
        time_per_cell: config.time_per_cell.into(),
        timeout_per_cell: config.timeout_per_cell.into(),
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

/// Where the pages' package comes from.
enum PackageSource {
    /// A built package (`--pkg`).
    Built(PathBuf),
    /// Built from this checkout when stale.
    Checkout(PathBuf),
}

/// Everything a run reads before it starts: a bad input costs nothing.
struct Inputs {
    package: PackageSource,
    history: Option<rusqlite::Connection>,
    expectations: Option<Expectations>,
    earlier: Option<Report>,
    /// `--native-report`: the native reference rows, read instead of measured.
    native_file: Option<Report>,
    paired_package: Option<(PairedWith, build::Package)>,
    host: String,
    seed: u64,
    endpoints: Vec<EndpointPlan>,
}

impl Inputs {
    fn read(flags: &RunFlags, config: &RunConfig) -> anyhow::Result<Self> {
        let read_report =
            |p: &Option<std::path::PathBuf>| p.as_deref().map(report::json::read).transpose();
        let checkout = || build::checkout(flags.root.as_deref()).bad_input();
        let package = match &flags.pkg {
            Some(dir) => PackageSource::Built(dir.clone()),
            None => PackageSource::Checkout(checkout()?),
        };
        let paired_package = match (&config.baseline_pkg, config.baseline_tfjs) {
            (Some(dir), _) => Some((PairedWith::Package, build::describe_baseline(dir))),
            (None, true) => {
                let root = match &package {
                    PackageSource::Checkout(root) => root.clone(),
                    PackageSource::Built(_) => checkout()?,
                };
                Some((PairedWith::Tfjs, build::describe_tfjs(&root)))
            }
            (None, false) => None,
        }
        .map(|(with, package)| package.map(|p| (with, p)))
        .transpose()
        .bad_input()?;
        let host = config.host_label.clone().unwrap_or_else(config::host_name);
        Ok(Self {
            package,
            history: config
                .history
                .as_deref()
                .map(crate::history::store::open)
                .transpose()?,
            expectations: config
                .expect
                .as_deref()
                .map(report::expect::read)
                .transpose()?,
            earlier: read_report(&config.baseline_report)?,
            native_file: read_report(&config.native_report)?,
            paired_package,
            seed: config.shuffle_seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            }),
            endpoints: endpoints(config, &host)?,
            host,
        })
    }
}

/// The phases of a run, in order: read the inputs, take the report folder,
/// open the report (on disk from then on), build the package, serve it, take
/// the native rows, run every endpoint's cells, then write and judge.
async fn run_async(flags: &RunFlags, config: &RunConfig) -> anyhow::Result<Ended> {
    let cancel = Cancel::on_signals()?;
    let mut inputs = Inputs::read(flags, config)?;
    let _lock = take_folder(&config.out)?;
    let (mut sink, plans) = open_report(config, &mut inputs);
    let Some(package) = package(&inputs.package, &cancel).await? else {
        sink.finish();
        return finish(sink, config, inputs, &cancel);
    };
    sink.report.bundle = Some(package.bundle());
    sink.report.paired_bundle = inputs.paired_package.as_ref().map(|(_, p)| p.bundle());
    sink.report.paired_with = inputs.paired_package.as_ref().map(|(with, _)| *with);
    let server = server::start(
        &Page::from_flag(flags.www.as_deref()),
        &package.dir,
        inputs.paired_package.as_ref().map(|(_, p)| p.dir.as_path()),
        config.serve_addr,
        &config.serve_host,
    )
    .await
    .could_not_run()?;
    let refs = Arc::new(native::references(config.quality_inputs)?);
    native_rows(config, &mut inputs, &refs, &cancel, &mut sink).await?;
    if !cancel.is_cancelled() {
        let paired = inputs.paired_package.as_ref().map(|(with, _)| *with);
        let context = CellContext {
            url: server.url(),
            refs,
            seed: inputs.seed,
            paired,
        };
        run_endpoints(config, plans, &context, &cancel, &mut sink).await?;
    }
    sink.finish();
    drop(server);
    finish(sink, config, inputs, &cancel)
}

/// Creates and locks the report folder, moving an earlier run's files aside.
fn take_folder(out: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the report folder {}", out.display()))
        .could_not_run()?;
    let lock = lock_folder(out)?;
    for moved in report::export::move_aside(out, &report::export::folder_files()).could_not_run()? {
        eprintln!("qbench: kept the earlier report as {}", moved.display());
    }
    Ok(lock)
}

/// The report of the run, written to `report.json` from here on whatever
/// stops the run, and each endpoint's cells.
fn open_report(
    config: &RunConfig,
    inputs: &mut Inputs,
) -> (Sink, Vec<(EndpointPlan, Vec<PlannedCell>)>) {
    let mut report = Report::new(
        env!("CARGO_PKG_VERSION"),
        &crate::fmt::now_rfc3339(),
        settings(config, inputs.seed),
    );
    report.git_commit = option_env!("QBENCH_GIT_COMMIT").map(str::to_string);
    report.expectations = config.expect.as_ref().map(|p| p.display().to_string());
    let mut plans = Vec::new();
    for e in std::mem::take(&mut inputs.endpoints) {
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
    let mut sink = Sink::new(
        report,
        Some(config.out.join(report::export::Json.name())),
        inputs.expectations.take(),
        vec![sink::for_stderr()],
    );
    sink.checkpoint();
    (sink, plans)
}

/// The package the pages load: `--pkg`, else built when stale. `None` when
/// cancelled while building.
async fn package(
    source: &PackageSource,
    cancel: &Cancel,
) -> anyhow::Result<Option<build::Package>> {
    let c = cancel.clone();
    let built = match source {
        PackageSource::Built(dir) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || build::describe(&dir))
        }
        PackageSource::Checkout(root) => {
            let root = root.clone();
            tokio::task::spawn_blocking(move || build::ensure(&root, &c))
        }
    }
    .await
    .context("the build task")?;
    match built {
        Ok(p) => Ok(Some(p)),
        Err(_) if cancel.is_cancelled() => Ok(None),
        Err(e) => Err(could_not_run(e)),
    }
}

/// The native rows: from `--native-report`'s file, else kept or measured now.
async fn native_rows(
    config: &RunConfig,
    inputs: &mut Inputs,
    refs: &References,
    cancel: &Cancel,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let rows = match inputs.native_file.take() {
        Some(file) => Some(file),
        None => native_reference(config, &inputs.host, refs, cancel, sink).await?,
    };
    if let Some(b) = rows {
        sink.report.baseline_measured = Some(b.started.clone());
        // The native rows belong to this machine.
        sink.report.baseline = b
            .cells
            .into_iter()
            .map(|c| qbench_core::schema::Cell {
                host: Some(inputs.host.clone()),
                ..c
            })
            .collect();
    }
    Ok(())
}

/// What every endpoint's cells share.
struct CellContext {
    url: String,
    refs: Arc<References>,
    seed: u64,
    paired: Option<PairedWith>,
}

/// Runs every endpoint's cells, one scheduler task per endpoint, each event
/// taken into the report as it comes.
async fn run_endpoints(
    config: &RunConfig,
    plans: Vec<(EndpointPlan, Vec<PlannedCell>)>,
    context: &CellContext,
    cancel: &Cancel,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let total: usize = plans.iter().map(|(_, cells)| cells.len()).sum();
    sink.started((total * config.rounds as usize) as u64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for (e, cells) in plans {
        let schedule = schedule(config, &e.host, cells, context.seed);
        let mut exec = BrowserExecutor::new(e.endpoint, context.url.clone(), schedule.cell_timeout);
        exec.capabilities = e.capabilities;
        exec.power_preference = config.gpu;
        exec.paired = context.paired;
        let (tx, refs, cancel) = (tx.clone(), context.refs.clone(), cancel.clone());
        tasks.spawn(async move { schedule.run(&mut exec, &refs, &tx, &cancel).await });
    }
    drop(tx);
    while let Some(event) = rx.recv().await {
        sink.apply(event);
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("an endpoint's scheduler task")?;
    }
    Ok(())
}

/// How one endpoint's cells are run.
fn schedule(config: &RunConfig, host: &str, cells: Vec<PlannedCell>, seed: u64) -> Schedule {
    Schedule {
        host: Some(host.to_string()),
        cells,
        rounds: config.rounds,
        seed,
        retries: config.retries,
        busy_retries: config.retry_busy,
        plan: SamplePlan {
            throughput_samples: config.throughput_samples,
            ..native_args(config).plan()
        },
        quality_inputs: config.quality_inputs,
        quality_batch: 100,
        open_timeout: config.timeout_session,
        cell_timeout: config.timeout_per_cell,
        require_hardware_gpu: config.require_hardware_gpu,
        power_preference: config.gpu,
        profile: config.profile,
    }
}

/// The end of a run: record it, write every output, print the table, decide
/// how it ended.
fn finish(
    mut sink: Sink,
    config: &RunConfig,
    mut inputs: Inputs,
    cancel: &Cancel,
) -> anyhow::Result<Ended> {
    sink.report.finished = Some(crate::fmt::now_rfc3339());
    sink.report.interrupted = cancel.signal().map(|(name, _)| name.to_string());
    sink.checkpoint();
    let recorded = record(&mut sink, config, inputs.history.as_mut());
    let threshold = config.threshold / 100.0;
    let seed = qbench_core::verdict::DEFAULT_SEED;
    let report = &sink.report;
    let learn = |old: &Report| learned(inputs.history.as_ref(), config, [old, report]);
    let comparison = match &inputs.earlier {
        Some(old) => Some(analysis::compare::compare(
            old,
            report,
            threshold,
            seed,
            learn(old).as_ref(),
        )),
        None => report
            .paired_bundle
            .is_some()
            .then(|| analysis::compare::paired(report, threshold, seed)),
    };
    // The page compares with the baseline report, or else with the previous run of
    // the history; only the baseline gates the run.
    let against_previous = match (&comparison, &recorded.previous) {
        (None, Some((label, old))) => Some((
            label.as_str(),
            analysis::compare::compare(old, report, threshold, seed, learn(old).as_ref()),
        )),
        _ => None,
    };
    let input = export::Input {
        report,
        comparison: comparison.as_ref(),
        page: report::html::Extras {
            comparison: comparison
                .as_ref()
                .map(|c| (c.paired.map_or("the baseline report", PairedWith::label), c))
                .or(against_previous.as_ref().map(|(l, c)| (*l, c))),
            history: recorded.view.as_ref(),
        },
    };
    let failures = write_outputs(config, &input);
    sink.write_failures.extend(failures);
    print_results(&sink.report, comparison.as_ref(), &config.out);
    ending(&sink, config, comparison.as_ref(), cancel)
}

/// What the history learned of how far this host's pages land apart, the
/// compared reports' own runs left out; a history that cannot be read is
/// told and left out of the comparison.
fn learned(
    history: Option<&rusqlite::Connection>,
    config: &RunConfig,
    reports: [&Report; 2],
) -> Option<Learned> {
    let (conn, path) = (history?, config.history.as_ref()?);
    let exclude = reports.map(|r| r.started.as_str());
    let source = path.display().to_string();
    Learned::from_history(conn, &source, crate::defaults::HISTORY_WINDOW, &exclude)
        .inspect_err(|e| eprintln!("qbench: could not learn from the history {source}: {e:#}"))
        .ok()
}

/// What the history gave the page.
#[derive(Default)]
struct Recorded {
    view: Option<HistoryView>,
    previous: Option<Earlier>,
}

/// Appends the run to the history when there is one; a failure is told and
/// counted, and the run goes on.
fn record(
    sink: &mut Sink,
    config: &RunConfig,
    history: Option<&mut rusqlite::Connection>,
) -> Recorded {
    let (Some(conn), Some(path)) = (history, &config.history) else {
        return Recorded::default();
    };
    match record_history(conn, path, &sink.report) {
        Ok((id, view, previous)) => {
            sink.message(&format!(
                "appended run {id} to the history {}",
                path.display()
            ));
            Recorded {
                view: Some(view),
                previous,
            }
        }
        Err(e) => {
            sink.message(&format!(
                "could not append to the history {}: {e:#}",
                path.display()
            ));
            sink.write_failures.push(format!("history: {e:#}"));
            Recorded::default()
        }
    }
}

/// Writes the report folder's files (`report.json` is the sink's), JUnit and
/// the step summary; returns what failed. A step summary appended to
/// `$GITHUB_STEP_SUMMARY` that fails is told, not counted.
fn write_outputs(config: &RunConfig, input: &export::Input<'_>) -> Vec<String> {
    // Every file of the report folder; report.json is the sink's, kept after every event.
    let mut outputs: Vec<export::Output> = export::FOLDER
        .into_iter()
        .filter(|e| e.name() != export::Json.name())
        .map(|e| export::Output::in_folder(e, &config.out))
        .collect();
    outputs.extend(
        config
            .junit
            .as_deref()
            .map(|p| export::Output::file(&export::Junit, p)),
    );
    outputs.extend(export::Output::summary(config.summary.as_deref()));
    let mut counted = Vec::new();
    for f in export::write(&outputs, input) {
        match (&f.to, f.stage) {
            (export::Destination::Append(_), _) => eprintln!(
                "qbench: could not append to $GITHUB_STEP_SUMMARY: {:#}",
                f.error
            ),
            (_, export::Stage::Render) => {
                eprintln!("qbench: could not draw {}: {:#}", f.exporter, f.error);
                counted.push(format!("{}: {:#}", f.exporter, f.error));
            }
            (to, export::Stage::Write) => {
                eprintln!(
                    "qbench: could not write {}: {:#}",
                    to.path().display(),
                    f.error
                );
                counted.push(format!("{:#}", f.error));
            }
        }
    }
    counted
}

/// The table, the comparison, and where the report is.
fn print_results(report: &Report, comparison: Option<&Comparison>, out: &Path) {
    println!("{}", report::terminal::table(&report.cells));
    if let Some(c) = comparison {
        print!("{}", report::compare::render(c));
    }
    println!(
        "wrote {}, {} and {}",
        out.join("report.json").display(),
        out.join("report.md").display(),
        out.join("report.html").display()
    );
}

/// How the run ended: stopped by a signal, no browser started, a report
/// write failed, unexpected outcomes or regressions, or as expected.
fn ending(
    sink: &Sink,
    config: &RunConfig,
    comparison: Option<&Comparison>,
    cancel: &Cancel,
) -> anyhow::Result<Ended> {
    let report = &sink.report;
    if let Some((name, number)) = cancel.signal() {
        eprintln!(
            "qbench: stopped by {name}; {} holds the {} cells measured",
            config.out.join("report.json").display(),
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
            "no browser could be started (`qbench doctor` checks everything a run needs):\n  {}",
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
    let mut problems = report.unexpected();
    if config.fail_on_regression
        && let Some(c) = comparison
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

/// An earlier run's report and how the page names it.
type Earlier = (String, Report);

/// Appends the run to the history; returns its id, the history to show, and the
/// previous run's report (for the page's "what changed") when the history has it.
fn record_history(
    conn: &mut rusqlite::Connection,
    path: &Path,
    report: &Report,
) -> anyhow::Result<(i64, HistoryView, Option<Earlier>)> {
    let id = store::insert(conn, report, "qbench run")?;
    let view = store::view(conn, &path.display().to_string(), store::RECENT_RUNS)?;
    let earlier = store::earlier_report(conn, &view, id)?;
    Ok((id, view, earlier))
}
