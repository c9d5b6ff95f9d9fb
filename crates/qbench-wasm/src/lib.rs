//! qbench's model in the browser: the page calls [`bindings`] to probe the
//! environment and to run one benchmark cell; [`cell`] does the measuring with
//! a [`clock`], and everything but `bindings` also builds natively so it is tested
//! with `cargo test`.

pub mod assets;
#[cfg(target_family = "wasm")]
pub mod bindings;
pub mod cell;
pub mod clock;
#[cfg(target_family = "wasm")]
mod ctors;
#[cfg(target_family = "wasm")]
mod probe;
