//! Records the SHA-256 of the shipped weights and digits, so a build that does
//! not embed them can check the bytes a page fetched against the ones it was
//! built for.

use sha2::{Digest, Sha256};

fn main() {
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
