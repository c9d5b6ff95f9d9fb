//! `qbench`: measure one CNN at several numeric precisions natively and in
//! headless browsers, and report speed, memory, quality and compatibility.

use qbench::cli;
use qbench::exit::{self, Ended};

fn main() -> std::process::ExitCode {
    // Usage errors exit 2 (clap's own convention, and ours).
    let cli = cli::parse();
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
