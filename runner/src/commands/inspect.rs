//! `qbench inspect`: per-layer quantization table for every precision, and an
//! export of every tensor as `.npy` for checking against other implementations.

use std::path::{Path, PathBuf};

use anyhow::Context;
use qbench_core::Precision;
use qbench_model::{Weights, assets};

use crate::report::npy;

/// Arguments of `qbench inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// Write `DIR/<tensor>/f32.npy` and `DIR/<tensor>/<precision>.npy` (f16, int8, int8-channel).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
}

/// Precisions `inspect` reports: the host-side quantizers.
const PRECISIONS: [Precision; 3] = [Precision::F16, Precision::Int8, Precision::Int8Channel];

/// One tensor at one precision.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    /// Tensor name.
    pub tensor: &'static str,
    /// Precision.
    pub precision: Precision,
    /// Parameters.
    pub parameters: u64,
    /// Parameters × bytes per weight.
    pub bytes: u64,
    /// Smallest and largest int8 scale (equal for per-tensor), if any.
    pub scale_range: Option<(f32, f32)>,
    /// Largest |w − q(w)|.
    pub max_abs_error: f64,
    /// 10·log10(Σw² / Σ(w − q(w))²), dB; infinite when there is no error.
    pub sqnr_db: f64,
}

/// The rows for every tensor × precision.
pub fn rows(weights: &Weights) -> anyhow::Result<Vec<LayerRow>> {
    let mut out = Vec::new();
    for precision in std::iter::once(Precision::F32).chain(PRECISIONS) {
        let q = weights.quantized(precision)?;
        for (((spec, orig), (_, deq)), scales) in
            weights.iter().zip(q.weights.iter()).zip(&q.scales)
        {
            let (signal, noise, max_err) =
                orig.iter()
                    .zip(deq)
                    .fold((0.0f64, 0.0f64, 0.0f64), |(s, n, m), (&w, &d)| {
                        let e = f64::from(w) - f64::from(d);
                        (s + f64::from(w).powi(2), n + e * e, m.max(e.abs()))
                    });
            let parameters = orig.len() as u64;
            out.push(LayerRow {
                tensor: spec.name,
                precision,
                parameters,
                bytes: parameters * precision.bytes_per_weight(),
                scale_range: (!scales.is_empty()).then(|| {
                    scales
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
                            (lo.min(s), hi.max(s))
                        })
                }),
                max_abs_error: max_err,
                sqnr_db: if noise == 0.0 {
                    f64::INFINITY
                } else {
                    10.0 * (signal / noise).log10()
                },
            });
        }
    }
    Ok(out)
}

/// Formats the rows as a table.
pub fn table(rows: &[LayerRow]) -> String {
    let mut out = format!(
        "{:<13} {:<13} {:>10} {:>10} {:>25} {:>12} {:>9}\n",
        "tensor", "precision", "params", "bytes", "scale (range)", "max |err|", "SQNR dB"
    );
    for r in rows {
        let scale = match r.scale_range {
            None => "–".to_string(),
            Some((lo, hi)) if lo == hi => format!("{lo:.4e}"),
            Some((lo, hi)) => format!("{lo:.3e} – {hi:.3e}"),
        };
        out.push_str(&format!(
            "{:<13} {:<13} {:>10} {:>10} {:>25} {:>12.4e} {:>9.2}\n",
            r.tensor,
            r.precision.name(),
            r.parameters,
            r.bytes,
            scale,
            r.max_abs_error,
            r.sqnr_db
        ));
    }
    out
}

/// Writes every tensor: the trained value and each precision's dequantized value.
pub fn export(weights: &Weights, dir: &Path) -> anyhow::Result<usize> {
    let mut written = 0;
    let quantized = PRECISIONS
        .iter()
        .map(|&p| Ok((p, weights.quantized(p)?.weights)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (spec, values) in weights.iter() {
        let tensor_dir = dir.join(spec.name);
        std::fs::create_dir_all(&tensor_dir)
            .with_context(|| format!("creating {}", tensor_dir.display()))?;
        let mut files = vec![("f32".to_string(), values.to_vec())];
        for (p, q) in &quantized {
            files.push((p.name().to_string(), q.tensor(spec.name).1.to_vec()));
        }
        for (name, values) in files {
            let path = tensor_dir.join(format!("{name}.npy"));
            std::fs::write(&path, npy::to_bytes(spec.shape, &values))
                .with_context(|| format!("writing {}", path.display()))?;
            written += 1;
        }
    }
    Ok(written)
}

/// Runs `qbench inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let weights = assets::weights().context("loading the shipped weights")?;
    print!("{}", table(&rows(&weights)?));
    if let Some(dir) = &args.export {
        let n = export(&weights, dir)?;
        eprintln!("wrote {n} .npy files under {}", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_rows_have_no_error() {
        let w = assets::weights().unwrap();
        let rows = rows(&w).unwrap();
        assert_eq!(rows.len(), 8 * 4);
        let f32_rows: Vec<_> = rows
            .iter()
            .filter(|r| r.precision == Precision::F32)
            .collect();
        assert!(f32_rows.iter().all(|r| r.max_abs_error == 0.0
            && r.sqnr_db == f64::INFINITY
            && r.scale_range.is_none()));
        let fc1_channel = rows
            .iter()
            .find(|r| r.tensor == "fc1.weight" && r.precision == Precision::Int8Channel)
            .unwrap();
        assert_eq!(fc1_channel.bytes, 3136 * 128);
        let (lo, hi) = fc1_channel.scale_range.unwrap();
        assert!(lo < hi, "per-channel scales differ across 128 channels");
        // Per-channel never has a larger worst-case error than per-tensor on the same tensor.
        let fc1_tensor = rows
            .iter()
            .find(|r| r.tensor == "fc1.weight" && r.precision == Precision::Int8)
            .unwrap();
        assert!(fc1_channel.max_abs_error <= fc1_tensor.max_abs_error);
    }
}
