//! `qbench`: measure one CNN at several numeric precisions natively and in
//! headless browsers, and report speed, memory, quality and compatibility.

mod baseline_cache;
mod cancel;
mod cli;
mod collect;
mod config;
mod dataset;
mod exit;
mod history;
mod inspect;
mod native;
mod npy;
mod report;
mod run;
mod schedule;
mod train;

use clap::Parser;
use exit::Ended;

/// Now, RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

fn main() -> std::process::ExitCode {
    // Usage errors exit 2 (clap's own convention, and ours).
    let cli = cli::Cli::parse();
    let ended = cli::run(cli);
    let code = match &ended {
        Ok(Ended::AsExpected) => 0,
        Ok(ended @ (Ended::Unexpected(why) | Ended::Unrecorded(why))) => {
            eprintln!("qbench: {why}");
            ended.code()
        }
        Ok(ended @ Ended::Interrupted { .. }) => ended.code(),
        Err(err) => {
            eprintln!("qbench: {err:#}");
            exit::code_of(err)
        }
    };
    std::process::ExitCode::from(code)
}
