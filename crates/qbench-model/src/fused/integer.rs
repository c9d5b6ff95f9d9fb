//! `int8-compute` on WebGPU: the integer network ([`IntegerLayers`]) in four
//! hand-written WGSL kernels, one dispatch per layer, computing the integers
//! the CPU kernels compute.
//!
//! - Activations are int8 codes (0–127 after ReLU) packed four channels to a
//!   32-bit word, channels last; so are the weights, four inputs of one
//!   output channel to a word. One word times one word is four int8 × int8
//!   products summed in int32: WGSL's `dot4I8Packed` where the adapter has
//!   the `packed_4x8_integer_dot_product` language feature
//!   ([`IntegerDot::Packed`]), else the four bytes sign-extended and
//!   multiplied in i32 ([`IntegerDot::Unpacked`]). Both give the same sums.
//! - conv1 reads its one input channel as bytes (its nine taps are no whole
//!   words) and multiplies in i32; conv2, fc1 and fc2 take words.
//! - Requantization is the CPU's fixed-point multiply, `(x × m + 2^(s−1)) >>
//!   s`, with the 64-bit product built from 16-bit halves (WGSL has no
//!   64-bit integers); fc2's sums are dequantized to float32 logits as on the
//!   CPU. The images are coded on the host (`integer::input_code`), as the
//!   CPU cells do, so no float division on the GPU can round differently.
//!
//! The kernels carry their own WGSL (cubecl's [`PrecompiledSource`]): cubecl's
//! language has no packed dot product. The batch size is part of the text,
//! so each batch size compiles its own four pipelines once.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use burn::tensor::{DType, Device, ExecutionError, ProfileDuration, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::CubeDevice;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use cubecl::ir::metadata::Info;
use cubecl::ir::settings::Dim3;
use cubecl::prelude::*;
use cubecl::server::{Handle, KernelArguments};
use qbench_core::profile::Stage;
use qbench_core::protocol::IntegerDot;
use qbench_core::quantize::ActivationScales;

use super::Refused;
use super::integer_wgsl::{
    CONV1_CELLS, CONV1_WORDS, CONV2_CELLS, CONV2_WORDS, FC1_WORDS, FC2_QUADS, IMAGE_WORDS, PADDED,
    Texts, invocations,
};
use crate::integer::{IntegerLayers, LayerInts, Output, input_code};
use crate::network::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};

/// Invocations per workgroup in every kernel (the WGSL's `@workgroup_size`).
const WORKGROUP: u32 = 64;

/// A hand-written WGSL kernel: its text and entry point, its id covering the text.
#[derive(Clone)]
struct Kernel {
    source: Arc<str>,
    entry: &'static str,
    hash: u64,
}

impl Kernel {
    fn new(entry: &'static str, source: String) -> Self {
        let mut hasher = DefaultHasher::new();
        source.hash(&mut hasher);
        Self {
            source: source.into(),
            entry,
            hash: hasher.finish(),
        }
    }
}

impl KernelMetadata for Kernel {
    fn name(&self) -> &'static str {
        self.entry
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.hash)
    }

    fn address_type(&self) -> ElemType {
        ElemType::UInt(cubecl::ir::UIntKind::U32)
    }
}

impl CubeKernel for Kernel {
    fn define(&self) -> KernelDefinition {
        let settings = KernelSettings::new(
            Dim3::new_1d(WORKGROUP),
            ExecutionMode::Checked,
            AddressType::U32,
        );
        KernelDefinition {
            body: Scope::root(settings.clone()),
            settings,
            info: Info::default(),
        }
    }

    fn source(&self) -> Option<PrecompiledSource> {
        Some(PrecompiledSource {
            source: self.source.to_string(),
            entrypoint_name: self.entry.to_string(),
            lang: "wgsl",
        })
    }
}

/// The four layers' kernels and the cut sums' for one batch size.
struct Kernels {
    batch: usize,
    conv1: Kernel,
    conv2: Kernel,
    fc1: Kernel,
    fc2: Kernel,
    /// Sums of the input codes, conv1's, conv2's and fc1's outputs.
    sums: [Kernel; 4],
}

impl Kernels {
    fn new(batch: usize, shifts: [u32; 3], dot: IntegerDot) -> Self {
        let t = Texts::new(batch, shifts, dot);
        let [s0, s1, s2, s3] = t.sums;
        Self {
            batch,
            conv1: Kernel::new("conv1", t.conv1),
            conv2: Kernel::new("conv2", t.conv2),
            fc1: Kernel::new("fc1", t.fc1),
            fc2: Kernel::new("fc2", t.fc2),
            sums: [s0, s1, s2, s3].map(|s| Kernel::new("sum_codes", s)),
        }
    }
}

/// One layer's buffers on the device.
struct LayerBuffers {
    weight: Handle,
    bias: Handle,
    /// Requantization multipliers, or fc2's float32 scales.
    rule: Handle,
}

/// The integer network on burn's WebGPU device ([module docs](self)).
pub struct IntegerWebgpu {
    client: Client,
    device: CubeDevice,
    scales: ActivationScales,
    dot: IntegerDot,
    shifts: [u32; 3],
    layers: [LayerBuffers; 4],
    bytes: usize,
    kernels: Mutex<Vec<Arc<Kernels>>>,
}

/// `words` as little-endian bytes.
fn bytes<T: Copy>(words: &[T], to_le: impl Fn(T) -> [u8; 4]) -> Vec<u8> {
    words.iter().flat_map(|&w| to_le(w)).collect()
}

/// Four int8 values as one word, the first in the lowest byte.
fn word(codes: [i8; 4]) -> u32 {
    u32::from_le_bytes(codes.map(|c| c as u8))
}

/// A layer's requantization: its multipliers and shift.
fn requant(layer: &LayerInts) -> (&[i32], u32) {
    match &layer.output {
        Output::Relu(r) => (&r.multipliers, r.shift),
        Output::Dequantized(_) => unreachable!("only fc2 dequantizes"),
    }
}

impl IntegerWebgpu {
    /// `layers` uploaded to `device` (burn's WebGPU device), their products
    /// taken with `dot`.
    ///
    /// # Errors
    /// [`Refused::Backend`] when `device` is not on burn's cubecl backend.
    pub fn new(layers: &IntegerLayers, dot: IntegerDot, device: &Device) -> Result<Self, Refused> {
        let anchor = BurnTensor::<1>::zeros([1], device)
            .try_into_primitive::<Cube>()
            .map_err(|_| Refused::Backend)?;
        let client = anchor.client.clone();
        let mut stored = 0;
        let mut upload = |b: Vec<u8>| {
            stored += b.len();
            client.create_from_slice(&b)
        };
        let i32s = |v: &[i32]| bytes(v, i32::to_le_bytes);
        let u32s = |v: &[u32]| bytes(v, u32::to_le_bytes);
        // conv1: `[tap][channel]` in i32; conv2, fc1: `[input word][output]`
        // words of four inputs; fc2 the same with outputs padded to 12.
        let conv1 = &layers.conv1;
        let conv1_weight: Vec<i32> = (0..9 * conv1.outputs)
            .map(|i| i32::from(conv1.code(i / conv1.outputs, i % conv1.outputs)))
            .collect();
        let packed = |layer: &LayerInts, outputs: usize| -> Vec<u32> {
            (0..layer.inputs / 4 * outputs)
                .map(|i| {
                    let (c, o) = (i / outputs, i % outputs);
                    word(std::array::from_fn(|b| match o < layer.outputs {
                        true => layer.code(4 * c + b, o),
                        false => 0,
                    }))
                })
                .collect()
        };
        let padded_i32 = |v: &[i32], len: usize| {
            let mut v = v.to_vec();
            v.resize(len, 0);
            i32s(&v)
        };
        let relu_layer =
            |upload: &mut dyn FnMut(Vec<u8>) -> Handle, layer: &LayerInts, weight| LayerBuffers {
                weight: upload(weight),
                bias: upload(i32s(&layer.bias)),
                rule: upload(i32s(requant(layer).0)),
            };
        let conv1_buffers = relu_layer(&mut upload, conv1, i32s(&conv1_weight));
        let conv2_buffers = relu_layer(
            &mut upload,
            &layers.conv2,
            u32s(&packed(&layers.conv2, layers.conv2.outputs)),
        );
        let fc1_buffers = relu_layer(
            &mut upload,
            &layers.fc1,
            u32s(&packed(&layers.fc1, layers.fc1.outputs)),
        );
        let fc2 = &layers.fc2;
        let Output::Dequantized(fc2_scales) = &fc2.output else {
            unreachable!("fc2 dequantizes")
        };
        let mut scales = fc2_scales.clone();
        scales.resize(4 * FC2_QUADS, 0.0);
        let fc2_buffers = LayerBuffers {
            weight: upload(u32s(&packed(fc2, 4 * FC2_QUADS))),
            bias: upload(padded_i32(&fc2.bias, 4 * FC2_QUADS)),
            rule: upload(bytes(&scales, f32::to_le_bytes)),
        };
        Ok(Self {
            client,
            device: anchor.device,
            scales: layers.scales,
            dot,
            shifts: [&layers.conv1, &layers.conv2, &layers.fc1].map(|l| requant(l).1),
            layers: [conv1_buffers, conv2_buffers, fc1_buffers, fc2_buffers],
            bytes: stored,
            kernels: Mutex::new(Vec::new()),
        })
    }

    /// How the kernels take their products.
    pub fn dot(&self) -> IntegerDot {
        self.dot
    }

    /// The activation scales the network was built for.
    pub fn scales(&self) -> ActivationScales {
        self.scales
    }

    /// Bytes of the weights, biases, multipliers and scales uploaded.
    pub fn stored_bytes(&self) -> usize {
        self.bytes
    }

    /// The kernels for `batch` images, generated at first use.
    fn kernels(&self, batch: usize) -> Arc<Kernels> {
        let mut cache = self
            .kernels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.iter().find(|k| k.batch == batch) {
            return k.clone();
        }
        let k = Arc::new(Kernels::new(batch, self.shifts, self.dot));
        cache.push(k.clone());
        k
    }

    /// The images `pixels` (`[n, 28, 28]` in [0, 1]) coded and padded on the
    /// host, uploaded.
    fn upload(&self, pixels: &[f32]) -> Handle {
        let mut codes = vec![0u8; pixels.len() / IMAGE_PIXELS * IMAGE_WORDS * 4];
        for (image, out) in pixels
            .chunks_exact(IMAGE_PIXELS)
            .zip(codes.chunks_exact_mut(IMAGE_WORDS * 4))
        {
            for (y, line) in image.chunks_exact(IMAGE_SIDE).enumerate() {
                let at = (y + 1) * PADDED + 1;
                for (code, &p) in out[at..at + IMAGE_SIDE].iter_mut().zip(line) {
                    *code = input_code(p, self.scales.input) as u8;
                }
            }
        }
        self.client.create_from_slice(&codes)
    }

    /// Launches `kernel` over `units` invocations on `buffers`.
    fn launch(&self, kernel: &Kernel, units: usize, buffers: Vec<Handle>) {
        let groups = units.div_ceil(WORKGROUP as usize) as u32;
        self.client.launch(
            Box::new(kernel.clone()),
            CubeCount::Static(groups, 1, 1),
            KernelArguments::new().with_buffers(buffers.into_iter().map(Handle::binding).collect()),
        );
    }

    /// Layer `index` (0 = conv1) of `kernels` on `input`: its output words.
    fn layer(&self, kernels: &Kernels, index: usize, input: Handle) -> Handle {
        let n = kernels.batch;
        let units = invocations(n)[index];
        let (kernel, words) = match index {
            0 => (&kernels.conv1, n * CONV1_CELLS * CONV1_WORDS),
            1 => (&kernels.conv2, n * CONV2_CELLS * CONV2_WORDS),
            _ => (&kernels.fc1, n * FC1_WORDS),
        };
        let output = self.client.empty(words * 4);
        let l = &self.layers[index];
        self.launch(
            kernel,
            units,
            vec![
                input,
                l.weight.clone(),
                l.bias.clone(),
                l.rule.clone(),
                output.clone(),
            ],
        );
        output
    }

    /// fc2 on `input`: the logits `[n, 10]` as a float32 tensor.
    fn logits_of(&self, kernels: &Kernels, input: Handle) -> BurnTensor<2> {
        let n = kernels.batch;
        let logits = empty_device_contiguous_dtype(
            self.client.clone(),
            self.device.clone(),
            [n, CLASSES].into(),
            DType::F32,
        );
        let l = &self.layers[3];
        self.launch(
            &kernels.fc2,
            n * FC2_QUADS,
            vec![
                input,
                l.weight.clone(),
                l.bias.clone(),
                l.rule.clone(),
                logits.handle.clone(),
            ],
        );
        BurnTensor::from_primitive::<Cube>(logits)
    }

    /// The logits `[n, 10]` of the images `pixels`, on the device.
    pub fn forward(&self, pixels: &[f32]) -> BurnTensor<2> {
        let kernels = self.kernels(pixels.len() / IMAGE_PIXELS);
        let mut x = self.upload(pixels);
        for index in 0..3 {
            x = self.layer(&kernels, index, x);
        }
        self.logits_of(&kernels, x)
    }

    /// [`Self::forward`] with each layer in a GPU profiling window on `device`.
    ///
    /// # Errors
    /// When the device cannot open a window.
    pub fn forward_windows(
        &self,
        pixels: &[f32],
        device: &Device,
    ) -> Result<(BurnTensor<2>, Vec<(Stage, ProfileDuration)>), ExecutionError> {
        let kernels = self.kernels(pixels.len() / IMAGE_PIXELS);
        let mut x = self.upload(pixels);
        let mut windows = Vec::with_capacity(4);
        for (index, stage) in [Stage::Conv1, Stage::Conv2, Stage::Fc1]
            .into_iter()
            .enumerate()
        {
            let (out, window) = device.profile(|| self.layer(&kernels, index, x.clone()))?;
            x = out;
            windows.push((stage, window));
        }
        let (logits, window) = device.profile(|| self.logits_of(&kernels, x))?;
        windows.push((Stage::Fc2, window));
        Ok((logits, windows))
    }

    /// The network cut after `last`, its output summed (`run --profile`).
    pub fn cut(&self, pixels: &[f32], last: Stage) -> BurnTensor<1> {
        let kernels = self.kernels(pixels.len() / IMAGE_PIXELS);
        let mut x = self.upload(pixels);
        let layers = match last {
            Stage::Upload => 0,
            Stage::Conv1 => 1,
            Stage::Conv2 => 2,
            Stage::Fc1 => 3,
            Stage::Fc2 | Stage::Softmax => {
                for index in 0..3 {
                    x = self.layer(&kernels, index, x);
                }
                let logits = self.logits_of(&kernels, x);
                return match last {
                    Stage::Fc2 => logits.sum(),
                    _ => burn::tensor::activation::softmax(logits, 1).sum(),
                };
            }
        };
        for index in 0..layers {
            x = self.layer(&kernels, index, x);
        }
        let n = kernels.batch;
        let sums = empty_device_contiguous_dtype(
            self.client.clone(),
            self.device.clone(),
            [n].into(),
            DType::F32,
        );
        self.launch(&kernels.sums[layers], n, vec![x, sums.handle.clone()]);
        BurnTensor::<1>::from_primitive::<Cube>(sums).sum()
    }
}
