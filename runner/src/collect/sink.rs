//! Where events go: the [`Sink`] keeps the report (judging each cell against
//! the expectations), writes it to disk after every change, and tells the
//! observers: a progress bar on a terminal, one plain line per cell in a CI log.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use qbench_core::expect::{Expectations, Facts};
use qbench_core::schema::{Cell, Outcome, Report};

use super::Event;
use crate::fmt::significant;
use crate::report;

/// Told of every event after the report took it in.
pub trait Observer: Send {
    /// The run is about to measure `total` cell runs.
    fn started(&mut self, _total: u64) {}
    /// A cell ran (`round` of `rounds`); `cell` is as the report now holds it.
    fn ran(&mut self, cell: &Cell, round: u32, rounds: u32);
    /// A message for a person.
    fn message(&mut self, text: &str);
    /// The run is over.
    fn finish(&mut self) {}
}

/// The observer that suits stderr: a bar on a terminal, log lines elsewhere.
pub fn for_stderr() -> Box<dyn Observer> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(LogLines::new())
    }
}

/// One line for a finished cell run: `chromium webgpu f32 batch 1: ok, median 36.5 ms ±2.1% (30 samples)`.
pub fn line(cell: &Cell, round: u32, rounds: u32) -> String {
    let mut out = format!("{}: {}", cell.id(), cell.outcome.status());
    match (&cell.outcome, &cell.latency_ms) {
        (Outcome::Ok, Some(l)) => {
            let width = cell
                .sampling
                .as_ref()
                .map_or(String::new(), |s| format!(" ±{:.1}%", s.ci_half_width_pct));
            out.push_str(&format!(
                ", median {} ms{width} ({} samples)",
                significant(l.summary.median),
                l.summary.samples
            ));
        }
        (outcome, _) => {
            if let Some(reason) = outcome.reason() {
                out.push_str(&format!(" ({})", first_line(reason, 160)));
            }
        }
    }
    if let Some(side) = cell.paired.as_deref() {
        let name = match &side.module {
            Some(m) if m.is_tfjs() => "TF.js",
            _ => "baseline package",
        };
        match (&side.outcome, &side.latency_ms) {
            (Outcome::Ok, Some(l)) => {
                out.push_str(&format!("; {name} {} ms", significant(l.summary.median)))
            }
            (outcome, _) => out.push_str(&format!("; {name} {}", outcome.status())),
        }
    }
    if cell.flaky {
        out.push_str(&format!(", flaky: passed on attempt {}", cell.attempts));
    }
    if let Some(j) = cell
        .expectation
        .as_ref()
        .filter(|j| j.verdict.is_unexpected())
    {
        let expected: Vec<&str> = j.expected.iter().map(|s| s.name()).collect();
        out.push_str(&format!(
            ", UNEXPECTED ({}; expected {})",
            j.verdict.name(),
            expected.join(" or ")
        ));
    }
    if rounds > 1 {
        out.push_str(&format!(" [round {round}/{rounds}]"));
    }
    out
}

fn first_line(text: &str, max: usize) -> String {
    crate::fmt::truncate(text.lines().next().unwrap_or_default(), max)
}

/// The progress bar, for a terminal.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        Self { bar }
    }
}

impl Observer for Bar {
    fn started(&mut self, total: u64) {
        self.bar.inc_length(total);
    }
    fn ran(&mut self, cell: &Cell, round: u32, rounds: u32) {
        self.bar.inc(1);
        if !matches!(cell.outcome, Outcome::Ok | Outcome::Unsupported { .. })
            || cell
                .expectation
                .as_ref()
                .is_some_and(|j| j.verdict.is_unexpected())
        {
            self.bar.println(line(cell, round, rounds));
        }
        self.bar.set_message(cell.id().to_string());
    }
    fn message(&mut self, text: &str) {
        self.bar.println(format!("qbench: {text}"));
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// One plain line per finished cell, for CI logs.
struct LogLines {
    started: Instant,
    done: u64,
    total: u64,
}

impl LogLines {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            done: 0,
            total: 0,
        }
    }
}

impl Observer for LogLines {
    fn started(&mut self, total: u64) {
        self.total += total;
    }
    fn ran(&mut self, cell: &Cell, round: u32, rounds: u32) {
        self.done += 1;
        let s = self.started.elapsed().as_secs();
        eprintln!(
            "[{}/{} {:02}:{:02}:{:02}] {}",
            self.done,
            self.total,
            s / 3600,
            s / 60 % 60,
            s % 60,
            line(cell, round, rounds)
        );
    }
    fn message(&mut self, text: &str) {
        eprintln!("qbench: {text}");
    }
}

/// Keeps the report, judges cells, writes the checkpoint, tells the observers.
pub struct Sink {
    /// The report as it stands.
    pub report: Report,
    /// Where the report is rewritten after every change (`None`: kept in memory).
    checkpoint: Option<PathBuf>,
    expectations: Option<Expectations>,
    observers: Vec<Box<dyn Observer>>,
    rounds: u32,
    /// Report writes that failed, with why.
    pub write_failures: Vec<String>,
}

impl Sink {
    /// A sink for `report`.
    pub fn new(
        report: Report,
        checkpoint: Option<PathBuf>,
        expectations: Option<Expectations>,
        observers: Vec<Box<dyn Observer>>,
    ) -> Self {
        let rounds = report.settings.rounds.max(1);
        Self {
            report,
            checkpoint,
            expectations,
            observers,
            rounds,
            write_failures: Vec::new(),
        }
    }

    /// Tells the observers how many cell runs to expect.
    pub fn started(&mut self, total: u64) {
        self.observers.iter_mut().for_each(|o| o.started(total));
    }

    /// Tells the observers something a person should read.
    pub fn message(&mut self, text: &str) {
        self.observers.iter_mut().for_each(|o| o.message(text));
    }

    /// Takes in one event.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Environment(env) => self.report.environments.push(env),
            Event::Ran { cell, round } => {
                let cell = self.judged(cell);
                self.observers
                    .iter_mut()
                    .for_each(|o| o.ran(&cell, round, self.rounds));
                self.report.upsert_cell(cell);
            }
            Event::Updated(cell) => {
                let cell = self.judged(cell);
                self.report.upsert_cell(cell);
            }
            Event::Message(text) => return self.message(&text),
        }
        self.checkpoint();
    }

    /// Judges every cell again (after the expectations changed, or at the end).
    pub fn judged(&self, mut cell: Cell) -> Cell {
        if let Some(expectations) = &self.expectations {
            let adapter = self
                .report
                .environment_of(&cell)
                .and_then(|e| e.webgpu.as_ref())
                .map(|a| a.architecture.as_str());
            let facts = Facts {
                browser: cell.browser,
                backend: cell.backend,
                precision: cell.precision,
                batch: cell.batch,
                adapter,
                host: cell.host.as_deref(),
            };
            cell.expectation = Some(expectations.judge(&facts, cell.outcome.kind()));
        }
        cell
    }

    /// Writes the report where the checkpoint goes; a failure is remembered and
    /// told once, and the run goes on.
    pub fn checkpoint(&mut self) {
        let Some(path) = &self.checkpoint else { return };
        if let Err(err) = report::json::write(&self.report, path) {
            let text = format!("{err:#}");
            if self.write_failures.is_empty() {
                let message = format!(
                    "could not write the report (the run goes on, and exits non-zero): {text}"
                );
                self.observers.iter_mut().for_each(|o| o.message(&message));
            }
            self.write_failures.push(text);
        }
    }

    /// Ends the observers' display.
    pub fn finish(&mut self) {
        self.observers.iter_mut().for_each(|o| o.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Latency, Sampling, Status};
    use qbench_core::stats::Summary;
    use qbench_core::{Backend, Precision};

    fn cell(outcome: Outcome) -> Cell {
        let mut c = Cell::new(
            "chromium".parse().unwrap(),
            Backend::Webgpu,
            Precision::F32,
            1,
            qbench_model::weights::memory(Precision::F32),
        );
        c.outcome = outcome;
        c
    }

    #[test]
    fn log_line_for_a_measured_cell() {
        let mut c = cell(Outcome::Ok);
        let raw = vec![36.5; 30];
        c.latency_ms = Some(Latency {
            first: 100.0,
            summary: Summary::from_samples(&raw).unwrap(),
            raw,
        });
        c.sampling = Some(Sampling {
            stop: qbench_core::sampling::Stop::Target,
            ci_half_width_pct: 2.1,
            rounds: vec![],
        });
        assert_eq!(
            line(&c, 1, 1),
            "chromium webgpu f32 batch 1: ok, median 36.5 ms ±2.1% (30 samples)"
        );
        assert_eq!(
            line(&c, 2, 3),
            "chromium webgpu f32 batch 1: ok, median 36.5 ms ±2.1% (30 samples) [round 2/3]"
        );
        let mut side = c.clone();
        side.latency_ms.as_mut().unwrap().summary.median = 35.0;
        c.paired = Some(Box::new(side));
        assert_eq!(
            line(&c, 1, 1),
            "chromium webgpu f32 batch 1: ok, median 36.5 ms ±2.1% (30 samples); baseline package 35.0 ms"
        );
        c.paired = Some(Box::new(cell(Outcome::Unsupported {
            reason: "no".into(),
        })));
        assert!(line(&c, 1, 1).ends_with("(30 samples); baseline package unsupported"));
    }

    #[test]
    fn log_line_for_failures_and_unexpected_outcomes() {
        let c = cell(Outcome::Timeout {
            message: "no answer within 180 s\nmore".into(),
        });
        assert_eq!(
            line(&c, 1, 1),
            "chromium webgpu f32 batch 1: timeout (no answer within 180 s)"
        );
        let e = Expectations {
            cell: vec![crate::testing::every_cell(&[
                Status::Unsupported,
                Status::Error,
            ])],
        };
        let sink = Sink::new(
            Report::new("0", "now", crate::testing::settings()),
            None,
            Some(e),
            vec![],
        );
        let judged = sink.judged(cell(Outcome::Ok));
        assert_eq!(
            line(&judged, 1, 1),
            "chromium webgpu f32 batch 1: ok, UNEXPECTED (unexpected-pass; expected unsupported or error)"
        );
        assert_eq!(significant(388.2), "388");
        assert_eq!(significant(1.034), "1.03");
        assert_eq!(significant(0.5512), "0.551");
    }

    #[test]
    fn a_failed_write_is_remembered_and_the_sink_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("missing-folder")
            .join("sub")
            .join("report.json");
        // A file where the folder should be: creating it fails.
        std::fs::write(dir.path().join("missing-folder"), "x").unwrap();
        let mut sink = Sink::new(
            Report::new("0", "now", crate::testing::settings()),
            Some(path),
            None,
            vec![],
        );
        sink.apply(Event::Ran {
            cell: cell(Outcome::Ok),
            round: 1,
        });
        sink.apply(Event::Ran {
            cell: cell(Outcome::Ok),
            round: 1,
        });
        assert_eq!(sink.write_failures.len(), 2);
        assert_eq!(sink.report.cells.len(), 1);
    }
}
