//! The history of runs: a SQLite store every run and import appends to, and
//! the views a page or a command reads from it.

pub mod pages;
pub mod store;
