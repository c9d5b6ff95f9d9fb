//! One exporter trait, and the one place that writes what exporters make.
//!
//! Every format (`report.json`, `report.md`, `report.html`, `comparison.json`,
//! JUnit XML, the step summary) is an [`Exporter`]: it turns an [`Input`] into
//! bytes and decides nothing else. Where the bytes go is an [`Output`]'s
//! [`Destination`]: a file written atomically, or text appended to GitHub's
//! `$GITHUB_STEP_SUMMARY`. `run`, `merge`, `compare` and `history html` each
//! list their outputs and hand them to [`write`]; the files of a report folder
//! are derived from [`FOLDER`], not kept by hand.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use qbench_core::schema::Report;

use super::{comparison_json, html, json, junit, markdown, summary};
use qbench_core::comparison::Comparison;

/// What every exporter is given.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The report.
    pub report: &'a Report,
    /// The comparison that gates: with `--baseline-report`, or the paired side.
    pub comparison: Option<&'a Comparison>,
    /// What the page shows beside the report: its comparison may be the
    /// history's previous run, which never gates.
    pub page: html::Extras<'a>,
}

impl<'a> Input<'a> {
    /// A report alone.
    pub fn report(report: &'a Report) -> Self {
        Self {
            report,
            comparison: None,
            page: html::Extras::default(),
        }
    }
}

/// Turns an [`Input`] into bytes.
pub trait Exporter {
    /// The file it makes in a report folder (`report.md`), or what it is.
    fn name(&self) -> &'static str;
    /// The bytes; `None` when it has nothing to say for this input (a
    /// comparison's file without a comparison).
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>>;
}

/// `report.json`.
pub struct Json;
/// `report.md`.
pub struct Markdown;
/// `report.html`.
pub struct Html;
/// `comparison.json`.
pub struct ComparisonJson;
/// JUnit XML: a case per cell.
pub struct Junit;
/// The Markdown step summary.
pub struct Summary;

impl Exporter for Json {
    fn name(&self) -> &'static str {
        "report.json"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(Some(json::to_bytes(input.report)))
    }
}

impl Exporter for Markdown {
    fn name(&self) -> &'static str {
        "report.md"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(Some(markdown::render(input.report).into_bytes()))
    }
}

impl Exporter for Html {
    fn name(&self) -> &'static str {
        "report.html"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(Some(html::render(input.report, input.page)?.into_bytes()))
    }
}

impl Exporter for ComparisonJson {
    fn name(&self) -> &'static str {
        "comparison.json"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(input
            .comparison
            .map(|c| comparison_json::render(c).into_bytes()))
    }
}

impl Exporter for Junit {
    fn name(&self) -> &'static str {
        "JUnit XML"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(Some(
            junit::render(input.report, input.comparison)?.into_bytes(),
        ))
    }
}

impl Exporter for Summary {
    fn name(&self) -> &'static str {
        "step summary"
    }
    fn render(&self, input: &Input<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(Some(
            summary::render(input.report, input.comparison).into_bytes(),
        ))
    }
}

/// The exporters whose files make a report folder, in the order they are written.
pub const FOLDER: [&dyn Exporter; 4] = [&Json, &Markdown, &Html, &ComparisonJson];

/// The names of a report folder's files (what a new run moves aside first).
pub fn folder_files() -> Vec<&'static str> {
    FOLDER.iter().map(|e| e.name()).collect()
}

/// Where an exporter's bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Written atomically to this file.
    File(PathBuf),
    /// Appended to this file (GitHub's `$GITHUB_STEP_SUMMARY`).
    Append(PathBuf),
}

impl Destination {
    /// The path written.
    pub fn path(&self) -> &Path {
        match self {
            Self::File(p) | Self::Append(p) => p,
        }
    }
}

/// One exporter and where its bytes go.
pub struct Output {
    /// The exporter.
    pub exporter: &'static dyn Exporter,
    /// Where its bytes go.
    pub to: Destination,
}

impl Output {
    /// `exporter`'s file in the folder `dir`.
    pub fn in_folder(exporter: &'static dyn Exporter, dir: &Path) -> Self {
        Self {
            exporter,
            to: Destination::File(dir.join(exporter.name())),
        }
    }

    /// `exporter` written to `path`.
    pub fn file(exporter: &'static dyn Exporter, path: &Path) -> Self {
        Self {
            exporter,
            to: Destination::File(path.to_path_buf()),
        }
    }

    /// The step summary: to `path` when given, else appended to
    /// `$GITHUB_STEP_SUMMARY` when that is set, else nowhere.
    pub fn summary(path: Option<&Path>) -> Option<Self> {
        let to = match (path, std::env::var_os("GITHUB_STEP_SUMMARY")) {
            (Some(p), _) => Destination::File(p.to_path_buf()),
            (None, Some(p)) => Destination::Append(PathBuf::from(p)),
            (None, None) => return None,
        };
        Some(Self {
            exporter: &Summary,
            to,
        })
    }
}

/// Where an output failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Turning the input into bytes.
    Render,
    /// Putting the bytes where they go.
    Write,
}

/// What went wrong with one output.
#[derive(Debug)]
pub struct Failure {
    /// The output's exporter name.
    pub exporter: &'static str,
    /// Where its bytes were to go.
    pub to: Destination,
    /// Where it failed.
    pub stage: Stage,
    /// Why.
    pub error: anyhow::Error,
}

/// Writes every output, each on its own: one that fails to render or to be
/// written does not stop the others. Returns the failures, in order.
pub fn write(outputs: &[Output], input: &Input<'_>) -> Vec<Failure> {
    let mut failures = Vec::new();
    for out in outputs {
        let fail = |stage, error| Failure {
            exporter: out.exporter.name(),
            to: out.to.clone(),
            stage,
            error,
        };
        let bytes = match out.exporter.render(input) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            Err(e) => {
                failures.push(fail(Stage::Render, e));
                continue;
            }
        };
        let written = match &out.to {
            Destination::File(path) => write_atomically(path, &bytes),
            Destination::Append(path) => append(path, &bytes),
        };
        if let Err(e) = written {
            failures.push(fail(Stage::Write, e));
        }
    }
    failures
}

/// Writes every output, stopping at the first failure (for commands whose
/// outputs are all they do).
pub fn write_all(outputs: &[Output], input: &Input<'_>) -> anyhow::Result<()> {
    match write(outputs, input).into_iter().next() {
        Some(f) => Err(f.error),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically: a unique temporary file beside it,
/// flushed to disk, then renamed over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    // Reports are for reading (a web server, a colleague): rw-r--r-- less the umask,
    // not the temporary file's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .prefix(&format!(
            ".{}.",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("report")
        ))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("flushing {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Appends `bytes` to `path` (GitHub's `$GITHUB_STEP_SUMMARY`).
pub fn append(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("appending to {}", path.display()))
}

/// Moves the files of an earlier run in `out` aside (`report.json` →
/// `report.prev.json`, and the same for the other reports), so nothing is
/// replaced silently. Returns what was moved.
pub fn move_aside(out: &Path, names: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let mut moved = Vec::new();
    for name in names {
        let path = out.join(name);
        if path.exists() {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let prev = out.join(format!("{stem}.prev.{ext}"));
            std::fs::rename(&path, &prev).with_context(|| {
                format!("moving {} aside to {}", path.display(), prev.display())
            })?;
            moved.push(prev);
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_its_exporters_files() {
        assert_eq!(
            folder_files(),
            ["report.json", "report.md", "report.html", "comparison.json"]
        );
    }

    #[test]
    fn each_output_is_written_and_a_failure_stops_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let report = Report::new("0.1.0", "2026-12-01T00:00:00Z", crate::testing::settings());
        let blocked = dir.path().join("not-a-folder");
        std::fs::write(&blocked, "a file where a folder should be").unwrap();
        let outputs = [
            Output::in_folder(&Markdown, &blocked),
            Output::in_folder(&Json, dir.path()),
            Output::in_folder(&ComparisonJson, dir.path()),
            Output {
                exporter: &Summary,
                to: Destination::Append(dir.path().join("summary.md")),
            },
            Output {
                exporter: &Summary,
                to: Destination::Append(dir.path().join("summary.md")),
            },
        ];
        let failures = write(&outputs, &Input::report(&report));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].exporter, "report.md");
        assert_eq!(failures[0].stage, Stage::Write);
        assert_eq!(failures[0].to, Destination::File(blocked.join("report.md")));
        let json = std::fs::read(dir.path().join("report.json")).unwrap();
        assert_eq!(json, json::to_bytes(&report));
        // No comparison: no comparison.json.
        assert!(!dir.path().join("comparison.json").exists());
        // Appended twice.
        let once = summary::render(&report, None);
        let text = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
        assert_eq!(text, format!("{once}{once}"));
        assert!(write_all(&outputs, &Input::report(&report)).is_err());
    }

    #[test]
    fn earlier_files_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.json"), "old").unwrap();
        let moved = move_aside(dir.path(), &folder_files()).unwrap();
        assert_eq!(moved, [dir.path().join("report.prev.json")]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("report.prev.json")).unwrap(),
            "old"
        );
    }
}
