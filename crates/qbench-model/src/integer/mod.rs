//! `int8-compute`: the network in integer arithmetic, on the host (CPU cells,
//! natively and in the browser's CPU module, the same integers).
//!
//! - Weights: int8 with one scale per output channel (`int8-channel`'s codes).
//! - Activations: int8 with one scale per tensor ([`ActivationScales`],
//!   calibrated on the training digits by `qbench-train --calibrate`, shipped
//!   in `assets/calibration.json`). Every activation follows a ReLU, so its
//!   codes are 0 to 127.
//! - Each layer: int8 × int8 products summed in int32 ([`kernel`]), the bias
//!   in int32 (at input scale × weight scale), the 2×2 max-pool on the sums,
//!   then requantization to the next tensor's scale by a fixed-point
//!   multiplier ([`Requant`]) with ReLU as the clamp to 0–127. Pooling before
//!   requantizing is the same integers as after: both are monotonic.
//! - fc2's sums, with their bias, are dequantized to float32 logits for the
//!   softmax.

pub mod calibrate;
pub mod kernel;

use qbench_core::profile::Stage;
use qbench_core::quantize::{ActivationScales, Int8Codes};

use self::kernel::{BLOCK, Code, GROUP, GroupedWeights};
use crate::network::{CLASSES, FLAT_FEATURES, IMAGE_PIXELS, IMAGE_SIDE};
use crate::weights::Weights;

/// The shipped calibration (`qbench-train --calibrate` writes it).
pub const CALIBRATION_JSON: &str = include_str!("../../assets/calibration.json");

/// The shipped activation scales.
pub fn calibration() -> ActivationScales {
    calibration_file().scales
}

/// The shipped calibration: the scales and how they were found.
///
/// # Panics
/// When the shipped file does not parse (a test reads it).
pub fn calibration_file() -> Calibration {
    serde_json::from_str::<Calibration>(CALIBRATION_JSON)
        .expect("assets/calibration.json is an activation calibration")
}

/// `assets/calibration.json`: the activation scales and how they were found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// The scales.
    pub scales: ActivationScales,
    /// Training digits the float32 network ran on to find them.
    pub digits: usize,
    /// How a tensor's scale follows from its values.
    pub method: String,
}

/// One layer's requantization: channel `c`'s sum is multiplied by
/// `multipliers[c] / 2^shift` in integers, one shift for the layer so that
/// the browser's kernel shifts four channels at once (gemmlowp's and
/// TFLite's fixed-point scheme, with a shift per layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requant {
    /// One per channel, below 2^31; the largest channel's in [2^30, 2^31).
    pub multipliers: Vec<i32>,
    /// The power of two every product is divided by, 1 to 62.
    pub shift: u32,
}

/// Bits a channel's multiplier keeps at least, however small its scale
/// against the layer's largest.
const MULTIPLIER_BITS: u32 = 20;

impl Requant {
    /// The fixed-point form of the positive real multipliers `reals`.
    ///
    /// # Panics
    /// When a multiplier is not positive and finite, is outside 2^-31 to
    /// 2^30, or is so much smaller than the largest that it would keep fewer
    /// than 20 bits.
    pub fn new(reals: &[f64]) -> Self {
        for &r in reals {
            assert!(
                r > 0.0 && r.is_finite(),
                "a requantization multiplier must be positive, not {r}"
            );
        }
        let largest = reals.iter().copied().fold(0.0, f64::max);
        // The shift that puts the largest multiplier in [2^30, 2^31).
        let mut shift = 31i32;
        let mut m = largest;
        while m >= 1.0 {
            m /= 2.0;
            shift -= 1;
        }
        while m < 0.5 {
            m *= 2.0;
            shift += 1;
        }
        if (m * 2f64.powi(31)).round() >= 2f64.powi(31) {
            shift -= 1;
        }
        assert!(
            (1..=62).contains(&shift),
            "requantization multiplier {largest} is out of range"
        );
        let multipliers = reals
            .iter()
            .map(|&r| {
                let m = (r * 2f64.powi(shift)).round();
                assert!(
                    m >= f64::from(1u32 << MULTIPLIER_BITS),
                    "requantization multiplier {r} keeps fewer than {MULTIPLIER_BITS} bits beside {largest}"
                );
                m as i32
            })
            .collect();
        Self {
            multipliers,
            shift: shift as u32,
        }
    }
}

/// What a layer makes of its int32 sums (bias added).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// int8 codes after ReLU, requantized to the next tensor's scale.
    Relu(Requant),
    /// float32 values, one scale per output channel.
    Dequantized(Vec<f32>),
}

/// One layer in integers as the network defines it, before any kernel lays
/// it out: what the CPU kernels ([`IntegerNet`]) and the WebGPU kernels
/// (`fused::integer`) both compute.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInts {
    /// Inputs per output (a convolution's: tap × input channels + channel).
    pub inputs: usize,
    /// Output channels.
    pub outputs: usize,
    /// `codes[k * outputs + o]`: the int8 weight from input `k` to output `o`.
    pub codes: Vec<i8>,
    /// One int32 bias per output channel, at its sum's scale.
    pub bias: Vec<i32>,
    /// What the sums become.
    pub output: Output,
}

impl LayerInts {
    /// A layer of `inputs × outputs` int8 weights (`code(k, o)`, per-channel
    /// `weight_scales`), float `bias`, reading activations of scale
    /// `input_scale`; its outputs requantized to `output_scale` after ReLU,
    /// or dequantized without.
    fn new(
        inputs: usize,
        weight_scales: &[f32],
        code: impl Fn(usize, usize) -> i8,
        bias: &[f32],
        input_scale: f32,
        output_scale: Option<f32>,
    ) -> Self {
        let outputs = weight_scales.len();
        let codes = (0..inputs * outputs)
            .map(|i| code(i / outputs, i % outputs))
            .collect();
        let sum_scale = sum_scales(input_scale, weight_scales);
        let output = match output_scale {
            Some(out) => {
                let reals: Vec<f64> = sum_scale.iter().map(|s| s / f64::from(out)).collect();
                Output::Relu(Requant::new(&reals))
            }
            None => Output::Dequantized(sum_scale.iter().map(|&s| s as f32).collect()),
        };
        Self {
            inputs,
            outputs,
            codes,
            bias: int32_biases(bias, &sum_scale),
            output,
        }
    }

    /// The weight from input `k` to output `o`.
    pub fn code(&self, k: usize, o: usize) -> i8 {
        self.codes[k * self.outputs + o]
    }
}

/// The network in integers, layer by layer ([module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct IntegerLayers {
    /// The activation scales the layers were built for.
    pub scales: ActivationScales,
    /// 3×3 taps (`ky * 3 + kx`) of the one input channel → 32.
    pub conv1: LayerInts,
    /// 9 taps × 32 channels → 64.
    pub conv2: LayerInts,
    /// 3136 (NHWC order: y, x, channel) → 128.
    pub fc1: LayerInts,
    /// 128 → 10, dequantized.
    pub fc2: LayerInts,
}

impl IntegerLayers {
    /// The float32 `weights` quantized (per output channel) for activations
    /// of `scales`.
    pub fn new(weights: &Weights, scales: ActivationScales) -> Self {
        let codes = |name: &str, axis: usize| {
            let (shape, values) = weights.tensor(name);
            (
                shape,
                Int8Codes::per_channel(values, shape, axis)
                    .expect("the shipped weights are finite and match their shapes"),
            )
        };
        let bias = |name: &str| weights.tensor(name).1;
        // Convolutions: `[out, in, 3, 3]`.
        let (_, w1) = codes("conv1.weight", 0);
        let conv1 = LayerInts::new(
            9,
            &w1.scales,
            |k, o| w1.codes[o * 9 + k],
            bias("conv1.bias"),
            scales.input,
            Some(scales.conv1),
        );
        let (shape, w2) = codes("conv2.weight", 0);
        let c_in = shape[1];
        let conv2 = LayerInts::new(
            9 * c_in,
            &w2.scales,
            |k, o| w2.codes[(o * c_in + k % c_in) * 9 + k / c_in],
            bias("conv2.bias"),
            scales.conv1,
            Some(scales.conv2),
        );
        // Dense: `[in, out]`; fc1's inputs in NHWC order (y, x, c) read rows
        // (c, y, x) of the weight.
        let (shape, f1) = codes("fc1.weight", 1);
        let (fc1_out, channels, cells) = (shape[1], 64, 49);
        let fc1 = LayerInts::new(
            FLAT_FEATURES,
            &f1.scales,
            |k, o| f1.codes[((k % channels) * cells + k / channels) * fc1_out + o],
            bias("fc1.bias"),
            scales.conv2,
            Some(scales.fc1),
        );
        let (_, f2) = codes("fc2.weight", 1);
        let fc2 = LayerInts::new(
            fc1_out,
            &f2.scales,
            |k, o| f2.codes[k * CLASSES + o],
            bias("fc2.bias"),
            scales.fc1,
            None,
        );
        Self {
            scales,
            conv1,
            conv2,
            fc1,
            fc2,
        }
    }
}

/// One layer's integer weights laid out for the CPU kernels, its biases and
/// output rule padded to whole blocks.
#[derive(Debug, Clone)]
struct Layer {
    weight: GroupedWeights,
    /// One per output channel, padded with zeros to whole blocks.
    bias: Vec<i32>,
    output: Output,
    outputs: usize,
}

impl Layer {
    /// `layer` with `inputs` kernel inputs, `code(k, o)` the weight the
    /// kernel reads from its input `k` to output `o`.
    fn new(layer: &LayerInts, inputs: usize, code: impl Fn(usize, usize) -> i8) -> Self {
        let weight = GroupedWeights::new(inputs, layer.outputs, code);
        let padded = weight.blocks() * BLOCK;
        let mut bias = layer.bias.clone();
        bias.resize(padded, 0);
        let output = match &layer.output {
            Output::Relu(requant) => {
                let mut requant = requant.clone();
                requant.multipliers.resize(padded, 0);
                Output::Relu(requant)
            }
            dequantized => dequantized.clone(),
        };
        Self {
            weight,
            bias,
            output,
            outputs: layer.outputs,
        }
    }

    /// `layer` with the kernel reading its inputs in the definition's order.
    fn natural(layer: &LayerInts) -> Self {
        Self::new(layer, layer.inputs, |k, o| layer.code(k, o))
    }

    /// Block `block`'s sums (bias not yet added) as codes into `out` (eight).
    #[inline(always)]
    fn codes(&self, block: usize, sums: [kernel::I4; 2], out: &mut [Code]) {
        let Output::Relu(requant) = &self.output else {
            unreachable!("only the last layer dequantizes")
        };
        let at = block * BLOCK..(block + 1) * BLOCK;
        kernel::requantize(
            sums,
            &self.bias[at.clone()],
            &requant.multipliers[at],
            requant.shift,
            out,
        );
    }
}

/// The scale of a layer's int32 sums per output channel: input scale × weight scale.
pub fn sum_scales(input_scale: f32, weight_scales: &[f32]) -> Vec<f64> {
    weight_scales
        .iter()
        .map(|&w| f64::from(input_scale) * f64::from(w))
        .collect()
}

/// Float biases as int32 at their channels' sum scales, rounded.
pub fn int32_biases(bias: &[f32], sum_scale: &[f64]) -> Vec<i32> {
    bias.iter()
        .zip(sum_scale)
        .map(|(&b, s)| (f64::from(b) / s).round() as i32)
        .collect()
}

/// The network in integers ([module docs](self)).
#[derive(Debug, Clone)]
pub struct IntegerNet {
    scales: ActivationScales,
    /// Six pairs of taps of the one input channel → 32 ([`CONV1_TAPS`]).
    conv1: Layer,
    /// 9 taps × 32 channels → 64.
    conv2: Layer,
    /// 3136 (NHWC order) → 128.
    fc1: Layer,
    /// 128 → 10, dequantized.
    fc2: Layer,
}

/// Each layer's output for a batch, int8 codes (the logits in float32).
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// `[n, 14, 14, 32]`.
    pub conv1: Vec<Code>,
    /// `[n, 7, 7, 64]`.
    pub conv2: Vec<Code>,
    /// `[n, 128]`.
    pub fc1: Vec<Code>,
    /// `[n, 10]`.
    pub logits: Vec<f32>,
}

/// conv1's taps as groups of [`GROUP`] input values side by side in a padded
/// row, each `(ky, kx)` of its first value; a value past the kernel's third
/// column has a zero weight. Pairs: `(ky, 0)` with `(ky, 1)`, then `(ky, 2)`
/// with the value after it; quads: a kernel row and the value after it.
const CONV1_TAPS: &[(usize, usize)] = if GROUP == 4 {
    &[(0, 0), (1, 0), (2, 0)]
} else {
    &[(0, 0), (1, 0), (2, 0), (0, 2), (1, 2), (2, 2)]
};

/// Where a convolution's window reads its padded input.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    /// Values per padded row.
    row: usize,
    /// Values per position (the input channels).
    channels: usize,
    /// Side of the pooled output.
    pooled: usize,
}

impl IntegerNet {
    /// The float32 `weights` quantized (per output channel) for activations
    /// of `scales`.
    pub fn new(weights: &Weights, scales: ActivationScales) -> Self {
        Self::from_layers(&IntegerLayers::new(weights, scales))
    }

    /// `layers` laid out for the CPU kernels.
    pub fn from_layers(layers: &IntegerLayers) -> Self {
        let taps = &layers.conv1;
        let conv1 = Layer::new(taps, GROUP * CONV1_TAPS.len(), |k, o| {
            let (ky, kx) = CONV1_TAPS[k / GROUP];
            match kx + k % GROUP {
                kx if kx < 3 => taps.code(ky * 3 + kx, o),
                _ => 0,
            }
        });
        Self {
            scales: layers.scales,
            conv1,
            conv2: Layer::natural(&layers.conv2),
            fc1: Layer::natural(&layers.fc1),
            fc2: Layer::natural(&layers.fc2),
        }
    }

    /// The activation scales the network was built for.
    pub fn scales(&self) -> ActivationScales {
        self.scales
    }

    /// Bytes of the weights as the kernels hold them (int8, padded to whole
    /// blocks and pairs), their int32 biases and float32 scales.
    pub fn stored_bytes(&self) -> usize {
        [&self.conv1, &self.conv2, &self.fc1, &self.fc2]
            .iter()
            .map(|l| l.weight.bytes() + 4 * l.bias.len() + 4 * l.outputs)
            .sum()
    }

    /// The logits `[n, 10]` of the images `pixels` (`[n, 28, 28]`, row-major, in [0, 1]).
    pub fn logits(&self, pixels: &[f32]) -> Vec<f32> {
        self.activations(pixels).logits
    }

    /// Every layer's output for the images `pixels`.
    pub fn activations(&self, pixels: &[f32]) -> Activations {
        let conv1 = self.conv1_forward(pixels);
        let conv2 = self.conv2_forward(&conv1);
        let fc1 = self.fc1_forward(&conv2);
        let logits = self.fc2_forward(&fc1);
        Activations {
            conv1,
            conv2,
            fc1,
            logits,
        }
    }

    /// The network run on the images `pixels` up to `last`, its output summed
    /// (`run --profile`): the input codes, a layer's codes, the logits or
    /// their softmax.
    pub fn cut_sum(&self, pixels: &[f32], last: Stage) -> f32 {
        let codes = |c: &[Code]| c.iter().map(|&v| i64::from(v)).sum::<i64>() as f32;
        if last == Stage::Upload {
            let mut padded = Vec::new();
            return pixels
                .chunks_exact(IMAGE_PIXELS)
                .map(|image| {
                    self.pad_input(image, &mut padded);
                    codes(&padded)
                })
                .sum();
        }
        let conv1 = self.conv1_forward(pixels);
        if last == Stage::Conv1 {
            return codes(&conv1);
        }
        let conv2 = self.conv2_forward(&conv1);
        if last == Stage::Conv2 {
            return codes(&conv2);
        }
        let fc1 = self.fc1_forward(&conv2);
        if last == Stage::Fc1 {
            return codes(&fc1);
        }
        let mut logits = self.fc2_forward(&fc1);
        if last == Stage::Softmax {
            crate::network::softmax_rows(&mut logits);
        }
        logits.iter().sum()
    }

    /// One image's input codes into `padded`, zero-padded by one on every
    /// side, with one more zero at the end for conv1's last pair.
    fn pad_input(&self, image: &[f32], padded: &mut Vec<Code>) {
        let side = IMAGE_SIDE + 2;
        padded.clear();
        padded.resize(side * side + 1, 0);
        for (y, line) in image.chunks_exact(IMAGE_SIDE).enumerate() {
            let at = (y + 1) * side + 1;
            for (code, &p) in padded[at..at + IMAGE_SIDE].iter_mut().zip(line) {
                *code = input_code(p, self.scales.input);
            }
        }
    }

    /// conv1 with its pool and ReLU: `[n, 14, 14, 32]` codes.
    #[inline(never)]
    #[cfg_attr(relaxed_simd, target_feature(enable = "relaxed-simd"))]
    fn conv1_forward(&self, pixels: &[f32]) -> Vec<Code> {
        let layer = &self.conv1;
        let side = IMAGE_SIDE + 2;
        let geometry = Geometry {
            row: side,
            channels: 1,
            pooled: IMAGE_SIDE / 2,
        };
        let taps: Vec<usize> = CONV1_TAPS.iter().map(|(ky, kx)| ky * side + kx).collect();
        let per_image = geometry.pooled * geometry.pooled * layer.outputs;
        let mut out: Vec<Code> = vec![0; pixels.len() / IMAGE_PIXELS * per_image];
        let mut padded = Vec::new();
        for (image, out) in pixels
            .chunks_exact(IMAGE_PIXELS)
            .zip(out.chunks_exact_mut(per_image))
        {
            self.pad_input(image, &mut padded);
            conv_pool::<1>(layer, &padded, geometry, &taps, out);
        }
        out
    }

    /// conv2 with its pool and ReLU: `[n, 14, 14, 32]` → `[n, 7, 7, 64]`
    /// codes, reading each input where it lies in a zero-padded copy.
    #[inline(never)]
    #[cfg_attr(relaxed_simd, target_feature(enable = "relaxed-simd"))]
    fn conv2_forward(&self, input: &[Code]) -> Vec<Code> {
        let layer = &self.conv2;
        let c_in = self.conv1.outputs;
        let side = IMAGE_SIDE / 2;
        let padded_side = side + 2;
        let geometry = Geometry {
            row: padded_side * c_in,
            channels: c_in,
            pooled: side / 2,
        };
        let taps: [usize; 9] = std::array::from_fn(|t| (t / 3) * geometry.row + (t % 3) * c_in);
        let per_image = geometry.pooled * geometry.pooled * layer.outputs;
        let mut out: Vec<Code> = vec![0; input.len() / (side * side * c_in) * per_image];
        let mut padded: Vec<Code> = vec![0; padded_side * geometry.row];
        for (image, out) in input
            .chunks_exact(side * side * c_in)
            .zip(out.chunks_exact_mut(per_image))
        {
            for (y, line) in image.chunks_exact(side * c_in).enumerate() {
                let at = (y + 1) * geometry.row + c_in;
                padded[at..at + side * c_in].copy_from_slice(line);
            }
            conv_pool::<{ 32 / GROUP }>(layer, &padded, geometry, &taps, out);
        }
        out
    }

    /// fc1 with its ReLU: `[n, 3136]` → `[n, 128]` codes.
    #[inline(never)]
    #[cfg_attr(relaxed_simd, target_feature(enable = "relaxed-simd"))]
    fn fc1_forward(&self, input: &[Code]) -> Vec<Code> {
        let layer = &self.fc1;
        let mut out: Vec<Code> = vec![0; input.len() / FLAT_FEATURES * layer.outputs];
        dense(layer, input, FLAT_FEATURES, |row, block, sums| {
            layer.codes(
                block,
                sums,
                &mut out[row * layer.outputs + block * BLOCK..][..BLOCK],
            );
        });
        out
    }

    /// fc2: `[n, 128]` codes → `[n, 10]` float32 logits.
    #[inline(never)]
    #[cfg_attr(relaxed_simd, target_feature(enable = "relaxed-simd"))]
    fn fc2_forward(&self, input: &[Code]) -> Vec<f32> {
        let layer = &self.fc2;
        let Output::Dequantized(scale) = &layer.output else {
            unreachable!("fc2 dequantizes")
        };
        let inputs = self.fc1.outputs;
        let mut out = vec![0.0; input.len() / inputs * CLASSES];
        dense(layer, input, inputs, |row, block, sums| {
            for (j, sum) in kernel::to_array(sums).into_iter().enumerate() {
                let o = block * BLOCK + j;
                if o < CLASSES {
                    out[row * CLASSES + o] = (sum + layer.bias[o]) as f32 * scale[o];
                }
            }
        });
        out
    }
}

/// A 3×3 convolution of one padded image, its max-pool, bias, requantization
/// and ReLU, into `out` (`[pooled, pooled, outputs]`). `taps` are where each
/// tap's `GROUPS` groups of input values start from a window position; a
/// pooled output's four positions are the rows of one [`kernel::accumulate`].
#[inline(always)]
fn conv_pool<const GROUPS: usize>(
    layer: &Layer,
    padded: &[Code],
    g: Geometry,
    taps: &[usize],
    out: &mut [Code],
) {
    let tap_bytes = GROUPS * GROUP * BLOCK;
    for block in 0..layer.weight.blocks() {
        let weight = layer.weight.block(block);
        for (pooled, out) in out.chunks_exact_mut(layer.outputs).enumerate() {
            let corner = 2 * (pooled / g.pooled) * g.row + 2 * (pooled % g.pooled) * g.channels;
            let window = [0, g.channels, g.row, g.row + g.channels].map(|p| corner + p);
            let mut sums = kernel::zero::<4>();
            for (&tap, weight) in taps.iter().zip(weight.chunks_exact(tap_bytes)) {
                let rows = window.map(|start| &padded[start + tap..][..GROUPS * GROUP]);
                kernel::accumulate(&mut sums, rows, weight);
            }
            layer.codes(
                block,
                kernel::pool(&sums),
                &mut out[block * BLOCK..][..BLOCK],
            );
        }
    }
}

/// A dense layer's sums for the rows of `input` (`inputs` values each), four
/// rows per weight load, then one at a time: `emit(row, block, sums)`.
#[inline(always)]
fn dense(
    layer: &Layer,
    input: &[Code],
    inputs: usize,
    mut emit: impl FnMut(usize, usize, [kernel::I4; 2]),
) {
    let rows: Vec<&[Code]> = input.chunks_exact(inputs).collect();
    let fours = rows.len() / 4 * 4;
    for block in 0..layer.weight.blocks() {
        let weight = layer.weight.block(block);
        for (group, four) in rows[..fours].chunks_exact(4).enumerate() {
            let mut sums = kernel::zero::<4>();
            kernel::accumulate(&mut sums, [four[0], four[1], four[2], four[3]], weight);
            for (r, sums) in sums.into_iter().enumerate() {
                emit(4 * group + r, block, sums);
            }
        }
        for (r, row) in rows.iter().enumerate().skip(fours) {
            let mut sums = kernel::zero::<1>();
            kernel::accumulate(&mut sums, [*row], weight);
            emit(r, block, sums[0]);
        }
    }
}

/// Held-out digits whose logits [`SHIPPED_LOGITS_SHA256`] fingerprints.
pub const FINGERPRINT_DIGITS: usize = 64;

/// SHA-256 of the logits' float32 bits (little-endian) that the shipped
/// weights and calibration give for the first [`FINGERPRINT_DIGITS`] held-out
/// digits: native builds and the browser's CPU module are both tested against
/// it, so the two compute the same integers.
pub const SHIPPED_LOGITS_SHA256: &str =
    "4c61e39ace0478c770b996761dc21706e4a76f79cf72024fbae2109105dbfbed";

/// SHA-256 of `logits`' float32 bits, little-endian, hex.
pub fn logits_sha256(logits: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for v in logits {
        hash.update(v.to_le_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The int8 code of a pixel in [0, 1] at `scale` (0 to 127): `int8_code`'s
/// rounding (halves away from zero) by truncation, which wasm has as one
/// instruction where `f32::round` is a call.
#[inline]
pub fn input_code(pixel: f32, scale: f32) -> Code {
    let x = (pixel / scale).clamp(0.0, 127.0);
    let whole = x.trunc();
    // Exact: `x` is below 2^23, so `x − whole` is its fraction.
    (whole as Code) + Code::from(x - whole >= 0.5)
}

#[cfg(test)]
mod tests;
