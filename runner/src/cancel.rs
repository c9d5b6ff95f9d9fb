//! The run's cancellation token, cancelled by SIGINT, SIGTERM or SIGHUP. It is
//! installed before anything is started, so every child a run starts is
//! stopped by it, whatever signal ends the run.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// A token and, once cancelled by a signal, which one.
#[derive(Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    signal: Arc<OnceLock<(&'static str, i32)>>,
}

impl Cancel {
    /// A token no signal cancels (tests, the mock executor).
    pub fn new() -> Self {
        Self::default()
    }

    /// A token cancelled by SIGINT, SIGTERM or SIGHUP. Must be called inside a tokio runtime.
    pub fn on_signals() -> anyhow::Result<Self> {
        let cancel = Self::new();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            for (kind, name, number) in [
                (SignalKind::interrupt(), "SIGINT", 2),
                (SignalKind::terminate(), "SIGTERM", 15),
                (SignalKind::hangup(), "SIGHUP", 1),
            ] {
                let mut stream = signal(kind)?;
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        cancel.cancel_by(name, number);
                    }
                });
            }
        }
        #[cfg(not(unix))]
        {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel_by("SIGINT", 2);
                }
            });
        }
        Ok(cancel)
    }

    /// Cancels as if `name` (number `number`) had arrived.
    pub fn cancel_by(&self, name: &'static str, number: i32) {
        let _ = self.signal.set((name, number));
        self.token.cancel();
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the run is cancelled.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// The signal that cancelled the run, if one did.
    pub fn signal(&self) -> Option<(&'static str, i32)> {
        self.signal.get().copied()
    }
}
