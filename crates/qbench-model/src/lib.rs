//! The network qbench measures, the weights and digits it ships, and the
//! per-precision model clones. Builds natively and for wasm; the caller picks
//! the burn backend through the [`burn::tensor::Device`] it passes in.

pub mod assets;
pub mod channels_last;
pub mod digits;
#[cfg(all(
    target_family = "wasm",
    feature = "webgpu-kernels",
    not(feature = "fusion")
))]
mod fused;
/// Without qbench's WebGPU kernel (natively, the CPU module, burn's fusion):
/// the channels-last network runs burn's kernels.
#[cfg(not(all(
    target_family = "wasm",
    feature = "webgpu-kernels",
    not(feature = "fusion")
)))]
mod fused {
    use burn::tensor::Tensor;

    pub fn conv3x3_pool_relu(
        _x: &Tensor<4>,
        _weight: &Tensor<4>,
        _bias: &Tensor<1>,
    ) -> Option<Tensor<4>> {
        None
    }
}
pub mod lowered;
pub mod network;
pub mod weights;

pub use channels_last::ChannelsLast;
pub use digits::Digits;
pub use lowered::Lowered;
pub use network::Net;
pub use weights::{PARAMS, ParamSpec, Weights};
