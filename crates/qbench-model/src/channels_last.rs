//! The same network as WebGPU's kernels want it: how WebGPU cells run it.
//!
//! Every layer is one dispatch of qbench's own kernels (`fused.rs`) on burn's
//! cubecl backend:
//! - conv1 and conv2, each with its pool, bias and ReLU, their weights stored
//!   `[kh, kw, in, out]`. burn's direct convolution, which they ran on
//!   before, folded every product into its output lane one component at a
//!   time and left the pool and ReLU to two more dispatches.
//! - fc1 with its bias and ReLU, its weight `[3136, 128]` with rows in NHWC
//!   order, so the pooled activations are flattened without a copy; fc2.
//!   They ran as convolutions on burn's direct kernel before, which reads
//!   all of fc1's weights once per image.
//!
//! The activations stay NHWC (seen as NCHW where burn's API wants it) and the
//! weights are stored in the layouts the kernels read, so nothing is copied.
//! ReLU runs after each pool on a quarter of the values: the max-pool commutes
//! with adding a bias per channel and with a monotonic function, so this is
//! [`crate::Net`]'s network exactly.
//!
//! Where the kernels are not compiled in (natively, the CPU module, burn's
//! fusion) the same layers run burn's convolution, pool and clamp on a
//! permuted view of the same weights, and burn's matrix products. In the
//! kernels build nothing else is compiled, so burn's convolution and matrix
//! product kernels stay out of the WebGPU module.
//!
//! `int8-native` ([`ChannelsLast::int8_native`]) holds every weight with one
//! scale as burn's packed int8. The dense kernel reads fc1's packed words
//! itself; conv1 and conv2 dequantize their weights (4.4% of the parameters)
//! into a float32 temporary on every forward pass, because the convolution
//! kernel reads float weights only.

use burn::tensor::activation::softmax;
#[cfg(not(webgpu_kernels))]
use burn::tensor::module::{conv2d, max_pool2d};
#[cfg(not(webgpu_kernels))]
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, ExecutionError, ProfileDuration, Tensor, TensorData};
use qbench_core::profile::Stage;

use crate::lowered::{
    HostMatrix, conv_position, dense as dense_layout, head_cut, nhwc_rows, tensor_data,
    weight_matrix,
};
use crate::network::IMAGE_SIDE;
use crate::weights::{QuantizedWeights, Weights};

/// NHWC seen as NCHW, the layout burn's API takes.
const NCHW_OF_NHWC: [isize; 4] = [0, 3, 1, 2];
/// An NCHW view of NHWC back to NHWC.
const NHWC_OF_NCHW: [isize; 4] = [0, 2, 3, 1];
/// A `[kh, kw, in, out]` weight seen as `[out, in, kh, kw]`.
#[cfg(not(webgpu_kernels))]
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

/// A 3×3, padding 1 convolution for NCHW views of NHWC tensors, its weight
/// stored `[kh, kw, in, out]` ([`conv_pool`]).
#[derive(Debug, Clone)]
struct Conv {
    weight: ConvWeight,
    bias: Tensor<1>,
}

impl Conv {
    /// Layer `name` of `weights` on `device`; its weight held as packed
    /// int8 when `scale` is given.
    fn new(weights: &Weights, name: &str, scale: Option<f32>, device: &Device) -> Self {
        let (shape, values) = weights.tensor(&format!("{name}.weight"));
        let (shape, values) = hwio(values, shape);
        Self {
            weight: ConvWeight::new(shape, values, scale, device),
            bias: bias(weights, name, device),
        }
    }
}

/// Bias `{name}.bias` of `weights`, `[n]`, on `device`.
fn bias(weights: &Weights, name: &str, device: &Device) -> Tensor<1> {
    let (_, values) = weights.tensor(&format!("{name}.bias"));
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

/// A dense layer for `[batch, in]` rows: weight `[in, out]` (float, or burn's
/// packed int8 with one scale), bias `[out]`, ReLU after it or not.
#[derive(Debug, Clone)]
struct Dense {
    weight: Tensor<2>,
    bias: Tensor<1>,
    relu: bool,
}

impl Dense {
    /// Layer `name` of `weights`, its weight laid out by `layout`, on
    /// `device`; held as packed int8 when `scale` is given.
    fn new(
        weights: &Weights,
        name: &str,
        layout: fn(&[f32], &[usize]) -> HostMatrix,
        scale: Option<f32>,
        relu: bool,
        device: &Device,
    ) -> Self {
        let weight_name = format!("{name}.weight");
        Self {
            weight: weight_matrix(weights, &weight_name, layout, scale, device),
            bias: bias(weights, name, device),
            relu,
        }
    }

    /// qbench's dense kernel on burn's cubecl backend (one dispatch), burn's
    /// matrix product, bias and clamp where it is not compiled in.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match crate::fused::dense(&x, &self.weight, &self.bias, self.relu) {
            Ok(y) => y,
            #[cfg(webgpu_kernels)]
            Err(refused) => panic!("qbench's dense kernel refused a layer: {refused}"),
            #[cfg(not(webgpu_kernels))]
            Err(_) => {
                let y = x.matmul(self.weight.clone()) + self.bias.clone().unsqueeze();
                if self.relu { y.clamp_min(0.0) } else { y }
            }
        }
    }
}

/// A 3×3, padding 1 convolution whose weight is stored `[kh, kw, in, out]`, a
/// 2×2 max-pool, then ReLU, on an NCHW view of NHWC: qbench's fused kernel on
/// burn's cubecl backend (one dispatch), burn's convolution, pool and clamp
/// where it is not compiled in.
fn conv_pool(conv: &Conv, x: Tensor<4>) -> Tensor<4> {
    let weight = conv.weight.float();
    let nhwc = x.clone().permute(NHWC_OF_NCHW);
    match crate::fused::conv3x3_pool_relu(&nhwc, &weight, &conv.bias) {
        Ok(y) => y.permute(NCHW_OF_NHWC),
        #[cfg(webgpu_kernels)]
        Err(refused) => panic!("qbench's convolution kernel refused a layer: {refused}"),
        #[cfg(not(webgpu_kernels))]
        Err(_) => max_pool2d(
            conv2d(
                x,
                weight.permute(OIHW_OF_HWIO),
                Some(conv.bias.clone()),
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            ),
            MaxPoolOptions::new([2, 2]).with_stride([2, 2]),
        )
        .clamp_min(0.0),
    }
}

/// A conv weight `[out, in, kh, kw]` as `[kh, kw, in, out]` values.
fn hwio(values: &[f32], shape: &[usize]) -> ([usize; 4], Vec<f32>) {
    let order = [2, 3, 1, 0];
    let mut out = vec![0.0; values.len()];
    for (i, v) in values.iter().enumerate() {
        let at = conv_position(i, shape);
        let index = order.iter().fold(0, |index, &a| index * shape[a] + at[a]);
        out[index] = *v;
    }
    (order.map(|a| shape[a]), out)
}

/// The pooled NCHW view `[batch, c, h, w]` of NHWC as NHWC rows
/// `[batch, h × w × c]`: contiguous, so no copy.
fn flat(x: Tensor<4>) -> Tensor<2> {
    let [batch, c, h, w] = x.dims();
    x.permute(NHWC_OF_NCHW).reshape([batch, h * w * c])
}

/// The network laid out for burn's WebGPU kernels, its weights on one device.
#[derive(Debug, Clone)]
pub struct ChannelsLast {
    conv1: Conv,
    conv2: Conv,
    fc1: Dense,
    fc2: Dense,
}

impl ChannelsLast {
    /// The weights laid out once for the kernels that read them, on `device`.
    pub fn new(weights: &Weights, device: &Device) -> Self {
        Self::with_scales(weights, |_| None, device)
    }

    /// `int8-native`: every weight with one int8 scale held as burn's packed
    /// int8, the others float (see the module's documentation).
    pub fn int8_native(weights: &QuantizedWeights, device: &Device) -> Self {
        Self::with_scales(&weights.weights, |name| weights.int8_scale(name), device)
    }

    /// The network on `device`, each weight as packed int8 when `scale`
    /// gives it one scale.
    fn with_scales(
        weights: &Weights,
        scale: impl Fn(&str) -> Option<f32>,
        device: &Device,
    ) -> Self {
        let conv = |name: &str| Conv::new(weights, name, scale(&format!("{name}.weight")), device);
        let dense = |name: &str, layout, relu| {
            Dense::new(
                weights,
                name,
                layout,
                scale(&format!("{name}.weight")),
                relu,
                device,
            )
        };
        Self {
            conv1: conv("conv1"),
            conv2: conv("conv2"),
            fc1: dense("fc1", nhwc_rows, true),
            fc2: dense("fc2", dense_layout, false),
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.features(images, Stage::Conv2);
        self.fc2.forward(self.fc1.forward(flat(x)))
    }

    /// [`Self::forward`] with each layer's dispatches in a profiling window
    /// of `device`'s (burn's `Device::profile`: on WebGPU, the adapter's
    /// timestamps at the start of the layer's first compute pass and the end
    /// of its last): the logits and each layer's window, conv1 to fc2. The
    /// images' layout view is outside every window.
    pub fn forward_windows(
        &self,
        images: Tensor<4>,
        device: &Device,
    ) -> Result<(Tensor<2>, Vec<(Stage, ProfileDuration)>), ExecutionError> {
        let [batch, ..] = images.dims();
        let x = images
            .reshape([batch, IMAGE_SIDE, IMAGE_SIDE, 1])
            .permute(NCHW_OF_NHWC);
        let (x, conv1) = device.profile(|| conv_pool(&self.conv1, x))?;
        let (x, conv2) = device.profile(|| conv_pool(&self.conv2, x))?;
        let (h, fc1) = device.profile(|| self.fc1.forward(flat(x)))?;
        let (logits, fc2) = device.profile(|| self.fc2.forward(h))?;
        Ok((
            logits,
            vec![
                (Stage::Conv1, conv1),
                (Stage::Conv2, conv2),
                (Stage::Fc1, fc1),
                (Stage::Fc2, fc2),
            ],
        ))
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
        head_cut(self.fc1.forward(flat(x)), last, |h| self.fc2.forward(h))
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
        assert!(matches!(net.fc1.weight.dtype(), DType::QFloat(_)));
        // Ten outputs do not pack four to a word: fc2 stays float.
        assert_eq!(net.fc2.weight.dtype(), DType::F32);
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
            let hidden = net.fc1.forward(flat(net.features(images(), Stage::Conv2)));
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
    fn conv_weights_move_to_their_place_in_the_kernels_layout() {
        // out 2, in 3, 1×2: value = o*100 + c*10 + kx.
        let shape = [2, 3, 1, 2];
        let values: Vec<f32> = (0..12)
            .map(|i| ((i / 6) * 100 + (i / 2 % 3) * 10 + i % 2) as f32)
            .collect();
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
