//! The network qbench measures, the weights and digits it ships, and the
//! per-precision model clones. Builds natively and for wasm; the caller picks
//! the burn backend through the [`burn::tensor::Device`] it passes in.

pub mod assets;
pub mod channels_last;
pub mod digits;
pub mod direct;
mod fused;
pub mod integer;
pub mod lowered;
pub mod network;
pub mod weights;

pub use channels_last::ChannelsLast;
pub use digits::Digits;
pub use fused::{IntegerWebgpu, Refused};
pub use integer::IntegerNet;
pub use lowered::Lowered;
pub use network::Net;
pub use weights::{PARAMS, ParamSpec, Weights};
