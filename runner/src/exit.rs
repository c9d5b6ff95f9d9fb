//! Exit codes, the same for every command (README, "Exit codes"):
//! `0` everything as expected, `1` unexpected outcomes or regressions a gate
//! asked about, `2` bad usage or bad input, `3` the run could not happen,
//! `128 + n` stopped by signal `n`.

use std::fmt;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Everything as expected.
    AsExpected,
    /// Unexpected outcomes, or regressions a gate flag asked about; the text says which.
    Unexpected(String),
    /// Results could not all be written; the text says which.
    Unrecorded(String),
    /// A signal stopped the run after writing what was measured.
    Interrupted {
        /// `SIGINT`, `SIGTERM` or `SIGHUP`.
        name: &'static str,
        /// The signal's number.
        number: i32,
    },
}

impl Ended {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Ended::AsExpected => 0,
            Ended::Unexpected(_) => 1,
            Ended::Unrecorded(_) => 3,
            Ended::Interrupted { number, .. } => u8::try_from(128 + number).unwrap_or(u8::MAX),
        }
    }
}

/// Why a command could not do its job, beyond a plain failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A flag, a config, an unreadable, corrupt or wrong-schema input: exit 2.
    BadInput,
    /// The run could not happen (build, server, no browser started): exit 3.
    CouldNotRun,
}

impl Kind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Kind::BadInput => 2,
            Kind::CouldNotRun => 3,
        }
    }
}

/// An error marked with its [`Kind`]; its message is the wrapped error's.
#[derive(Debug)]
pub struct Coded {
    /// What kind of failure.
    pub kind: Kind,
    error: anyhow::Error,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Coded {}

/// Marks `error` as bad input (exit 2).
pub fn bad_input(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        kind: Kind::BadInput,
        error: error.into(),
    })
}

/// Marks `error` as a run that could not happen (exit 3).
pub fn could_not_run(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        kind: Kind::CouldNotRun,
        error: error.into(),
    })
}

/// The exit code of a failed command: the kind of the outermost marked error, else 3.
pub fn code_of(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Coded>())
        .map_or(Kind::CouldNotRun.code(), |c| c.kind.code())
}

/// Extension for `Result`: `.bad_input()?`, `.could_not_run()?`.
pub trait ResultExt<T> {
    /// Marks the error as bad input.
    fn bad_input(self) -> anyhow::Result<T>;
    /// Marks the error as a run that could not happen.
    fn could_not_run(self) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> ResultExt<T> for Result<T, E> {
    fn bad_input(self) -> anyhow::Result<T> {
        self.map_err(bad_input)
    }
    fn could_not_run(self) -> anyhow::Result<T> {
        self.map_err(could_not_run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn codes_follow_the_marked_kind_through_context() {
        let e: anyhow::Result<()> = Err(anyhow::anyhow!("not json")).bad_input();
        let e = e.context("reading old.json").unwrap_err();
        assert_eq!(code_of(&e), 2);
        assert_eq!(format!("{e:#}"), "reading old.json: not json");
        assert_eq!(code_of(&could_not_run(anyhow::anyhow!("no browser"))), 3);
        assert_eq!(code_of(&anyhow::anyhow!("unmarked")), 3);
        assert_eq!(
            Ended::Interrupted {
                name: "SIGTERM",
                number: 15
            }
            .code(),
            143
        );
        assert_eq!(Ended::Unexpected("x".into()).code(), 1);
    }
}
