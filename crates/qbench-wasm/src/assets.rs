//! The weights and held-out digits a cell runs on: the files the page fetched
//! and handed over ([`provide`], each checked against the SHA-256 this module
//! was built with), else the ones compiled in (native builds and the tests).

use std::sync::OnceLock;

use qbench_model::assets::{self, FILES};
use qbench_model::{Digits, Weights};

/// The fetched bytes of each of [`FILES`], in that order.
static PROVIDED: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

/// Takes the fetched files (in the order of [`FILES`]) after checking each hash;
/// a second call with the same files changes nothing.
pub fn provide(files: Vec<Vec<u8>>) -> Result<(), String> {
    if files.len() != FILES.len() {
        return Err(format!(
            "expected {} files ({}), got {}",
            FILES.len(),
            FILES.map(|(name, _)| name).join(", "),
            files.len()
        ));
    }
    for ((name, hash), bytes) in FILES.iter().zip(&files) {
        assets::check(name, bytes, hash).map_err(|e| e.to_string())?;
    }
    let _ = PROVIDED.set(files);
    Ok(())
}

/// The bytes of file `index` of [`FILES`]: fetched, or compiled in.
fn bytes(index: usize) -> Result<&'static [u8], String> {
    let name = FILES[index].0;
    PROVIDED
        .get()
        .map(|files| files[index].as_slice())
        .or_else(|| assets::embedded(name))
        .ok_or_else(|| {
            format!("{name} was not loaded: the page hands the module its files (`loadAssets`) before any cell")
        })
}

/// The shipped float32 weights.
pub fn weights() -> Result<Weights, String> {
    Weights::from_safetensors(bytes(0)?).map_err(|e| e.to_string())
}

/// The shipped held-out digits.
pub fn digits() -> Result<Digits, String> {
    Digits::from_safetensors(bytes(1)?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_with_the_wrong_bytes_are_refused_by_name() {
        let err = provide(vec![b"weights?".to_vec(), b"digits?".to_vec()]).unwrap_err();
        assert!(err.starts_with("weights.safetensors: SHA-256"), "{err}");
        assert_eq!(
            provide(vec![]).unwrap_err(),
            "expected 2 files (weights.safetensors, digits.safetensors), got 0"
        );
        // Nothing was taken: the compiled-in files still answer.
        assert!(PROVIDED.get().is_none());
        assert_eq!(weights().unwrap(), qbench_model::assets::weights().unwrap());
    }
}
