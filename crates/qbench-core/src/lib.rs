//! qbench's shared vocabulary: what is measured (precisions, backends, browsers),
//! how weights are quantized, and how samples become statistics and reports.
//!
//! This crate does no I/O, so it builds natively and for `wasm32-unknown-unknown`
//! and is tested with plain `cargo test`.

pub mod adapter;
pub mod comparison;
pub mod expect;
pub mod host;
pub mod matrix;
pub mod memory;
pub mod precision;
pub mod profile;
pub mod protocol;
pub mod quality;
pub mod quantize;
pub mod sampling;
pub mod schema;
pub mod stats;
pub mod throughput;
pub mod verdict;

pub use matrix::{Agent, Backend, Browser, ParseNameError};
pub use precision::Precision;
pub use quantize::{ParamRole, QuantError, Quantized};
