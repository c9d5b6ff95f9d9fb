//! `qbench`: measure one CNN at several numeric precisions natively and in
//! headless browsers, and report speed, memory, quality and compatibility.

mod cli;
mod collect;
mod dataset;
mod inspect;
mod native;
mod npy;
mod report;
mod run;
mod train;

fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("qbench: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
