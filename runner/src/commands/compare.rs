//! `qbench compare OLD NEW`: the comparison of two reports, printed, and
//! written as JSON, JUnit and a step summary when asked.

use std::path::PathBuf;

use qbench_core::schema::Report;

use crate::analysis;
use crate::analysis::learned::Learned;
use crate::exit::{Ended, ResultExt};
use crate::report;
use crate::report::export;

/// Arguments of `qbench compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The earlier report.json.
    pub before: PathBuf,
    /// The newer report.json.
    pub after: PathBuf,
    /// Exit 1 when a cell regressed: ok before and not now, slower, or lower quality.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Smallest latency change that counts, percent.
    #[arg(long, default_value_t = crate::defaults::THRESHOLD_PCT)]
    pub threshold: f64,
    /// Seed of the bootstrap behind each ratio's interval (the same seed gives the same intervals).
    #[arg(long, value_name = "N", default_value_t = qbench_core::verdict::DEFAULT_SEED)]
    pub bootstrap_seed: u64,
    /// Also write the comparison as JUnit XML (a case per cell of the newer report).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown step summary (default: append to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Also write the comparison as JSON: every cell's transition, medians, ratio with its interval, basis and verdict, quality change.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Learn how far pages of each class land apart on these hosts from this SQLite history (`run --history`), and widen single-round intervals by that instead of only what the two reports show.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// How many of the history's newest runs to learn from.
    #[arg(long, value_name = "N", default_value_t = crate::defaults::HISTORY_WINDOW, requires = "history")]
    pub history_window: usize,
}

/// Runs `qbench compare`.
pub fn run(args: &CompareArgs) -> anyhow::Result<Ended> {
    if !(args.threshold > 0.0 && args.threshold < 100.0) {
        return Err(anyhow::anyhow!(
            "--threshold {} is not a percentage in (0, 100)",
            args.threshold
        ))
        .bad_input();
    }
    let (old, new) = (
        report::json::read(&args.before)?,
        report::json::read(&args.after)?,
    );
    let learned = match &args.history {
        Some(path) => Some(learn(path, args.history_window, [&old, &new])?),
        None => None,
    };
    let comparison = analysis::compare::compare(
        &old,
        &new,
        args.threshold / 100.0,
        args.bootstrap_seed,
        learned.as_ref(),
    );
    print!("{}", report::compare::render(&comparison));
    let outputs: Vec<export::Output> = [
        args.json
            .as_deref()
            .map(|p| export::Output::file(&export::ComparisonJson, p)),
        args.junit
            .as_deref()
            .map(|p| export::Output::file(&export::Junit, p)),
        export::Output::summary(args.summary.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let input = export::Input {
        comparison: Some(&comparison),
        ..export::Input::report(&new)
    };
    export::write_all(&outputs, &input)?;
    let regressions: Vec<String> = comparison
        .regressions()
        .map(|r| format!("{}: {}", r.id, r.describe()))
        .collect();
    if args.fail_on_regression && !regressions.is_empty() {
        return Ok(Ended::Unexpected(format!(
            "{} cells regressed:\n  {}",
            regressions.len(),
            regressions.join("\n  ")
        )));
    }
    Ok(Ended::AsExpected)
}

/// What the history at `path` learned of its newest `window` runs, the two
/// compared reports' own runs left out. A history that is not there is an
/// error, not an empty one.
fn learn(path: &std::path::Path, window: usize, reports: [&Report; 2]) -> anyhow::Result<Learned> {
    if !path.is_file() {
        return Err(anyhow::anyhow!(
            "--history {}: no such file (a history is written by `qbench run --history`)",
            path.display()
        ))
        .bad_input();
    }
    if window == 0 {
        return Err(anyhow::anyhow!(
            "--history-window 0: learn from one run at least"
        ))
        .bad_input();
    }
    let conn = crate::history::store::open(path)?;
    let exclude = reports.map(|r| r.started.as_str());
    Learned::from_history(&conn, &path.display().to_string(), window, &exclude)
}
