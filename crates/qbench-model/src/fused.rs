//! qbench's own WebGPU kernels, each a layer in one dispatch
//! ([`webgpu`](self), compiled in with `cfg(webgpu_kernels)`: the browser
//! build with the `webgpu-kernels` feature, without `fusion`), and why one
//! did not run.
//!
//! Elsewhere (natively, in the CPU module, with burn's fusion) every call is
//! [`Refused::NotCompiled`] and the channels-last network runs burn's kernels
//! instead. In the kernels build the network runs nothing else: any other
//! refusal is a bug, reported with its reason.

use std::fmt;

#[cfg(webgpu_kernels)]
mod integer;
#[cfg_attr(not(webgpu_kernels), allow(dead_code))]
pub mod integer_wgsl;
#[cfg(webgpu_kernels)]
mod webgpu;
#[cfg(webgpu_kernels)]
pub use integer::IntegerWebgpu;
#[cfg(webgpu_kernels)]
pub use webgpu::{conv3x3_pool_relu, dense};

/// Why a kernel launched nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(webgpu_kernels), allow(dead_code))]
pub enum Refused {
    /// This build has no WebGPU kernels.
    #[cfg(not(webgpu_kernels))]
    NotCompiled,
    /// An operand is not on burn's cubecl backend.
    Backend,
    /// The input is not float32 or float16, or an operand's dtype does not
    /// match it (a dense weight may be burn's packed per-tensor symmetric
    /// int8 with a float32 scale and a multiple of 4 outputs).
    DType,
    /// Shapes that do not fit together, an odd side or an empty batch.
    Shape,
    /// An operand that is not contiguous row-major (or is storage-tiled).
    Layout,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            #[cfg(not(webgpu_kernels))]
            Refused::NotCompiled => "this build has no WebGPU kernels",
            Refused::Backend => "an operand is not on burn's cubecl backend",
            Refused::DType => "an operand's dtype is not one the kernel reads",
            Refused::Shape => "the operands' shapes do not fit the kernel",
            Refused::Layout => "an operand is not contiguous row-major",
        })
    }
}

/// Without the kernels: every call is refused.
#[cfg(not(webgpu_kernels))]
mod absent {
    use super::Refused;
    use burn::tensor::{Device, ExecutionError, ProfileDuration, Tensor};
    use qbench_core::profile::Stage;
    use qbench_core::protocol::IntegerDot;
    use qbench_core::quantize::ActivationScales;

    use crate::integer::IntegerLayers;

    /// `int8-compute` on WebGPU, which this build cannot make.
    pub enum IntegerWebgpu {}

    #[allow(clippy::unused_self, missing_docs)]
    impl IntegerWebgpu {
        pub fn new(_: &IntegerLayers, _: IntegerDot, _: &Device) -> Result<Self, Refused> {
            Err(Refused::NotCompiled)
        }
        pub fn dot(&self) -> IntegerDot {
            match *self {}
        }
        pub fn scales(&self) -> ActivationScales {
            match *self {}
        }
        pub fn stored_bytes(&self) -> usize {
            match *self {}
        }
        pub fn forward(&self, _: &[f32]) -> Tensor<2> {
            match *self {}
        }
        pub fn forward_windows(
            &self,
            _: &[f32],
            _: &Device,
        ) -> Result<(Tensor<2>, Vec<(Stage, ProfileDuration)>), ExecutionError> {
            match *self {}
        }
        pub fn cut(&self, _: &[f32], _: Stage) -> Tensor<1> {
            match *self {}
        }
    }

    pub fn conv3x3_pool_relu(
        _x: &Tensor<4>,
        _weight: &Tensor<4>,
        _bias: &Tensor<1>,
    ) -> Result<Tensor<4>, Refused> {
        Err(Refused::NotCompiled)
    }

    pub fn dense(
        _x: &Tensor<2>,
        _weight: &Tensor<2>,
        _bias: &Tensor<1>,
        _relu: bool,
    ) -> Result<Tensor<2>, Refused> {
        Err(Refused::NotCompiled)
    }
}
#[cfg(not(webgpu_kernels))]
pub use absent::{IntegerWebgpu, conv3x3_pool_relu, dense};
