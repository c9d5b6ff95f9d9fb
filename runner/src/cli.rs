//! The command line: one subcommand per job, each handing off to its module.

use clap::{Parser, Subcommand};

use crate::{inspect, native, report, run, train};

/// qbench: how one CNN behaves at several numeric precisions, natively and in headless browsers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure every precision natively on burn's CPU backend: the baseline browser cells are compared with.
    Native(native::NativeArgs),
    /// Per-layer quantization table for every precision; optionally export every tensor as .npy.
    Inspect(inspect::InspectArgs),
    /// Run the browser × backend × precision matrix in headless Chromium and Firefox and write the report.
    Run(run::RunArgs),
    /// Serve the page for a person to run cells by hand (cross-origin isolated, 127.0.0.1).
    Serve(run::ServeArgs),
    /// Compare a report with an earlier one: outcome changes and latency moves beyond the 95% CIs.
    Compare {
        /// The earlier report.json.
        before: std::path::PathBuf,
        /// The newer report.json.
        after: std::path::PathBuf,
        /// Exit with status 1 when a cell regressed (ok before and not now, or slower).
        #[arg(long)]
        fail_on_regression: bool,
    },
    /// Run one cell natively and print its raw JSON response (used by `native`).
    #[command(hide = true)]
    Cell {
        /// A JSON `CellRequest`.
        request: String,
    },
    /// Train the network (CPU, fixed seed and split) and write the shipped weights and held-out digits.
    Train(train::TrainArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Native(args) => native::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Serve(args) => run::serve(&args),
        Command::Compare { before, after, fail_on_regression } => {
            let changes = report::compare::changes(&report::json::read(&before)?, &report::json::read(&after)?);
            print!("{}", report::compare::render(&changes));
            let regressions = changes.iter().filter(|c| c.is_regression()).count();
            if fail_on_regression && regressions > 0 {
                anyhow::bail!("{regressions} cells regressed");
            }
            Ok(())
        }
        Command::Cell { request } => native::cell_process(&request),
        Command::Train(args) => train::run(&args),
    }
}
