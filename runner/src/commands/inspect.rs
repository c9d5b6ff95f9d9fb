//! `qbench inspect`: per-layer quantization table for every precision,
//! `int8-compute`'s activation scales with each layer's error against
//! float32, and an export of every tensor as `.npy` for checking against
//! other implementations.

use std::path::{Path, PathBuf};

use anyhow::Context;
use qbench_core::Precision;
use qbench_model::integer::calibrate::float_activations;
use qbench_model::integer::{self, IntegerNet};
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
            let (signal, noise, max_err) = error(orig, deq);
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
                sqnr_db: sqnr(signal, noise),
            });
        }
    }
    Ok(out)
}

/// Held-out digits `inspect` compares `int8-compute`'s activations on.
pub const ACTIVATION_DIGITS: usize = 200;

/// One activation tensor of `int8-compute` against float32's.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRow {
    /// The layer whose output it is.
    pub layer: &'static str,
    /// Its int8 scale (`None` for the logits, which are dequantized).
    pub scale: Option<f32>,
    /// The largest float32 value over the digits.
    pub float_max: f32,
    /// Largest |float32 − dequantized int8|.
    pub max_abs_error: f64,
    /// 10·log10(Σf² / Σ(f − q)²), dB.
    pub sqnr_db: f64,
}

/// A layer's name, int8 scale, float32 output and dequantized integer output.
type Layer<'a> = (&'static str, Option<f32>, &'a [f32], Vec<f32>);

/// `int8-compute`'s layers on the first [`ACTIVATION_DIGITS`] held-out
/// digits, each against the float32 network's output there.
pub fn activation_rows(weights: &Weights, pixels: &[f32]) -> Vec<ActivationRow> {
    let scales = integer::calibration();
    let int = IntegerNet::new(weights, scales).activations(pixels);
    let float = float_activations(weights, pixels);
    let dequantized = |codes: &[integer::kernel::Code], scale: f32| -> Vec<f32> {
        codes.iter().map(|&c| f32::from(c) * scale).collect()
    };
    let layers: [Layer; 4] = [
        (
            "conv1",
            Some(scales.conv1),
            &float.conv1,
            dequantized(&int.conv1, scales.conv1),
        ),
        (
            "conv2",
            Some(scales.conv2),
            &float.conv2,
            dequantized(&int.conv2, scales.conv2),
        ),
        (
            "fc1",
            Some(scales.fc1),
            &float.fc1,
            dequantized(&int.fc1, scales.fc1),
        ),
        ("fc2 (logits)", None, &float.logits, int.logits),
    ];
    layers
        .into_iter()
        .map(|(layer, scale, float, quantized)| {
            let (signal, noise, max_abs_error) = error(float, &quantized);
            ActivationRow {
                layer,
                scale,
                float_max: float.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                max_abs_error,
                sqnr_db: sqnr(signal, noise),
            }
        })
        .collect()
}

/// Σw², Σ(w − q)² and the largest |w − q|.
fn error(reference: &[f32], quantized: &[f32]) -> (f64, f64, f64) {
    reference
        .iter()
        .zip(quantized)
        .fold((0.0, 0.0, 0.0), |(s, n, m), (&w, &q)| {
            let e = f64::from(w) - f64::from(q);
            (s + f64::from(w).powi(2), n + e * e, f64::max(m, e.abs()))
        })
}

/// 10·log10(signal / noise), dB; infinite without noise.
fn sqnr(signal: f64, noise: f64) -> f64 {
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// Formats the activation rows as a table, with where the scales came from.
pub fn activation_table(rows: &[ActivationRow]) -> String {
    let calibration = integer::calibration_file();
    let mut out = format!(
        "\nint8-compute activations: scales calibrated on {} training digits ({}); \
         input scale {:.4e}; error against float32 on {} held-out digits\n",
        calibration.digits, calibration.method, calibration.scales.input, ACTIVATION_DIGITS
    );
    out.push_str(&format!(
        "{:<13} {:>12} {:>12} {:>12} {:>9}\n",
        "layer", "scale", "float max", "max |err|", "SQNR dB"
    ));
    for r in rows {
        out.push_str(&format!(
            "{:<13} {:>12} {:>12.4} {:>12.4e} {:>9.2}\n",
            r.layer,
            r.scale.map_or("–".into(), |s| format!("{s:.4e}")),
            r.float_max,
            r.max_abs_error,
            r.sqnr_db
        ));
    }
    out
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
    let digits = assets::digits().context("loading the shipped held-out digits")?;
    let pixels = digits.pixels(0, ACTIVATION_DIGITS.min(digits.len()));
    print!("{}", activation_table(&activation_rows(&weights, &pixels)));
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

    #[test]
    fn int8_compute_activations_have_their_scales_and_small_errors() {
        let w = assets::weights().unwrap();
        let pixels = assets::digits().unwrap().pixels(0, 20);
        let rows = activation_rows(&w, &pixels);
        let scales = integer::calibration();
        let names: Vec<_> = rows.iter().map(|r| r.layer).collect();
        assert_eq!(names, ["conv1", "conv2", "fc1", "fc2 (logits)"]);
        assert_eq!(
            rows.iter().map(|r| r.scale).collect::<Vec<_>>(),
            [
                Some(scales.conv1),
                Some(scales.conv2),
                Some(scales.fc1),
                None
            ]
        );
        for r in &rows {
            // Within a few quantization steps, and far above noise.
            assert!(r.sqnr_db > 20.0, "{}: {:.1} dB", r.layer, r.sqnr_db);
            if let Some(scale) = r.scale {
                assert!(
                    r.max_abs_error < 8.0 * f64::from(scale),
                    "{}: {:e}",
                    r.layer,
                    r.max_abs_error
                );
                // The calibrated range covers these digits' values (or nearly).
                assert!(r.float_max <= 1.2 * 127.0 * scale, "{}", r.layer);
            }
        }
        let table = activation_table(&rows);
        assert!(table.contains("8000 training digits"), "{table}");
    }
}
