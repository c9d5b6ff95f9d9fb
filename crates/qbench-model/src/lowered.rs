//! The same network lowered to matrix products: how CPU cells run it, with
//! `int8-native`'s weights as matrices burn holds as packed int8. WebGPU
//! cells run [`crate::channels_last`], whose dense layers take their weights
//! in the layouts here ([`nhwc_rows`], [`dense`]).
//!
//! burn-flex's `conv2d` re-lays its weights and converts the input to NHWC on
//! every call, and its `max_pool2d` computes argmax indices nobody reads; at
//! batch 32 in the browser those passes cost as much as the matrix products.
//! Here the weights are laid out once, activations stay NHWC, and each
//! convolution is one matrix product over the 3×3 patches of its input taken
//! for the four 2×2 pooling phases separately, so the max-pool is three
//! element-wise maxima of contiguous blocks. Bias and ReLU come after the pool:
//! `max(x + b) = max(x) + b` and ReLU is monotonic, so this is the network of
//! [`crate::Net`] exactly, only summed in another order.

use burn::tensor::activation::{relu, softmax};
use burn::tensor::ops::PadMode;
use burn::tensor::quantization::{QuantScheme, QuantValue};
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use qbench_core::profile::Stage;

use crate::direct;
use crate::network::{CLASSES, FLAT_FEATURES, IMAGE_PIXELS, IMAGE_SIDE};
use crate::weights::{QuantizedWeights, Weights};

/// One 3×3, padding 1 convolution followed by ReLU and a 2×2 max-pool.
#[derive(Debug, Clone)]
struct ConvPool {
    /// `[9 × c_in, c_out]`, rows in (ky, kx, c_in) order: the patches' columns.
    weight: Tensor<2>,
    /// `[1, c_out]`.
    bias: Tensor<2>,
}

impl ConvPool {
    /// `[n, h, w, c_in]` → `[n, h / 2, w / 2, c_out]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, h, w, _] = x.dims();
        self.pool(pooling_phase_patches(x), [n, h, w])
    }

    /// The layer's output from its input's pooling-phase patches (see
    /// [`pooling_phase_patches`]) of an `[n, h, w, c_in]` input.
    fn pool(&self, patches: Tensor<2>, [n, h, w]: [usize; 3]) -> Tensor<4> {
        let [_, c_out] = self.weight.dims();
        let pooled = n * (h / 2) * (w / 2) * c_out;
        let y = patches.matmul(self.weight.clone()).reshape([4, pooled]);
        let phase = |p: usize| y.clone().slice([p..p + 1, 0..pooled]);
        let max = phase(0)
            .max_pair(phase(1))
            .max_pair(phase(2).max_pair(phase(3)));
        relu(max.reshape([pooled / c_out, c_out]) + self.bias.clone()).reshape([
            n,
            h / 2,
            w / 2,
            c_out,
        ])
    }
}

/// The 3×3 patches (padding 1) of `[n, h, w, c]` at the output positions of
/// each 2×2 pooling phase: `[4 × n × h/2 × w/2, 9 × c]`, rows in
/// (phase, n, y, x) order, columns in (ky, kx, c) order. Every patch view is
/// a strided view (`unfold`); `stack` is the only copy.
fn pooling_phase_patches(x: Tensor<4>) -> Tensor<2> {
    let [n, h, w, c] = x.dims();
    let padded = x.pad([(1, 1), (1, 1), (0, 0)], PadMode::Constant(0.0));
    let mut phases = Vec::with_capacity(4);
    for dy in 0..2 {
        for dx in 0..2 {
            let shifted = padded.clone().slice([0..n, dy..h + 2, dx..w + 2, 0..c]);
            let rows: Tensor<5> = shifted.unfold(1, 3, 2);
            let patches: Tensor<6> = rows.unfold(2, 3, 2);
            phases.push(patches.permute([0, 1, 2, 4, 5, 3]));
        }
    }
    let stacked: Tensor<7> = Tensor::stack(phases, 0);
    stacked.reshape([4 * n * (h / 2) * (w / 2), 9 * c])
}

/// The matrix [`pooling_phase_patches`] makes of the one-channel images
/// `pixels` (`[n, 28, 28]`, row-major), built on the host as the images are
/// uploaded: conv1's patches then cost one upload instead of a pad, sixteen
/// views and a copy on the device.
pub fn conv1_patches(pixels: &[f32]) -> HostMatrix {
    const SIDE: usize = IMAGE_SIDE;
    const HALF: usize = SIDE / 2;
    let n = pixels.len() / IMAGE_PIXELS;
    let mut values = Vec::with_capacity(4 * n * HALF * HALF * 9);
    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        for image in pixels.chunks_exact(IMAGE_PIXELS) {
            for oy in 0..HALF {
                for ox in 0..HALF {
                    for ky in 0..3 {
                        // Row and column in the image of the padded input's (2·oy + dy + ky, …).
                        let y = (2 * oy + dy + ky).checked_sub(1).filter(|&y| y < SIDE);
                        for kx in 0..3 {
                            let x = (2 * ox + dx + kx).checked_sub(1).filter(|&x| x < SIDE);
                            values.push(match (y, x) {
                                (Some(y), Some(x)) => image[y * SIDE + x],
                                _ => 0.0,
                            });
                        }
                    }
                }
            }
        }
    }
    ([4 * n * HALF * HALF, 9], values)
}

/// A matrix's shape and row-major values, on the host.
pub(crate) type HostMatrix = ([usize; 2], Vec<f32>);

/// A conv weight `[out, in, kh, kw]` as the patches' matrix `[kh × kw × in, out]`.
fn conv_matrix(values: &[f32], shape: &[usize]) -> HostMatrix {
    let [c_out, c_in, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
    let mut out = vec![0.0; values.len()];
    for (i, v) in values.iter().enumerate() {
        let [o, c, ky, kx] = conv_position(i, shape);
        out[((ky * kw + kx) * c_in + c) * c_out + o] = *v;
    }
    ([kh * kw * c_in, c_out], out)
}

/// `(out, in, ky, kx)` of the `i`-th value of a conv weight `[out, in, kh, kw]`.
pub(crate) fn conv_position(i: usize, shape: &[usize]) -> [usize; 4] {
    let [c_in, kh, kw] = [shape[1], shape[2], shape[3]];
    [
        i / (c_in * kh * kw),
        i / (kh * kw) % c_in,
        i / kw % kh,
        i % kw,
    ]
}

/// fc1's weight `[3136, 128]` with its rows from the (c, y, x) flattening of
/// NCHW activations to the (y, x, c) flattening of NHWC ones.
pub(crate) fn nhwc_rows(values: &[f32], shape: &[usize]) -> HostMatrix {
    let [rows, cols] = [shape[0], shape[1]];
    let side = IMAGE_SIDE / 4;
    let channels = rows / (side * side);
    let mut out = vec![0.0; values.len()];
    for (row, chunk) in values.chunks(cols).enumerate() {
        let (c, yx) = (row / (side * side), row % (side * side));
        let to = yx * channels + c;
        out[to * cols..(to + 1) * cols].copy_from_slice(chunk);
    }
    ([rows, cols], out)
}

/// A tensor's values: float, or burn's packed symmetric int8 with one scale
/// when `scale` is given (the values must be integers × scale).
pub(crate) fn tensor_data<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    scale: Option<f32>,
) -> TensorData {
    match scale {
        None => TensorData::new(values, shape),
        Some(scale) => {
            // Exact: each value is an int8 code times `scale` in float32.
            let codes: Vec<i8> = values.iter().map(|v| (v / scale).round() as i8).collect();
            let scheme = QuantScheme::default().with_value(QuantValue::Q8S);
            TensorData::quantized(codes, shape, scheme, &[scale], None)
        }
    }
}

/// A matrix on `device`, as packed int8 when `scale` is given ([`tensor_data`]).
fn matrix((shape, values): HostMatrix, scale: Option<f32>, device: &Device) -> Tensor<2> {
    Tensor::from_data(tensor_data(values, shape, scale), device)
}

/// A dense weight `[in, out]` as it is.
pub(crate) fn dense(values: &[f32], shape: &[usize]) -> HostMatrix {
    ([shape[0], shape[1]], values.to_vec())
}

/// Weight `name` laid out by `layout` on `device`, as packed int8 when
/// `scale` is given.
pub(crate) fn weight_matrix(
    weights: &Weights,
    name: &str,
    layout: fn(&[f32], &[usize]) -> HostMatrix,
    scale: Option<f32>,
    device: &Device,
) -> Tensor<2> {
    let (shape, values) = weights.tensor(name);
    matrix(layout(values, shape), scale, device)
}

/// Bias `name` as a float `[1, n]` row on `device`.
fn bias_row(weights: &Weights, name: &str, device: &Device) -> Tensor<2> {
    let (_, values) = weights.tensor(name);
    matrix(([1, values.len()], values.to_vec()), None, device)
}

/// The dense layers after the second pool, for NHWC activations.
#[derive(Debug, Clone)]
struct DenseHead {
    /// `[3136, 128]`, rows in the NHWC flattening order (y, x, c).
    fc1_weight: Tensor<2>,
    /// `[1, 128]`.
    fc1_bias: Tensor<2>,
    /// `[128, 10]`.
    fc2_weight: Tensor<2>,
    /// `[1, 10]`.
    fc2_bias: Tensor<2>,
}

impl DenseHead {
    /// The dense weights on `device`, each as packed int8 when `scale` gives
    /// it one scale.
    fn new(weights: &Weights, scale: impl Fn(&str) -> Option<f32>, device: &Device) -> Self {
        let weight = |name: &str, layout| weight_matrix(weights, name, layout, scale(name), device);
        Self {
            fc1_weight: weight("fc1.weight", nhwc_rows),
            fc1_bias: bias_row(weights, "fc1.bias", device),
            fc2_weight: weight("fc2.weight", dense),
            fc2_bias: bias_row(weights, "fc2.bias", device),
        }
    }

    /// Logits `[batch, 10]` for pooled activations `[batch, 7, 7, 64]`
    /// (contiguous NHWC, so the flattening is no copy).
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.output(self.hidden(x))
    }

    /// fc1 and its ReLU: `[batch, 128]`.
    fn hidden(&self, x: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = x.dims();
        let x = x.reshape([batch, FLAT_FEATURES]);
        (x.matmul(self.fc1_weight.clone()) + self.fc1_bias.clone()).clamp_min(0.0)
    }

    /// fc2: the logits `[batch, 10]`.
    fn output(&self, hidden: Tensor<2>) -> Tensor<2> {
        let logits = hidden.matmul(self.fc2_weight.clone()) + self.fc2_bias.clone();
        debug_assert_eq!(logits.dims()[1], CLASSES);
        logits
    }
}

/// The two convolutions with their pools: qbench's own kernel on the host
/// for float32 weights ([`crate::direct`]), burn's matrix products where burn
/// holds the weights (`int8-native`'s packed int8) or computes in half
/// precision (`f16-native`).
#[derive(Debug, Clone)]
enum Convs {
    Direct(Box<[direct::ConvPool; 2]>),
    Burn(Box<[ConvPool; 2]>),
}

/// The network lowered for matrix products, its weights on one device.
#[derive(Debug, Clone)]
pub struct Lowered {
    convs: Convs,
    head: DenseHead,
}

impl Lowered {
    /// The (dequantized) weights laid out once for the products here, on
    /// `device`. With `int8`, every weight tensor that has one int8 scale is
    /// held as burn's packed int8 (`int8-native`); the others stay float. On
    /// a float32 device without `int8` the convolutions run on the host
    /// ([`crate::direct`]).
    pub fn new(weights: &QuantizedWeights, int8: bool, device: &Device) -> Self {
        let w = &weights.weights;
        let scale = |name: &str| int8.then(|| weights.int8_scale(name)).flatten();
        const CONVS: [(&str, &str); 2] = [
            ("conv1.weight", "conv1.bias"),
            ("conv2.weight", "conv2.bias"),
        ];
        let convs = if !int8 && device.settings().float_dtype == FloatDType::F32 {
            Convs::Direct(Box::new(CONVS.map(|(weight, bias)| {
                let (shape, values) = w.tensor(weight);
                direct::ConvPool::new(values, shape, w.tensor(bias).1)
            })))
        } else {
            Convs::Burn(Box::new(CONVS.map(|(weight, bias)| ConvPool {
                weight: weight_matrix(w, weight, conv_matrix, scale(weight), device),
                bias: bias_row(w, bias, device),
            })))
        };
        Self {
            convs,
            head: DenseHead::new(w, scale, device),
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match &self.convs {
            Convs::Direct(_) => {
                let device = images.device();
                let pixels = images.into_data().convert::<f32>().try_to_vec::<f32>();
                self.logits_of_pixels(&pixels.expect("float images"), &device)
            }
            Convs::Burn(convs) => {
                let [batch, ..] = images.dims();
                let x = images.reshape([batch, IMAGE_SIDE, IMAGE_SIDE, 1]);
                self.head.logits(convs[1].forward(convs[0].forward(x)))
            }
        }
    }

    /// Class probabilities `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }

    /// Class probabilities `[batch, 10]` for the images `pixels` on the
    /// host (`[batch, 28, 28]`, row-major): conv1's patches are built as they
    /// are uploaded ([`conv1_patches`]), the same values `forward` makes on
    /// the device.
    pub fn probabilities_of_pixels(&self, pixels: &[f32], device: &Device) -> Tensor<2> {
        softmax(self.logits_of_pixels(pixels, device), 1)
    }

    /// Logits `[batch, 10]` for the images `pixels` on the host, as
    /// [`Self::probabilities_of_pixels`] computes them.
    pub fn logits_of_pixels(&self, pixels: &[f32], device: &Device) -> Tensor<2> {
        self.head.logits(self.pooled(pixels, device, Stage::Conv2))
    }

    /// conv2's pooled output `[batch, 7, 7, 64]` on `device` for the images
    /// `pixels`; or, for a `last` before conv2, that stage's output.
    fn pooled(&self, pixels: &[f32], device: &Device, last: Stage) -> Tensor<4> {
        let batch = pixels.len() / IMAGE_PIXELS;
        let half = IMAGE_SIDE / 2;
        match &self.convs {
            Convs::Direct(convs) => {
                let upload = |values: Vec<f32>, side: usize| {
                    let channels = values.len() / (batch * side * side);
                    Tensor::from_data(
                        TensorData::new(values, [batch, side, side, channels]),
                        device,
                    )
                };
                if last == Stage::Upload {
                    return upload(pixels.to_vec(), IMAGE_SIDE);
                }
                let x = convs[0].forward(pixels, [batch, IMAGE_SIDE, IMAGE_SIDE]);
                if last == Stage::Conv1 {
                    return upload(x, half);
                }
                upload(convs[1].forward(&x, [batch, half, half]), half / 2)
            }
            Convs::Burn(convs) => {
                let patches = matrix(conv1_patches(pixels), None, device);
                if last == Stage::Upload {
                    let [rows, cols] = patches.dims();
                    return patches.reshape([1, 1, rows, cols]);
                }
                let x = convs[0].pool(patches, [batch, IMAGE_SIDE, IMAGE_SIDE]);
                if last == Stage::Conv1 {
                    return x;
                }
                convs[1].forward(x)
            }
        }
    }

    /// The network of [`Self::probabilities_of_pixels`] cut after `last`, its
    /// output summed (`run --profile`).
    pub fn cut_of_pixels(&self, pixels: &[f32], device: &Device, last: Stage) -> Tensor<1> {
        let x = self.pooled(pixels, device, last.min(Stage::Conv2));
        if last <= Stage::Conv2 {
            return x.sum();
        }
        head_cut(self.head.hidden(x), last, |h| self.head.output(h))
    }
}

/// The end of a cut after fc1 or later (`run --profile`): fc1's output
/// `hidden` summed, or the logits `output` makes of it, or their softmax.
pub(crate) fn head_cut(
    hidden: Tensor<2>,
    last: Stage,
    output: impl FnOnce(Tensor<2>) -> Tensor<2>,
) -> Tensor<1> {
    if last == Stage::Fc1 {
        return hidden.sum();
    }
    let logits = output(hidden);
    if last == Stage::Fc2 {
        return logits.sum();
    }
    softmax(logits, 1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use crate::network::worst_difference_from;
    use qbench_core::Precision;

    /// The largest |Δp| between the lowered network (at `precision`, int8
    /// storage or not) and burn's modules at `reference`, over three batches.
    fn worst_difference(precision: Precision, int8: bool, reference: Precision) -> f32 {
        let device = Device::flex();
        let weights = crate::assets::weights().unwrap();
        let net = Net::from_weights(&weights.quantized(reference).unwrap().weights, &device);
        let lowered = Lowered::new(&weights.quantized(precision).unwrap(), int8, &device);
        worst_difference_from(&net, |images| lowered.probabilities(images), &device)
    }

    #[test]
    fn lowered_network_gives_the_networks_probabilities() {
        let worst = worst_difference(Precision::F32, false, Precision::F32);
        assert!(worst < 1e-6, "max |Δp| = {worst:e}");
    }

    /// The packed int8 weights dequantize to exactly the values the host
    /// quantizer gives: the network is the one the simulated values make.
    #[test]
    fn int8_stored_weights_compute_the_network_of_their_values() {
        let worst = worst_difference(Precision::Int8Native, true, Precision::Int8Native);
        assert!(worst < 1e-6, "max |Δp| = {worst:e}");
    }

    /// The host's conv1 patches are the device's, value for value.
    #[test]
    fn conv1_patches_on_the_host_are_the_devices() {
        let device = Device::flex();
        let pixels = crate::assets::digits().unwrap().pixels(0, 3);
        let images = crate::network::images_tensor(&pixels, &device);
        let on_device = pooling_phase_patches(images.reshape([3, IMAGE_SIDE, IMAGE_SIDE, 1]));
        let (shape, values) = conv1_patches(&pixels);
        assert_eq!(shape.to_vec(), on_device.dims().to_vec());
        assert_eq!(values, on_device.into_data().try_to_vec::<f32>().unwrap());
    }

    #[test]
    fn probabilities_of_pixels_are_the_networks() {
        let device = Device::flex();
        let weights = crate::assets::weights().unwrap();
        let net = Net::from_weights(&weights.quantized(Precision::F32).unwrap().weights, &device);
        let lowered = Lowered::new(&weights.quantized(Precision::F32).unwrap(), false, &device);
        let worst = worst_difference_from(
            &net,
            |images| {
                let pixels = images.into_data().try_to_vec::<f32>().unwrap();
                lowered.probabilities_of_pixels(&pixels, &device)
            },
            &device,
        );
        assert!(worst < 1e-6, "max |Δp| = {worst:e}");
    }

    /// The last cuts sum the logits and the probabilities of the pixels.
    #[test]
    fn cuts_of_pixels_sum_the_networks_output() {
        let device = Device::flex();
        let weights = crate::assets::weights().unwrap();
        let pixels = crate::assets::digits().unwrap().pixels(0, 2);
        let pixel_sum = pixels.iter().sum::<f32>();
        // Float32 on qbench's kernel, `int8-native` on burn's products.
        for (precision, int8) in [(Precision::F32, false), (Precision::Int8Native, true)] {
            let lowered = Lowered::new(&weights.quantized(precision).unwrap(), int8, &device);
            let sum = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap()[0];
            let cut = |stage| sum(lowered.cut_of_pixels(&pixels, &device, stage));
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * b.abs().max(1.0);
            let upload = cut(Stage::Upload);
            if int8 {
                // conv1's patches: each pixel in 9, minus the padding's.
                assert!(upload > pixel_sum, "{precision}: {upload}");
            } else {
                // The images as they are.
                assert!(close(upload, pixel_sum), "{precision}: {upload}");
            }
            let images = crate::network::images_tensor(&pixels, &device);
            let logits = sum(lowered.forward(images).sum());
            assert!(
                close(cut(Stage::Fc2), logits),
                "{precision}: {} vs {logits}",
                cut(Stage::Fc2)
            );
            assert!(
                close(cut(Stage::Softmax), 2.0),
                "{precision}: {}",
                cut(Stage::Softmax)
            );
        }
    }

    #[test]
    fn layouts_move_each_weight_where_its_product_reads_it() {
        // conv [out 2, in 1, 1, 2]: element (o, c, ky, kx) → row (ky, kx, c), column o.
        let (shape, m) = conv_matrix(&[1.0, 2.0, 3.0, 4.0], &[2, 1, 1, 2]);
        assert_eq!((shape, m), ([2, 2], vec![1.0, 3.0, 2.0, 4.0]));
        // fc1: row c·49 + y·7 + x moves to (y·7 + x)·64 + c.
        let values: Vec<f32> = (0..3136).map(|r| r as f32).collect();
        let (_, rows) = nhwc_rows(&values, &[3136, 1]);
        assert_eq!((rows[0], rows[1], rows[64]), (0.0, 49.0, 1.0));
    }
}
