//! qbench's own WebGPU kernel: a 3×3 convolution (stride 1, padding 1), its
//! 2×2 max-pool, bias and ReLU in one dispatch, on NHWC tensors.
//!
//! burn's direct convolution gives each invocation one output position and a
//! vector of output channels, reads input and weight as vectors of *input*
//! channels and folds every product into its output lane one component at a
//! time; the pool and the ReLU are two more dispatches over the full-size
//! output. On the software adapters (SwiftShader, lavapipe) that fold is most
//! of an inference. Here an invocation owns one pooled position and a vector of
//! output channels: it accumulates the pool window's four convolution outputs
//! as whole vectors (one input value broadcast, times the weight vector of
//! `[kh, kw, in, out]` at that input channel), then takes their maximum, adds
//! the bias and clamps at zero. The pool commutes with the bias and ReLU
//! (`max(x + b) = max(x) + b`, ReLU is monotonic), so this is the same network
//! summed in the same order per output.

use burn::tensor::{DType, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::ir::FloatKind;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

/// Vectors of output channels an invocation computes: each input value read
/// serves `4 * BLOCK` channels, each weight vector read four positions.
const BLOCK: usize = 4;

#[cube(launch_unchecked)]
fn conv3x3_pool_relu_kernel<E: Float, N: Size>(
    input: &Tensor<E>,
    weight: &Tensor<Vector<E, N>>,
    bias: &Tensor<Vector<E, N>>,
    output: &mut Tensor<Vector<E, N>>,
    #[comptime] block: usize,
    #[define(E)] _dtype: ElemType,
) {
    let vectors = output.shape(3) / output.vector_size();
    let groups = vectors / block;
    let pooled_w = output.shape(2);
    let pooled_h = output.shape(1);
    if ABSOLUTE_POS >= output.shape(0) * pooled_h * pooled_w * groups {
        terminate!();
    }
    // Neighbouring invocations differ in their output channels: they read the
    // same input values and neighbouring weight vectors.
    let g = ABSOLUTE_POS % groups;
    let position = ABSOLUTE_POS / groups;
    let px = position % pooled_w;
    let rest = position / pooled_w;
    let py = rest % pooled_h;
    let b = rest / pooled_h;

    let height = input.shape(1);
    let width = input.shape(2);
    let channels = input.shape(3);
    let row = input.stride(1);
    let base = b * input.stride(0);
    let first = g * block;

    // The pool window's four convolution outputs (top left, top right,
    // bottom left, bottom right), `block` vectors each.
    let mut acc = Array::<Vector<E, N>>::new(comptime![4 * block]);
    #[unroll]
    for i in 0..comptime![4 * block] {
        acc[i] = Vector::new(E::from_int(0));
    }

    // Row and column `y + ky`, `x + kx` are padded coordinates (one more than
    // the input's): 0 and `height + 1` are the padding, read as zero.
    let y = py * 2;
    let x = px * 2;
    #[unroll]
    for ky in 0..3usize {
        #[unroll]
        for kx in 0..3usize {
            let y0 = y + ky;
            let x0 = x + kx;
            let top = y0 >= 1;
            let bottom = y0 < height;
            let left = x0 >= 1;
            let right = x0 < width;
            // Offsets clamped into the image; a padding position's value is
            // then multiplied by zero.
            let r0 = select(top, y0 - 1, 0) * row;
            let r1 = select(bottom, y0, height - 1) * row;
            let c0 = select(left, x0 - 1, 0) * channels;
            let c1 = select(right, x0, width - 1) * channels;
            let one = E::from_int(1);
            let zero = E::from_int(0);
            let m00 = select(top && left, one, zero);
            let m01 = select(top && right, one, zero);
            let m10 = select(bottom && left, one, zero);
            let m11 = select(bottom && right, one, zero);
            let i00 = base + r0 + c0;
            let i01 = base + r0 + c1;
            let i10 = base + r1 + c0;
            let i11 = base + r1 + c1;
            let w_base = (ky * 3 + kx) * channels * vectors + first;
            for c in 0..channels {
                let v00 = Vector::new(input[i00 + c] * m00);
                let v01 = Vector::new(input[i01 + c] * m01);
                let v10 = Vector::new(input[i10 + c] * m10);
                let v11 = Vector::new(input[i11 + c] * m11);
                let w_at = w_base + c * vectors;
                #[unroll]
                for j in 0..block {
                    let w = weight[w_at + j];
                    acc[j] += v00 * w;
                    acc[block + j] += v01 * w;
                    acc[2 * block + j] += v10 * w;
                    acc[3 * block + j] += v11 * w;
                }
            }
        }
    }
    let out = position * vectors + first;
    #[unroll]
    for j in 0..block {
        let top = max(acc[j], acc[block + j]);
        let bottom = max(acc[2 * block + j], acc[3 * block + j]);
        let pooled = max(top, bottom) + bias[first + j];
        output[out + j] = max(pooled, Vector::new(E::from_int(0)));
    }
}

/// The fused layer for NHWC `x` `[batch, h, w, in]`, weight `[3, 3, in, out]`
/// and bias `[out]` on burn's cubecl backend; `None` (nothing launched) for
/// tensors elsewhere or in a form the kernel does not read: another backend,
/// mixed or non-float dtypes, non-contiguous operands, odd sides.
pub fn conv3x3_pool_relu(
    x: &BurnTensor<4>,
    weight: &BurnTensor<4>,
    bias: &BurnTensor<1>,
) -> Option<BurnTensor<4>> {
    let cube = |t: BurnTensor<4>| t.try_into_primitive::<Cube>().ok();
    let input = cube(x.clone())?;
    let weight = cube(weight.clone())?;
    let bias = bias.clone().try_into_primitive::<Cube>().ok()?;
    let dtype = input.dtype;
    let [batch, height, width, channels] = input.meta.shape().dims();
    let [kh, kw, w_in, out] = weight.meta.shape().dims();
    let elem = match dtype {
        DType::F32 => ElemType::Float(FloatKind::F32),
        DType::F16 => ElemType::Float(FloatKind::F16),
        _ => return None,
    };
    let readable = weight.dtype == dtype
        && bias.dtype == dtype
        && [kh, kw, w_in] == [3, 3, channels]
        && bias.meta.shape().dims::<1>() == [out]
        && batch > 0
        && height % 2 == 0
        && width % 2 == 0
        && [&input, &weight, &bias].iter().all(|t| contiguous(t));
    if !readable {
        return None;
    }
    let vector = if out.is_multiple_of(4) { 4 } else { 1 };
    let block = if (out / vector).is_multiple_of(BLOCK) {
        BLOCK
    } else {
        1
    };
    let output = empty_device_contiguous_dtype(
        input.client.clone(),
        input.device.clone(),
        [batch, height / 2, width / 2, out].into(),
        dtype,
    );
    let units = batch * (height / 2) * (width / 2) * (out / vector / block);
    let client = output.client.clone();
    let cube_dim = CubeDim::new(&client, units);
    let cube_count = calculate_cube_count_elemwise(&client, units, cube_dim);
    // SAFETY: every index the kernel reads or writes is inside its tensor:
    // the shapes were checked above (`readable`), input offsets are clamped
    // into the image, and invocations past the last output stop first.
    #[allow(unsafe_code)]
    unsafe {
        conv3x3_pool_relu_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            vector,
            input.into_tensor_arg(),
            weight.into_tensor_arg(),
            bias.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            block,
            elem,
        );
    }
    Some(BurnTensor::from_primitive::<Cube>(output))
}

/// Row-major with nothing between rows (and not in storage tiles, which
/// only burn's matrix product reads).
fn contiguous(t: &CubeTensor) -> bool {
    !t.meta.is_tiled() && t.is_contiguous()
}
