//! Where cells run: a local browser, a remote one, or a native child process,
//! all behind one trait so the scheduler's rules are written (and tested) once.

use std::future::Future;

use qbench_core::host::HostActivity;
use qbench_core::protocol::{CellRequest, CellResponse};
use qbench_core::schema::Environment;

use crate::plan::{Agent, PlannedCell};

/// Why an executor call failed: the scheduler decides on the kind, never on the text.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecError {
    /// The agent (driver, browser, session) could not be started. Its cells fail
    /// at once with this reason; it is not tried again for each cell.
    Start(String),
    /// The page threw, or reported an error: the session is fine.
    Page(String),
    /// The answer did not follow the protocol (message truncated); what parsed is
    /// kept, so latency already measured is not lost. The session is fine.
    BadAnswer {
        /// What was wrong, with the start of the answer.
        message: String,
        /// The part of the answer that could be read.
        partial: Option<Box<CellResponse>>,
    },
    /// The session or its driver died: the agent is restarted for the next cell.
    SessionLost(String),
}

impl ExecError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            ExecError::Start(m) | ExecError::Page(m) | ExecError::SessionLost(m) => m,
            ExecError::BadAnswer { message, .. } => message,
        }
    }
}

/// Runs cells one at a time on one endpoint. Every call may be dropped half way
/// (timeout, cancellation); `discard` must then leave no process behind.
pub trait Executor: Send {
    /// Where it runs: `local`, a WebDriver URL, or `native`.
    fn endpoint(&self) -> String;

    /// Starts `agent` (driver, browser, session) and probes its environment.
    fn open(&mut self, agent: Agent)
    -> impl Future<Output = Result<Environment, ExecError>> + Send;

    /// Runs one cell in the open agent.
    fn run(
        &mut self,
        cell: &PlannedCell,
        request: &CellRequest,
    ) -> impl Future<Output = Result<CellResponse, ExecError>> + Send;

    /// What the host did while the last cell ran, once (`None` where it
    /// cannot be seen: remote endpoints, no `/proc`).
    fn host_activity(&mut self) -> Option<HostActivity> {
        None
    }

    /// Ends the agent politely (each call bounded in time), then as `discard`.
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Ends the agent at once: kills every process it started.
    fn discard(&mut self);
}
