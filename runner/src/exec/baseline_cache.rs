//! The native reference rows kept per qbench binary, settings and host: its cells
//! run the same code with the same settings on every run, so `qbench run`
//! measures them again only when the binary, a setting or the host label
//! changed, or with `--fresh-native`. The report says when the rows it shows
//! were measured (`baseline_measured`).

use std::path::PathBuf;

use qbench_core::schema::{Outcome, Report};

use crate::exec::native::NativeArgs;
use crate::report;

/// Where the baseline of one binary, its settings and host is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    path: PathBuf,
}

impl Entry {
    /// The entry for `args` measured by the running binary on `host`, under
    /// `$XDG_CACHE_HOME/qbench` (else `~/.cache/qbench`); `None` when there is
    /// neither or the binary cannot be read.
    pub fn for_run(args: &NativeArgs, host: &str) -> Option<Self> {
        let root = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        let binary = std::fs::read(std::env::current_exe().ok()?).ok()?;
        Some(Self::at(root.join("qbench"), &binary, args, host))
    }

    /// The entry under `dir` for a binary's bytes, the settings and the host.
    fn at(dir: PathBuf, binary: &[u8], args: &NativeArgs, host: &str) -> Self {
        let settings = format!(
            "{:?} {:?} {:?} {} {:?} {host}",
            args.precisions,
            args.batch,
            args.plan(),
            args.quality_inputs,
            *args.timeout_per_cell
        );
        let key = qbench_model::assets::sha256_hex(
            &[
                qbench_model::assets::sha256_hex(binary).as_bytes(),
                settings.as_bytes(),
            ]
            .concat(),
        );
        Self {
            path: dir.join(format!("native-baseline-{}.json", &key[..32])),
        }
    }

    /// The kept baseline, if there is one that reads.
    pub fn load(&self) -> Option<Report> {
        report::json::read(&self.path).ok()
    }

    /// Keeps `baseline` when it is whole: finished, every planned cell there,
    /// and none an error or a timeout (a passing fault is not kept). Returns
    /// whether it was kept.
    pub fn store(&self, baseline: &Report) -> anyhow::Result<bool> {
        let whole = baseline.is_complete()
            && baseline
                .cells
                .iter()
                .all(|c| matches!(c.outcome, Outcome::Ok | Outcome::Unsupported { .. }));
        if whole {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            report::json::write(baseline, &self.path)?;
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Agent, PlannedCell};
    use clap::Parser;
    use qbench_core::{Backend, Precision};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: NativeArgs,
    }

    fn args(extra: &[&str]) -> NativeArgs {
        Cli::parse_from(["qbench"].iter().chain(extra)).args
    }

    #[test]
    fn the_binary_the_settings_and_the_host_each_change_the_entry() {
        let dir = PathBuf::from("/cache");
        let base = Entry::at(dir.clone(), b"one", &args(&[]), "vm");
        assert_eq!(base, Entry::at(dir.clone(), b"one", &args(&[]), "vm"));
        for other in [
            Entry::at(dir.clone(), b"two", &args(&[]), "vm"),
            Entry::at(dir.clone(), b"one", &args(&["--max-samples", "50"]), "vm"),
            Entry::at(dir.clone(), b"one", &args(&["--batch", "1"]), "vm"),
            Entry::at(dir.clone(), b"one", &args(&[]), "other"),
        ] {
            assert_ne!(base, other);
        }
        assert!(base.path.starts_with("/cache"));
    }

    #[test]
    fn only_a_whole_baseline_is_kept_and_it_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry::at(dir.path().join("qbench"), b"bin", &args(&[]), "vm");
        assert_eq!(entry.load(), None, "nothing kept yet");
        let cell = |batch, outcome| {
            let planned = PlannedCell {
                agent: Agent::Native,
                backend: Backend::Cpu,
                precision: Precision::F32,
                batch,
            };
            let mut cell = crate::collect::blank(&planned, None);
            cell.outcome = outcome;
            cell
        };
        let settings = serde_json::from_str(
            r#"{"warmup":3,"warmup_ms":300,"samples":30,"time_per_cell_ms":3000,"timeout_per_cell_ms":180000,"quality_inputs":1000}"#,
        )
        .unwrap();
        let mut report = Report::new("0.1.0", "2026-12-01T00:00:00Z", settings);
        report.cells = vec![cell(1, Outcome::Ok)];
        report.planned = vec![report.cells[0].id()];
        assert!(!entry.store(&report).unwrap(), "not finished");
        report.finished = Some("2026-12-01T00:00:20Z".into());
        report.cells.push(cell(
            32,
            Outcome::Error {
                message: "crashed".into(),
            },
        ));
        assert!(!entry.store(&report).unwrap(), "a failed cell");
        report.cells.pop();
        assert!(entry.store(&report).unwrap());
        assert_eq!(entry.load(), Some(report));
    }
}
