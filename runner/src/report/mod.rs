//! Exporters: turn a computed report into bytes. Statistics are computed
//! before they get here; exporters only format.

use qbench_core::schema::{Cell, Status};

/// Whether a cell's outcome was unexpected: against its expectation when it has
/// one, else when it errored or timed out.
pub fn is_unexpected(c: &Cell) -> bool {
    match &c.expectation {
        Some(j) => j.verdict.is_unexpected(),
        None => matches!(c.outcome.kind(), Status::Error | Status::Timeout),
    }
}

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
