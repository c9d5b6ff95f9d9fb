//! qbench's own CPU kernel for the two convolutions: a 3×3 convolution
//! (padding 1), its bias, the 2×2 max-pool and ReLU in one pass over host
//! memory, four float32 lanes at a time (wasm SIMD in the browser's CPU
//! module, plain arrays elsewhere).
//!
//! burn-flex runs each convolution of [`crate::Lowered`] as a patch matrix,
//! one matrix product, three maxima, a bias and a ReLU; at batch 1 conv2 is
//! nearly nine tenths of a CPU inference. Here a pooled output's four
//! pre-pool sums are accumulated side by side for eight output channels
//! (eight vector accumulators, no spills on x86's sixteen registers), each
//! input value is read where it lies (a zero-padded copy of the image
//! replaces the patch matrix), and the weights are laid out once, eight
//! output channels contiguous per tap.

use self::lanes::F4;

/// Output channels per block: two four-lane vectors.
const BLOCK: usize = 8;

/// One 3×3, padding 1 convolution, its bias, ReLU and the 2×2 max-pool, its
/// float32 weights laid out for [`Self::forward`].
#[derive(Debug, Clone)]
pub struct ConvPool {
    /// `[c_out / 8, 3, 3, c_in, 8]`: per block of eight output channels, the
    /// taps in (ky, kx, c_in) order.
    weight: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
}

impl ConvPool {
    /// The layer of a conv weight `[c_out, c_in, 3, 3]` (`values`) and its bias.
    ///
    /// # Panics
    /// When the kernel is not 3×3 or `c_out` is not a multiple of eight.
    pub fn new(values: &[f32], shape: &[usize], bias: &[f32]) -> Self {
        let [c_out, c_in, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
        assert!(
            kh == 3 && kw == 3 && c_out % BLOCK == 0 && bias.len() == c_out,
            "the direct kernel takes 3×3 kernels and multiples of {BLOCK} output channels, not {shape:?}"
        );
        let mut weight = vec![0.0; values.len()];
        for (i, &v) in values.iter().enumerate() {
            let [o, c, ky, kx] = crate::lowered::conv_position(i, shape);
            let tap = (ky * 3 + kx) * c_in + c;
            weight[((o / BLOCK) * 9 * c_in + tap) * BLOCK + o % BLOCK] = v;
        }
        Self {
            weight,
            bias: bias.to_vec(),
            c_in,
            c_out,
        }
    }

    /// `[n, h, w, c_in]` (NHWC, row-major, `h` and `w` even) →
    /// `[n, h / 2, w / 2, c_out]`.
    pub fn forward(&self, input: &[f32], dims: [usize; 3]) -> Vec<f32> {
        let c_in = self.c_in;
        if c_in == 1 {
            self.forward_with(input, dims, |padded, corner, row, weight| {
                window_sums_one_channel(padded, corner, row, weight)
            })
        } else {
            self.forward_with(input, dims, |padded, corner, row, weight| {
                window_sums(padded, corner, row, c_in, weight)
            })
        }
    }

    /// [`Self::forward`] with `sums` computing a window's pre-pool sums. One
    /// function per window kernel: with both inlined into one loop, Firefox
    /// ran conv2 at 1.7× its time.
    #[inline(never)]
    fn forward_with(
        &self,
        input: &[f32],
        [n, h, w]: [usize; 3],
        sums: impl Fn(&[f32], usize, usize, &[f32]) -> [[F4; 2]; 4],
    ) -> Vec<f32> {
        let (c_in, c_out) = (self.c_in, self.c_out);
        assert_eq!(
            input.len(),
            n * h * w * c_in,
            "input is not [{n}, {h}, {w}, {c_in}]"
        );
        let (oh, ow) = (h / 2, w / 2);
        let row = (w + 2) * c_in;
        let mut padded = vec![0.0; (h + 2) * row];
        let mut out = vec![0.0; n * oh * ow * c_out];
        let taps = 9 * c_in * BLOCK;
        for (image, out) in input
            .chunks_exact(h * w * c_in)
            .zip(out.chunks_exact_mut(oh * ow * c_out))
        {
            for (y, line) in image.chunks_exact(w * c_in).enumerate() {
                let at = (y + 1) * row + c_in;
                padded[at..at + w * c_in].copy_from_slice(line);
            }
            for (block, weight) in self.weight.chunks_exact(taps).enumerate() {
                let bias = &self.bias[block * BLOCK..][..BLOCK];
                let bias = [F4::load(&bias[..4]), F4::load(&bias[4..])];
                for oy in 0..oh {
                    for ox in 0..ow {
                        let sums = sums(&padded, 2 * oy * row + 2 * ox * c_in, row, weight);
                        let at = (oy * ow + ox) * c_out + block * BLOCK;
                        for (half, bias) in bias.iter().enumerate() {
                            let max = sums[0][half]
                                .max(sums[1][half])
                                .max(sums[2][half].max(sums[3][half]));
                            max.add(*bias)
                                .max(F4::zero())
                                .store(&mut out[at + 4 * half..][..4]);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The pre-pool sums of a 2×2 window's four outputs for one block of eight
/// output channels: the window's top-left padded input is at `corner`,
/// a padded row is `row` floats, `weight` is the block's taps.
#[inline(always)]
fn window_sums(
    padded: &[f32],
    corner: usize,
    row: usize,
    c_in: usize,
    weight: &[f32],
) -> [[F4; 2]; 4] {
    let mut sums = [[F4::zero(); 2]; 4];
    for (tap, weight) in weight.chunks_exact(c_in * BLOCK).enumerate() {
        let at = corner + (tap / 3) * row + (tap % 3) * c_in;
        let top = &padded[at..at + 2 * c_in];
        let bottom = &padded[at + row..at + row + 2 * c_in];
        let (p0, p1) = top.split_at(c_in);
        let (p2, p3) = bottom.split_at(c_in);
        for ((w, (&x0, &x1)), (&x2, &x3)) in weight
            .chunks_exact(BLOCK)
            .zip(p0.iter().zip(p1))
            .zip(p2.iter().zip(p3))
        {
            let w = [F4::load(&w[..4]), F4::load(&w[4..])];
            for (sum, x) in sums.iter_mut().zip([x0, x1, x2, x3]) {
                let x = F4::splat(x);
                sum[0] = sum[0].mul_add(x, w[0]);
                sum[1] = sum[1].mul_add(x, w[1]);
            }
        }
    }
    sums
}

/// [`window_sums`] for a one-channel input (conv1): the window's 4×4 input
/// values read once, the nine taps unrolled (the general loop would run one
/// input channel per tap).
#[inline(always)]
fn window_sums_one_channel(
    padded: &[f32],
    corner: usize,
    row: usize,
    weight: &[f32],
) -> [[F4; 2]; 4] {
    let patch: [[f32; 4]; 4] = std::array::from_fn(|r| {
        padded[corner + r * row..][..4]
            .try_into()
            .expect("four columns")
    });
    let mut sums = [[F4::zero(); 2]; 4];
    for (tap, weight) in weight.chunks_exact(BLOCK).enumerate() {
        let (ky, kx) = (tap / 3, tap % 3);
        let w = [F4::load(&weight[..4]), F4::load(&weight[4..])];
        for (p, sum) in sums.iter_mut().enumerate() {
            let x = F4::splat(patch[ky + p / 2][kx + p % 2]);
            sum[0] = sum[0].mul_add(x, w[0]);
            sum[1] = sum[1].mul_add(x, w[1]);
        }
    }
    sums
}

/// Four float32 lanes: wasm SIMD where the module is built with it.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::{
        f32x4, f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_pmax, f32x4_splat, v128,
    };

    #[derive(Clone, Copy)]
    pub struct F4(v128);

    impl F4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        /// Four consecutive floats (LLVM makes the four reads one `v128.load`).
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            let [a, b, c, d]: [f32; 4] = s.try_into().expect("four lanes");
            Self(f32x4(a, b, c, d))
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            let v = self.0;
            s.copy_from_slice(&[
                f32x4_extract_lane::<0>(v),
                f32x4_extract_lane::<1>(v),
                f32x4_extract_lane::<2>(v),
                f32x4_extract_lane::<3>(v),
            ]);
        }
        /// `self + a × b`, rounded twice (wasm SIMD has no fused multiply-add).
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        /// The larger lanes (one `maxps`; the network has no NaN).
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(f32x4_pmax(self.0, o.0))
        }
    }
}

/// Four float32 lanes as an array (native builds, the tests).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    impl F4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            Self(s.try_into().expect("four lanes"))
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            s.copy_from_slice(&self.0);
        }
        /// `self + a × b`, rounded twice as in the wasm build.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + o.0[i]))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i].max(o.0[i])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer computed one output at a time from its definition.
    fn reference(
        input: &[f32],
        [n, h, w, c_in]: [usize; 4],
        weight: &[f32],
        bias: &[f32],
    ) -> Vec<f32> {
        let c_out = bias.len();
        let at = |b: usize, y: usize, x: usize, c: usize| input[((b * h + y) * w + x) * c_in + c];
        let conv = |b: usize, y: usize, x: usize, o: usize| {
            let mut sum = bias[o];
            for ky in 0..3 {
                for kx in 0..3 {
                    let (Some(iy), Some(ix)) = ((y + ky).checked_sub(1), (x + kx).checked_sub(1))
                    else {
                        continue;
                    };
                    if iy >= h || ix >= w {
                        continue;
                    }
                    for c in 0..c_in {
                        sum += at(b, iy, ix, c) * weight[((o * c_in + c) * 3 + ky) * 3 + kx];
                    }
                }
            }
            sum
        };
        let mut out = Vec::new();
        for b in 0..n {
            for y in 0..h / 2 {
                for x in 0..w / 2 {
                    for o in 0..c_out {
                        let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .map(|(dy, dx)| conv(b, 2 * y + dy, 2 * x + dx, o));
                        out.push(window.into_iter().fold(0.0f32, f32::max));
                    }
                }
            }
        }
        out
    }

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn direct_layer_is_the_convolution_pool_and_relu_it_replaces() {
        // One input channel (conv1's unrolled path) and three (the general
        // one), two blocks out, two images of 6×8: the padding on every side
        // and the second block.
        for c_in in [1, 3] {
            let [n, h, w, c_out] = [2, 6, 8, 16];
            let input = values(n * h * w * c_in, 1);
            let weight = values(c_out * c_in * 9, 2);
            let bias = values(c_out, 3);
            let layer = ConvPool::new(&weight, &[c_out, c_in, 3, 3], &bias);
            let got = layer.forward(&input, [n, h, w]);
            let want = reference(&input, [n, h, w, c_in], &weight, &bias);
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{c_in} channels in: max |Δ| = {worst:e}");
            assert!(
                got.contains(&0.0) && got.iter().any(|&v| v > 0.5),
                "{c_in} channels in: ReLU cut some, not all"
            );
        }
    }

    #[test]
    #[should_panic(expected = "multiples of 8 output channels")]
    fn output_channels_must_fill_blocks() {
        ConvPool::new(&[0.0; 12 * 9], &[12, 1, 3, 3], &[0.0; 12]);
    }
}
