use super::calibrate::{METHOD, float_activations};
use super::*;
use crate::assets;

/// `round(v × multiplier / 2^shift)` with halves rounded up, clamped to
/// 0–127, in 128-bit integers with an explicit remainder: written apart from
/// [`kernel::requantize`].
fn requantize(v: i64, multiplier: i32, shift: u32) -> i32 {
    let num = i128::from(v) * i128::from(multiplier);
    let den = 1i128 << shift;
    let mut q = num.div_euclid(den);
    if 2 * num.rem_euclid(den) >= den {
        q += 1;
    }
    q.clamp(0, 127) as i32
}

/// One layer's codes, scales and int32 biases as the definition makes them.
struct RefLayer {
    codes: Int8Codes,
    bias: Vec<i64>,
    sum_scale: Vec<f64>,
}

impl RefLayer {
    /// The layer's requantization to `out_scale`.
    fn requant(&self, out_scale: f32) -> Requant {
        let reals: Vec<f64> = self
            .sum_scale
            .iter()
            .map(|s| s / f64::from(out_scale))
            .collect();
        Requant::new(&reals)
    }
}

fn ref_layer(weights: &Weights, name: &str, axis: usize, input_scale: f32) -> RefLayer {
    let (shape, values) = weights.tensor(&format!("{name}.weight"));
    let codes = Int8Codes::per_channel(values, shape, axis).unwrap();
    let sum_scale: Vec<f64> = codes
        .scales
        .iter()
        .map(|&s| f64::from(input_scale) * f64::from(s))
        .collect();
    let bias = weights
        .tensor(&format!("{name}.bias"))
        .1
        .iter()
        .zip(&sum_scale)
        .map(|(&b, s)| (f64::from(b) / s).round() as i64)
        .collect();
    RefLayer {
        codes,
        bias,
        sum_scale,
    }
}

/// A 3×3, padding 1 convolution of `x` (`[c_in, h, w]` codes, burn's weight
/// layout `[out, in, 3, 3]`), its bias, requantization with ReLU, then the
/// 2×2 max-pool: `[out, h / 2, w / 2]`, in the order the network defines.
fn ref_conv(x: &[i32], [c_in, h, w]: [usize; 3], layer: &RefLayer, out_scale: f32) -> Vec<i32> {
    let c_out = layer.bias.len();
    let mut full = vec![0i32; c_out * h * w];
    let r = layer.requant(out_scale);
    for o in 0..c_out {
        for y in 0..h {
            for xx in 0..w {
                let mut sum = layer.bias[o];
                for c in 0..c_in {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) =
                                (y as isize + ky as isize - 1, xx as isize + kx as isize - 1);
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let v = x[(c * h + iy as usize) * w + ix as usize];
                            let k = layer.codes.codes[((o * c_in + c) * 3 + ky) * 3 + kx];
                            sum += i64::from(v) * i64::from(k);
                        }
                    }
                }
                full[(o * h + y) * w + xx] = requantize(sum, r.multipliers[o], r.shift);
            }
        }
    }
    let (oh, ow) = (h / 2, w / 2);
    let mut pooled = vec![0i32; c_out * oh * ow];
    for o in 0..c_out {
        for y in 0..oh {
            for xx in 0..ow {
                pooled[(o * oh + y) * ow + xx] = (0..4)
                    .map(|p| full[(o * h + 2 * y + p / 2) * w + 2 * xx + p % 2])
                    .max()
                    .unwrap();
            }
        }
    }
    pooled
}

/// `x [inputs]` times a dense weight `[inputs, out]` (burn's layout) plus the bias: int64 sums.
fn ref_dense(x: &[i32], layer: &RefLayer) -> Vec<i64> {
    let out = layer.bias.len();
    (0..out)
        .map(|o| {
            layer.bias[o]
                + x.iter()
                    .enumerate()
                    .map(|(k, &v)| i64::from(v) * i64::from(layer.codes.codes[k * out + o]))
                    .sum::<i64>()
        })
        .collect()
}

/// `[c, h, w]` as `[h, w, c]`.
fn to_nhwc(x: &[i32], [c, h, w]: [usize; 3]) -> Vec<Code> {
    let mut out: Vec<Code> = vec![0; x.len()];
    for (i, &v) in x.iter().enumerate() {
        let (ch, y, xx) = (i / (h * w), i / w % h, i % w);
        out[(y * w + xx) * c + ch] = v as Code;
    }
    out
}

/// The integer network from its definition, image by image, NCHW, burn's
/// weight layouts: an independent check of the kernels' layouts, blocking,
/// pooling order and rounding.
fn reference(weights: &Weights, s: ActivationScales, pixels: &[f32]) -> Activations {
    let conv1 = ref_layer(weights, "conv1", 0, s.input);
    let conv2 = ref_layer(weights, "conv2", 0, s.conv1);
    let fc1 = ref_layer(weights, "fc1", 1, s.conv2);
    let fc2 = ref_layer(weights, "fc2", 1, s.fc1);
    let mut out = Activations {
        conv1: Vec::new(),
        conv2: Vec::new(),
        fc1: Vec::new(),
        logits: Vec::new(),
    };
    for image in pixels.chunks_exact(IMAGE_PIXELS) {
        let x: Vec<i32> = image
            .iter()
            .map(|&p| ((p / s.input).round() as i32).clamp(0, 127))
            .collect();
        let a1 = ref_conv(&x, [1, 28, 28], &conv1, s.conv1);
        let a2 = ref_conv(&a1, [32, 14, 14], &conv2, s.conv2);
        // NCHW flattening (c, y, x): the rows of burn's fc1 weight as trained.
        let r = fc1.requant(s.fc1);
        let h: Vec<i32> = ref_dense(&a2, &fc1)
            .into_iter()
            .zip(&r.multipliers)
            .map(|(v, &m)| requantize(v, m, r.shift))
            .collect();
        let logits = ref_dense(&h, &fc2)
            .into_iter()
            .zip(&fc2.sum_scale)
            .map(|(v, &sc)| v as f32 * sc as f32);
        out.conv1.extend(to_nhwc(&a1, [32, 14, 14]));
        out.conv2.extend(to_nhwc(&a2, [64, 7, 7]));
        out.fc1.extend(h.iter().map(|&v| v as Code));
        out.logits.extend(logits);
    }
    out
}

#[test]
fn integer_network_is_its_definition() {
    let weights = assets::weights().unwrap();
    let scales = calibration();
    let net = IntegerNet::new(&weights, scales);
    // Nine images: the dense layers' groups of four rows and the one left over.
    let pixels = assets::digits().unwrap().pixels(0, 9);
    let got = net.activations(&pixels);
    let want = reference(&weights, scales, &pixels);
    assert_eq!(got.conv1, want.conv1, "conv1");
    assert_eq!(got.conv2, want.conv2, "conv2");
    assert_eq!(got.fc1, want.fc1, "fc1");
    assert_eq!(got.logits, want.logits, "logits");
    // The activations use their range: some codes 0, some large.
    for (name, codes) in [
        ("conv1", &got.conv1),
        ("conv2", &got.conv2),
        ("fc1", &got.fc1),
    ] {
        let max = codes.iter().copied().max().unwrap();
        assert!(codes.contains(&0) && max > 40, "{name}: largest code {max}");
    }
}

#[test]
fn requantization_rounds_halves_up_in_fixed_point() {
    // One channel at 0.5: the multiplier 2^30 over 2^31.
    let half = Requant::new(&[0.5]);
    assert_eq!((half.multipliers[0], half.shift), (1 << 30, 31));
    // A layer shares the largest channel's shift: 1/3 keeps 2^32 / 3 over 2^32.
    let layer = Requant::new(&[0.25, 1.0 / 3.0, 0.001]);
    assert_eq!(layer.shift, 32);
    assert_eq!(
        layer.multipliers,
        [
            1 << 30,
            1_431_655_765,
            (0.001f64 * 2f64.powi(32)).round() as i32
        ]
    );
    let big = Requant::new(&[3.5]);
    assert_eq!((big.multipliers[0], big.shift), (1_879_048_192, 29));
    // Eight channels at once, against the 128-bit definition.
    let reals = [0.5, 1.0 / 3.0, 0.003_141_59, 0.25, 0.7, 0.01, 0.123, 0.5];
    let r = Requant::new(&reals);
    let bias = [0, 1, -3, 7, 0, 100, -100, 2];
    for sums in [
        [-3, -2, 1, 2, 3, 5, 300, 1],
        [-1000, 29, 380, 381, 382, 100_000, 1_000_000, -7],
        [0; 8],
    ] {
        let mut got = [0i16; 8];
        let lanes = [0, 4].map(|h| kernel::I4::from_array(std::array::from_fn(|i| sums[h + i])));
        kernel::requantize(lanes, &bias, &r.multipliers, r.shift, &mut got);
        let want: [i16; 8] = std::array::from_fn(|j| {
            requantize(i64::from(sums[j] + bias[j]), r.multipliers[j], r.shift) as i16
        });
        assert_eq!(got, want, "{sums:?}");
    }
    // Halves round up: 3 × 0.5 is 2, 5 × 0.5 is 3; ReLU and the top clamp.
    let mut got = [0i16; 8];
    let lanes = [[-3, 3, 5, 1], [300, 0, 2, -1]].map(kernel::I4::from_array);
    kernel::requantize(lanes, &[0; 8], &[1 << 30; 8], 31, &mut got);
    assert_eq!(got, [0, 2, 3, 1, 127, 0, 1, 0]);
}

#[test]
#[should_panic(expected = "must be positive")]
fn a_requantization_multiplier_is_positive() {
    Requant::new(&[0.5, 0.0]);
}

#[test]
#[should_panic(expected = "keeps fewer than 20 bits")]
fn a_layers_multipliers_keep_their_precision() {
    Requant::new(&[0.5, 1e-7]);
}

#[test]
fn input_codes_round_halves_away_from_zero() {
    let s = 1.0 / 127.0;
    for p in [0.0, 1.0, 0.5, 0.25, 0.75, 1.5, -0.5, 0.003_937, 0.003_938] {
        assert_eq!(
            input_code(p, s),
            i16::from(qbench_core::quantize::int8_code(p, s).max(0)),
            "{p}"
        );
    }
    assert_eq!(input_code(2.5, 1.0), 3);
    assert_eq!(input_code(2.499_999_8, 1.0), 2);
    assert_eq!(input_code(f32::NAN, 1.0), 0);
}

/// Quality on the held-out quality digits, as a cell measures it: the
/// targets `int8-compute` is held to.
#[test]
fn int8_compute_keeps_float32s_answers() {
    let weights = assets::weights().unwrap();
    let digits = assets::digits().unwrap().take(1000);
    let pixels = digits.pixels(0, digits.len());
    let net = IntegerNet::new(&weights, calibration());
    let logits = net.logits(&pixels);
    let float = float_activations(&weights, &pixels).logits;
    let argmax = |row: &[f32]| qbench_core::quality::argmax(row);
    let (mut agree, mut right, mut float_right) = (0, 0, 0);
    for ((i, f), label) in logits
        .chunks_exact(CLASSES)
        .zip(float.chunks_exact(CLASSES))
        .zip(digits.labels())
    {
        agree += usize::from(argmax(i) == argmax(f));
        right += usize::from(argmax(i) == usize::from(*label));
        float_right += usize::from(argmax(f) == usize::from(*label));
    }
    assert!(agree >= 990, "top-1 agreement {agree} of 1000");
    assert!(
        right + 5 >= float_right,
        "accuracy {right} against float32's {float_right} of 1000"
    );
    // Stored weights: int8, int32 biases and float32 scales against float32's 4 bytes.
    let f32_bytes = crate::PARAMS
        .iter()
        .map(|p| 4 * p.shape.iter().product::<usize>())
        .sum::<usize>();
    let ratio = net.stored_bytes() as f64 / f32_bytes as f64;
    assert!((0.25..=0.3).contains(&ratio), "stored bytes ×{ratio:.3}");
}

#[test]
fn the_shipped_calibration_came_from_the_training_digits() {
    let c: Calibration = serde_json::from_str(CALIBRATION_JSON).unwrap();
    assert_eq!((c.digits, c.method.as_str()), (8000, METHOD));
    assert_eq!(c.scales, calibration());
    // The images are k/255 in [0, 1]: a white pixel is code 127.
    assert_eq!(c.scales.input, 1.0 / 127.0);
    assert!(c.scales.named().iter().all(|(_, s)| *s > 0.0));
}

#[test]
fn the_shipped_logits_have_their_recorded_fingerprint() {
    let net = IntegerNet::new(&assets::weights().unwrap(), calibration());
    let pixels = assets::digits().unwrap().pixels(0, FINGERPRINT_DIGITS);
    assert_eq!(logits_sha256(&net.logits(&pixels)), SHIPPED_LOGITS_SHA256);
}
