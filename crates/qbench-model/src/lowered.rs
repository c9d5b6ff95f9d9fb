//! The same network lowered to matrix products, for CPU backends.
//!
//! burn-flex's `conv2d` re-lays its weights and converts the input to NHWC on
//! every call, and its `max_pool2d` computes argmax indices nobody reads; at
//! batch 32 in the browser those passes cost as much as the matrix products.
//! Here the weights are laid out once, activations stay NHWC, and each
//! convolution is one matrix product over the 3×3 patches of its input taken
//! for the four 2×2 pooling phases separately, so the max-pool is three
//! element-wise maxima of contiguous blocks. Bias and ReLU come after the pool:
//! `max(x + b) = max(x) + b` and ReLU is monotonic, so this is the network of
//! [`Net`] exactly, only summed in another order.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::ops::PadMode;

use crate::network::{CLASSES, FLAT_FEATURES, IMAGE_SIDE, Net};

/// One 3×3, padding 1 convolution followed by ReLU and a 2×2 max-pool.
#[derive(Debug, Clone)]
struct ConvPool {
    /// `[9 × c_in, c_out]`, rows in (ky, kx, c_in) order: the patches' columns.
    weight: Tensor<2>,
    /// `[1, c_out]`.
    bias: Tensor<2>,
}

impl ConvPool {
    fn new(conv: &burn::nn::conv::Conv2d) -> Self {
        let weight = conv.weight.val();
        let [c_out, c_in, kh, kw] = weight.dims();
        let bias = conv
            .bias
            .as_ref()
            .map(|b| b.val().reshape([1, c_out]))
            .unwrap_or_else(|| Tensor::zeros([1, c_out], &weight.device()));
        Self {
            weight: weight
                .permute([2, 3, 1, 0])
                .reshape([kh * kw * c_in, c_out]),
            bias,
        }
    }

    /// `[n, h, w, c_in]` → `[n, h / 2, w / 2, c_out]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, h, w, _] = x.dims();
        let [_, c_out] = self.weight.dims();
        let pooled = n * (h / 2) * (w / 2) * c_out;
        let y = pooling_phase_patches(x)
            .matmul(self.weight.clone())
            .reshape([4, pooled]);
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

/// [`Net`] lowered for a CPU backend.
#[derive(Debug, Clone)]
pub struct Lowered {
    conv1: ConvPool,
    conv2: ConvPool,
    /// `[3136, 128]`, rows in the NHWC flattening order (y, x, c).
    fc1_weight: Tensor<2>,
    fc1_bias: Tensor<2>,
    fc2_weight: Tensor<2>,
    fc2_bias: Tensor<2>,
}

impl Lowered {
    /// Lays out `net`'s parameters (on its device) once for the products here.
    pub fn new(net: &Net) -> Self {
        let fc1 = net.fc1.weight.val();
        let [_, hidden] = fc1.dims();
        let side = IMAGE_SIDE / 4;
        let channels = FLAT_FEATURES / (side * side);
        let bias = |linear: &burn::nn::Linear, width: usize| {
            linear
                .bias
                .as_ref()
                .map(|b| b.val().reshape([1, width]))
                .unwrap_or_else(|| Tensor::zeros([1, width], &fc1.device()))
        };
        Self {
            conv1: ConvPool::new(&net.conv1),
            conv2: ConvPool::new(&net.conv2),
            fc1_bias: bias(&net.fc1, hidden),
            fc2_bias: bias(&net.fc2, CLASSES),
            fc1_weight: fc1
                .reshape([channels, side, side, hidden])
                .permute([1, 2, 0, 3])
                .reshape([FLAT_FEATURES, hidden]),
            fc2_weight: net.fc2.weight.val(),
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let x = images.reshape([batch, IMAGE_SIDE, IMAGE_SIDE, 1]);
        let x = self.conv2.forward(self.conv1.forward(x));
        let x = x.reshape([batch, FLAT_FEATURES]);
        let x = relu(x.matmul(self.fc1_weight.clone()) + self.fc1_bias.clone());
        x.matmul(self.fc2_weight.clone()) + self.fc2_bias.clone()
    }

    /// Class probabilities `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::images_tensor;
    use burn::tensor::Device;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn lowered_network_gives_the_networks_probabilities() {
        let device = Device::flex();
        let net = Net::from_weights(&crate::assets::weights().unwrap(), &device);
        let lowered = Lowered::new(&net);
        let digits = crate::assets::digits().unwrap();
        for (start, end) in [(0, 1), (1, 4), (4, 37)] {
            let pixels = digits.pixels(start, end);
            let want = values(net.probabilities(images_tensor(&pixels, &device)));
            let got = values(lowered.probabilities(images_tensor(&pixels, &device)));
            assert_eq!(got.len(), (end - start) * CLASSES);
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "batch {start}..{end}: max |Δp| = {worst:e}");
        }
    }
}
