//! `qbench history`: import reports, list runs, a cell's trend, what broke or
//! got fixed, and the history's page. The store is `crate::history`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::Connection;

use qbench_core::verdict::MIN_LEARNED_DF;

use crate::analysis::learned::Learned;
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
    /// How far pages of each class (host, browser, backend, batch) landed apart in the newest runs, and the smallest slowdown that lets a comparison of single rounds call (what `compare --history` learns).
    Spread {
        /// How many of the newest runs to learn from.
        #[arg(long, value_name = "N", default_value_t = crate::defaults::HISTORY_WINDOW)]
        window: usize,
        /// Smallest latency change that counts, percent.
        #[arg(long, default_value_t = crate::defaults::THRESHOLD_PCT)]
        threshold: f64,
        /// Speed verdicts the comparison gives at once, whose intervals hold at 95% together (a default run on a machine like CI's: 68 ok cells' latency and 26 WebGPU throughputs).
        #[arg(long, value_name = "N", default_value_t = crate::defaults::VERDICTS)]
        verdicts: usize,
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
        HistoryCommand::Spread {
            window,
            threshold,
            verdicts,
        } => {
            print_spread(&conn, &args.db, *window, *threshold, *verdicts)?;
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

/// `history spread`: each class's learned spread as a table.
fn print_spread(
    conn: &Connection,
    db: &Path,
    window: usize,
    threshold: f64,
    verdicts: usize,
) -> anyhow::Result<()> {
    if !(threshold > 0.0 && threshold < 100.0) {
        return Err(bad_input(anyhow::anyhow!(
            "--threshold {threshold} is not a percentage in (0, 100)"
        )));
    }
    let learned = Learned::from_history(conn, &db.display().to_string(), window, &[])?;
    print!(
        "{}",
        spread_table(&learned, window, threshold / 100.0, verdicts)
    );
    Ok(())
}

/// Each class's learned spread: its pages and runs, how far one page lands
/// from its group's level (one standard deviation), how far two pages may
/// lie apart (95%), and the smallest slowdown a comparison of single rounds
/// giving `verdicts` verdicts at once can then call `slower` at `threshold`.
fn spread_table(learned: &Learned, window: usize, threshold: f64, verdicts: usize) -> String {
    let mut out = format!(
        "{}: {} of the newest {window} runs have quiet pages of ok cells\n",
        learned.source, learned.runs
    );
    if learned.classes.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "{:<28} {:>5} {:>4} {:>9} {:>10} {:>16}\n",
        "class",
        "pages",
        "runs",
        "one page",
        "two pages",
        format!("slower at {:.0}% of {verdicts}", threshold * 100.0)
    ));
    for (class, spread) in &learned.classes {
        let sigma = spread.sigma().map_or("–".into(), |s| {
            format!("±{:.1}%", (s.exp() - 1.0) * 100.0)
        });
        let (apart, slowest) = match (
            spread.half_width(1),
            spread.smallest_slowdown(threshold, verdicts),
        ) {
            (Some(h), Some(s)) => (format!("×{:.3}", h.exp()), format!("×{s:.3}")),
            _ => (
                "–".into(),
                format!("– (df {} < {MIN_LEARNED_DF})", spread.df),
            ),
        };
        out.push_str(&format!(
            "{:<28} {:>5} {:>4} {sigma:>9} {apart:>10} {slowest:>16}\n",
            class.to_string(),
            spread.pages,
            spread.runs
        ));
    }
    out
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
    let learned = match &previous {
        Some((_, old)) => Some(Learned::from_history(
            conn,
            &db.display().to_string(),
            crate::defaults::HISTORY_WINDOW,
            &[&old.started, &report.started],
        )?),
        None => None,
    };
    let comparison = previous.as_ref().map(|(label, old)| {
        (
            label.as_str(),
            crate::analysis::compare::compare(
                old,
                &report,
                crate::defaults::THRESHOLD_PCT / 100.0,
                qbench_core::verdict::DEFAULT_SEED,
                learned.as_ref(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::pages::PageRow;
    use qbench_core::{Backend, Precision};

    #[test]
    fn the_spread_table_says_what_a_single_round_can_call() {
        // Batch 1: nine runs of two f32 pages ×1.02 apart (df 9); batch 32: one run.
        let page = |run, batch, median| PageRow {
            run,
            build: "b".into(),
            host: "ci".into(),
            browser: "chromium".parse().unwrap(),
            backend: Backend::Cpu,
            precision: Precision::F32,
            batch,
            median,
        };
        let mut pages: Vec<PageRow> = (1..=9)
            .flat_map(|run| [page(run, 1, 1.0), page(run, 1, 1.02)])
            .collect();
        // Each run a build of its own: nine groups of two pages.
        for p in &mut pages {
            p.build = format!("run {}", p.run);
        }
        pages.push(page(10, 32, 5.0));
        let learned = Learned::from_pages("h.sqlite", &pages);
        let table = spread_table(&learned, 30, 0.05, 20);
        let sigma = 1.02f64.ln() / 2f64.sqrt();
        let half = qbench_core::verdict::t975(9.0) * 2f64.sqrt() * sigma;
        let family = qbench_core::verdict::family_quantile(9.0, 20) * 2f64.sqrt() * sigma;
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "h.sqlite: 10 of the newest 30 runs have quiet pages of ok cells"
        );
        assert!(lines[1].starts_with("class") && lines[1].ends_with("slower at 5% of 20"));
        let expect = format!(
            "{:<28} {:>5} {:>4} {:>9} {:>10} {:>16}",
            "ci chromium cpu batch 1",
            18,
            9,
            format!("±{:.1}%", (sigma.exp() - 1.0) * 100.0),
            format!("×{:.3}", half.exp()),
            format!("×{:.3}", 1.05 * family.exp())
        );
        assert_eq!(lines[2], expect);
        assert!(lines[3].starts_with("ci chromium cpu batch 32"), "{table}");
        assert!(lines[3].ends_with("– (df 0 < 8)"), "{table}");
        assert_eq!(lines.len(), 4);
    }
}
