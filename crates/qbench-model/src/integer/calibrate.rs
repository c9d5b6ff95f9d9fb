//! The float32 network's activations at the tensors `int8-compute` quantizes,
//! and the scales calibrated from them.

use qbench_core::quantize::ActivationScales;

use super::Calibration;
use crate::direct::ConvPool;
use crate::network::{CLASSES, FLAT_FEATURES, IMAGE_PIXELS, IMAGE_SIDE};
use crate::weights::Weights;

/// How [`calibrate`] turns a tensor's values into its scale.
pub const METHOD: &str = "largest value over the training digits / 127";

/// The float32 network's output at each quantized tensor, NHWC.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatActivations {
    /// `[n, 14, 14, 32]`.
    pub conv1: Vec<f32>,
    /// `[n, 7, 7, 64]`.
    pub conv2: Vec<f32>,
    /// `[n, 128]`.
    pub fc1: Vec<f32>,
    /// `[n, 10]`.
    pub logits: Vec<f32>,
}

/// The float32 network (qbench's float kernel for the convolutions, plain
/// loops for the dense layers) on the images `pixels`.
pub fn float_activations(weights: &Weights, pixels: &[f32]) -> FloatActivations {
    let n = pixels.len() / IMAGE_PIXELS;
    let conv = |name: &str| {
        let (shape, values) = weights.tensor(&format!("{name}.weight"));
        ConvPool::new(values, shape, weights.tensor(&format!("{name}.bias")).1)
    };
    let half = IMAGE_SIDE / 2;
    let conv1 = conv("conv1").forward(pixels, [n, IMAGE_SIDE, IMAGE_SIDE]);
    let conv2 = conv("conv2").forward(&conv1, [n, half, half]);
    let (fc1_shape, fc1_weight) = weights.tensor("fc1.weight");
    let (_, fc1_rows) = crate::lowered::nhwc_rows(fc1_weight, fc1_shape);
    let fc1 = dense(
        &conv2,
        FLAT_FEATURES,
        &fc1_rows,
        weights.tensor("fc1.bias").1,
    )
    .into_iter()
    .map(|v| v.max(0.0))
    .collect::<Vec<_>>();
    let logits = dense(
        &fc1,
        fc1_shape[1],
        weights.tensor("fc2.weight").1,
        weights.tensor("fc2.bias").1,
    );
    debug_assert_eq!(logits.len(), n * CLASSES);
    FloatActivations {
        conv1,
        conv2,
        fc1,
        logits,
    }
}

/// `input [n, inputs] × weight [inputs, out] + bias`.
fn dense(input: &[f32], inputs: usize, weight: &[f32], bias: &[f32]) -> Vec<f32> {
    let out = bias.len();
    let mut y = Vec::with_capacity(input.len() / inputs * out);
    for row in input.chunks_exact(inputs) {
        let mut sums = bias.to_vec();
        for (&x, w) in row.iter().zip(weight.chunks_exact(out)) {
            for (s, &w) in sums.iter_mut().zip(w) {
                *s += x * w;
            }
        }
        y.extend(sums);
    }
    y
}

/// The activation scales of `weights` over the training images `pixels`
/// ([`METHOD`]), `batch` images at a time.
pub fn calibrate(weights: &Weights, pixels: &[f32], batch: usize) -> Calibration {
    let largest = |values: &[f32], m: &mut f32| *m = values.iter().fold(*m, |m, &v| m.max(v));
    let mut max = [0.0f32; 4];
    for images in pixels.chunks(batch * IMAGE_PIXELS) {
        let a = float_activations(weights, images);
        largest(images, &mut max[0]);
        largest(&a.conv1, &mut max[1]);
        largest(&a.conv2, &mut max[2]);
        largest(&a.fc1, &mut max[3]);
    }
    let [input, conv1, conv2, fc1] = max.map(|m| if m > 0.0 { m / 127.0 } else { 1.0 });
    Calibration {
        scales: ActivationScales {
            input,
            conv1,
            conv2,
            fc1,
        },
        digits: pixels.len() / IMAGE_PIXELS,
        method: METHOD.into(),
    }
}
