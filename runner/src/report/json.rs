//! The JSON report, written atomically so a crash never leaves half a file.

use std::path::Path;

use anyhow::Context;
use qbench_core::schema::Report;

/// The report as pretty JSON.
pub fn to_bytes(report: &Report) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("reports serialise");
    bytes.push(b'\n');
    bytes
}

/// Writes the report to `path` through a temporary file and a rename.
pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, to_bytes(report)).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Reads a report written by qbench, refusing other schema versions by name.
pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let report: Report = serde_json::from_str(&text).with_context(|| format!("{} is not a qbench report", path.display()))?;
    anyhow::ensure!(
        report.schema_version == qbench_core::schema::SCHEMA_VERSION,
        "{} has schema_version {}, this qbench reads {}",
        path.display(),
        report.schema_version,
        qbench_core::schema::SCHEMA_VERSION
    );
    Ok(report)
}
