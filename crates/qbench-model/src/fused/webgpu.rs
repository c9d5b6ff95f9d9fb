//! The WebGPU kernels, each a layer in one dispatch: a 3×3
//! convolution (stride 1, padding 1) with its 2×2 max-pool, bias and ReLU on
//! NHWC tensors ([`conv3x3_pool_relu`]), and a dense layer with its bias and
//! optional ReLU over float or packed int8 weights ([`dense`]).
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

use burn::tensor::quantization::{QuantMode, QuantScheme, QuantStore, QuantValue, ScaleDtype};
use burn::tensor::{DType, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_dispatch::{BackendTensor, DispatchKindConversion, DispatchTensor};
use cubecl::ir::FloatKind;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

use super::Refused;

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
    let mut acc = zeroed::<E, N>(comptime![4 * block]);

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
/// and bias `[out]` on burn's cubecl backend, or why nothing was launched:
/// another backend, mixed or non-float dtypes, odd sides, non-contiguous
/// operands.
pub fn conv3x3_pool_relu(
    x: &BurnTensor<4>,
    weight: &BurnTensor<4>,
    bias: &BurnTensor<1>,
) -> Result<BurnTensor<4>, Refused> {
    let input = cube(x.clone())?;
    let weight = cube(weight.clone())?;
    let bias = cube(bias.clone())?;
    let dtype = input.dtype;
    let elem = float_elem(dtype)?;
    if weight.dtype != dtype || bias.dtype != dtype {
        return Err(Refused::DType);
    }
    let [batch, height, width, channels] = input.meta.shape().dims();
    let [kh, kw, w_in, out] = weight.meta.shape().dims();
    let fits = [kh, kw, w_in] == [3, 3, channels]
        && bias.meta.shape().dims::<1>() == [out]
        && batch > 0
        && height % 2 == 0
        && width % 2 == 0;
    if !fits {
        return Err(Refused::Shape);
    }
    contiguous(&[&input, &weight, &bias])?;
    let (vector, block) = output_blocks(out);
    let output = empty_device_contiguous_dtype(
        input.client.clone(),
        input.device.clone(),
        [batch, height / 2, width / 2, out].into(),
        dtype,
    );
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(
        &output,
        batch * (height / 2) * (width / 2) * (out / vector / block),
    );
    // SAFETY: every index the kernel reads or writes is inside its tensor:
    // the shapes were checked above, input offsets are clamped
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
    Ok(BurnTensor::from_primitive::<Cube>(output))
}

/// Rows of the input an invocation of the dense kernels computes at once
/// (batches of at least this many): each weight vector read serves them all.
const ROWS: usize = 4;

/// A dense layer, `output = input · weight + bias` (then ReLU with `relu`),
/// for `input` `[batch, in]` and `weight` `[in, out]` as vectors of outputs.
/// An invocation owns `rows` rows and `block` vectors of outputs: it reads
/// each row's input value once per `block` weight vectors, and each weight
/// vector once per `rows` rows. Rows past the batch read the last row and are
/// not written.
#[cube(launch_unchecked)]
fn dense_kernel<E: Float, N: Size>(
    input: &Tensor<E>,
    weight: &Tensor<Vector<E, N>>,
    bias: &Tensor<Vector<E, N>>,
    output: &mut Tensor<Vector<E, N>>,
    #[comptime] block: usize,
    #[comptime] rows: usize,
    #[comptime] relu: bool,
    #[define(E)] _dtype: ElemType,
) {
    let vectors = output.shape(1) / output.vector_size();
    let (first, first_row) = dense_origin(output.shape(0), vectors, block, rows);
    let mut acc = zeroed::<E, N>(comptime![rows * block]);
    let mut weights = Array::<Vector<E, N>>::new(block);
    for k in 0..input.shape(1) {
        let w_at = k * vectors + first;
        #[unroll]
        for j in 0..block {
            weights[j] = weight[w_at + j];
        }
        add_rows_times(&mut acc, &weights, input, first_row, k, block, rows);
    }
    store_rows(&acc, bias, output, first_row, first, block, rows, relu);
}

/// [`dense_kernel`] over `weight` `[in, out / 4]`: burn's packed symmetric
/// int8, four outputs' codes to a 32-bit word (the first in the lowest byte),
/// times the one `scale`.
#[cube(launch_unchecked)]
fn dense_int8_kernel<E: Float, N: Size>(
    input: &Tensor<E>,
    weight: &Tensor<u32>,
    scale: &Tensor<f32>,
    bias: &Tensor<Vector<E, N>>,
    output: &mut Tensor<Vector<E, N>>,
    #[comptime] block: usize,
    #[comptime] rows: usize,
    #[comptime] relu: bool,
    #[define(E)] _dtype: ElemType,
) {
    let vectors = output.shape(1) / output.vector_size();
    let (first, first_row) = dense_origin(output.shape(0), vectors, block, rows);
    let mut acc = zeroed::<E, N>(comptime![rows * block]);
    let mut weights = Array::<Vector<E, N>>::new(block);
    for k in 0..input.shape(1) {
        let w_at = k * vectors + first;
        #[unroll]
        for j in 0..block {
            weights[j] = int8_codes::<E, N>(weight[w_at + j]);
        }
        add_rows_times(&mut acc, &weights, input, first_row, k, block, rows);
    }
    let scale = Vector::new(E::cast_from(scale[0]));
    #[unroll]
    for i in 0..comptime![rows * block] {
        acc[i] *= scale;
    }
    store_rows(&acc, bias, output, first_row, first, block, rows, relu);
}

/// The first output vector and the first row of this invocation of a dense
/// kernel (`block` vectors, `rows` rows of an output `[batch, vectors]`);
/// invocations past the last stop.
#[cube]
fn dense_origin(
    batch: usize,
    vectors: usize,
    #[comptime] block: usize,
    #[comptime] rows: usize,
) -> (usize, usize) {
    let groups = vectors / block;
    if ABSOLUTE_POS >= batch.div_ceil(rows) * groups {
        terminate!();
    }
    (
        (ABSOLUTE_POS % groups) * block,
        ABSOLUTE_POS / groups * rows,
    )
}

/// `len` zero vectors.
#[cube]
fn zeroed<E: Float, N: Size>(#[comptime] len: usize) -> Array<Vector<E, N>> {
    let mut acc = Array::<Vector<E, N>>::new(len);
    #[unroll]
    for i in 0..len {
        acc[i] = Vector::new(E::from_int(0));
    }
    acc
}

/// Adds input column `k` of rows `first_row..first_row + rows` (the last row
/// for those past the batch) times the `block` weight vectors to `acc`.
#[cube]
fn add_rows_times<E: Float, N: Size>(
    acc: &mut Array<Vector<E, N>>,
    weights: &Array<Vector<E, N>>,
    input: &Tensor<E>,
    first_row: usize,
    k: usize,
    #[comptime] block: usize,
    #[comptime] rows: usize,
) {
    let last = input.shape(0) - 1;
    let inputs = input.shape(1);
    #[unroll]
    for r in 0..rows {
        let v = Vector::new(input[min(first_row + r, last) * inputs + k]);
        #[unroll]
        for j in 0..block {
            acc[r * block + j] += v * weights[j];
        }
    }
}

/// The four int8 codes of a packed word (the first in the lowest byte) as
/// a vector of floats.
#[cube]
fn int8_codes<E: Float, N: Size>(word: u32) -> Vector<E, N> {
    let mut codes = Vector::<E, N>::empty();
    #[unroll]
    for lane in 0..4usize {
        let byte = (word >> u32::cast_from(lane * 8)) & 255u32;
        // Two's complement: codes from 128 up are negative.
        let code = i32::cast_from(byte) - select(byte >= 128u32, 256i32, 0i32);
        codes.insert(lane, E::cast_from(code));
    }
    codes
}

/// Rows `first_row..` (those inside the batch) of vectors `first..` of the
/// dense kernels' output: `acc + bias`, then ReLU with `relu`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_rows<E: Float, N: Size>(
    acc: &Array<Vector<E, N>>,
    bias: &Tensor<Vector<E, N>>,
    output: &mut Tensor<Vector<E, N>>,
    first_row: usize,
    first: usize,
    #[comptime] block: usize,
    #[comptime] rows: usize,
    #[comptime] relu: bool,
) {
    let vectors = output.shape(1) / output.vector_size();
    let batch = output.shape(0);
    #[unroll]
    for r in 0..rows {
        let row = first_row + r;
        if row < batch {
            #[unroll]
            for j in 0..block {
                let mut y = acc[r * block + j] + bias[first + j];
                if relu {
                    y = max(y, Vector::new(E::from_int(0)));
                }
                output[row * vectors + first + j] = y;
            }
        }
    }
}

/// The dense layer `x · weight + bias`, then ReLU with `relu`, for `x`
/// `[batch, in]`, `weight` `[in, out]` (float, or burn's packed symmetric
/// int8 with one float32 scale and `out` a multiple of 4) and `bias` `[out]`
/// on burn's cubecl backend, or why nothing was launched.
pub fn dense(
    x: &BurnTensor<2>,
    weight: &BurnTensor<2>,
    bias: &BurnTensor<1>,
    relu: bool,
) -> Result<BurnTensor<2>, Refused> {
    let input = cube(x.clone())?;
    let bias = cube(bias.clone())?;
    let dtype = input.dtype;
    let elem = float_elem(dtype)?;
    let (weight, int8) = match weight.dtype() {
        DType::QFloat(scheme) => {
            let weight = cube_quantized(weight.clone())?;
            let words = int8_words(&weight, scheme)?;
            (weight, Some(words))
        }
        _ => (cube(weight.clone())?, None),
    };
    if bias.dtype != dtype || (int8.is_none() && weight.dtype != dtype) {
        return Err(Refused::DType);
    }
    let [batch, inputs] = input.meta.shape().dims();
    let [w_in, out] = weight.meta.shape().dims();
    let packs = int8.is_none() || out.is_multiple_of(4);
    if w_in != inputs || bias.meta.shape().dims::<1>() != [out] || batch == 0 || !packs {
        return Err(Refused::Shape);
    }
    let stored = int8.as_ref().map_or(&weight, |(words, _)| words);
    contiguous(&[&input, stored, &bias])?;
    let (vector, block) = output_blocks(out);
    let rows = if batch >= ROWS { ROWS } else { 1 };
    let output = empty_device_contiguous_dtype(
        input.client.clone(),
        input.device.clone(),
        [batch, out].into(),
        dtype,
    );
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&output, batch.div_ceil(rows) * (out / vector / block));
    // SAFETY: every index the kernels read or write is inside its tensor:
    // the shapes were checked above (and `out` a multiple of 4
    // for the packed words), rows past the batch read the last row and are
    // not written, and invocations past the last output stop first.
    #[allow(unsafe_code)]
    unsafe {
        match int8 {
            None => dense_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                vector,
                input.into_tensor_arg(),
                weight.into_tensor_arg(),
                bias.into_tensor_arg(),
                output.clone().into_tensor_arg(),
                block,
                rows,
                relu,
                elem,
            ),
            Some((words, scale)) => dense_int8_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                vector,
                input.into_tensor_arg(),
                words.into_tensor_arg(),
                scale.into_tensor_arg(),
                bias.into_tensor_arg(),
                output.clone().into_tensor_arg(),
                block,
                rows,
                relu,
                elem,
            ),
        }
    }
    Ok(BurnTensor::from_primitive::<Cube>(output))
}

/// The packed words `[.., out / 4]` and the scale of `weight`, quantized in
/// `scheme`: burn's packed per-tensor symmetric int8 with a float32 scale;
/// refused in any other scheme.
fn int8_words(
    weight: &CubeTensor,
    scheme: QuantScheme,
) -> Result<(CubeTensor, CubeTensor), Refused> {
    let per_tensor_int8 = matches!(scheme.value, QuantValue::Q8S | QuantValue::Q8F)
        && scheme.store == QuantStore::PackedU32(0)
        && scheme.block_scale().is_none()
        && scheme.tensor_scale() == Some(ScaleDtype::F32)
        && scheme.mode == QuantMode::Symmetric;
    match weight.quantized_handles() {
        Some((words, scale)) if per_tensor_int8 && scale.dtype == DType::F32 => Ok((words, scale)),
        _ => Err(Refused::DType),
    }
}

/// How an invocation covers `out` output channels: vectors of 4 where `out`
/// allows, `BLOCK` of them where they divide it.
fn output_blocks(out: usize) -> (usize, usize) {
    let vector = if out.is_multiple_of(4) { 4 } else { 1 };
    let block = if (out / vector).is_multiple_of(BLOCK) {
        BLOCK
    } else {
        1
    };
    (vector, block)
}

/// The cube count and cube dimension for `units` invocations on `output`'s
/// device, one unit each.
fn grid(output: &CubeTensor, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(&output.client, units);
    (
        calculate_cube_count_elemwise(&output.client, units, cube_dim),
        cube_dim,
    )
}

/// `t` as burn's cubecl backend's own tensor.
fn cube<const D: usize>(t: BurnTensor<D>) -> Result<CubeTensor, Refused> {
    t.try_into_primitive::<Cube>().map_err(|_| Refused::Backend)
}

/// Quantized `t` as burn's cubecl backend's own tensor (which burn's
/// extension API does not hand out).
fn cube_quantized<const D: usize>(t: BurnTensor<D>) -> Result<CubeTensor, Refused> {
    match <DispatchTensor as DispatchKindConversion<Cube>>::try_into_backend(t.into_dispatch()) {
        Ok(BackendTensor::Quantized(t)) => Ok(t),
        Ok(_) => Err(Refused::DType),
        Err(_) => Err(Refused::Backend),
    }
}

/// The kernels' element type for `dtype`: float32 and float16 only.
fn float_elem(dtype: DType) -> Result<ElemType, Refused> {
    match dtype {
        DType::F32 => Ok(ElemType::Float(FloatKind::F32)),
        DType::F16 => Ok(ElemType::Float(FloatKind::F16)),
        _ => Err(Refused::DType),
    }
}

/// Every one of `tensors` row-major with nothing between rows (and not in
/// storage tiles, which only burn's matrix product reads).
fn contiguous(tensors: &[&CubeTensor]) -> Result<(), Refused> {
    match tensors
        .iter()
        .all(|t| !t.meta.is_tiled() && t.is_contiguous())
    {
        true => Ok(()),
        false => Err(Refused::Layout),
    }
}
