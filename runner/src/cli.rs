//! The command line: one subcommand per job, each handing off to its module.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::compare::CompareArgs;
use crate::commands::expect::ExpectArgs;
use crate::commands::merge::MergeArgs;
use crate::config::{self, RunFlags};
use crate::exit::Ended;
use crate::{commands, exec};

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
    /// Measure every precision natively on burn's CPU backend: the reference rows browser cells are compared with (same defaults as run).
    Native(exec::native::NativeArgs),
    /// Per-layer quantization table for every precision; optionally export every tensor as .npy.
    Inspect(commands::inspect::InspectArgs),
    /// Run the browser × backend × precision matrix in Chromium, Firefox and WebKit and write the report.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunFlags>),
    /// Print the effective configuration of `run`: defaults, then qbench.toml, then the flags.
    Config(Box<RunFlags>),
    /// Serve the page for a person to run cells by hand (cross-origin isolated, 127.0.0.1).
    Serve(commands::serve::ServeArgs),
    /// Check, in a few seconds, what a run needs (browsers, drivers, toolchain, WebGPU adapters) and say what is missing.
    Doctor(commands::doctor::DoctorArgs),
    /// Build the wasm package if it is stale and print its folder (for `run --pkg`, or a CI cache).
    Build(commands::build::BuildArgs),
    /// Compare a report with an earlier one: breakages, fixes, latency verdicts, quality drops.
    Compare(CompareArgs),
    /// Write the expectations file a report satisfies, for a person to review and commit.
    Expect(ExpectArgs),
    /// Put the reports of several machines into one (rows host × browser × adapter).
    Merge(MergeArgs),
    /// The history of runs (SQLite): import reports, list runs, a cell's trend, what broke or got fixed.
    History(commands::history::HistoryArgs),
    /// Run one cell natively and print its raw JSON response (used by `native`).
    #[command(hide = true)]
    Cell {
        /// A JSON `CellRequest`.
        request: String,
    },
}

/// Examples under `qbench run --help`.
const RUN_EXAMPLES: &str = "\
Examples:
  qbench run
      the default matrix, both browsers and backends, every precision, batch 1 and 32;
      writes qbench-report/report.{json,md,html}
  qbench run --browsers chromium --backends cpu --precisions f32,int8 --batch 1,32 --rounds 3
      a smaller matrix, three pages per cell
  qbench run --pkg pr-pkg --baseline-pkg base-pkg --expect expectations.toml --fail-on-regression
      the pull-request gate: two packages paired in the same pages (exit 1 on a regression)
  qbench run --webdriver http://127.0.0.1:4444 --host-label gpu-box
      through a Selenium Grid; merge several hosts' reports with qbench merge";

/// The command line, with the defaults of `run` and `config` shown in their
/// help as `RunConfig::default` has them (the one place they live, fed by
/// [`crate::defaults`]).
pub fn command() -> clap::Command {
    let shown = config::shown_defaults();
    Cli::command()
        .mut_subcommand("run", |c| show_defaults(c, &shown))
        .mut_subcommand("config", |c| show_defaults(c, &shown))
}

/// Appends `[default: …]` to the help of every flag `shown` has a value for.
/// Every argument is passed through, in order, so the headings keep theirs.
fn show_defaults(command: clap::Command, shown: &[(String, String)]) -> clap::Command {
    let ids: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    ids.iter().fold(command, |c, id| {
        let value = shown.iter().find(|(key, _)| key == id).map(|(_, v)| v);
        c.mut_arg(id.as_str(), |a| match value {
            Some(value) => {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.help(format!("{help} [default: {value}]"))
            }
            None => a,
        })
    })
}

/// Parses the process's arguments (a usage error exits 2 with clap's message).
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// Parses `args` as the command line.
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Parses the command line and runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<Ended> {
    match cli.command {
        Command::Native(args) => commands::native::run(&args),
        Command::Inspect(args) => commands::inspect::run(&args).map(|()| Ended::AsExpected),
        Command::Run(flags) => commands::run::run(&flags),
        Command::Config(flags) => {
            let config = config::resolve(&flags)?;
            print!("{}", toml::to_string(&config)?);
            Ok(Ended::AsExpected)
        }
        Command::Serve(args) => commands::serve::run(&args),
        Command::Build(args) => commands::build::run(&args),
        Command::Doctor(args) => commands::doctor::run(&args),
        Command::Compare(args) => commands::compare::run(&args),
        Command::Expect(args) => commands::expect::run(&args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::History(args) => commands::history::run(&args),
        Command::Cell { request } => exec::native::cell_process(&request),
    }
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
            .flat_map(|line| line.split("&&"))
            .filter_map(|line| {
                let words = shlex::split(line.trim())?;
                let at = if words.first().is_some_and(|w| w == "cargo")
                    && words.windows(2).any(|w| w[0] == "-p" && w[1] == "qbench")
                {
                    words.iter().position(|w| w == "--")?
                } else {
                    // The command word, after any `VAR=value` assignments.
                    let at = words.iter().position(|w| !w.contains('='))?;
                    words[at].ends_with("qbench").then_some(at)?
                };
                let mut args = vec!["qbench".to_string()];
                args.extend(words[at + 1..].iter().cloned());
                Some(args)
            })
            .collect()
    }

    /// Every workflow file and its parsed `qbench` lines.
    fn workflows() -> Vec<(String, Yaml, Vec<Vec<String>>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
        let mut out = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yml"))
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).unwrap();
            let workflow = YamlLoader::load_from_str(&text).unwrap().remove(0);
            let lines = scripts(&workflow)
                .iter()
                .flat_map(|s| qbench_lines(s))
                .collect();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, workflow, lines));
        }
        out
    }

    /// The effective configuration of a workflow's `qbench run` lines, each
    /// checked to parse and to name files the repository holds.
    fn run_configs(name: &str, lines: &[Vec<String>]) -> Vec<config::RunConfig> {
        let mut runs = Vec::new();
        for args in lines {
            let cli = Cli::try_parse_from(args)
                .unwrap_or_else(|e| panic!("{name}: `{}` is refused:\n{e}", args.join(" ")));
            if let Command::Run(flags) = &cli.command {
                let config = config::resolve(flags).unwrap();
                let expect = config.expect.as_ref().unwrap();
                assert!(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("..")
                        .join(expect)
                        .is_file(),
                    "{name}: {} is in the repository",
                    expect.display()
                );
                runs.push(config);
            }
        }
        runs
    }

    #[test]
    fn every_qbench_line_of_every_workflow_is_accepted() {
        let all = workflows();
        let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["nightly.yml", "pr.yml"]);
        for (name, workflow, lines) in &all {
            assert!(!lines.is_empty(), "{name} runs qbench");
            // Every job runs in the Debian container the tests know.
            for job in workflow["jobs"].as_hash().unwrap().values() {
                assert_eq!(
                    job["container"]["image"].as_str(),
                    Some("debian:bookworm"),
                    "{name}"
                );
            }
            let runs = run_configs(name, lines);
            assert_eq!(runs.len(), 1, "{name}: one qbench run");
            let run = &runs[0];
            match name.as_str() {
                "nightly.yml" => {
                    assert!(
                        workflow["on"]["schedule"][0]["cron"].as_str().is_some(),
                        "the nightly is scheduled"
                    );
                    assert_eq!(run.rounds, 3);
                    assert!(run.history.is_some() && run.junit.is_some());
                    assert!(
                        lines
                            .iter()
                            .any(|l| l.contains(&"--fail-on-breakage".to_string())),
                        "the nightly alerts on a breakage"
                    );
                    assert!(lines.iter().any(|l| l.contains(&"prune".to_string())));
                }
                "pr.yml" => {
                    assert!(!workflow["on"]["pull_request"].is_badvalue());
                    assert_eq!(
                        workflow["permissions"]["contents"].as_str(),
                        Some("read"),
                        "read-only, so forks' pull requests run it"
                    );
                    assert!(run.baseline_pkg.is_some() && run.fail_on_regression);
                    assert_eq!(run.rounds, config::PAIRED_ROUNDS);
                }
                other => panic!("a workflow this test does not know: {other}"),
            }
        }
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
        // A line that only names the binary (copies it) runs nothing.
        assert!(qbench_lines("cp target/release/qbench \"$T/pr-qbench\"").is_empty());
        let lines = qbench_lines("QBENCH_X=1 \"$T/pr-qbench\" doctor");
        assert_eq!(lines[0], ["qbench", "doctor"]);
    }
}
