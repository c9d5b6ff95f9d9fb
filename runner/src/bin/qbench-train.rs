//! `qbench-train`: retrains the network (CPU, fixed seed and split) and writes
//! the shipped weights and held-out digits. Kept out of `qbench`, the binary
//! users run, with burn's autodiff and optimiser: build it with
//! `cargo run --release -p qbench --features train --bin qbench-train -- --mnist DIR`.

use clap::Parser;

/// Train the network and write the shipped weights and held-out digits.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: qbench::train::TrainArgs,
}

fn main() -> anyhow::Result<()> {
    qbench::train::run(&Cli::parse().args)
}
