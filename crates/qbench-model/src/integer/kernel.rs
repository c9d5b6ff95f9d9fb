//! The integer kernels of [`super::IntegerNet`]: int8 × int8 products summed
//! in int32, eight output channels at a time, on wasm SIMD in the browser's
//! CPU modules (plain arrays elsewhere, the same integers).
//!
//! A layer's weights are laid out once: per block of eight output channels,
//! per group of [`GROUP`] consecutive inputs, the eight channels' weights for
//! the group side by side. An input group splat to every 32-bit lane, against
//! four channels' weights, gives four channels' sums over the group in one
//! instruction:
//! - `qbench_cpu` (wasm SIMD): groups of two inputs held in 16-bit lanes
//!   ([`Code`] is `i16`), weights sign-extended as they are loaded,
//!   `i32x4.dot_i16x8_s`: eight products, then an add;
//! - `qbench_cpu_relaxed` (relaxed SIMD, where the browser has it): groups
//!   of four int8 inputs, `i32x4.relaxed_dot_i8x16_i7x16_add_s`: sixteen
//!   products and the add. Its second operand must be 0–127 for every
//!   engine to give the same sums; the activations, after ReLU, are.
//!
//! float32 gets four products in two instructions (`f32x4.mul`, `f32x4.add`).
//! The same four rows (a 2×2 pooling window's positions, or four images)
//! share each weight load, as in qbench's float kernel ([`crate::direct`]).

use self::lanes::W8;
pub use self::lanes::{Code, GROUP, I4};

/// Output channels per block: two vectors of four int32 sums.
pub const BLOCK: usize = 8;
/// Bytes of one input group's weights for a block.
const GROUP_BYTES: usize = GROUP * BLOCK;

/// A layer's int8 weights laid out for [`accumulate`]: `[outputs / 8,
/// inputs / GROUP, 8, GROUP]`, both counts padded with zero weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedWeights {
    values: Vec<i8>,
    groups: usize,
    blocks: usize,
}

impl GroupedWeights {
    /// `inputs × outputs` weights, `weight(k, o)` the one from input `k` to
    /// output `o`.
    pub fn new(inputs: usize, outputs: usize, weight: impl Fn(usize, usize) -> i8) -> Self {
        let groups = inputs.div_ceil(GROUP);
        let blocks = outputs.div_ceil(BLOCK);
        let mut values = vec![0; blocks * groups * GROUP_BYTES];
        for (i, v) in values.iter_mut().enumerate() {
            let (block, group, lane, j) = (
                i / (groups * GROUP_BYTES),
                i / GROUP_BYTES % groups,
                i / GROUP % BLOCK,
                i % GROUP,
            );
            let (k, o) = (GROUP * group + j, block * BLOCK + lane);
            if k < inputs && o < outputs {
                *v = weight(k, o);
            }
        }
        Self {
            values,
            groups,
            blocks,
        }
    }

    /// Blocks of eight output channels.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Block `b`'s weights, `[groups, 8, GROUP]`.
    pub fn block(&self, b: usize) -> &[i8] {
        &self.values[b * self.groups * GROUP_BYTES..][..self.groups * GROUP_BYTES]
    }

    /// Stored bytes.
    pub fn bytes(&self) -> usize {
        self.values.len()
    }
}

/// Int32 sums of `R` rows × one block of eight output channels.
pub type Sums<const R: usize> = [[I4; 2]; R];

/// Zero sums.
pub fn zero<const R: usize>() -> Sums<R> {
    [[I4::zero(); 2]; R]
}

/// Adds to `sums` each row's products with the block's weights `weight`
/// (`[groups, 8, GROUP]`): `rows[r]` holds `GROUP × groups` activation codes.
#[inline(always)]
pub fn accumulate<const R: usize>(sums: &mut Sums<R>, rows: [&[Code]; R], weight: &[i8]) {
    let groups = weight.len() / GROUP_BYTES;
    for row in rows {
        assert!(
            row.len() >= GROUP * groups,
            "a row shorter than its weights"
        );
    }
    for (g, w) in weight.chunks_exact(GROUP_BYTES).enumerate() {
        let w = W8::load(w);
        for (sum, row) in sums.iter_mut().zip(rows) {
            let x = I4::splat_group(&row[GROUP * g..GROUP * (g + 1)]);
            sum[0] = x.dot_add(w.low(), sum[0]);
            sum[1] = x.dot_add(w.high(), sum[1]);
        }
    }
}

/// The lane-wise maxima of four rows' sums: a 2×2 max-pool.
#[inline(always)]
pub fn pool(sums: &Sums<4>) -> [I4; 2] {
    [0, 1].map(|h| sums[0][h].max(sums[1][h]).max(sums[2][h].max(sums[3][h])))
}

/// One block's sums as eight integers.
#[inline(always)]
pub fn to_array(sums: [I4; 2]) -> [i32; BLOCK] {
    let (lo, hi) = (sums[0].to_array(), sums[1].to_array());
    std::array::from_fn(|i| if i < 4 { lo[i] } else { hi[i - 4] })
}

/// One block's eight output codes: each channel's sum plus its `bias`, times
/// its `multipliers` over `2^shift`, rounded (halves up), clamped to 0–127
/// (ReLU and int8's top).
#[inline(always)]
pub fn requantize(sums: [I4; 2], bias: &[i32], multipliers: &[i32], shift: u32, out: &mut [Code]) {
    lanes::requantize(sums, bias, multipliers, shift, out);
}

/// wasm SIMD: input pairs in 16-bit lanes, `i32x4.dot_i16x8_s`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(relaxed_simd)))]
mod lanes {
    use core::arch::wasm32::{
        i16x8_load_extend_i8x8, i16x8_narrow_i32x4, i32x4_add, i32x4_dot_i16x8, v128,
        v128_load32_splat, v128_store,
    };

    pub use super::wasm::{Group, I4, W8, requantize_lanes};

    /// An activation code: int8 values in 16-bit lanes.
    pub type Code = i16;
    /// Inputs per group: a pair.
    pub const GROUP: usize = 2;

    impl W8 {
        /// Sixteen int8 weights, sign-extended as they are loaded.
        #[inline(always)]
        pub fn load(w: &[i8]) -> Self {
            let w: &[i8; 16] = w.try_into().expect("sixteen weights");
            #[allow(unsafe_code)]
            // SAFETY: `w` is sixteen readable bytes; each load reads eight of
            // them, and wasm loads need no alignment.
            unsafe {
                Self(
                    i16x8_load_extend_i8x8(w.as_ptr().cast()),
                    i16x8_load_extend_i8x8(w.as_ptr().add(8).cast()),
                )
            }
        }
    }

    impl Group {
        /// `acc` plus, in lane `j`, `x[0] × w[2j] + x[1] × w[2j + 1]`.
        #[inline(always)]
        pub fn dot_add(self, w: v128, acc: I4) -> I4 {
            I4(i32x4_add(acc.0, i32x4_dot_i16x8(self.0, w)))
        }
    }

    impl I4 {
        /// Two codes repeated in every 32-bit lane.
        #[inline(always)]
        pub fn splat_group(x: &[i16]) -> Group {
            let x: &[i16; 2] = x.try_into().expect("a pair");
            #[allow(unsafe_code)]
            // SAFETY: `x` is four readable bytes; wasm loads need no alignment.
            unsafe {
                Group(v128_load32_splat(x.as_ptr().cast()))
            }
        }
    }

    /// See [`super::requantize`].
    #[inline(always)]
    pub fn requantize(
        sums: [I4; 2],
        bias: &[i32],
        multipliers: &[i32],
        shift: u32,
        out: &mut [i16],
    ) {
        let out: &mut [i16; 8] = out.try_into().expect("eight codes");
        let [a, b] = requantize_lanes(sums, bias, multipliers, shift);
        #[allow(unsafe_code)]
        // SAFETY: `out` is sixteen writable bytes; wasm stores need no alignment.
        unsafe {
            v128_store(out.as_mut_ptr().cast(), i16x8_narrow_i32x4(a, b))
        }
    }
}

/// Relaxed SIMD: input groups of four int8, `i32x4.relaxed_dot_i8x16_i7x16_add_s`.
/// Enabled on these functions (and the layers that inline them) only, so
/// the rest of the module builds as `qbench_cpu` does.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", relaxed_simd))]
mod lanes {
    use core::arch::wasm32::{
        i8x16_narrow_i16x8, i16x8_narrow_i32x4, i32x4_relaxed_dot_i8x16_i7x16_add, v128, v128_load,
        v128_load32_splat, v128_store64_lane,
    };

    pub use super::wasm::{Group, I4, W8, requantize_lanes};

    /// An activation code: int8, 0–127 (every activation follows a ReLU).
    pub type Code = i8;
    /// Inputs per group: four.
    pub const GROUP: usize = 4;

    impl W8 {
        /// Thirty-two int8 weights.
        #[inline]
        #[target_feature(enable = "relaxed-simd")]
        pub fn load(w: &[i8]) -> Self {
            let w: &[i8; 32] = w.try_into().expect("thirty-two weights");
            #[allow(unsafe_code)]
            // SAFETY: `w` is thirty-two readable bytes; each load reads
            // sixteen, and wasm loads need no alignment.
            unsafe {
                Self(
                    v128_load(w.as_ptr().cast()),
                    v128_load(w.as_ptr().add(16).cast()),
                )
            }
        }
    }

    impl Group {
        /// `acc` plus, in lane `j`, `Σᵢ x[i] × w[4j + i]`.
        #[inline]
        #[target_feature(enable = "relaxed-simd")]
        pub fn dot_add(self, w: v128, acc: I4) -> I4 {
            I4(i32x4_relaxed_dot_i8x16_i7x16_add(w, self.0, acc.0))
        }
    }

    impl I4 {
        /// Four codes repeated in every 32-bit lane.
        #[inline]
        #[target_feature(enable = "relaxed-simd")]
        pub fn splat_group(x: &[i8]) -> Group {
            let x: &[i8; 4] = x.try_into().expect("four codes");
            #[allow(unsafe_code)]
            // SAFETY: `x` is four readable bytes; wasm loads need no alignment.
            unsafe {
                Group(v128_load32_splat(x.as_ptr().cast()))
            }
        }
    }

    /// See [`super::requantize`].
    #[inline]
    #[target_feature(enable = "relaxed-simd")]
    pub fn requantize(
        sums: [I4; 2],
        bias: &[i32],
        multipliers: &[i32],
        shift: u32,
        out: &mut [i8],
    ) {
        let out: &mut [i8; 8] = out.try_into().expect("eight codes");
        let [a, b] = requantize_lanes(sums, bias, multipliers, shift);
        let halves = i16x8_narrow_i32x4(a, b);
        #[allow(unsafe_code)]
        // SAFETY: `out` is eight writable bytes; wasm stores need no alignment.
        unsafe {
            v128_store64_lane::<0>(i8x16_narrow_i16x8(halves, halves), out.as_mut_ptr().cast())
        }
    }
}

/// What both wasm variants share: int32 lanes and requantization.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use core::arch::wasm32::{
        i32x4_add, i32x4_extract_lane, i32x4_max, i32x4_shuffle, i32x4_splat, i64x2_add,
        i64x2_extmul_high_i32x4, i64x2_extmul_low_i32x4, i64x2_gt, i64x2_lt, i64x2_shr,
        i64x2_splat, v128, v128_bitselect, v128_load,
    };

    /// Four int32 lanes.
    #[derive(Clone, Copy)]
    pub struct I4(pub(super) v128);

    /// A group's weights for a block: outputs 0–3 and 4–7, each four
    /// channels' weights for the group (the variant's `load` fills them).
    #[derive(Clone, Copy)]
    pub struct W8(pub(super) v128, pub(super) v128);

    impl W8 {
        /// Outputs 0–3.
        #[inline(always)]
        pub fn low(self) -> v128 {
            self.0
        }
        /// Outputs 4–7.
        #[inline(always)]
        pub fn high(self) -> v128 {
            self.1
        }
    }

    /// An input group repeated in every 32-bit lane (the variant's
    /// `splat_group` fills it).
    #[derive(Clone, Copy)]
    pub struct Group(pub(super) v128);

    impl I4 {
        /// Zeros.
        #[inline(always)]
        pub fn zero() -> Self {
            Self(i32x4_splat(0))
        }
        /// Lane-wise maxima.
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(i32x4_max(self.0, o.0))
        }
        /// Four int32 values (the tests).
        pub fn from_array(x: [i32; 4]) -> Self {
            Self(core::arch::wasm32::i32x4(x[0], x[1], x[2], x[3]))
        }
        /// The four values.
        #[inline(always)]
        pub fn to_array(self) -> [i32; 4] {
            let v = self.0;
            [
                i32x4_extract_lane::<0>(v),
                i32x4_extract_lane::<1>(v),
                i32x4_extract_lane::<2>(v),
                i32x4_extract_lane::<3>(v),
            ]
        }
    }

    /// Four int32 values from memory.
    #[inline(always)]
    fn load4(x: &[i32]) -> v128 {
        let x: &[i32; 4] = x.try_into().expect("four lanes");
        #[allow(unsafe_code)]
        // SAFETY: `x` is sixteen readable bytes; wasm loads need no alignment.
        unsafe {
            v128_load(x.as_ptr().cast())
        }
    }

    /// [`super::requantize`]'s eight codes as two int32 vectors: the products
    /// in int64 lanes, two at a time, clamped there to 0–127.
    #[inline(always)]
    pub fn requantize_lanes(
        sums: [I4; 2],
        bias: &[i32],
        multipliers: &[i32],
        shift: u32,
    ) -> [v128; 2] {
        let round = i64x2_splat(1 << (shift - 1));
        let (zero, top) = (i64x2_splat(0), i64x2_splat(127));
        let code = |product: v128| {
            let x = i64x2_shr(i64x2_add(product, round), shift);
            let x = v128_bitselect(x, zero, i64x2_gt(x, zero));
            v128_bitselect(x, top, i64x2_lt(x, top))
        };
        [0, 1].map(|h| {
            let x = i32x4_add(sums[h].0, load4(&bias[4 * h..4 * h + 4]));
            let m = load4(&multipliers[4 * h..4 * h + 4]);
            let (lo, hi) = (
                code(i64x2_extmul_low_i32x4(x, m)),
                code(i64x2_extmul_high_i32x4(x, m)),
            );
            i32x4_shuffle::<0, 2, 4, 6>(lo, hi)
        })
    }
}

/// The same arithmetic on arrays (native builds, the tests): the
/// simd128 module's layout, the same integers.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    /// An activation code: int8 values in 16-bit lanes.
    pub type Code = i16;
    /// Inputs per group: a pair.
    pub const GROUP: usize = 2;

    /// Four int32 lanes.
    #[derive(Clone, Copy)]
    pub struct I4([i32; 4]);

    /// A group's weights for a block: outputs 0–3 and 4–7, each four
    /// channels' pairs.
    #[derive(Clone, Copy)]
    pub struct W8([i32; 8], [i32; 8]);

    impl W8 {
        /// Sixteen int8 weights.
        #[inline(always)]
        pub fn load(w: &[i8]) -> Self {
            let w: &[i8; 16] = w.try_into().expect("sixteen weights");
            Self(
                std::array::from_fn(|i| i32::from(w[i])),
                std::array::from_fn(|i| i32::from(w[8 + i])),
            )
        }
        /// Outputs 0–3.
        #[inline(always)]
        pub fn low(self) -> [i32; 8] {
            self.0
        }
        /// Outputs 4–7.
        #[inline(always)]
        pub fn high(self) -> [i32; 8] {
            self.1
        }
    }

    /// An input pair.
    #[derive(Clone, Copy)]
    pub struct Group(i32, i32);

    impl Group {
        /// `acc` plus, in lane `j`, `x[0] × w[2j] + x[1] × w[2j + 1]`.
        #[inline(always)]
        pub fn dot_add(self, w: [i32; 8], acc: I4) -> I4 {
            I4(std::array::from_fn(|j| {
                acc.0[j] + self.0 * w[2 * j] + self.1 * w[2 * j + 1]
            }))
        }
    }

    impl I4 {
        /// Zeros.
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0; 4])
        }
        /// An input pair, for [`Group::dot_add`].
        #[inline(always)]
        pub fn splat_group(x: &[i16]) -> Group {
            Group(i32::from(x[0]), i32::from(x[1]))
        }
        /// Lane-wise maxima.
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i].max(o.0[i])))
        }
        /// Four int32 values (the tests).
        pub fn from_array(x: [i32; 4]) -> Self {
            Self(x)
        }
        /// The four values.
        #[inline(always)]
        pub fn to_array(self) -> [i32; 4] {
            self.0
        }
    }

    /// See [`super::requantize`].
    #[inline(always)]
    pub fn requantize(
        sums: [I4; 2],
        bias: &[i32],
        multipliers: &[i32],
        shift: u32,
        out: &mut [i16],
    ) {
        let sums = super::to_array(sums);
        for (j, out) in out[..8].iter_mut().enumerate() {
            let product = i64::from(sums[j] + bias[j]) * i64::from(multipliers[j]);
            *out = ((product + (1 << (shift - 1))) >> shift).clamp(0, 127) as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_weights_put_each_weight_where_accumulate_reads_it() {
        // 3 inputs (padded to 4), 9 outputs (padded to 16): weight(k, o) = 10k + o.
        let w = GroupedWeights::new(3, 9, |k, o| (10 * k + o) as i8);
        assert_eq!((w.blocks(), w.bytes()), (2, 2 * 2 * 16));
        let b0 = w.block(0);
        // Pair 0, lane 1: inputs 0 and 1 of output 1.
        assert_eq!(&b0[2..4], &[1, 11]);
        // Pair 1, lane 0: input 2 of output 0, then the padding input.
        assert_eq!(&b0[16..18], &[20, 0]);
        // Block 1, pair 0: output 8, then the padded outputs.
        assert_eq!(&w.block(1)[..4], &[8, 18, 0, 0]);
    }

    #[test]
    fn accumulate_sums_products_of_rows_and_weights() {
        let (inputs, outputs) = (6, 8);
        let weight = |k: usize, o: usize| (k as i8 - 3) * (o as i8 + 1) * 5;
        let w = GroupedWeights::new(inputs, outputs, weight);
        let rows: [Vec<i16>; 4] = std::array::from_fn(|r| {
            (0..inputs)
                .map(|k| (r * 37 + k * 11) as i16 % 128 - 60)
                .collect()
        });
        let mut sums = zero::<4>();
        accumulate(
            &mut sums,
            [0, 1, 2, 3].map(|r| rows[r].as_slice()),
            w.block(0),
        );
        for (r, values) in rows.iter().enumerate() {
            let want: [i32; 8] = std::array::from_fn(|o| {
                (0..inputs)
                    .map(|k| i32::from(values[k]) * i32::from(weight(k, o)))
                    .sum()
            });
            assert_eq!(to_array(sums[r]), want, "row {r}");
        }
        let pooled = to_array(pool(&sums));
        for (o, &max) in pooled.iter().enumerate() {
            assert_eq!(max, (0..4).map(|r| to_array(sums[r])[o]).max().unwrap());
        }
    }
}
