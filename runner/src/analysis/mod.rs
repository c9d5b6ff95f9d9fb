//! Analysis: what the collected results mean. Comparisons of two reports (or
//! of a report's paired sides) with their verdicts, what a history learned of
//! how far a host's pages land apart, and several hosts' reports merged into
//! one. The results are `qbench_core` types (`comparison`,
//! `schema`), which the exporters below format; nothing here formats a file.

pub mod compare;
pub mod learned;
pub mod merge;
