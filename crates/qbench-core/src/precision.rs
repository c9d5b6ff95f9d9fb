//! The numeric precisions qbench compares, and what each costs per weight.

use crate::matrix::named_enum;
use crate::quantize::{self, ParamRole, QuantError, Quantized};

named_enum!(
    /// How the network's weights are stored and computed.
    ///
    /// The first four are *simulated*: every parameter tensor is quantized and
    /// dequantized back to float32 on the host, then the float32 network runs, so
    /// they measure the accuracy cost of the storage format. `f16-native` really
    /// computes in half precision on the device; `int8-native` really holds the
    /// weights as 8-bit integers on the device; `int8-compute` computes in
    /// integers.
    Precision, "precision", {
        /// Float32 weights as trained.
        F32 => "f32",
        /// Each weight rounded to IEEE binary16 (round to nearest even), saturating at ±65504.
        F16 => "f16",
        /// Symmetric int8 with one scale per tensor.
        Int8 => "int8",
        /// Symmetric int8 with one scale per output channel (biases: one per tensor).
        Int8Channel => "int8-channel",
        /// Float32 weights run with burn's F16 float type; needs `shader-f16` on WebGPU.
        F16Native => "f16-native",
        /// The integers of `int8` (one scale per tensor, the same rounding) held on
        /// the device as burn quantized tensors, 8 bits each, dequantized by the
        /// products that read them; the tensors [`Precision::stores_int8`] leaves
        /// out stay float32.
        Int8Native => "int8-native",
        /// The network in integer arithmetic (CPU): weights int8 with one scale
        /// per output channel (the codes of `int8-channel`), activations int8
        /// with one scale per tensor calibrated on the training digits, int8 ×
        /// int8 products summed in int32, biases in int32, fixed-point
        /// requantization, ReLU and max-pool on the integers; the logits are
        /// dequantized for the softmax.
        Int8Compute => "int8-compute",
    }
);

impl Precision {
    /// The precisions whose weights are quantized on the host and run in float32.
    pub const SIMULATED: &'static [Precision] = &[
        Precision::F32,
        Precision::F16,
        Precision::Int8,
        Precision::Int8Channel,
    ];

    /// Storage cost of one weight, bytes (int8 scales are counted separately).
    pub fn bytes_per_weight(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 | Precision::F16Native => 2,
            Precision::Int8
            | Precision::Int8Channel
            | Precision::Int8Native
            | Precision::Int8Compute => 1,
        }
    }

    /// Whether the weights are quantized on the host and the network runs in float32.
    pub fn is_simulated(self) -> bool {
        !matches!(
            self,
            Precision::F16Native | Precision::Int8Native | Precision::Int8Compute
        )
    }

    /// Whether `int8-native` holds this tensor as int8: weights whose output
    /// dimension (a conv's `out`, a dense layer's `out`) is a multiple of 4,
    /// which burn's packed int8 storage (four values per 32-bit word along the
    /// last dimension of the product's matrix) needs. Biases and the 10-class
    /// output layer stay float32 (1,482 of 421,642 parameters).
    pub fn stores_int8(role: ParamRole, shape: &[usize]) -> bool {
        let out = match role {
            ParamRole::ConvWeight => shape.first(),
            ParamRole::DenseWeight => shape.get(1),
            ParamRole::Bias => None,
        };
        out.is_some_and(|n| n % 4 == 0)
    }

    /// Quantizes one parameter tensor and dequantizes it back to float32.
    ///
    /// `shape` is burn's layout (conv weights `[out, in, kh, kw]`, dense weights
    /// `[in, out]`, biases `[n]`). `f16-native` returns the values the device holds
    /// after burn's own float32 → float16 cast, which rounds to nearest even like
    /// [`Precision::F16`].
    pub fn quantize(
        self,
        values: &[f32],
        shape: &[usize],
        role: ParamRole,
    ) -> Result<Quantized, QuantError> {
        quantize::check_shape(values, shape)?;
        match self {
            Precision::F32 => Ok(Quantized::unscaled(values.to_vec())),
            Precision::F16 | Precision::F16Native => Ok(Quantized::unscaled(
                values.iter().copied().map(quantize::round_f16).collect(),
            )),
            Precision::Int8 => quantize::int8_per_tensor(values),
            Precision::Int8Native if Precision::stores_int8(role, shape) => {
                quantize::int8_per_tensor(values)
            }
            Precision::Int8Native => Ok(Quantized::unscaled(values.to_vec())),
            // The biases are quantized with the activations' scales (int32 at
            // input scale × weight scale) where the network is built: the
            // values here are float32's.
            Precision::Int8Compute if role == ParamRole::Bias => {
                Ok(Quantized::unscaled(values.to_vec()))
            }
            Precision::Int8Channel | Precision::Int8Compute => match role.channel_axis() {
                Some(axis) => quantize::int8_per_channel(values, shape, axis),
                None => quantize::int8_per_tensor(values),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bytes() {
        let names: Vec<_> = Precision::ALL.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            names,
            [
                "f32",
                "f16",
                "int8",
                "int8-channel",
                "f16-native",
                "int8-native",
                "int8-compute"
            ]
        );
        let bytes: Vec<_> = Precision::ALL
            .iter()
            .map(|p| p.bytes_per_weight())
            .collect();
        assert_eq!(bytes, [4, 2, 1, 1, 2, 1, 1]);
        assert_eq!(
            "int8-channel".parse::<Precision>().unwrap(),
            Precision::Int8Channel
        );
        assert!("int4".parse::<Precision>().is_err());
    }

    #[test]
    fn f32_is_identity() {
        let v = [1.5, -0.0, f32::MIN_POSITIVE, 7e30];
        let q = Precision::F32.quantize(&v, &[4], ParamRole::Bias).unwrap();
        assert_eq!(
            q.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(q.scales.is_empty());
    }

    #[test]
    fn int8_native_has_int8s_integers_where_it_stores_int8() {
        let w: Vec<f32> = (0..64).map(|i| (i as f32 - 20.5) / 7.0).collect();
        let int8 = Precision::Int8.quantize(&w, &[16, 4], ParamRole::DenseWeight);
        let native = Precision::Int8Native.quantize(&w, &[16, 4], ParamRole::DenseWeight);
        assert_eq!(int8.unwrap(), native.unwrap());
        let float = Precision::Int8Native
            .quantize(&w, &[32, 2], ParamRole::DenseWeight)
            .unwrap();
        assert_eq!((float.values, float.scales), (w.clone(), vec![]));
        assert!(Precision::stores_int8(
            ParamRole::ConvWeight,
            &[32, 1, 3, 3]
        ));
        assert!(!Precision::stores_int8(ParamRole::DenseWeight, &[128, 10]));
        assert!(!Precision::stores_int8(ParamRole::Bias, &[64]));
        assert!(!Precision::Int8Native.is_simulated());
    }

    #[test]
    fn int8_compute_has_int8_channels_weights_and_float_biases() {
        let w: Vec<f32> = (0..64).map(|i| (i as f32 - 20.5) / 7.0).collect();
        for (shape, role) in [
            ([16, 4, 1, 1].as_slice(), ParamRole::ConvWeight),
            (&[16, 4], ParamRole::DenseWeight),
        ] {
            let channel = Precision::Int8Channel.quantize(&w, shape, role).unwrap();
            let compute = Precision::Int8Compute.quantize(&w, shape, role).unwrap();
            assert_eq!(channel, compute, "{role:?}");
        }
        let bias = Precision::Int8Compute
            .quantize(&w, &[64], ParamRole::Bias)
            .unwrap();
        assert_eq!((bias.values, bias.scales), (w, vec![]));
        assert!(!Precision::Int8Compute.is_simulated());
    }

    #[test]
    fn int8_channel_biases_use_one_scale() {
        let q = Precision::Int8Channel
            .quantize(&[1.0, -2.0, 0.5], &[3], ParamRole::Bias)
            .unwrap();
        assert_eq!(q.scales, vec![2.0 / 127.0]);
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let err = Precision::Int8
            .quantize(&[1.0, 2.0], &[3], ParamRole::Bias)
            .unwrap_err();
        assert_eq!(
            err,
            QuantError::ShapeMismatch {
                values: 2,
                shape: vec![3]
            }
        );
    }
}
