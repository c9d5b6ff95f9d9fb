//! Exporters: turn a computed report into bytes. Statistics are computed
//! before they get here; exporters only format.

pub mod compare;
pub mod json;
pub mod markdown;
pub mod terminal;
