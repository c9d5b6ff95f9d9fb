//! `qbench expect`: the expectations file a report satisfies.

use std::path::PathBuf;

use crate::exit::Ended;
use crate::report;

/// Arguments of `qbench expect`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExpectArgs {
    /// The report.json whose outcomes become the expectations.
    #[arg(long, value_name = "REPORT")]
    pub from: PathBuf,
    /// Write the file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `qbench expect`.
pub fn run(args: &ExpectArgs) -> anyhow::Result<Ended> {
    let report = report::json::read(&args.from)?;
    let text = report::expect::from_report(&report, &args.from.display().to_string());
    match &args.out {
        Some(path) => report::export::write_atomically(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(Ended::AsExpected)
}
