//! Estimated weight memory: parameters × bytes per weight, with int8 scales apart.

use serde::{Deserialize, Serialize};

use crate::precision::Precision;
use crate::quantize::ParamRole;

/// Bytes of one int8 scale (a float32).
pub const SCALE_BYTES: u64 = 4;

/// The estimated storage of a network's parameters at one precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightMemory {
    /// Number of parameters (weights and biases).
    pub parameters: u64,
    /// Parameters × bytes per weight, bytes.
    pub estimated_weight_bytes: u64,
    /// Number of int8 scales (0 for float precisions).
    pub scales: u64,
    /// Scales × 4, bytes; reported apart from the weights.
    pub estimated_scale_bytes: u64,
}

/// The number of scales a tensor of this role and shape gets at `precision`.
pub fn scale_count(precision: Precision, role: ParamRole, shape: &[usize]) -> u64 {
    match precision {
        Precision::Int8 => 1,
        Precision::Int8Native => u64::from(Precision::stores_int8(role, shape)),
        Precision::Int8Compute if role == ParamRole::Bias => 0,
        Precision::Int8Channel | Precision::Int8Compute => role
            .channel_axis()
            .and_then(|axis| shape.get(axis))
            .map_or(1, |&channels| channels as u64),
        _ => 0,
    }
}

/// Bytes one weight of this tensor takes at `precision`: `int8-native` keeps
/// the tensors it cannot pack in float32 ([`Precision::stores_int8`]).
fn bytes_per_weight(precision: Precision, role: ParamRole, shape: &[usize]) -> u64 {
    match precision {
        Precision::Int8Native if !Precision::stores_int8(role, shape) => 4,
        // int32 biases.
        Precision::Int8Compute if role == ParamRole::Bias => 4,
        _ => precision.bytes_per_weight(),
    }
}

/// Estimates the weight memory of the given parameter tensors at `precision`.
pub fn estimate<'a>(
    tensors: impl IntoIterator<Item = (ParamRole, &'a [usize])>,
    precision: Precision,
) -> WeightMemory {
    let mut parameters = 0;
    let mut bytes = 0;
    let mut scales = 0;
    for (role, shape) in tensors {
        let n = shape.iter().product::<usize>() as u64;
        parameters += n;
        bytes += n * bytes_per_weight(precision, role, shape);
        scales += scale_count(precision, role, shape);
    }
    WeightMemory {
        parameters,
        estimated_weight_bytes: bytes,
        scales,
        estimated_scale_bytes: scales * SCALE_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: [(ParamRole, &[usize]); 4] = [
        (ParamRole::ConvWeight, &[32, 1, 3, 3]),
        (ParamRole::Bias, &[32]),
        (ParamRole::DenseWeight, &[3136, 128]),
        (ParamRole::Bias, &[128]),
    ];

    #[test]
    fn weights_times_bytes() {
        let params = 288 + 32 + 3136 * 128 + 128;
        let m = estimate(NET, Precision::F16);
        assert_eq!(m.parameters, params);
        assert_eq!(m.estimated_weight_bytes, params * 2);
        assert_eq!(m.scales, 0);
        assert_eq!(
            estimate(NET, Precision::F32).estimated_weight_bytes,
            params * 4
        );
    }

    #[test]
    fn int8_scales_are_counted_apart() {
        let per_tensor = estimate(NET, Precision::Int8);
        assert_eq!(per_tensor.scales, 4);
        assert_eq!(per_tensor.estimated_scale_bytes, 16);
        let per_channel = estimate(NET, Precision::Int8Channel);
        assert_eq!(per_channel.scales, 32 + 1 + 128 + 1);
        assert_eq!(per_channel.estimated_scale_bytes, (32 + 1 + 128 + 1) * 4);
        assert_eq!(
            per_channel.estimated_weight_bytes,
            per_tensor.estimated_weight_bytes
        );
    }

    #[test]
    fn int8_compute_has_channel_scales_and_int32_biases() {
        let m = estimate(NET, Precision::Int8Compute);
        assert_eq!(m.scales, 32 + 128);
        assert_eq!(m.estimated_weight_bytes, 288 + 3136 * 128 + 4 * (32 + 128));
    }

    #[test]
    fn int8_native_counts_what_it_keeps_in_float32() {
        let net: [(ParamRole, &[usize]); 3] = [
            (ParamRole::ConvWeight, &[32, 1, 3, 3]),
            (ParamRole::Bias, &[32]),
            (ParamRole::DenseWeight, &[128, 10]),
        ];
        let m = estimate(net, Precision::Int8Native);
        assert_eq!(m.parameters, 288 + 32 + 1280);
        assert_eq!(m.estimated_weight_bytes, 288 + 4 * (32 + 1280));
        assert_eq!((m.scales, m.estimated_scale_bytes), (1, 4));
    }
}
