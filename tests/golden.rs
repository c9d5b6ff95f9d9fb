//! Golden outputs: every exporter's bytes for two fixed reports, compared with
//! the files under `tests/golden/`. A change to any format shows up here as a
//! diff to review; `QBENCH_BLESS=1 cargo test --release -p qbench --test golden`
//! rewrites the files after a change that is meant.
//!
//! The fixtures are real reports: `tests/golden/before.json` is a run of
//! Chromium and Firefox on both backends (three precisions, batch 1 and 4, two
//! rounds, judged against `expectations.toml`), and `after.json` the same run
//! with planted changes (`tests/golden/README.md` says which), so the
//! comparison has a regression, a breakage, a fix and unchanged cells.

use std::path::{Path, PathBuf};
use std::process::Command;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

fn qbench(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qbench"))
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("qbench runs");
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "qbench {}: {:?}\n{stderr}",
        args.join(" "),
        out.status
    );
    (stdout, stderr)
}

/// Compares `actual` with the golden file `name`, or rewrites it when blessing.
fn check(name: &str, actual: &[u8], mismatches: &mut Vec<String>) {
    let path = golden_dir().join(name);
    if std::env::var_os("QBENCH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (QBENCH_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        let around = |b: &[u8]| {
            String::from_utf8_lossy(&b[first.saturating_sub(80)..(first + 80).min(b.len())])
                .into_owned()
        };
        mismatches.push(format!(
            "{name} differs at byte {first} ({} bytes, golden {}):\n  now:    {:?}\n  golden: {:?}",
            actual.len(),
            expected.len(),
            around(actual),
            around(&expected)
        ));
    }
}

/// A work folder holding the two fixtures under short relative names, so
/// paths printed in outputs do not depend on where the test runs.
fn work() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["before.json", "after.json"] {
        std::fs::copy(golden_dir().join(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn every_exporter_writes_the_golden_bytes() {
    let dir = work();
    let d = dir.path();
    let mut mismatches = Vec::new();

    // One report: what `merge` writes of it (report.json, report.md, report.html).
    qbench(d, &["merge", "after.json", "--out", "merged"]);
    for name in ["report.json", "report.md", "report.html"] {
        check(
            &format!("merge/{name}"),
            &std::fs::read(d.join("merged").join(name)).unwrap(),
            &mut mismatches,
        );
    }

    // Two reports compared: the text, comparison.json, JUnit and the step summary.
    let (text, _) = qbench(
        d,
        &[
            "compare",
            "before.json",
            "after.json",
            "--json",
            "cmp/comparison.json",
            "--junit",
            "cmp/junit.xml",
            "--summary",
            "cmp/summary.md",
        ],
    );
    check("compare/stdout.md", text.as_bytes(), &mut mismatches);
    for name in ["comparison.json", "junit.xml", "summary.md"] {
        check(
            &format!("compare/{name}"),
            &std::fs::read(d.join("cmp").join(name)).unwrap(),
            &mut mismatches,
        );
    }

    // The expectations a report satisfies.
    let (text, _) = qbench(d, &["expect", "after.json"]);
    check("expect/expectations.toml", text.as_bytes(), &mut mismatches);

    // The history: both runs imported, its page and its answers.
    qbench(
        d,
        &[
            "history",
            "--db",
            "h.sqlite",
            "import",
            "before.json",
            "after.json",
        ],
    );
    qbench(
        d,
        &["history", "--db", "h.sqlite", "html", "--out", "history"],
    );
    check(
        "history/report.html",
        &std::fs::read(d.join("history/report.html")).unwrap(),
        &mut mismatches,
    );
    let (text, _) = qbench(
        d,
        &[
            "history",
            "--db",
            "h.sqlite",
            "trend",
            "--browser",
            "chromium",
        ],
    );
    check("history/trend.txt", text.as_bytes(), &mut mismatches);
    let (text, _) = qbench(
        d,
        &[
            "history",
            "--db",
            "h.sqlite",
            "changes",
            "--since",
            "2020-01-01",
        ],
    );
    check("history/changes.txt", text.as_bytes(), &mut mismatches);

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}
