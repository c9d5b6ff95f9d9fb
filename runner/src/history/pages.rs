//! Every page the history has seen: one row per round of each `ok` cell, with
//! its median and whether the host was busy, so how far pages of one class
//! land from one another on a host can be learned over a window of runs
//! (`analysis::learned`).

use qbench_core::schema::{Outcome, Report};
use qbench_core::{Agent, Backend, Precision};
use rusqlite::{Connection, Transaction, params};

/// Schema 4's table, and the pages of runs stored before it, read from their
/// stored reports (schema 3); runs stored before that have no pages.
pub const MIGRATION: &str = "CREATE TABLE pages (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        host TEXT,
        browser TEXT NOT NULL,
        backend TEXT NOT NULL,
        precision TEXT NOT NULL,
        batch INTEGER NOT NULL,
        round INTEGER NOT NULL,
        median REAL NOT NULL,
        samples INTEGER NOT NULL,
        busy TEXT
    );
    CREATE INDEX pages_by_run ON pages (run_id);
    INSERT INTO pages (run_id, host, browser, backend, precision, batch, round, median, samples, busy)
        SELECT r.id, json_extract(c.value, '$.host'), json_extract(c.value, '$.browser'),
               json_extract(c.value, '$.backend'), json_extract(c.value, '$.precision'),
               json_extract(c.value, '$.batch'), p.key, json_extract(p.value, '$.median'),
               json_extract(p.value, '$.samples'), json_extract(p.value, '$.host.busy_reason')
        FROM runs r, json_each(r.report, '$.cells') c, json_each(c.value, '$.sampling.rounds') p
        WHERE r.report IS NOT NULL AND json_extract(c.value, '$.status') = 'ok'
          AND json_extract(p.value, '$.median') > 0;";

/// Appends the pages of `report`'s `ok` cells as run `run`.
pub fn insert(tx: &Transaction, run: i64, report: &Report) -> rusqlite::Result<()> {
    let mut add = tx.prepare(
        "INSERT INTO pages (run_id, host, browser, backend, precision, batch, round, median, samples, busy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let ok = report.cells.iter().filter(|c| c.outcome == Outcome::Ok);
    for c in ok {
        let rounds = c.sampling.iter().flat_map(|s| s.rounds.iter());
        for (i, round) in rounds.enumerate().filter(|(_, r)| r.median > 0.0) {
            add.execute(params![
                run,
                c.host,
                c.browser.name(),
                c.backend.name(),
                c.precision.name(),
                c.batch,
                i as i64,
                round.median,
                round.samples as i64,
                round.host.as_ref().and_then(|h| h.busy_reason.clone()),
            ])?;
        }
    }
    Ok(())
}

/// One page of a cell in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRow {
    /// The run it belongs to.
    pub run: i64,
    /// What the run served: its bundle as stored (the package's files and
    /// their sizes raw and compressed), or the run's id when it has none. Pages
    /// with the same build ran the same code.
    pub build: String,
    /// The host label (empty when the report had none).
    pub host: String,
    /// The browser (or native).
    pub browser: Agent,
    /// The backend.
    pub backend: Backend,
    /// The precision.
    pub precision: Precision,
    /// The batch size.
    pub batch: u32,
    /// The page's median, ms.
    pub median: f64,
}

/// The pages of the newest `window` runs that were not started at any of
/// `exclude` (the reports being compared, so a comparison does not learn from
/// itself), taken on a quiet host (a busy page is no evidence of how pages
/// land), oldest first.
pub fn recent(conn: &Connection, window: usize, exclude: &[&str]) -> anyhow::Result<Vec<PageRow>> {
    let excluded = serde_json::to_string(exclude).expect("strings serialise");
    let mut q = conn.prepare(
        "SELECT p.run_id, IFNULL(r.bundle, 'run ' || r.id), IFNULL(p.host, ''), p.browser, p.backend,
                p.precision, p.batch, p.median
         FROM pages p JOIN runs r ON r.id = p.run_id
         WHERE p.busy IS NULL AND p.run_id IN (
             SELECT id FROM runs WHERE started NOT IN (SELECT value FROM json_each(?1))
             ORDER BY started DESC, id DESC LIMIT ?2)
         ORDER BY p.run_id, p.rowid",
    )?;
    let rows = q.query_map(params![excluded, window as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, u32>(6)?,
            r.get::<_, f64>(7)?,
        ))
    })?;
    let mut pages = Vec::new();
    for row in rows {
        let (run, build, host, browser, backend, precision, batch, median) = row?;
        // A name this qbench does not know (a newer one wrote it) is left out.
        let (Ok(browser), Ok(backend), Ok(precision)) =
            (browser.parse(), backend.parse(), precision.parse())
        else {
            continue;
        };
        pages.push(PageRow {
            run,
            build,
            host,
            browser,
            backend,
            precision,
            batch,
            median,
        });
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::{insert as insert_run, open, open_at};
    use crate::testing::{cell_on_ci, host_activity, round, settings};
    use qbench_core::schema::Sampling;

    /// A run of two Chromium CPU batch-1 cells, `f32` with `medians` as its
    /// rounds (the second one busy) and an `f16` that failed.
    fn report(started: &str, medians: &[f64]) -> Report {
        let mut r = Report::new("0.1.0", started, settings());
        for precision in [Precision::F32, Precision::F16] {
            let mut c = cell_on_ci("chromium", Backend::Cpu, precision, 1);
            let mut rounds: Vec<_> = medians.iter().map(|&m| round(m)).collect();
            if let Some(second) = rounds.get_mut(1) {
                second.host = Some(host_activity(Some("other processes used 0.9 cores")));
            }
            c.sampling = Some(Sampling {
                stop: qbench_core::sampling::Stop::Max,
                ci_half_width_pct: 1.0,
                rounds,
            });
            if precision == Precision::F16 {
                c.outcome = Outcome::Error {
                    message: "x".into(),
                };
            }
            r.planned.push(c.id());
            r.cells.push(c);
        }
        r.finished = Some(started.into());
        r
    }

    fn medians(pages: &[PageRow]) -> Vec<(i64, f64)> {
        pages.iter().map(|p| (p.run, p.median)).collect()
    }

    #[test]
    fn every_quiet_page_of_the_window_is_read_back_but_the_excluded_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("h.sqlite")).unwrap();
        for (day, m) in [
            (1, [1.0, 9.0, 1.1]),
            (2, [2.0, 9.0, 2.1]),
            (3, [3.0, 9.0, 3.1]),
        ] {
            insert_run(
                &mut conn,
                &report(&format!("2026-11-0{day}T00:00:00Z"), &m),
                "t",
            )
            .unwrap();
        }
        // Busy rounds (9.0) and the failed f16 cell are left out.
        let all = recent(&conn, 10, &[]).unwrap();
        assert_eq!(
            medians(&all),
            [(1, 1.0), (1, 1.1), (2, 2.0), (2, 2.1), (3, 3.0), (3, 3.1)]
        );
        let first = &all[0];
        assert_eq!(
            (
                first.host.as_str(),
                first.browser.name(),
                first.backend,
                first.precision,
                first.batch
            ),
            ("ci", "chromium", Backend::Cpu, Precision::F32, 1)
        );
        assert_eq!(
            first.build, "run 1",
            "no bundle: each run is a build of its own"
        );
        // The newest two runs; then without the newest, the two before it.
        assert_eq!(medians(&recent(&conn, 2, &[]).unwrap())[0], (2, 2.0));
        let without = recent(&conn, 2, &["2026-11-03T00:00:00Z"]).unwrap();
        assert_eq!(medians(&without), [(1, 1.0), (1, 1.1), (2, 2.0), (2, 2.1)]);
    }

    #[test]
    fn runs_stored_before_schema_four_get_their_pages_from_their_reports() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let r = report("2026-11-01T00:00:00Z", &[1.5, 9.0, 1.6]);
        {
            let conn = open_at(&path, 3).unwrap();
            conn.execute(
                "INSERT INTO runs (started, qbench_version, hosts, settings, environments, bundle, source, report)
                 VALUES (?1, '0.1.0', 'ci', '{}', '[]', '{\"wasm_bytes\":7}', 'v3', ?2)",
                params![r.started, serde_json::to_string(&r).unwrap()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO runs (started, qbench_version, hosts, settings, environments, source)
                 VALUES ('2026-10-01T00:00:00Z', '0.0.9', 'ci', '{}', '[]', 'no report')",
                [],
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let busy: Vec<Option<String>> = conn
            .prepare("SELECT busy FROM pages ORDER BY rowid")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            busy,
            [None, Some("other processes used 0.9 cores".into()), None]
        );
        let pages = recent(&conn, 10, &[]).unwrap();
        assert_eq!(medians(&pages), [(1, 1.5), (1, 1.6)]);
        assert_eq!(pages[0].build, "{\"wasm_bytes\":7}");
        assert_eq!(pages[0].precision, Precision::F32);
    }
}
