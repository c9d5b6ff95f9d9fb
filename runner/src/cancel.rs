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

    /// A token cancelled with this one, or on its own by [`Cancel::stop`]
    /// (which leaves this one running): for work a step abandons on failure.
    pub fn child(&self) -> Self {
        Self {
            token: self.token.child_token(),
            signal: Arc::default(),
        }
    }

    /// Cancels this token (and its children) without naming a signal.
    pub fn stop(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_stops_alone_but_falls_with_its_parent() {
        let run = Cancel::new();
        let step = run.child();
        step.stop();
        assert!(step.is_cancelled());
        assert!(!run.is_cancelled());
        let other = run.child();
        run.cancel_by("SIGTERM", 15);
        assert!(other.is_cancelled());
        assert_eq!(run.signal(), Some(("SIGTERM", 15)));
        assert_eq!(step.signal(), None);
    }
}
