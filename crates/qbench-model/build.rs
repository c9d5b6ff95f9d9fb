//! Records the SHA-256 of the shipped weights and digits, so a build that does
//! not embed them can check the bytes a page fetched against the ones it was
//! built for; and sets `cfg(webgpu_kernels)` where qbench's own WebGPU kernels
//! are compiled in, `cfg(relaxed_simd)` where the integer kernels use relaxed
//! SIMD.

use sha2::{Digest, Sha256};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    kernels_cfg();
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut consts = String::new();
    for (name, file) in [
        ("WEIGHTS_SHA256", "assets/weights.safetensors"),
        ("DIGITS_SHA256", "assets/digits.safetensors"),
    ] {
        println!("cargo:rerun-if-changed={file}");
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("reading {file}: {e}"));
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        consts.push_str(&format!(
            "/// SHA-256 of `{file}`, hex.\npub const {name}: &str = \"{hex}\";\n"
        ));
    }
    std::fs::write(out.join("asset_hashes.rs"), consts).expect("writing asset_hashes.rs");
}

/// `cfg(webgpu_kernels)`: the browser build with the `webgpu-kernels` feature
/// and without `fusion`, whose tensors the kernels do not read (`fused.rs`).
fn kernels_cfg() {
    println!("cargo::rustc-check-cfg=cfg(webgpu_kernels)");
    let wasm = std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f == "wasm");
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    if wasm && feature("WEBGPU_KERNELS") && !feature("FUSION") {
        println!("cargo::rustc-cfg=webgpu_kernels");
    }
    // The wasm build with the `relaxed-simd` feature (the
    // `qbench_cpu_relaxed` module).
    println!("cargo::rustc-check-cfg=cfg(relaxed_simd)");
    if wasm && feature("RELAXED_SIMD") {
        println!("cargo::rustc-cfg=relaxed_simd");
    }
}
