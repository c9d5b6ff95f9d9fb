//! Exporters: turn a computed report into bytes. Statistics are computed
//! before they get here; exporters only format.

pub mod charts;
pub mod compare;
pub mod expect;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod summary;
pub mod terminal;
