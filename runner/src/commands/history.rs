//! `qbench history`: import reports, list runs, a cell's trend, what broke or
//! got fixed, and the history's page. The store is `crate::history`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::Connection;

use crate::exit::{Ended, ResultExt, bad_input};
use crate::history::store::{
    Change, Filter, RECENT_RUNS, changes, earlier_report, has_run, insert, open, prune, runs,
    stored_report, trend, view,
};
use crate::report::{export, html};

/// `qbench history …`.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// The history database (created when missing); accepted before or after the subcommand.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "qbench-history.sqlite",
        global = true
    )]
    pub db: PathBuf,
    /// What to do with it.
    #[command(subcommand)]
    pub command: HistoryCommand,
}

/// What to do with the history.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum HistoryCommand {
    /// Load earlier report.json files (a run already there is skipped).
    Import {
        /// The reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
    },
    /// Every run: when, which version, which hosts, how many cells ok.
    List,
    /// One cell's (or the matching cells') median, interval and status over the last runs.
    Trend {
        /// Which cells.
        #[command(flatten)]
        filter: Filter,
        /// How many recent runs.
        #[arg(long, default_value_t = RECENT_RUNS)]
        last: usize,
    },
    /// Cells that broke or got fixed, with the first run, browser version and adapter: in the newest run, or since a date.
    Changes {
        /// A date (2026-11-01) or an RFC 3339 time [default: the newest run's start, so what changed against the run before it].
        #[arg(long)]
        since: Option<String>,
        /// Exit 1 when a cell broke (was ok, is not) in the runs shown: for a nightly that alerts.
        #[arg(long)]
        fail_on_breakage: bool,
    },
    /// Deletes old runs (and their cells) to bound the file's size; at least one of the options.
    #[command(group(clap::ArgGroup::new("which").required(true).multiple(true)))]
    Prune {
        /// Keep the newest N runs, delete the rest.
        #[arg(long, value_name = "N", group = "which")]
        keep: Option<usize>,
        /// Delete runs started before this date (2026-11-01) or RFC 3339 time.
        #[arg(long, value_name = "DATE", group = "which")]
        older_than: Option<String>,
    },
    /// Writes report.html for the newest run, with every cell's trend and status strip.
    Html {
        /// The folder for report.html.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// How many recent runs the trends show.
        #[arg(long, default_value_t = RECENT_RUNS)]
        last: usize,
    },
}

/// Runs `qbench history`.
pub fn run(args: &HistoryArgs) -> anyhow::Result<Ended> {
    let mut conn = open(&args.db)?;
    match &args.command {
        HistoryCommand::Import { reports } => import(&mut conn, &args.db, reports)?,
        HistoryCommand::List => list(&conn)?,
        HistoryCommand::Trend { filter, last } => print_trend(&conn, &args.db, filter, *last)?,
        HistoryCommand::Html { out, last } => {
            let path = html(&conn, &args.db, out, *last)?;
            println!("wrote {}", path.display());
        }
        HistoryCommand::Changes {
            since,
            fail_on_breakage,
        } => {
            let broke = print_changes(&conn, since.as_deref())?;
            if *fail_on_breakage && !broke.is_empty() {
                return Ok(Ended::Unexpected(format!(
                    "{} cells broke:\n  {}",
                    broke.len(),
                    broke.join("\n  ")
                )));
            }
        }
        HistoryCommand::Prune { keep, older_than } => {
            let deleted = prune(&mut conn, *keep, older_than.as_deref())?;
            println!(
                "deleted {deleted} runs; {} remain in {}",
                runs(&conn)?.len(),
                args.db.display()
            );
        }
    }
    Ok(Ended::AsExpected)
}

/// `history import`: each report once (a run already there is skipped).
fn import(conn: &mut Connection, db: &Path, reports: &[PathBuf]) -> anyhow::Result<()> {
    for path in reports {
        let report = crate::report::json::read(path)?;
        let hosts: Vec<String> = report
            .hosts()
            .into_iter()
            .map(|h| h.unwrap_or_default())
            .collect();
        if has_run(conn, &report.started, &hosts.join(","))? {
            println!("{}: already in {}", path.display(), db.display());
            continue;
        }
        let id = insert(conn, &report, &path.display().to_string())?;
        println!("{}: run {id}, {} cells", path.display(), report.cells.len());
    }
    Ok(())
}

/// `history list`: a line per run.
fn list(conn: &Connection) -> anyhow::Result<()> {
    println!(
        "{:>4}  {:<32} {:<8} {:<20} {:<24} {:>9}  source",
        "run", "started", "complete", "qbench", "hosts", "ok/cells"
    );
    for r in runs(conn)? {
        println!(
            "{:>4}  {:<32} {:<8} {:<20} {:<24} {:>9}  {}",
            r.id,
            r.started,
            if r.finished.is_some() {
                "yes"
            } else {
                "partial"
            },
            r.version,
            r.hosts,
            format!("{}/{}", r.ok, r.cells),
            r.source
        );
    }
    Ok(())
}

/// `history trend`: the matching cells, a line per run.
fn print_trend(conn: &Connection, db: &Path, filter: &Filter, last: usize) -> anyhow::Result<()> {
    let rows = trend(conn, filter, last)?;
    if rows.is_empty() {
        println!(
            "no matching cells in the last {last} runs of {}",
            db.display()
        );
    }
    let mut current = String::new();
    for r in rows {
        if r.cell != current {
            println!("{}", r.cell);
            current = r.cell.clone();
        }
        let latency = r.median.map_or("–".to_string(), |(m, lo, hi)| {
            format!("median {m:.3} ms [{lo:.3}, {hi:.3}]")
        });
        println!(
            "  run {:>4}  {}  {:<11} {latency}  {}",
            r.run,
            r.started,
            r.status,
            r.browser_version.unwrap_or_default()
        );
    }
    Ok(())
}

/// `history changes`: what broke or got fixed since a date (the newest run's
/// start when none is given); returns the cells that broke.
fn print_changes(conn: &Connection, since: Option<&str>) -> anyhow::Result<Vec<String>> {
    let since = match since {
        Some(s) => s.to_string(),
        None => match runs(conn)?.last() {
            Some(newest) => newest.started.clone(),
            None => {
                println!("the history holds no runs");
                return Ok(Vec::new());
            }
        },
    };
    let rows = changes(conn, &since)?;
    if rows.is_empty() {
        println!("nothing broke or got fixed since {since}");
    }
    let broke = rows
        .iter()
        .filter(|c| c.change == Change::Broke)
        .map(|c| format!("{} ({} → {}) in run {}", c.cell, c.from, c.to, c.run))
        .collect();
    for c in rows {
        println!(
            "{}: {} ({} → {}) in run {} started {}, browser {}, adapter {}{}",
            c.cell,
            c.change,
            c.from,
            c.to,
            c.run,
            c.started,
            c.browser_version.as_deref().unwrap_or("?"),
            c.adapter.as_deref().unwrap_or("none"),
            c.reason.map_or(String::new(), |r| format!(": {r}"))
        );
    }
    Ok(broke)
}

/// Writes `out/report.html`: the newest run's report with the history of the
/// last `last` runs, and what changed against the run before it.
pub fn html(conn: &Connection, db: &Path, out: &Path, last: usize) -> anyhow::Result<PathBuf> {
    let view = view(conn, &db.display().to_string(), last)?;
    let Some(newest) = view.runs.last() else {
        return Err(bad_input(anyhow::anyhow!(
            "{} holds no runs: nothing to draw",
            db.display()
        )));
    };
    let report = stored_report(conn, newest.id)?.ok_or_else(|| {
        bad_input(anyhow::anyhow!(
            "run {} of {} was stored before qbench kept whole reports (history schema 3); run again, or import its report.json",
            newest.id,
            db.display()
        ))
    })?;
    let previous = earlier_report(conn, &view, newest.id)?;
    let comparison = previous.as_ref().map(|(label, old)| {
        (
            label.as_str(),
            crate::analysis::compare::compare(
                old,
                &report,
                crate::defaults::THRESHOLD_PCT / 100.0,
                qbench_core::verdict::DEFAULT_SEED,
            ),
        )
    });
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating {}", out.display()))
        .bad_input()?;
    let output = export::Output::in_folder(&export::Html, out);
    let path = output.to.path().to_path_buf();
    let input = export::Input {
        page: html::Extras {
            comparison: comparison.as_ref().map(|(l, c)| (*l, c)),
            history: Some(&view),
        },
        ..export::Input::report(&report)
    };
    export::write_all(&[output], &input)?;
    Ok(path)
}
