//! Executors and what they stand on: the page's package (built or described),
//! the server that serves it, the driver processes, WebDriver sessions running
//! cells in browsers, and the native executor running the same cells in a
//! child process. Each implements the scheduler's [`crate::schedule::Executor`].

pub mod baseline_cache;
pub mod browser;
pub mod build;
pub mod driver;
pub mod host;
pub mod native;
pub mod page;
pub mod server;
pub mod sizes;
