//! The convolutional network, exactly as specified (other implementations
//! compare against it, so the architecture does not change):
//! 1×28×28 → conv 1→32 3×3 pad 1, ReLU → max-pool 2×2 → conv 32→64 3×3 pad 1,
//! ReLU → max-pool 2×2 → flatten (3136) → dense 3136→128, ReLU → dense 128→10 → softmax.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use crate::weights::Weights;

/// Side of an input image, pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an input image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Output classes (digits 0-9).
pub const CLASSES: usize = 10;
/// Features after the second pool: 64 channels × 7 × 7.
pub const FLAT_FEATURES: usize = 64 * 7 * 7;

/// The network.
#[derive(Module, Debug)]
pub struct Net {
    /// conv 1→32, 3×3, padding 1.
    pub conv1: Conv2d,
    /// conv 32→64, 3×3, padding 1.
    pub conv2: Conv2d,
    /// 2×2 max-pool, stride 2 (shared by both pools; it has no parameters).
    pub pool: MaxPool2d,
    /// dense 3136→128.
    pub fc1: Linear,
    /// dense 128→10.
    pub fc2: Linear,
}

impl Net {
    /// A randomly initialised network (for training), seeded through the device.
    pub fn init(device: &Device) -> Self {
        let conv = |c_in, c_out| {
            Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            conv1: conv(1, 32),
            conv2: conv(32, 64),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1: LinearConfig::new(FLAT_FEATURES, 128).init(device),
            fc2: LinearConfig::new(128, CLASSES).init(device),
        }
    }

    /// The network with the given weights, on `device` (in its default float type).
    pub fn from_weights(weights: &Weights, device: &Device) -> Self {
        let mut net = Self::init(device);
        let tensor = |name: &str| weights.tensor(name);
        net.conv1.weight = Param::from_tensor(to_tensor::<4>(tensor("conv1.weight"), device));
        net.conv1.bias = Some(Param::from_tensor(to_tensor::<1>(
            tensor("conv1.bias"),
            device,
        )));
        net.conv2.weight = Param::from_tensor(to_tensor::<4>(tensor("conv2.weight"), device));
        net.conv2.bias = Some(Param::from_tensor(to_tensor::<1>(
            tensor("conv2.bias"),
            device,
        )));
        net.fc1.weight = Param::from_tensor(to_tensor::<2>(tensor("fc1.weight"), device));
        net.fc1.bias = Some(Param::from_tensor(to_tensor::<1>(
            tensor("fc1.bias"),
            device,
        )));
        net.fc2.weight = Param::from_tensor(to_tensor::<2>(tensor("fc2.weight"), device));
        net.fc2.bias = Some(Param::from_tensor(to_tensor::<1>(
            tensor("fc2.bias"),
            device,
        )));
        net
    }

    /// Logits `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(relu(self.conv1.forward(images)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let [batch, ..] = x.dims();
        let x = x.reshape([batch, FLAT_FEATURES]);
        self.fc2.forward(relu(self.fc1.forward(x)))
    }

    /// Class probabilities `[batch, 10]` for images `[batch, 1, 28, 28]`.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}

fn to_tensor<const D: usize>(param: (&[usize], &[f32]), device: &Device) -> Tensor<D> {
    let (shape, values) = param;
    Tensor::from_data(TensorData::new(values.to_vec(), shape.to_vec()), device)
}

/// Softmax of each row of `CLASSES` logits, in place, in float32: what the
/// page does on the host once the logits are read back (one pass over ten
/// values per image, where the device would run five dispatches).
pub fn softmax_rows(logits: &mut [f32]) {
    for row in logits.chunks_mut(CLASSES) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// Images `[n, 1, 28, 28]` from `n × 784` pixel values.
pub fn images_tensor(pixels: &[f32], device: &Device) -> Tensor<4> {
    let n = pixels.len() / IMAGE_PIXELS;
    Tensor::from_data(
        TensorData::new(pixels.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

/// The largest |Δp| between `net` and another network's `probabilities` on
/// `device`, over three batches (1, 3 and 33 held-out digits).
#[cfg(test)]
pub(crate) fn worst_difference_from(
    net: &Net,
    probabilities: impl Fn(Tensor<4>) -> Tensor<2>,
    device: &Device,
) -> f32 {
    let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
    let digits = crate::assets::digits().unwrap();
    let mut worst = 0.0f32;
    for (start, end) in [(0, 1), (1, 4), (4, 37)] {
        let pixels = digits.pixels(start, end);
        let want = values(net.probabilities(images_tensor(&pixels, device)));
        let got = values(probabilities(images_tensor(&pixels, device)));
        assert_eq!(got.len(), (end - start) * CLASSES);
        for (a, b) in want.iter().zip(&got) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_softmax_is_burns() {
        let device = Device::flex();
        let logits: Vec<f32> = (0..3 * CLASSES)
            .map(|i| ((i * 37) % 23) as f32 * 0.9 - 8.0)
            .collect();
        let want = softmax(
            Tensor::<2>::from_data(TensorData::new(logits.clone(), [3, CLASSES]), &device),
            1,
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        let mut got = logits;
        softmax_rows(&mut got);
        for (a, b) in want.iter().zip(&got) {
            assert!((a - b).abs() <= 1e-7, "{a} vs {b}");
        }
        // Large logits do not overflow: the row's maximum is taken out first.
        let mut big = vec![1000.0; CLASSES];
        big[3] = 1001.0;
        softmax_rows(&mut big);
        assert!((big.iter().sum::<f32>() - 1.0).abs() < 1e-6 && big[3] > big[0]);
    }
}
