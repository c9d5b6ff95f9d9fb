//! `qbench build`: the browser package, built when stale, and its sizes.

use std::path::Path;

use crate::cancel::Cancel;
use crate::exec::build;
use crate::exit::{Ended, could_not_run};

/// Runs `qbench build`: prints what a browser downloads, then the folder.
pub fn run(root: &Path) -> anyhow::Result<Ended> {
    let package = build::ensure(root, &Cancel::new()).map_err(could_not_run)?;
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
