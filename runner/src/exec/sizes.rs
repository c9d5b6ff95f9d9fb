//! What a browser downloads: each file of the package raw, gzipped and
//! brotli-compressed, as a web server would send it. Compressing the 18 MB
//! module takes tens of seconds, so the sizes are kept beside the package in
//! `sizes.json`, keyed by each file's length and modification time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use qbench_core::schema::ServedFile;
use serde::{Deserialize, Serialize};

/// The files of a package a page loads, in the order they are listed.
pub const SERVED: [&str; 8] = [
    "qbench_wasm_bg.wasm",
    "qbench_wasm.js",
    "qbench_cpu_bg.wasm",
    "qbench_cpu.js",
    "qbench_cpu_relaxed_bg.wasm",
    "qbench_cpu_relaxed.js",
    qbench_model::assets::FILES[0].0,
    qbench_model::assets::FILES[1].0,
];

/// Whether a package may lack file `name`: the relaxed-SIMD module, which
/// packages built before it do not have (their pages run every CPU cell on
/// `qbench_cpu`).
pub fn optional(name: &str) -> bool {
    name.starts_with("qbench_cpu_relaxed")
}

/// The cache file in the package folder.
const CACHE: &str = "sizes.json";

/// gzip's best level, as `gzip -9`.
const GZIP_LEVEL: u32 = 9;
/// brotli's best quality, as static pre-compression uses.
const BROTLI_QUALITY: u32 = 11;
/// brotli's window: 2^22 bytes, the most browsers' decoders are guaranteed to accept.
const BROTLI_WINDOW: u32 = 22;

/// A cached entry: valid while the file has this length and modification time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    len: u64,
    modified_ns: u128,
    file: ServedFile,
}

/// Sizes of the files `names` below `dir` (a package's: [`SERVED`]), from the
/// cache where it is current, otherwise measured (and the cache rewritten when
/// the folder is writable).
pub fn served(dir: &Path, names: &[&str]) -> anyhow::Result<Vec<ServedFile>> {
    let cache_path = dir.join(CACHE);
    let mut cache: BTreeMap<String, Entry> = std::fs::read(&cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut changed = false;
    let mut files = Vec::new();
    for &name in names {
        let path = dir.join(name);
        if optional(name) && !path.exists() {
            continue;
        }
        let meta = std::fs::metadata(&path).with_context(|| format!("no {}", path.display()))?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let current = cache
            .get(name)
            .filter(|e| e.len == meta.len() && e.modified_ns == modified_ns);
        let file = match current {
            Some(e) => e.file.clone(),
            None => {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let file = measure(name, &bytes)?;
                cache.insert(
                    name.to_string(),
                    Entry {
                        len: meta.len(),
                        modified_ns,
                        file: file.clone(),
                    },
                );
                changed = true;
                file
            }
        };
        files.push(file);
    }
    if changed {
        // A read-only package folder (`--pkg` on a shared path) is measured every time.
        let _ = serde_json::to_vec_pretty(&cache).map(|b| std::fs::write(&cache_path, b));
    }
    Ok(files)
}

/// `bytes` raw, after gzip level 9 and after brotli quality 11.
pub fn measure(name: &str, bytes: &[u8]) -> anyhow::Result<ServedFile> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    gz.write_all(bytes)?;
    let gzip = gz.finish()?.len() as u64;
    let mut br = brotli::CompressorWriter::new(Vec::new(), 1 << 16, BROTLI_QUALITY, BROTLI_WINDOW);
    br.write_all(bytes)?;
    br.flush()?;
    let brotli = br.into_inner().len() as u64;
    Ok(ServedFile {
        name: name.to_string(),
        raw: bytes.len() as u64,
        gzip,
        brotli,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compressed_sizes_are_what_decompresses_back() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("cell {} ", i % 97).into_bytes())
            .collect();
        let f = measure("t.js", &text).unwrap();
        assert_eq!(f.raw, text.len() as u64);
        assert!(f.gzip < f.raw / 5 && f.brotli < f.gzip, "{f:?}");
        // The counted bytes are a real stream of each format.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
        gz.write_all(&text).unwrap();
        let stream = gz.finish().unwrap();
        assert_eq!(stream.len() as u64, f.gzip);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&stream[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn sizes_are_cached_until_a_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SERVED[0]), vec![7u8; 5000]).unwrap();
        for name in &SERVED[1..] {
            std::fs::write(dir.path().join(name), b"export default 1;\n").unwrap();
        }
        let first = served(dir.path(), &SERVED).unwrap();
        assert_eq!(first[0].raw, 5000);
        assert_eq!(first[1].name, "qbench_wasm.js");
        assert!(dir.path().join(CACHE).exists());
        // A forged cache entry for the current file is believed: no recompression.
        let mut cache: BTreeMap<String, Entry> =
            serde_json::from_slice(&std::fs::read(dir.path().join(CACHE)).unwrap()).unwrap();
        cache.get_mut(SERVED[0]).unwrap().file.gzip = 1;
        std::fs::write(dir.path().join(CACHE), serde_json::to_vec(&cache).unwrap()).unwrap();
        assert_eq!(served(dir.path(), &SERVED).unwrap()[0].gzip, 1);
        // A changed file is measured again.
        std::fs::write(dir.path().join(SERVED[0]), vec![7u8; 6000]).unwrap();
        let again = served(dir.path(), &SERVED).unwrap();
        assert_eq!(again[0].raw, 6000);
        assert!(again[0].gzip > 1);
    }
}
