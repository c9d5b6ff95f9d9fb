//! The command line: one subcommand per job, each handing off to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, RunFlags};
use crate::exit::{Ended, ResultExt};
use crate::{history, inspect, native, report, run, train};

/// qbench: how one CNN behaves at several numeric precisions, natively and in headless browsers.
///
/// Exit codes: 0 everything as expected; 1 unexpected outcomes, or regressions a
/// gate flag asked about; 2 bad usage or bad input; 3 the run could not happen
/// (or its results could not be written); 128 + n stopped by signal n.
#[derive(Debug, Parser)]
#[command(version, about, args_override_self = true)]
pub struct Cli {
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
    Run(Box<RunFlags>),
    /// Print the effective configuration of `run`: defaults, then qbench.toml, then the flags.
    Config(Box<RunFlags>),
    /// Serve the page for a person to run cells by hand (cross-origin isolated, 127.0.0.1).
    Serve(run::ServeArgs),
    /// Build the wasm package if it is stale and print its folder (for `run --pkg`, or a CI cache).
    Build {
        /// The qbench checkout (holds `www/`, `Cargo.toml`).
        #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
        root: PathBuf,
    },
    /// Compare a report with an earlier one: breakages, fixes, latency verdicts, quality drops.
    Compare(CompareArgs),
    /// Write the expectations file a report satisfies, for a person to review and commit.
    Expect(ExpectArgs),
    /// Put the reports of several machines into one (rows host × browser × adapter).
    Merge(MergeArgs),
    /// The history of runs (SQLite): import reports, list runs, a cell's trend, what broke or got fixed.
    History(history::HistoryArgs),
    /// Run one cell natively and print its raw JSON response (used by `native`).
    #[command(hide = true)]
    Cell {
        /// A JSON `CellRequest`.
        request: String,
    },
    /// Train the network (CPU, fixed seed and split) and write the shipped weights and held-out digits.
    Train(train::TrainArgs),
}

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
    #[arg(long, default_value_t = crate::config::DEFAULT_THRESHOLD_PCT)]
    pub threshold: f64,
    /// Seed of the bootstrap (the same seed gives the same intervals).
    #[arg(long, default_value_t = qbench_core::verdict::DEFAULT_SEED)]
    pub seed: u64,
    /// Also write the comparison as JUnit XML (a case per cell of the newer report).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown step summary (default: append to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Also write the comparison as JSON: every cell's transition, medians, ratio with its interval, basis and verdict, quality change.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

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

/// Parses the command line and runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<Ended> {
    match cli.command {
        Command::Native(args) => native::run(&args),
        Command::Inspect(args) => inspect::run(&args).map(|()| Ended::AsExpected),
        Command::Run(flags) => run::run(&flags),
        Command::Config(flags) => {
            let config = config::resolve(&flags)?;
            print!("{}", toml::to_string(&config)?);
            Ok(Ended::AsExpected)
        }
        Command::Serve(args) => run::serve(&args),
        Command::Build { root } => {
            let package = run::build::ensure(&root, &crate::cancel::Cancel::new())
                .map_err(crate::exit::could_not_run)?;
            eprintln!(
                "qbench: {} bytes, {}, {}",
                package.wasm_bytes,
                package.build.as_deref().unwrap_or("built elsewhere"),
                package.wasm_opt.as_deref().unwrap_or("no wasm-opt")
            );
            for f in &package.files {
                eprintln!(
                    "qbench: {}: {} B raw, {} B gzip -9, {} B brotli 11",
                    f.name, f.raw, f.gzip, f.brotli
                );
            }
            println!("{}", package.dir.display());
            Ok(Ended::AsExpected)
        }
        Command::Compare(args) => compare(&args),
        Command::Expect(args) => {
            let report = report::json::read(&args.from)?;
            let text = report::expect::from_report(&report, &args.from.display().to_string());
            match &args.out {
                Some(path) => report::json::write_atomically(path, text.as_bytes())?,
                None => print!("{text}"),
            }
            Ok(Ended::AsExpected)
        }
        Command::Merge(args) => {
            let reports = args
                .reports
                .iter()
                .map(|p| Ok((p.display().to_string(), report::json::read(p)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged = report::merge::merge(&reports)?;
            report::json::write(&merged, &args.out.join("report.json"))?;
            report::json::write_atomically(
                &args.out.join("report.md"),
                report::markdown::render(&merged).as_bytes(),
            )?;
            report::json::write_atomically(
                &args.out.join("report.html"),
                report::html::render(&merged, report::html::Extras::default())?.as_bytes(),
            )?;
            println!(
                "merged {} reports ({} hosts, {} cells) into {}",
                reports.len(),
                merged.hosts().len(),
                merged.cells.len(),
                args.out.display()
            );
            Ok(Ended::AsExpected)
        }
        Command::History(args) => history::run(&args),
        Command::Cell { request } => native::cell_process(&request),
        Command::Train(args) => train::run(&args).map(|()| Ended::AsExpected),
    }
}

fn compare(args: &CompareArgs) -> anyhow::Result<Ended> {
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
    let comparison = report::compare::compare(&old, &new, args.threshold / 100.0, args.seed);
    print!("{}", report::compare::render(&comparison));
    if let Some(path) = &args.json {
        report::json::write_atomically(
            path,
            report::comparison_json::render(&comparison).as_bytes(),
        )?;
    }
    if let Some(path) = &args.junit {
        report::json::write_atomically(
            path,
            report::junit::render(&new, Some(&comparison))?.as_bytes(),
        )?;
    }
    let summary = report::summary::render(&new, Some(&comparison));
    match (&args.summary, std::env::var_os("GITHUB_STEP_SUMMARY")) {
        (Some(path), _) => report::json::write_atomically(path, summary.as_bytes())?,
        (None, Some(path)) => report::summary::append(std::path::Path::new(&path), &summary)?,
        (None, None) => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use yaml_rust2::{Yaml, YamlLoader};

    /// Every `run:` script of every step of every job in a workflow.
    fn scripts(workflow: &Yaml) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(jobs) = workflow["jobs"].as_hash() {
            for job in jobs.values() {
                for step in job["steps"].as_vec().into_iter().flatten() {
                    if let Some(run) = step["run"].as_str() {
                        out.push(run.to_string());
                    }
                }
            }
        }
        out
    }

    /// The qbench arguments of each command line in a script that runs qbench
    /// (`cargo run … -p qbench -- ARGS` or `qbench ARGS`), continuations joined.
    fn qbench_lines(script: &str) -> Vec<Vec<String>> {
        script
            .replace("\\\n", " ")
            .lines()
            .filter_map(|line| {
                let words = shlex::split(line.trim())?;
                let at = if words.first().is_some_and(|w| w == "cargo")
                    && words.windows(2).any(|w| w[0] == "-p" && w[1] == "qbench")
                {
                    words.iter().position(|w| w == "--")?
                } else {
                    words.iter().position(|w| w.ends_with("qbench"))?
                };
                let mut args = vec!["qbench".to_string()];
                args.extend(words[at + 1..].iter().cloned());
                Some(args)
            })
            .collect()
    }

    #[test]
    fn every_qbench_line_of_the_nightly_workflow_is_accepted() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.github/workflows/nightly.yml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let docs = YamlLoader::load_from_str(&text).unwrap();
        let workflow = &docs[0];
        assert!(
            workflow["on"]["schedule"][0]["cron"].as_str().is_some(),
            "the workflow is scheduled"
        );
        let lines: Vec<Vec<String>> = scripts(workflow)
            .iter()
            .flat_map(|s| qbench_lines(s))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for args in &lines {
            let cli = Cli::try_parse_from(args)
                .unwrap_or_else(|e| panic!("`{}` is refused:\n{e}", args.join(" ")));
            if let Command::Run(flags) = &cli.command {
                let config = config::resolve(flags).unwrap();
                assert_eq!(config.rounds, 3);
                assert!(config.history.is_some() && config.junit.is_some());
                let expect = config.expect.as_ref().unwrap();
                assert!(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("..")
                        .join(expect)
                        .is_file(),
                    "{} is in the repository",
                    expect.display()
                );
            }
        }
        assert!(matches!(
            Cli::try_parse_from(&lines[0]).unwrap().command,
            Command::Run(_)
        ));
    }

    #[test]
    fn a_rotten_line_would_be_caught() {
        let lines =
            qbench_lines("cargo run --release -p qbench -- run --rounds three \\\n  --out x");
        assert_eq!(
            lines[0],
            ["qbench", "run", "--rounds", "three", "--out", "x"]
        );
        assert!(Cli::try_parse_from(&lines[0]).is_err());
        let lines = qbench_lines("target/release/qbench history --db h html --out d");
        assert!(Cli::try_parse_from(&lines[0]).is_ok());
    }
}
