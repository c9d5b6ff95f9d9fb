//! Weight quantizers: quantize a float32 tensor and dequantize it back, exactly.
//!
//! Conventions (the README's "Quantizers" section explains why):
//! - f16: IEEE binary16 via the `half` crate, round to nearest even, subnormals kept;
//!   values beyond ±65504 saturate to ±65504 before rounding; NaN stays NaN.
//! - int8: `scale = max|w| / 127` in f32 (1 for an all-zero tensor);
//!   `q = clamp(round(w / scale), -128, 127)` with round half away from zero
//!   (`f32::round`, TFLite's convention); value = `q × scale` in f32.

use serde::{Deserialize, Serialize};

/// The largest finite binary16 value.
pub const F16_MAX: f32 = 65504.0;

/// What a parameter tensor is, which decides its per-channel axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamRole {
    /// Convolution kernel, burn layout `[out, in, kh, kw]`: channels on axis 0.
    ConvWeight,
    /// Dense (linear) weight, burn layout `[in, out]`: channels on axis 1.
    DenseWeight,
    /// Bias vector: always one scale per tensor.
    Bias,
}

impl ParamRole {
    /// The axis that indexes output channels, if the tensor is quantized per channel.
    pub fn channel_axis(self) -> Option<usize> {
        match self {
            ParamRole::ConvWeight => Some(0),
            ParamRole::DenseWeight => Some(1),
            ParamRole::Bias => None,
        }
    }
}

/// A tensor after quantize → dequantize.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// Dequantized values, same layout as the input.
    pub values: Vec<f32>,
    /// int8 scales: one per tensor, or one per channel in channel order; empty for floats.
    pub scales: Vec<f32>,
}

impl Quantized {
    pub(crate) fn unscaled(values: Vec<f32>) -> Self {
        Self {
            values,
            scales: Vec::new(),
        }
    }
}

/// Why a tensor could not be quantized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// The value count does not match the shape.
    #[error("tensor has {values} values but its shape {shape:?} holds a different number")]
    ShapeMismatch {
        /// Number of values given.
        values: usize,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// The channel axis is outside the shape.
    #[error("channel axis {axis} is outside shape {shape:?}")]
    AxisOutOfRange {
        /// Requested axis.
        axis: usize,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// int8 has no code for NaN or infinity.
    #[error("cannot quantize {value} at index {index} to int8: not finite")]
    NonFinite {
        /// Flat index of the value.
        index: usize,
        /// The value.
        value: f32,
    },
}

pub(crate) fn check_shape(values: &[f32], shape: &[usize]) -> Result<(), QuantError> {
    if shape.iter().product::<usize>() != values.len() {
        return Err(QuantError::ShapeMismatch {
            values: values.len(),
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// Rounds to binary16 and back: nearest even, saturating at ±65504, NaN kept.
pub fn round_f16(value: f32) -> f32 {
    if value.is_nan() {
        return value;
    }
    half::f16::from_f32(value.clamp(-F16_MAX, F16_MAX)).to_f32()
}

/// The int8 scale of a group of values: `max|w| / 127`, or 1 when all are zero.
pub fn int8_scale(values: impl IntoIterator<Item = f32>) -> f32 {
    let max_abs = values.into_iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max_abs == 0.0 { 1.0 } else { max_abs / 127.0 }
}

/// The int8 code of one value: `clamp(round(w / scale), -128, 127)`, ties away from zero.
pub fn int8_code(value: f32, scale: f32) -> i8 {
    // The clamp makes the cast exact; -0.0 becomes the integer 0.
    (value / scale).round().clamp(-128.0, 127.0) as i8
}

fn check_finite(values: &[f32]) -> Result<(), QuantError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(QuantError::NonFinite {
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Symmetric int8 with one scale for the whole tensor.
pub fn int8_per_tensor(values: &[f32]) -> Result<Quantized, QuantError> {
    check_finite(values)?;
    let scale = int8_scale(values.iter().copied());
    let values = values
        .iter()
        .map(|&v| f32::from(int8_code(v, scale)) * scale)
        .collect();
    Ok(Quantized {
        values,
        scales: vec![scale],
    })
}

/// Symmetric int8 with one scale per index of `axis`.
pub fn int8_per_channel(
    values: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<Quantized, QuantError> {
    let codes = Int8Codes::per_channel(values, shape, axis)?;
    let values = codes
        .codes
        .iter()
        .enumerate()
        .map(|(i, &q)| f32::from(q) * codes.scales[codes.channel_of(i)])
        .collect();
    Ok(Quantized {
        values,
        scales: codes.scales,
    })
}

/// A tensor's int8 codes with one scale per index of an axis: what
/// [`int8_per_channel`] dequantizes, and what `int8-compute` multiplies.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Codes {
    /// One code per value, same layout as the input.
    pub codes: Vec<i8>,
    /// One scale per channel.
    pub scales: Vec<f32>,
    /// Values per step of the channel index (the product of the later dimensions).
    inner: usize,
}

impl Int8Codes {
    /// Symmetric int8 codes of `values` (shape `shape`), one scale per index of `axis`.
    pub fn per_channel(values: &[f32], shape: &[usize], axis: usize) -> Result<Self, QuantError> {
        check_shape(values, shape)?;
        check_finite(values)?;
        let channels = *shape.get(axis).ok_or_else(|| QuantError::AxisOutOfRange {
            axis,
            shape: shape.to_vec(),
        })?;
        let inner: usize = shape[axis + 1..].iter().product();
        let mut max_abs = vec![0.0f32; channels];
        for (i, v) in values.iter().enumerate() {
            let m = &mut max_abs[(i / inner) % channels];
            *m = m.max(v.abs());
        }
        let scales: Vec<f32> = max_abs.into_iter().map(|m| int8_scale([m])).collect();
        let codes = values
            .iter()
            .enumerate()
            .map(|(i, &v)| int8_code(v, scales[(i / inner) % channels]))
            .collect();
        Ok(Self {
            codes,
            scales,
            inner,
        })
    }

    /// The channel of the `i`-th value.
    pub fn channel_of(&self, i: usize) -> usize {
        (i / self.inner) % self.scales.len()
    }
}

/// The scale of each activation tensor `int8-compute` quantizes, calibrated
/// on the training digits: the largest value the float32 network's tensor
/// takes over them, divided by 127. Every one of them follows a ReLU (the
/// images are in [0, 1]), so their codes are 0 to 127.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActivationScales {
    /// The images.
    pub input: f32,
    /// conv1's output after its pool and ReLU.
    pub conv1: f32,
    /// conv2's output after its pool and ReLU.
    pub conv2: f32,
    /// fc1's output after its ReLU.
    pub fc1: f32,
}

impl ActivationScales {
    /// The scales in network order, with their tensors' names.
    pub fn named(&self) -> [(&'static str, f32); 4] {
        [
            ("input", self.input),
            ("conv1", self.conv1),
            ("conv2", self.conv2),
            ("fc1", self.fc1),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn f16_rounds_to_nearest_even_on_ties() {
        // Between 1 and 2 binary16 steps by 2^-10; 1 + 2^-11 is a tie between 1 and 1 + 2^-10.
        let step = 2f32.powi(-10);
        assert_eq!(round_f16(1.0 + step / 2.0), 1.0); // tie, 1.0 has even mantissa
        assert_eq!(round_f16(1.0 + 3.0 * step / 2.0), 1.0 + 2.0 * step); // tie, rounds up to even
        assert_eq!(round_f16(-(1.0 + step / 2.0)), -1.0);
        assert_eq!(round_f16(1.0 + step / 2.0 + 1e-7), 1.0 + step); // just above the tie
        assert_eq!(round_f16(0.1), 0.099975586);
        assert_eq!(round_f16(-0.1), -0.099975586);
    }

    #[test]
    fn f16_zeros_and_subnormals() {
        assert_eq!(round_f16(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(round_f16(-0.0).to_bits(), (-0.0f32).to_bits());
        let min_sub = 2f32.powi(-24); // smallest binary16 subnormal
        assert_eq!(round_f16(min_sub), min_sub);
        assert_eq!(round_f16(3.0 * min_sub), 3.0 * min_sub);
        assert_eq!(round_f16(min_sub / 2.0), 0.0); // tie to even (zero)
        assert_eq!(round_f16(min_sub * 0.75), min_sub);
        assert_eq!(round_f16(min_sub * 1.5), 2.0 * min_sub); // tie to even
        assert_eq!(round_f16(f32::MIN_POSITIVE), 0.0); // f32 normal, far below binary16
    }

    #[test]
    fn f16_saturates_beyond_max() {
        assert_eq!(round_f16(65504.0), 65504.0);
        assert_eq!(round_f16(65519.0), 65504.0);
        assert_eq!(round_f16(65520.0), 65504.0); // half would give +inf here
        assert_eq!(round_f16(1e9), 65504.0);
        assert_eq!(round_f16(-1e9), -65504.0);
        assert_eq!(round_f16(f32::INFINITY), 65504.0);
        assert_eq!(round_f16(f32::NEG_INFINITY), -65504.0);
        assert_eq!(round_f16(65500.0), 65504.0);
    }

    #[test]
    fn f16_keeps_nan() {
        assert!(round_f16(f32::NAN).is_nan());
    }

    #[test]
    fn int8_hand_computed() {
        // max|w| = 2.54 → scale = 2.54 / 127 (0.02 up to f32 rounding).
        let v = [2.54f32, -2.54, 0.0, -1.0, 1.0, 0.004];
        let q = int8_per_tensor(&v).unwrap();
        let scale = 2.54f32 / 127.0;
        assert_eq!(q.scales, vec![scale]);
        let codes: Vec<i8> = v.iter().map(|&w| int8_code(w, scale)).collect();
        assert_eq!(codes, vec![127, -127, 0, -50, 50, 0]);
        assert_eq!(
            bits(&q.values),
            bits(&[
                127.0 * scale,
                -127.0 * scale,
                0.0,
                -50.0 * scale,
                50.0 * scale,
                0.0
            ])
        );
    }

    #[test]
    fn int8_ties_round_away_from_zero() {
        // scale = 127/127 = 1 exactly, so w / scale is exact.
        let v = [127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997];
        let q = int8_per_tensor(&v).unwrap();
        assert_eq!(q.scales, vec![1.0]);
        assert_eq!(q.values, vec![127.0, 1.0, 2.0, 3.0, -1.0, -2.0, -3.0, 0.0]);
    }

    #[test]
    fn int8_negative_zero_becomes_positive_zero() {
        let q = int8_per_tensor(&[1.0, -0.0, -0.001]).unwrap();
        assert_eq!(q.values[1].to_bits(), 0.0f32.to_bits());
        assert_eq!(q.values[2].to_bits(), 0.0f32.to_bits());
    }

    #[test]
    fn int8_all_zero_tensor_has_scale_one() {
        let q = int8_per_tensor(&[0.0, -0.0, 0.0]).unwrap();
        assert_eq!(q.scales, vec![1.0]);
        assert_eq!(bits(&q.values), bits(&[0.0, 0.0, 0.0]));
    }

    #[test]
    fn int8_clamps_to_code_range() {
        assert_eq!(int8_code(-200.0, 1.0), -128);
        assert_eq!(int8_code(200.0, 1.0), 127);
        assert_eq!(int8_code(-127.5, 1.0), -128);
    }

    #[test]
    fn int8_subnormal_tensor_has_a_coarse_scale() {
        // 1000 ulp / 127 = 7.87 ulp rounds to a scale of 8 ulp: the code is 125, not 127,
        // and the value comes back exactly.
        let tiny = f32::from_bits(1000);
        let q = int8_per_tensor(&[tiny, -tiny, f32::from_bits(4)]).unwrap();
        assert_eq!(q.scales[0].to_bits(), 8);
        assert_eq!(int8_code(tiny, q.scales[0]), 125);
        assert_eq!(int8_code(f32::from_bits(4), q.scales[0]), 1); // 0.5 → away from zero
        assert_eq!(bits(&q.values), vec![1000, (-tiny).to_bits(), 8]);
    }

    #[test]
    fn int8_rejects_nan_and_infinity() {
        assert_eq!(
            int8_per_tensor(&[1.0, f32::INFINITY]).unwrap_err(),
            QuantError::NonFinite {
                index: 1,
                value: f32::INFINITY
            }
        );
        assert!(matches!(
            int8_per_tensor(&[f32::NAN]),
            Err(QuantError::NonFinite { index: 0, .. })
        ));
    }

    #[test]
    fn int8_per_channel_conv_axis_0() {
        // [out=2, in=1, kh=1, kw=2]: channel 0 = {1, -0.5}, channel 1 = {254, 127}.
        let q = int8_per_channel(&[1.0, -0.5, 254.0, 127.0], &[2, 1, 1, 2], 0).unwrap();
        assert_eq!(q.scales, vec![1.0 / 127.0, 2.0]);
        assert_eq!(q.values[2..], [254.0, 128.0]); // 127/2 = 63.5 → 64 (away from zero)
        assert_eq!(q.values[0], 127.0 * (1.0 / 127.0));
        assert_eq!(q.values[1], -64.0 * (1.0 / 127.0)); // -63.5 → -64
    }

    #[test]
    fn int8_per_channel_dense_axis_1() {
        // burn's dense layout [in=2, out=3]: channel j is column j.
        let w = [1.0, 0.0, 127.0, -2.0, 0.0, 63.5];
        let q = int8_per_channel(&w, &[2, 3], 1).unwrap();
        assert_eq!(q.scales, vec![2.0 / 127.0, 1.0, 1.0]);
        assert_eq!(q.values[1], 0.0);
        assert_eq!(q.values[4], 0.0);
        assert_eq!(q.values[2], 127.0);
        assert_eq!(q.values[5], 64.0);
        assert_eq!(q.values[3], -127.0 * (2.0 / 127.0));
    }

    #[test]
    fn int8_per_channel_checks_axis() {
        assert_eq!(
            int8_per_channel(&[1.0], &[1], 1).unwrap_err(),
            QuantError::AxisOutOfRange {
                axis: 1,
                shape: vec![1]
            }
        );
    }
}
