//! qbench's runner as a library: `qbench` (the binary) is [`cli`] over it,
//! and the integration tests call it directly.
//!
//! The modules are layers, top to bottom; a module imports only from its own
//! layer's modules below it and from lower layers (`tests/layers.rs` checks it):
//!
//! | layer | modules | job |
//! |---|---|---|
//! | command line | [`cli`] | flags, subcommands |
//! | commands | [`commands`] | one module per subcommand, its phases in order |
//! | configuration | [`config`] | defaults, then `qbench.toml`, then flags |
//! | executors | [`exec`] | package, server, drivers, host checks, WebDriver sessions, the native executor |
//! | scheduler | [`schedule`] | the one run loop over an `Executor` |
//! | collection | [`collect`] | answers into report cells, the report kept on disk |
//! | analysis | [`analysis`] | comparisons and verdicts, merging, what was unexpected |
//! | exporters and stores | [`report`], [`history`] | bytes of every format; the SQLite history |
//! | plan | [`plan`] | the matrix of cells every layer above speaks of |
//! | helpers | [`defaults`], [`fmt`], [`exit`], [`cancel`] | every default, formatting, exit codes, cancellation |

pub mod analysis;
pub mod cancel;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod config;
pub mod defaults;
pub mod exec;
pub mod exit;
pub mod fmt;
pub mod history;
pub mod plan;
pub mod report;
pub mod schedule;
#[cfg(test)]
mod testing;
#[cfg(feature = "train")]
pub mod train;
