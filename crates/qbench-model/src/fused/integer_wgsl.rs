//! The WGSL of `int8-compute`'s WebGPU kernels ([`super::integer`]), as
//! text: compiled in every build, so the native tests validate it with naga.

use qbench_core::protocol::IntegerDot;

/// Side of an image padded by one on every side.
pub const PADDED: usize = crate::network::IMAGE_SIDE + 2;
/// Words of one padded image's codes.
pub const IMAGE_WORDS: usize = (PADDED * PADDED).div_ceil(4);
/// Words per position of conv1's output (32 channels).
pub const CONV1_WORDS: usize = 8;
/// Words per position of conv2's output (64 channels).
pub const CONV2_WORDS: usize = 16;
/// Words of fc1's output (128 channels).
pub const FC1_WORDS: usize = 32;
/// Quads of fc2's outputs (10 classes, padded to 12).
pub const FC2_QUADS: usize = crate::network::CLASSES.div_ceil(4);
/// Positions of conv1's pooled output (14 × 14).
pub const CONV1_CELLS: usize = 196;
/// Positions of conv2's pooled output (7 × 7).
pub const CONV2_CELLS: usize = 49;
/// Invocations of conv1, conv2 and fc1 for `batch` images: one per output
/// word (four channels) of a position, or of `fc1_rows` rows.
pub fn invocations(batch: usize) -> [usize; 3] {
    [
        batch * CONV1_CELLS * CONV1_WORDS,
        batch * CONV2_CELLS * CONV2_WORDS,
        batch.div_ceil(fc1_rows(batch)) * FC1_WORDS,
    ]
}

/// Rows an fc1 invocation computes for `batch` images.
pub fn fc1_rows(batch: usize) -> usize {
    if batch >= 4 { 4 } else { 1 }
}

/// What every kernel shares: the word dot product and the requantization.
const COMMON: &str = r"
fn pack(c: vec4<u32>) -> u32 {
    return c.x | (c.y << 8u) | (c.z << 16u) | (c.w << 24u);
}

// a × b as (low, high) 32-bit words, from 16-bit halves.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// (x × m + 2^(SHIFT − 1)) >> SHIFT, clamped to 0–127: the CPU's requantization.
fn requant(x: i32, m: i32) -> u32 {
    if (x <= 0) {
        return 0u;
    }
    let p = mul_wide(u32(x), u32(m));
    let lo = p.x + ROUND_LO;
    let hi = p.y + ROUND_HI + select(0u, 1u, lo < p.x);
    SHIFTED
    return min(q, 127u);
}

fn requant4(x: vec4<i32>, m: vec4<i32>) -> u32 {
    return pack(vec4<u32>(requant(x.x, m.x), requant(x.y, m.y), requant(x.z, m.z), requant(x.w, m.w)));
}

fn dot4x4(a: u32, w: vec4<u32>) -> vec4<i32> {
    return vec4<i32>(dot4(a, w.x), dot4(a, w.y), dot4(a, w.z), dot4(a, w.w));
}
";

/// `dot4` on the packed dot product.
const DOT_PACKED: &str = r"
fn dot4(a: u32, b: u32) -> i32 {
    return dot4I8Packed(a, b);
}
";

/// `dot4` on bytes sign-extended and multiplied in i32.
const DOT_UNPACKED: &str = r"
fn dot4(a: u32, b: u32) -> i32 {
    let x = bitcast<i32>(a);
    let y = bitcast<i32>(b);
    return extractBits(x, 0u, 8u) * extractBits(y, 0u, 8u)
        + extractBits(x, 8u, 8u) * extractBits(y, 8u, 8u)
        + extractBits(x, 16u, 8u) * extractBits(y, 16u, 8u)
        + extractBits(x, 24u, 8u) * extractBits(y, 24u, 8u);
}
";

/// The bindings of conv1, conv2 and fc1, whose weights are `vec4<WEIGHT>`:
/// the input codes, weights, biases, requantization multipliers, output codes.
const RELU_BINDINGS: &str = "
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<WEIGHT>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> mult: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read_write> output: array<u32>;
";

/// conv1, its pool, bias, requantization and ReLU: padded image codes
/// `[N][IMAGE_WORDS]` → `[N][14][14][8]` words. An invocation owns one pooled
/// position and four channels.
const CONV1: &str = r"

fn code(base: u32, i: u32) -> i32 {
    return i32((input[base + i / 4u] >> (8u * (i % 4u))) & 0xffu);
}

@compute @workgroup_size(64)
fn conv1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.x;
    if (id >= N * 1568u) {
        return;
    }
    let q = id % 8u;
    let pos = id / 8u;
    let px = pos % 14u;
    let py = (pos / 14u) % 14u;
    let base = (pos / 196u) * IMAGE_WORDS;
    var s0 = vec4<i32>(0);
    var s1 = vec4<i32>(0);
    var s2 = vec4<i32>(0);
    var s3 = vec4<i32>(0);
    for (var t = 0u; t < 9u; t++) {
        let w = weight[t * 8u + q];
        let at = (2u * py + t / 3u) * SIDE + 2u * px + t % 3u;
        s0 += code(base, at) * w;
        s1 += code(base, at + 1u) * w;
        s2 += code(base, at + SIDE) * w;
        s3 += code(base, at + SIDE + 1u) * w;
    }
    output[id] = requant4(max(max(s0, s1), max(s2, s3)) + bias[q], mult[q]);
}
";

/// conv2, its pool, bias, requantization and ReLU: `[N][14][14][8]` words →
/// `[N][7][7][16]` words. An invocation owns one pooled position and four
/// channels; weights `[tap][input word][output quad]` as four words.
const CONV2: &str = r"

@compute @workgroup_size(64)
fn conv2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.x;
    if (id >= N * 784u) {
        return;
    }
    let q = id % 16u;
    let pos = id / 16u;
    let px = i32(pos % 7u);
    let py = i32((pos / 7u) % 7u);
    let n = pos / 49u;
    var s = array<vec4<i32>, 4>(vec4<i32>(0), vec4<i32>(0), vec4<i32>(0), vec4<i32>(0));
    for (var t = 0u; t < 9u; t++) {
        var at: array<u32, 4>;
        var inside: array<bool, 4>;
        for (var p = 0u; p < 4u; p++) {
            let y = 2 * py + i32(p / 2u + t / 3u) - 1;
            let x = 2 * px + i32(p % 2u + t % 3u) - 1;
            inside[p] = y >= 0 && y < 14 && x >= 0 && x < 14;
            at[p] = ((n * 14u + u32(clamp(y, 0, 13))) * 14u + u32(clamp(x, 0, 13))) * 8u;
        }
        for (var c = 0u; c < 8u; c++) {
            let w = weight[(t * 8u + c) * 16u + q];
            for (var p = 0u; p < 4u; p++) {
                let a = select(0u, input[at[p] + c], inside[p]);
                s[p] += dot4x4(a, w);
            }
        }
    }
    output[id] = requant4(max(max(s[0], s[1]), max(s[2], s[3])) + bias[q], mult[q]);
}
";

/// fc1 and its ReLU: `[N][784]` words → `[N][32]` words. An invocation owns
/// four output channels of `ROWS` rows, each weight read serving them all;
/// rows past the batch read the last row and are not written.
const FC1: &str = r"

@compute @workgroup_size(64)
fn fc1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.x;
    let groups = (N + ROWS - 1u) / ROWS;
    if (id >= groups * 32u) {
        return;
    }
    let q = id % 32u;
    let first = (id / 32u) * ROWS;
    var s: array<vec4<i32>, ROWS>;
    var row: array<u32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        s[r] = vec4<i32>(0);
        row[r] = min(first + r, N - 1u) * 784u;
    }
    for (var c = 0u; c < 784u; c++) {
        let w = weight[c * 32u + q];
        for (var r = 0u; r < ROWS; r++) {
            s[r] += dot4x4(input[row[r] + c], w);
        }
    }
    for (var r = 0u; r < ROWS; r++) {
        if (first + r < N) {
            output[(first + r) * 32u + q] = requant4(s[r] + bias[q], mult[q]);
        }
    }
}
";

/// fc2, dequantized: `[N][32]` words → `[N][10]` float32 logits. An
/// invocation owns four classes of one row.
const FC2: &str = r"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> scale: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(64)
fn fc2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.x;
    if (id >= N * 3u) {
        return;
    }
    let q = id % 3u;
    let n = id / 3u;
    var s = vec4<i32>(0);
    for (var c = 0u; c < 32u; c++) {
        s += dot4x4(input[n * 32u + c], weight[c * 3u + q]);
    }
    let logits = vec4<f32>(s + bias[q]) * scale[q];
    for (var j = 0u; j < 4u; j++) {
        if (4u * q + j < 10u) {
            output[n * 10u + 4u * q + j] = logits[j];
        }
    }
}
";

/// Each image's codes summed (`run --profile`'s cuts): `[N][WORDS]` words →
/// `[N]` float32, one invocation per image (every sum is below 2^24, exact).
const SUM: &str = r"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(64)
fn sum_codes(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    if (n >= N) {
        return;
    }
    var s = 0u;
    for (var i = 0u; i < WORDS; i++) {
        let w = input[n * WORDS + i];
        s += (w & 0xffu) + ((w >> 8u) & 0xffu) + ((w >> 16u) & 0xffu) + (w >> 24u);
    }
    output[n] = f32(s);
}
";

/// The lines of [`COMMON`]'s `requant` that shift the rounded product right
/// by `shift` (1 to 62) into `q`, saturating what does not fit 32 bits.
pub fn shifted(shift: u32) -> String {
    match shift {
        1..32 => format!(
            "if ((hi >> {shift}u) != 0u) {{ return 127u; }}\n    let q = (lo >> {shift}u) | (hi << {}u);",
            32 - shift
        ),
        32 => "let q = hi;".into(),
        _ => format!("let q = hi >> {}u;", shift - 32),
    }
}

/// A kernel's full text: constants, [`COMMON`] for requantization by
/// `shift` (none for fc2), the word dot product, then `body`.
pub fn text(
    body: &str,
    constants: &[(&str, usize)],
    shift: Option<u32>,
    dot: IntegerDot,
) -> String {
    let mut out = String::new();
    for (name, value) in constants {
        out.push_str(&format!("const {name}: u32 = {value}u;\n"));
    }
    let shift = shift.unwrap_or(1);
    let round = 1u64 << (shift - 1);
    out.push_str(
        &COMMON
            .replace("ROUND_LO", &format!("{}u", round as u32))
            .replace("ROUND_HI", &format!("{}u", (round >> 32) as u32))
            .replace("SHIFTED", &shifted(shift)),
    );
    out.push_str(match dot {
        IntegerDot::Packed => DOT_PACKED,
        IntegerDot::Unpacked => DOT_UNPACKED,
    });
    out.push_str(body);
    out
}

/// `body` after [`RELU_BINDINGS`] with weights of `weight` words.
fn relu(body: &str, weight: &str) -> String {
    RELU_BINDINGS.replace("WEIGHT", weight) + body
}

/// The WGSL of the four layers' kernels and of the cut sums, for one batch size.
pub struct Texts {
    /// conv1, its pool, requantization and ReLU.
    pub conv1: String,
    /// conv2, the same.
    pub conv2: String,
    /// fc1 and its ReLU.
    pub fc1: String,
    /// fc2, dequantized.
    pub fc2: String,
    /// Sums of each image's input codes, conv1's, conv2's and fc1's outputs.
    pub sums: [String; 4],
}

impl Texts {
    /// The kernels for `batch` images, requantizing by `shifts` (conv1,
    /// conv2, fc1), their products taken with `dot`.
    pub fn new(batch: usize, shifts: [u32; 3], dot: IntegerDot) -> Self {
        let n = ("N", batch);
        let sum = |words: usize| text(SUM, &[n, ("WORDS", words)], None, dot);
        Self {
            conv1: text(
                &relu(CONV1, "i32"),
                &[n, ("SIDE", PADDED), ("IMAGE_WORDS", IMAGE_WORDS)],
                Some(shifts[0]),
                dot,
            ),
            conv2: text(&relu(CONV2, "u32"), &[n], Some(shifts[1]), dot),
            fc1: text(
                &relu(FC1, "u32"),
                &[n, ("ROWS", fc1_rows(batch))],
                Some(shifts[2]),
                dot,
            ),
            fc2: text(FC2, &[n], None, dot),
            sums: [
                sum(IMAGE_WORDS),
                sum(CONV1_CELLS * CONV1_WORDS),
                sum(CONV2_CELLS * CONV2_WORDS),
                sum(FC1_WORDS),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_lines_cover_every_shift() {
        assert!(shifted(5).contains("(lo >> 5u) | (hi << 27u)"));
        assert_eq!(shifted(32), "let q = hi;");
        assert_eq!(shifted(40), "let q = hi >> 8u;");
    }

    /// Every kernel parses and validates as WGSL (naga, as Firefox's WebGPU
    /// and wgpu run it), with both dot products, for one image and a batch,
    /// and for shifts below, at and above 32 bits.
    #[test]
    fn every_kernel_is_valid_wgsl() {
        for dot in [IntegerDot::Packed, IntegerDot::Unpacked] {
            for (batch, shifts) in [(1, [5, 32, 40]), (32, [38, 31, 62])] {
                let t = Texts::new(batch, shifts, dot);
                let all = [&t.conv1, &t.conv2, &t.fc1, &t.fc2]
                    .into_iter()
                    .chain(&t.sums);
                for source in all {
                    let module = naga::front::wgsl::parse_str(source)
                        .unwrap_or_else(|e| panic!("{}\n{source}", e.emit_to_string(source)));
                    naga::valid::Validator::new(
                        naga::valid::ValidationFlags::all(),
                        naga::valid::Capabilities::all(),
                    )
                    .validate(&module)
                    .unwrap_or_else(|e| panic!("{e:?}\n{source}"));
                }
            }
        }
    }
}
