//! `qbench merge`: several hosts' reports as one.

use std::path::PathBuf;

use crate::analysis;
use crate::exit::Ended;
use crate::report;
use crate::report::export;

/// Arguments of `qbench merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The report.json files, each from its own host label.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The folder for the merged report.json, report.md and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `qbench merge`.
pub fn run(args: &MergeArgs) -> anyhow::Result<Ended> {
    let reports = args
        .reports
        .iter()
        .map(|p| Ok((p.display().to_string(), report::json::read(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = analysis::merge::merge(&reports)?;
    // The report folder's files; a merge has no comparison, so no comparison.json.
    let outputs = export::FOLDER.map(|e| export::Output::in_folder(e, &args.out));
    export::write_all(&outputs, &export::Input::report(&merged))?;
    println!(
        "merged {} reports ({} hosts, {} cells) into {}",
        reports.len(),
        merged.hosts().len(),
        merged.cells.len(),
        args.out.display()
    );
    Ok(Ended::AsExpected)
}
