//! Analysis: what the collected results mean. Comparisons of two reports (or
//! of a report's paired sides) with their verdicts, and several hosts' reports
//! merged into one. The results are `qbench_core` types (`comparison`,
//! `schema`), which the exporters below format; nothing here formats a file.

pub mod compare;
pub mod merge;
