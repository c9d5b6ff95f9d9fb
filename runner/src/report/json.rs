//! The JSON report: its bytes, written atomically (`super::export`), and read
//! back with version-1 reports converted on the way in.

use std::path::Path;

use anyhow::Context;
use qbench_core::schema::{Report, SCHEMA_VERSION};
use serde_json::Value;

use crate::exit::{ResultExt, bad_input};

/// The report as pretty JSON.
pub fn to_bytes(report: &Report) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("reports serialise");
    bytes.push(b'\n');
    bytes
}

/// Writes the report to `path` atomically.
pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    super::export::write_atomically(path, &to_bytes(report))
}

/// Reads a report written by qbench (schema 1 or 2). Every failure is bad input (exit 2).
pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    parse(&text)
        .with_context(|| format!("{} is not a qbench report", path.display()))
        .bad_input()
}

/// Parses the text of a report, converting version 1.
pub fn parse(text: &str) -> anyhow::Result<Report> {
    let mut value: Value = serde_json::from_str(text).context("not JSON")?;
    let version = value
        .get("schema_version")
        .and_then(Value::as_u64)
        .context("no schema_version")?;
    match version {
        1 => upgrade_v1(&mut value)?,
        v if v == u64::from(SCHEMA_VERSION) => {}
        v => {
            return Err(bad_input(anyhow::anyhow!(
                "schema_version {v}; this qbench reads versions 1 to {SCHEMA_VERSION}"
            )));
        }
    }
    serde_json::from_value(value).context("does not follow the report schema")
}

/// Version 1 → 2: the start time becomes RFC 3339; hosts stay unknown.
fn upgrade_v1(value: &mut Value) -> anyhow::Result<()> {
    let map = value.as_object_mut().context("not an object")?;
    let seconds = map
        .remove("started_unix_s")
        .and_then(|v| v.as_i64())
        .context("version 1 without started_unix_s")?;
    let started = jiff::Timestamp::from_second(seconds).context("started_unix_s out of range")?;
    map.insert("started".into(), Value::String(started.to_string()));
    // A version-1 report was written at the end of a whole run, or after each cell
    // of one; either way it has no end time.
    map.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::code_of;

    #[test]
    fn round_trip_and_atomic_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let mut r = Report::new("0.1.0", "2026-11-28T20:00:00Z", crate::testing::settings());
        write(&r, &path).unwrap();
        r.finished = Some("2026-11-28T20:05:00Z".into());
        write(&r, &path).unwrap();
        assert_eq!(read(&path).unwrap(), r);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["report.json"], "no temporary file left behind");
    }

    #[test]
    fn version_1_is_read_with_an_rfc3339_start_and_no_host() {
        let v1 = r#"{"schema_version":1,"qbench_version":"0.1.0","started_unix_s":1764360000,
            "settings":{"warmup":3,"warmup_ms":300,"samples":30,"time_per_cell_ms":3000,"timeout_per_cell_ms":180000,"quality_inputs":1000},
            "environments":[{"browser":"chromium","name":"chrome","version":"156","user_agent":"x","cross_origin_isolated":true,
              "timer_resolution_ms":0.005,"wasm_simd":true,"webgpu":null,"webgpu_unavailable_reason":"none"}],
            "cells":[{"browser":"chromium","backend":"cpu","precision":"f32","batch":1,"status":"ok","reason":null,
              "latency_ms":null,"memory":{"parameters":1,"estimated_weight_bytes":4,"estimated_scale_bytes":0,"measured_bytes":null,"measured_how":null},
              "quality":null,"wall_ms":5.0}]}"#;
        let r = parse(v1).unwrap();
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert_eq!(r.started, "2025-11-28T20:00:00Z");
        assert_eq!(r.cells[0].host, None);
        assert_eq!(r.cells[0].attempts, 1);
        assert_eq!(r.settings.rounds, 1);
        assert!(!r.is_complete(), "no end time: partial");
    }

    #[test]
    fn corrupt_and_future_reports_are_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text, says) in [
            (
                "corrupt.json",
                "{\"schema_version\": 2, \"cells\": [",
                "not JSON",
            ),
            (
                "future.json",
                "{\"schema_version\": 99}",
                "schema_version 99; this qbench reads versions 1 to 2",
            ),
            ("other.json", "{\"hello\": 1}", "no schema_version"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = read(&path).unwrap_err();
            assert_eq!(code_of(&err), 2, "{name}");
            assert!(format!("{err:#}").contains(says), "{name}: {err:#}");
            assert!(format!("{err:#}").contains(name), "{name}: {err:#}");
        }
        let err = read(&dir.path().join("absent.json")).unwrap_err();
        assert_eq!(code_of(&err), 2);
    }
}
