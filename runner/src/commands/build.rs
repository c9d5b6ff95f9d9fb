//! `qbench build`: the browser package, built when stale, and its sizes;
//! copied into a folder of the caller's when asked (for a CI cache, a later
//! job, or another machine's `run --pkg`).

use std::path::PathBuf;

use crate::cancel::Cancel;
use crate::exec::build;
use crate::exit::{Ended, ResultExt, could_not_run};

/// What `qbench build` builds from and where the package goes.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// The qbench checkout to build from [default: the nearest one at or above the working directory].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Also copy the package here: qbench_wasm.js, qbench_wasm_bg.wasm, qbench_cpu.js, qbench_cpu_bg.wasm, weights.safetensors, digits.safetensors, how it was built (build.txt, wasm-opt.txt and their cpu- twins) and sizes.json. Without it the package stays in the checkout's target/qbench-pkg.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `qbench build`: prints what a browser downloads, then the folder.
pub fn run(args: &BuildArgs) -> anyhow::Result<Ended> {
    let root = build::checkout(args.root.as_deref()).bad_input()?;
    let mut package = build::ensure(&root, &Cancel::new()).map_err(could_not_run)?;
    if let Some(out) = &args.out {
        package = build::copy_package(&package, out).map_err(could_not_run)?;
    }
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
