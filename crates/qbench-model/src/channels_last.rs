//! The same network as WebGPU's kernels want it: how WebGPU cells run it.
//!
//! conv1 and conv2, each with its pool, bias and ReLU, run as one dispatch of
//! qbench's own kernel (`fused.rs`) on burn's cubecl backend, their
//! weights stored `[kh, kw, in, out]` for it. burn's direct convolution,
//! which they ran on before, folded every product into its output lane one
//! component at a time and left the pool and ReLU to two more dispatches;
//! where the kernel is not compiled in (natively, burn's fusion) the same
//! layers run those kernels on a permuted view of the same weights.
//!
//! burn's direct convolution and its max-pool compute channels-last (NHWC)
//! and take NCHW tensors as permuted views of it. [`crate::Net`] holds its
//! conv weights `[out, in, kh, kw]` and flattens NCHW activations, so every
//! forward pass would copy the weights, the input and the flattened
//! activations into other layouts, each copy a dispatch of its own. Here the
//! activations stay NHWC (seen as NCHW where burn's API wants it) and the
//! weights are stored in the layouts their kernels read (fc1's rows in NHWC
//! order), so nothing is copied. ReLU runs after each pool on a quarter of the
//! values: the max-pool commutes with adding a bias per channel and with a
//! monotonic function, so this is [`crate::Net`]'s network exactly.
//!
//! The dense layers run on burn's direct convolution kernel: fc1 is a 7×7
//! convolution without padding over the pooled `[batch, 7, 7, 64]`
//! activations, fc2 a 1×1 convolution over its `[batch, 1, 1, 128]` output.
//! burn's default matrix product on WebGPU (without cooperative matrices)
//! costs a fixed few hundred milliseconds on software adapters as soon as a
//! product has more than one row; the convolution kernel does not.
//!
//! `int8-native` ([`ChannelsLast::int8_native`]) holds every weight as burn's
//! packed int8 with its one scale. Its dense layers stay matrix products,
//! which read the packed weights in the kernel; its two convolutions
//! dequantize their weights (4.4% of the parameters) into a float32
//! temporary on every forward pass, because neither kernel reads packed
//! int8.

use burn::tensor::activation::softmax;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use qbench_core::profile::Stage;

use crate::lowered::{DenseHead, conv_position, head_cut, tensor_data};
use crate::network::IMAGE_SIDE;
use crate::weights::{QuantizedWeights, Weights};

/// NHWC seen as NCHW, the layout burn's API takes.
const NCHW_OF_NHWC: [isize; 4] = [0, 3, 1, 2];
/// An NCHW view of NHWC back to NHWC.
const NHWC_OF_NCHW: [isize; 4] = [0, 2, 3, 1];
/// A `[kh, kw, in, out]` weight seen as `[out, in, kh, kw]`.
const OIHW_OF_HWIO: [isize; 4] = [3, 2, 0, 1];

/// A convolution's weight on the device, in its layer's layout.
#[derive(Debug, Clone)]
enum ConvWeight {
    Float(Tensor<4>),
    /// burn's packed int8, four values to a 32-bit word along the last
    /// dimension, which must be a multiple of 4: the weight is held as
    /// `[values / 4, 4]` (conv1's `in` is 1) and dequantized, then seen as
    /// `shape`, on every forward pass.
    Int8 {
        packed: Tensor<2>,
        shape: [usize; 4],
    },
}

impl ConvWeight {
    fn new(shape: [usize; 4], values: Vec<f32>, scale: Option<f32>, device: &Device) -> Self {
        match scale {
            None => Self::Float(Tensor::from_data(TensorData::new(values, shape), device)),
            Some(scale) => {
                assert_eq!(
                    values.len() % 4,
                    0,
                    "{shape:?} does not pack four to a word"
                );
                let words = [values.len() / 4, 4];
                Self::Int8 {
                    packed: Tensor::from_data(tensor_data(values, words, Some(scale)), device),
                    shape,
                }
            }
        }
    }

    /// The float weight.
    fn float(&self) -> Tensor<4> {
        match self {
            Self::Float(w) => w.clone(),
            Self::Int8 { packed, shape } => packed.clone().dequantize().reshape(*shape),
        }
    }
}

/// A stride-1 convolution for NCHW views of NHWC tensors in and out, its
/// weight laid out by its constructor for the kernel that reads it:
/// `[out, kh, kw, in]` for burn's ([`Conv::forward`], the dense layers),
/// `[kh, kw, in, out]` for qbench's ([`conv_pool`], conv1 and conv2).
#[derive(Debug, Clone)]
struct Conv {
    weight: ConvWeight,
    bias: Tensor<1>,
    padding: usize,
}

impl Conv {
    /// Layer `name` of `weights`, its weight laid out by `layout`, on
    /// `device`; held as packed int8 when `scale` is given.
    fn new(
        weights: &Weights,
        name: &str,
        layout: impl FnOnce(&[f32], &[usize]) -> ([usize; 4], Vec<f32>),
        scale: Option<f32>,
        padding: usize,
        device: &Device,
    ) -> Self {
        let (shape, values) = weights.tensor(&format!("{name}.weight"));
        let (shape, values) = layout(values, shape);
        let (_, bias) = weights.tensor(&format!("{name}.bias"));
        Self {
            weight: ConvWeight::new(shape, values, scale, device),
            bias: Tensor::from_data(TensorData::new(bias.to_vec(), [bias.len()]), device),
            padding,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let p = self.padding;
        conv2d(
            x,
            self.weight.float().permute(NCHW_OF_NHWC),
            Some(self.bias.clone()),
            ConvOptions::new([1, 1], [p, p], [1, 1], 1),
        )
    }
}

/// A 3×3, padding 1 convolution whose weight is stored `[kh, kw, in, out]`, a
/// 2×2 max-pool, then ReLU, on an NCHW view of NHWC: qbench's fused kernel on
/// burn's cubecl backend (one dispatch), burn's convolution, pool and clamp
/// elsewhere.
fn conv_pool(conv: &Conv, x: Tensor<4>) -> Tensor<4> {
    let weight = conv.weight.float();
    let p = conv.padding;
    let nhwc = x.clone().permute(NHWC_OF_NCHW);
    if p == 1
        && let Some(y) = crate::fused::conv3x3_pool_relu(&nhwc, &weight, &conv.bias)
    {
        return y.permute(NCHW_OF_NHWC);
    }
    max_pool2d(
        conv2d(
            x,
            weight.permute(OIHW_OF_HWIO),
            Some(conv.bias.clone()),
            ConvOptions::new([1, 1], [p, p], [1, 1], 1),
        ),
        MaxPoolOptions::new([2, 2]).with_stride([2, 2]),
    )
    .clamp_min(0.0)
}

/// A conv weight `[out, in, kh, kw]` with its axes in `order` (positions in
/// `[out, in, kh, kw]`): the new shape and its values, row-major.
fn conv_layout(values: &[f32], shape: &[usize], order: [usize; 4]) -> ([usize; 4], Vec<f32>) {
    let mut out = vec![0.0; values.len()];
    for (i, v) in values.iter().enumerate() {
        let at = conv_position(i, shape);
        let index = order.iter().fold(0, |index, &a| index * shape[a] + at[a]);
        out[index] = *v;
    }
    (order.map(|a| shape[a]), out)
}

/// A conv weight `[out, in, kh, kw]` as `[kh, kw, in, out]` values.
fn hwio(values: &[f32], shape: &[usize]) -> ([usize; 4], Vec<f32>) {
    conv_layout(values, shape, [2, 3, 1, 0])
}

/// A conv weight `[out, in, kh, kw]` as `[out, kh, kw, in]` values.
fn ohwi(values: &[f32], shape: &[usize]) -> ([usize; 4], Vec<f32>) {
    conv_layout(values, shape, [0, 2, 3, 1])
}

/// A dense weight `[in, out]` whose inputs are a flattened NCHW
/// `[channels, height, width]` as the `[out, height, width, channels]`
/// values of the convolution that computes the same sums: transposed, it is
/// that convolution's weight `[out, channels, height, width]`.
fn dense_ohwi(values: &[f32], shape: &[usize], [c_in, h, w]: [usize; 3]) -> ([usize; 4], Vec<f32>) {
    let [inputs, c_out] = [shape[0], shape[1]];
    assert_eq!(inputs, c_in * h * w, "dense input is not {c_in}×{h}×{w}");
    let transposed: Vec<f32> = (0..values.len())
        .map(|i| values[(i % inputs) * c_out + i / inputs])
        .collect();
    ohwi(&transposed, &[c_out, c_in, h, w])
}

/// The layers after the second pool.
#[derive(Debug, Clone)]
enum Head {
    /// fc1 and fc2 on the direct convolution kernel.
    Conv { fc1: Box<Conv>, fc2: Box<Conv> },
    /// burn's matrix products over packed int8 weights (`int8-native`).
    Int8(Box<DenseHead>),
}

impl Head {
    /// fc1 and its ReLU, `[batch, 128]`, from the pooled NCHW view of NHWC
    /// `[batch, 7, 7, 64]`.
    fn hidden(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Head::Conv { fc1, .. } => flat(fc1.forward(x).clamp_min(0.0)),
            Head::Int8(dense) => dense.hidden(x.permute(NHWC_OF_NCHW)),
        }
    }

    /// fc2: the logits `[batch, 10]`.
    fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        match self {
            Head::Conv { fc2, .. } => {
                let [batch, features] = hidden.dims();
                let x = hidden
                    .reshape([batch, 1, 1, features])
                    .permute(NCHW_OF_NHWC);
                flat(fc2.forward(x))
            }
            Head::Int8(dense) => dense.output(hidden),
        }
    }
}

/// The NCHW view `[batch, c, 1, 1]` of NHWC `[batch, 1, 1, c]` as `[batch, c]`:
/// back to NHWC, which is contiguous, so no copy.
fn flat(x: Tensor<4>) -> Tensor<2> {
    let [batch, c, ..] = x.dims();
    x.permute(NHWC_OF_NCHW).reshape([batch, c])
}

/// The network laid out for burn's WebGPU kernels, its weights on one device.
#[derive(Debug, Clone)]
pub struct ChannelsLast {
    conv1: Conv,
    conv2: Conv,
    head: Head,
}

impl ChannelsLast {
    /// The weights laid out once for the kernels that read them, on `device`.
    pub fn new(weights: &Weights, device: &Device) -> Self {
        Self {
            conv1: Conv::new(weights, "conv1", hwio, None, 1, device),
            conv2: Conv::new(weights, "conv2", hwio, None, 1, device),
            head: Head::Conv {
                fc1: Box::new(Conv::new(
                    weights,
                    "fc1",
                    |v, s| dense_ohwi(v, s, POOLED),
                    None,
                    0,
                    device,
                )),
                fc2: Box::new(Conv::new(
                    weights,
                    "fc2",
                    |v, s| dense_ohwi(v, s, [HIDDEN, 1, 1]),
                    None,
                    0,
                    device,
                )),
            },
        }
    }

    /// `int8-native`: every weight with one int8 scale held as burn's packed
    /// int8 (the others float), the dense layers as matrix products over the
    /// packed weights (see the module's documentation).
    pub fn int8_native(weights: &QuantizedWeights, device: &Device) -> Self {
        let w = &weights.weights;
        let scale = |name: &str| weights.int8_scale(name);
        let conv =
            |name: &str| Conv::new(w, name, hwio, scale(&format!("{name}.weight")), 1, device);
        Self {
            conv1: conv("conv1"),
            conv2: conv("conv2"),
            head: Head::Int8(Box::new(DenseHead::new(w, scale, device))),
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.features(images, Stage::Conv2);
        self.head.logits(self.head.hidden(x))
    }

    /// Class probabilities `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }

    /// The network cut after `last`, its output summed (`run --profile`).
    pub fn cut(&self, images: Tensor<4>, last: Stage) -> Tensor<1> {
        let x = self.features(images, last.min(Stage::Conv2));
        if last <= Stage::Conv2 {
            return x.sum();
        }
        head_cut(self.head.hidden(x), last, |h| self.head.logits(h))
    }

    /// The stages up to and including `last` (at most conv2), NCHW views of
    /// NHWC tensors.
    fn features(&self, images: Tensor<4>, last: Stage) -> Tensor<4> {
        let [batch, ..] = images.dims();
        // One channel: the NCHW images are NHWC already.
        let x = images
            .reshape([batch, IMAGE_SIDE, IMAGE_SIDE, 1])
            .permute(NCHW_OF_NHWC);
        Stage::ALL
            .iter()
            .take_while(|s| **s <= last)
            .fold(x, |x, stage| match stage {
                Stage::Upload => x,
                Stage::Conv1 => conv_pool(&self.conv1, x),
                Stage::Conv2 => conv_pool(&self.conv2, x),
                Stage::Fc1 | Stage::Fc2 | Stage::Softmax => {
                    unreachable!("the head takes the pooled features")
                }
            })
    }
}

/// The second pool's output, `[channels, height, width]`.
const POOLED: [usize; 3] = [64, 7, 7];
/// fc1's outputs.
const HIDDEN: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use crate::network::worst_difference_from;
    use burn::tensor::DType;
    use qbench_core::Precision;

    #[test]
    fn channels_last_network_gives_the_networks_probabilities() {
        let device = Device::flex();
        let weights = crate::assets::weights().unwrap();
        let net = Net::from_weights(&weights, &device);
        let channels_last = ChannelsLast::new(&weights, &device);
        let worst =
            worst_difference_from(&net, |images| channels_last.probabilities(images), &device);
        assert!(worst < 1e-6, "max |Δp| = {worst:e}");
    }

    /// `int8-native` holds every weight as packed int8 and computes the
    /// network of the simulated int8 values.
    #[test]
    fn int8_native_stores_int8_and_computes_the_network_of_its_values() {
        let device = Device::flex();
        let weights = crate::assets::weights()
            .unwrap()
            .quantized(Precision::Int8Native)
            .unwrap();
        let net = ChannelsLast::int8_native(&weights, &device);
        for (name, conv, words) in [("conv1", &net.conv1, 72), ("conv2", &net.conv2, 4608)] {
            let ConvWeight::Int8 { packed, .. } = &conv.weight else {
                panic!("{name} is not int8");
            };
            assert!(
                matches!(packed.dtype(), DType::QFloat(_)),
                "{name}: {:?}",
                packed.dtype()
            );
            assert_eq!(packed.dims(), [words, 4], "{name}");
        }
        assert!(matches!(net.head, Head::Int8(_)));
        let reference = Net::from_weights(&weights.weights, &device);
        let worst = worst_difference_from(&reference, |images| net.probabilities(images), &device);
        assert!(worst < 1e-6, "max |Δp| = {worst:e}");
    }

    /// Each cut is the sum of the network's output at that stage: the last
    /// ones of the logits and the probabilities; with either head.
    #[test]
    fn cuts_sum_the_networks_output_at_each_stage() {
        let device = Device::flex();
        let weights = crate::assets::weights().unwrap();
        let int8 = weights.quantized(Precision::Int8Native).unwrap();
        let pixels = crate::assets::digits().unwrap().pixels(0, 3);
        let images = || crate::network::images_tensor(&pixels, &device);
        let sum = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap()[0];
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * b.abs().max(1.0);
        for net in [
            ChannelsLast::new(&weights, &device),
            ChannelsLast::int8_native(&int8, &device),
        ] {
            let upload = sum(net.cut(images(), Stage::Upload));
            assert!(close(upload, pixels.iter().sum()), "{upload}");
            let hidden = net.head.hidden(net.features(images(), Stage::Conv2));
            let fc1 = sum(net.cut(images(), Stage::Fc1));
            assert!(close(fc1, sum(hidden.sum())), "{fc1}");
            let logits = sum(net.forward(images()).sum());
            let fc2 = sum(net.cut(images(), Stage::Fc2));
            assert!(close(fc2, logits), "{fc2} vs {logits}");
            let softmax = sum(net.cut(images(), Stage::Softmax));
            assert!(
                close(softmax, 3.0),
                "three rows of probabilities: {softmax}"
            );
        }
    }

    #[test]
    fn dense_weights_become_the_convolution_over_their_input() {
        // in (c 2, h 1, w 2) = 4 rows, out 3: value = row·10 + o.
        let values: Vec<f32> = (0..12).map(|i| ((i / 3) * 10 + i % 3) as f32).collect();
        let (shape, out) = dense_ohwi(&values, &[4, 3], [2, 1, 2]);
        assert_eq!(shape, [3, 1, 2, 2]);
        // Output o reads (x 0: c 0, c 1), (x 1: c 0, c 1) = rows 0, 2, 1, 3.
        assert_eq!(
            out,
            [0., 20., 10., 30., 1., 21., 11., 31., 2., 22., 12., 32.]
        );
    }

    #[test]
    fn conv_weights_move_to_their_place_in_each_kernels_layout() {
        // out 2, in 3, 1×2: value = o*100 + c*10 + kx.
        let shape = [2, 3, 1, 2];
        let values: Vec<f32> = (0..12)
            .map(|i| ((i / 6) * 100 + (i / 2 % 3) * 10 + i % 2) as f32)
            .collect();
        let (to_shape, out) = ohwi(&values, &shape);
        assert_eq!(to_shape, [2, 1, 2, 3]);
        assert_eq!(
            out,
            [
                0., 10., 20., 1., 11., 21., 100., 110., 120., 101., 111., 121.
            ]
        );
        let (to_shape, out) = hwio(&values, &shape);
        assert_eq!(to_shape, [1, 2, 3, 2]);
        assert_eq!(
            out,
            [
                0., 100., 10., 110., 20., 120., 1., 101., 11., 111., 21., 121.
            ]
        );
    }
}
