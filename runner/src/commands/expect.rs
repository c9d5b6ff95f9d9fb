//! `qbench expect`: the expectations file a report satisfies.

use std::path::PathBuf;

use crate::exit::Ended;
use crate::report;

/// Arguments of `qbench expect`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExpectArgs {
    /// The report.json whose outcomes become the expectations.
    pub report: PathBuf,
    /// Write the expectations (TOML) to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub toml: Option<PathBuf>,
}

/// Runs `qbench expect`.
pub fn run(args: &ExpectArgs) -> anyhow::Result<Ended> {
    let report = report::json::read(&args.report)?;
    let text = report::expect::from_report(&report, &args.report.display().to_string());
    match &args.toml {
        Some(path) => report::export::write_atomically(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(Ended::AsExpected)
}
