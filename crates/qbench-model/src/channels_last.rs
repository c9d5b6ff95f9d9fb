//! The same network as burn's WebGPU kernels want it: how WebGPU cells run it.
//!
//! burn's direct convolution and its max-pool compute channels-last (NHWC)
//! and take NCHW tensors as permuted views of it. [`crate::Net`] holds its
//! conv weights `[out, in, kh, kw]` and flattens NCHW activations, so every
//! forward pass copies both conv weights, the input and the flattened
//! activations into other layouts, each copy a dispatch of its own. Here the
//! weights are stored in the layouts the kernels read (`[out, kh, kw, in]`
//! seen through a permutation, fc1's rows in NHWC order), so nothing is
//! copied. ReLU runs after each pool on a quarter of the values, as one
//! `clamp_min` dispatch instead of burn's compare-and-fill pair: the max-pool
//! commutes with a monotonic function, so this is [`crate::Net`]'s network
//! exactly.

use burn::tensor::activation::softmax;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use crate::lowered::{DenseHead, conv_position};
use crate::network::IMAGE_SIDE;
use crate::weights::Weights;

/// NHWC seen as NCHW, the layout burn's API takes.
const NCHW_OF_NHWC: [isize; 4] = [0, 3, 1, 2];

/// One 3×3, padding 1 convolution, a 2×2 max-pool, then ReLU.
#[derive(Debug, Clone)]
struct ConvPool {
    /// `[out, kh, kw, in]` on the device.
    weight: Tensor<4>,
    bias: Tensor<1>,
}

impl ConvPool {
    fn new(weights: &Weights, name: &str, device: &Device) -> Self {
        let (shape, values) = weights.tensor(&format!("{name}.weight"));
        let (out_in_hw, values) = ohwi(values, shape);
        let (_, bias) = weights.tensor(&format!("{name}.bias"));
        Self {
            weight: Tensor::from_data(TensorData::new(values, out_in_hw), device),
            bias: Tensor::from_data(TensorData::new(bias.to_vec(), [bias.len()]), device),
        }
    }

    /// NCHW views of NHWC tensors in and out.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let conv = conv2d(
            x,
            self.weight.clone().permute(NCHW_OF_NHWC),
            Some(self.bias.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        max_pool2d(conv, MaxPoolOptions::new([2, 2]).with_stride([2, 2])).clamp_min(0.0)
    }
}

/// A conv weight `[out, in, kh, kw]` as `[out, kh, kw, in]` values.
fn ohwi(values: &[f32], shape: &[usize]) -> ([usize; 4], Vec<f32>) {
    let [c_out, c_in, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
    let mut out = vec![0.0; values.len()];
    for (i, v) in values.iter().enumerate() {
        let [o, c, ky, kx] = conv_position(i, shape);
        out[((o * kh + ky) * kw + kx) * c_in + c] = *v;
    }
    ([c_out, kh, kw, c_in], out)
}

/// The network laid out for burn's WebGPU kernels, its weights on one device.
#[derive(Debug, Clone)]
pub struct ChannelsLast {
    conv1: ConvPool,
    conv2: ConvPool,
    head: DenseHead,
}

impl ChannelsLast {
    /// The weights laid out once for the kernels that read them, on `device`.
    pub fn new(weights: &Weights, device: &Device) -> Self {
        Self {
            conv1: ConvPool::new(weights, "conv1", device),
            conv2: ConvPool::new(weights, "conv2", device),
            head: DenseHead::new(weights, |_| None, device),
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        // One channel: the NCHW images are NHWC already.
        let x = images
            .reshape([batch, IMAGE_SIDE, IMAGE_SIDE, 1])
            .permute(NCHW_OF_NHWC);
        let x = self.conv2.forward(self.conv1.forward(x));
        self.head.logits(x.permute([0, 2, 3, 1]))
    }

    /// Class probabilities `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use crate::network::worst_difference_from;

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

    #[test]
    fn ohwi_moves_each_weight_to_its_channels_last_place() {
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
    }
}
