//! History across runs in SQLite (bundled, nothing to install): every run and
//! every cell, with versioned schema migrations; one cell's trend over the last
//! runs; and what broke or got fixed since a date, with the first run, browser
//! version and adapter where it happened (the way wpt.fyi shows it).

use std::path::Path;

use anyhow::Context;
use qbench_core::schema::{CellId, Report, Status};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use crate::exit::{ResultExt, bad_input};

/// The schema, one migration per version (SQLite's `user_version`). Never edit
/// a shipped migration: add one.
const MIGRATIONS: [&str; 4] = [
    // 1: runs and their cells.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        interrupted TEXT,
        qbench_version TEXT NOT NULL,
        git_commit TEXT,
        hosts TEXT NOT NULL,
        settings TEXT NOT NULL,
        environments TEXT NOT NULL,
        bundle TEXT,
        source TEXT NOT NULL
    );
    CREATE TABLE cells (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        host TEXT,
        browser TEXT NOT NULL,
        backend TEXT NOT NULL,
        precision TEXT NOT NULL,
        batch INTEGER NOT NULL,
        browser_version TEXT,
        adapter TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        median REAL,
        ci95_low REAL,
        ci95_high REAL,
        samples INTEGER,
        raw TEXT,
        memory TEXT NOT NULL,
        quality TEXT
    );",
    // 2: the adapter's class and the expectation verdict; cells found by identity.
    "ALTER TABLE cells ADD COLUMN adapter_class TEXT;
    ALTER TABLE cells ADD COLUMN expectation TEXT;
    CREATE INDEX cells_by_identity ON cells (browser, backend, precision, batch, host);",
    // 3: the whole report, so a page can be drawn again from the history.
    "ALTER TABLE runs ADD COLUMN report TEXT;",
    // 4: every page (round) of every ok cell, for the spread of pages.
    super::pages::MIGRATION,
];

fn migrations(up_to: usize) -> Migrations<'static> {
    Migrations::new(MIGRATIONS[..up_to].iter().map(|sql| M::up(sql)).collect())
}

/// Opens (creating if needed) the history at `path` and migrates it to the
/// latest schema; a database written by a newer qbench is refused.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    open_at(path, MIGRATIONS.len())
}

pub(super) fn open_at(path: &Path, version: usize) -> anyhow::Result<Connection> {
    let mut conn = Connection::open(path)
        .with_context(|| format!("opening the history {}", path.display()))
        .bad_input()?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(|| format!("{} is not an SQLite database", path.display()))
        .bad_input()?;
    if found > MIGRATIONS.len() as i64 {
        return Err(bad_input(anyhow::anyhow!(
            "{} has history schema version {found}, written by a newer qbench; this one reads up to version {}",
            path.display(),
            MIGRATIONS.len()
        )));
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    migrations(version)
        .to_latest(&mut conn)
        .with_context(|| format!("migrating {} to schema {version}", path.display()))?;
    Ok(conn)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("report parts serialise")
}

/// Appends a report (a run) and its cells; `source` says where it came from.
pub fn insert(conn: &mut Connection, report: &Report, source: &str) -> anyhow::Result<i64> {
    let tx = conn.transaction()?;
    let hosts: Vec<String> = report
        .hosts()
        .into_iter()
        .map(|h| h.unwrap_or_default())
        .collect();
    tx.execute(
        "INSERT INTO runs (started, finished, interrupted, qbench_version, git_commit, hosts, settings, environments, bundle, source, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            report.started,
            report.finished,
            report.interrupted,
            report.qbench_version,
            report.git_commit,
            hosts.join(","),
            json(&report.settings),
            json(&report.environments),
            report.bundle.as_ref().map(json),
            source,
            json(report),
        ],
    )?;
    let run = tx.last_insert_rowid();
    {
        let mut add = tx.prepare(
            "INSERT INTO cells (run_id, host, browser, backend, precision, batch, browser_version, adapter, adapter_class, status, reason,
                                median, ci95_low, ci95_high, samples, raw, memory, quality, expectation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )?;
        for c in &report.cells {
            let env = report.environment_of(c);
            let adapter = env.and_then(|e| e.webgpu.as_ref());
            let l = c.latency_ms.as_ref();
            add.execute(params![
                run,
                c.host,
                c.browser.name(),
                c.backend.name(),
                c.precision.name(),
                c.batch,
                env.map(|e| e.version.clone()),
                adapter.map(crate::fmt::adapter_name),
                adapter.and_then(|a| a.class).map(|k| k.name()),
                c.outcome.status(),
                c.outcome.reason(),
                l.map(|l| l.summary.median),
                l.map(|l| l.summary.ci95_low),
                l.map(|l| l.summary.ci95_high),
                l.map(|l| l.summary.samples as i64),
                l.map(|l| json(&l.raw)),
                json(&c.memory),
                c.quality.as_ref().map(json),
                c.expectation.as_ref().map(|j| j.verdict.name()),
            ])?;
        }
    }
    super::pages::insert(&tx, run, report)?;
    tx.commit()?;
    Ok(run)
}

/// One run in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Its id.
    pub id: i64,
    /// Started, RFC 3339.
    pub started: String,
    /// Finished, RFC 3339 (`None`: partial).
    pub finished: Option<String>,
    /// qbench version and commit.
    pub version: String,
    /// Host labels.
    pub hosts: String,
    /// Cells `ok` / all cells.
    pub ok: i64,
    /// All cells.
    pub cells: i64,
    /// Where it came from.
    pub source: String,
}

/// Every run, oldest first.
pub fn runs(conn: &Connection) -> anyhow::Result<Vec<RunRow>> {
    let mut q = conn.prepare(
        "SELECT r.id, r.started, r.finished, r.qbench_version || IFNULL(' (' || r.git_commit || ')', ''), r.hosts,
                (SELECT COUNT(*) FROM cells c WHERE c.run_id = r.id AND c.status = 'ok'),
                (SELECT COUNT(*) FROM cells c WHERE c.run_id = r.id), r.source
         FROM runs r ORDER BY r.started, r.id",
    )?;
    let rows = q.query_map([], |r| {
        Ok(RunRow {
            id: r.get(0)?,
            started: r.get(1)?,
            finished: r.get(2)?,
            version: r.get(3)?,
            hosts: r.get(4)?,
            ok: r.get(5)?,
            cells: r.get(6)?,
            source: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which cells a query is about; `None` matches any.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Filter {
    /// Only this browser: chromium, firefox, webkit or native.
    #[arg(long)]
    pub browser: Option<qbench_core::Agent>,
    /// Only this backend: webgpu or cpu.
    #[arg(long)]
    pub backend: Option<qbench_core::Backend>,
    /// Only this precision: f32, f16, int8, int8-channel, f16-native or int8-native.
    #[arg(long)]
    pub precision: Option<qbench_core::Precision>,
    /// Only this batch size.
    #[arg(long)]
    pub batch: Option<u32>,
    /// Only this host label.
    #[arg(long)]
    pub host: Option<String>,
}

const FILTER_SQL: &str = "(?1 IS NULL OR c.browser = ?1) AND (?2 IS NULL OR c.backend = ?2) AND (?3 IS NULL OR c.precision = ?3)
     AND (?4 IS NULL OR c.batch = ?4) AND (?5 IS NULL OR c.host = ?5)";

/// A cell in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    /// The cell: `host browser backend precision batch N`.
    pub cell: String,
    /// The cell's identity.
    pub id: CellId,
    /// The run's id and start.
    pub run: i64,
    /// The run's start, RFC 3339.
    pub started: String,
    /// Its status.
    pub status: String,
    /// Median and its 95% interval, ms.
    pub median: Option<(f64, f64, f64)>,
    /// Browser version.
    pub browser_version: Option<String>,
}

fn cell_name(
    host: Option<String>,
    browser: &str,
    backend: &str,
    precision: &str,
    batch: u32,
) -> String {
    match host.filter(|h| !h.is_empty()) {
        Some(h) => format!("{h} {browser} {backend} {precision} batch {batch}"),
        None => format!("{browser} {backend} {precision} batch {batch}"),
    }
}

/// The matching cells' median, interval and status over the last `last` runs, oldest first.
pub fn trend(conn: &Connection, filter: &Filter, last: usize) -> anyhow::Result<Vec<TrendRow>> {
    let sql = format!(
        "SELECT c.host, c.browser, c.backend, c.precision, c.batch, r.id, r.started, c.status, c.median, c.ci95_low, c.ci95_high, c.browser_version
         FROM cells c JOIN runs r ON r.id = c.run_id
         WHERE {FILTER_SQL} AND r.id IN (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT ?6)
         ORDER BY c.host, c.browser, c.backend, c.precision, c.batch, r.started, r.id"
    );
    let mut q = conn.prepare(&sql)?;
    let rows = q.query_map(
        params![
            filter.browser.map(|b| b.name()),
            filter.backend.map(|b| b.name()),
            filter.precision.map(|p| p.name()),
            filter.batch,
            filter.host,
            last as i64
        ],
        |r| {
            let median: Option<f64> = r.get(8)?;
            let host: Option<String> = r.get(0)?;
            let (browser, backend, precision): (String, String, String) =
                (r.get(1)?, r.get(2)?, r.get(3)?);
            let batch: u32 = r.get(4)?;
            let parse_error = |e: qbench_core::ParseNameError| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            };
            Ok(TrendRow {
                cell: cell_name(host.clone(), &browser, &backend, &precision, batch),
                id: CellId {
                    host: host.filter(|h| !h.is_empty()),
                    browser: browser.parse().map_err(parse_error)?,
                    backend: backend.parse().map_err(parse_error)?,
                    precision: precision.parse().map_err(parse_error)?,
                    batch,
                },
                run: r.get(5)?,
                started: r.get(6)?,
                status: r.get(7)?,
                median: median.map(|m| (m, r.get(9).unwrap_or(m), r.get(10).unwrap_or(m))),
                browser_version: r.get(11)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

qbench_core::named_enum!(
    /// Which way a cell's status crossed `ok`.
    Change, "change", {
        /// Was `ok`, is not.
        Broke => "broke",
        /// Was not `ok`, is.
        Fixed => "fixed",
    }
);

/// A cell that broke or got fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// The cell.
    pub cell: String,
    /// Which way.
    pub change: Change,
    /// Status before and after.
    pub from: String,
    /// Status after.
    pub to: String,
    /// The first run with the new status: id and start.
    pub run: i64,
    /// Its start, RFC 3339.
    pub started: String,
    /// The browser version it happened on.
    pub browser_version: Option<String>,
    /// The adapter it happened on.
    pub adapter: Option<String>,
    /// The new status's reason.
    pub reason: Option<String>,
}

/// Runs a page or a command shows unless told otherwise.
pub const RECENT_RUNS: usize = 20;

/// Deletes every run beyond the newest `keep`, and every run started before
/// `older_than` (a date or an RFC 3339 time), with their cells; then gives
/// the space back to the file system. Returns how many runs were deleted.
pub fn prune(
    conn: &mut Connection,
    keep: Option<usize>,
    older_than: Option<&str>,
) -> anyhow::Result<usize> {
    let before = older_than.map(normalise_date).transpose()?;
    let tx = conn.transaction()?;
    let mut deleted = 0;
    if let Some(keep) = keep {
        deleted += tx.execute(
            "DELETE FROM runs WHERE id NOT IN
               (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT ?1)",
            [keep as i64],
        )?;
    }
    if let Some(before) = before {
        deleted += tx.execute("DELETE FROM runs WHERE started < ?1", [before])?;
    }
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    Ok(deleted)
}

/// Cells whose status crossed `ok` in a run started at or after `since` (RFC 3339 or a date).
pub fn changes(conn: &Connection, since: &str) -> anyhow::Result<Vec<ChangeRow>> {
    let since = normalise_date(since)?;
    let mut q = conn.prepare(
        "SELECT c.host, c.browser, c.backend, c.precision, c.batch, r.id, r.started, c.status, c.browser_version, c.adapter, c.reason
         FROM cells c JOIN runs r ON r.id = c.run_id
         ORDER BY c.host, c.browser, c.backend, c.precision, c.batch, r.started, r.id",
    )?;
    let rows = q.query_map([], |r| {
        Ok((
            cell_name(
                r.get(0)?,
                &r.get::<_, String>(1)?,
                &r.get::<_, String>(2)?,
                &r.get::<_, String>(3)?,
                r.get(4)?,
            ),
            r.get::<_, i64>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, Option<String>>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, Option<String>>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    let mut previous: Option<(String, String)> = None; // (cell, status)
    for row in rows {
        let (cell, run, started, status, browser_version, adapter, reason) = row?;
        if let Some((prev_cell, prev_status)) = &previous
            && *prev_cell == cell
            && started >= since
        {
            let was_ok = prev_status == Status::Ok.name();
            let is_ok = status == Status::Ok.name();
            if was_ok != is_ok {
                out.push(ChangeRow {
                    cell: cell.clone(),
                    change: if is_ok { Change::Fixed } else { Change::Broke },
                    from: prev_status.clone(),
                    to: status.clone(),
                    run,
                    started: started.clone(),
                    browser_version,
                    adapter,
                    reason: if is_ok { None } else { reason },
                });
            }
        }
        previous = Some((cell, status));
    }
    Ok(out)
}

/// `2026-11-28` or an RFC 3339 time, as an RFC 3339 time comparable with the stored ones.
fn normalise_date(text: &str) -> anyhow::Result<String> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.to_string());
    }
    let date: jiff::civil::Date = text.parse().map_err(|e| {
        bad_input(anyhow::anyhow!(
            "--since {text}: not a date (2026-11-28) or an RFC 3339 time: {e}"
        ))
    })?;
    Ok(date
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)?
        .timestamp()
        .to_string())
}

/// The history shown under the run: recent runs, each cell's trend, what changed.
#[derive(Debug, Clone, Default)]
pub struct HistoryView {
    /// The history file.
    pub source: String,
    /// The recent runs, oldest first.
    pub runs: Vec<RunRow>,
    /// Every cell in those runs.
    pub trend: Vec<TrendRow>,
    /// Cells that broke or got fixed in the newest run.
    pub changes: Vec<ChangeRow>,
}

/// The history a page shows: the last `last` runs, every cell in them, and the
/// cells that broke or got fixed in the newest.
pub fn view(conn: &Connection, source: &str, last: usize) -> anyhow::Result<HistoryView> {
    let all = runs(conn)?;
    let runs: Vec<RunRow> = all[all.len().saturating_sub(last)..].to_vec();
    let changes = match runs.last() {
        Some(newest) => changes(conn, &newest.started)?
            .into_iter()
            .filter(|c| c.run == newest.id)
            .collect(),
        None => Vec::new(),
    };
    Ok(HistoryView {
        source: source.to_string(),
        trend: trend(conn, &Filter::default(), last)?,
        runs,
        changes,
    })
}

/// The run before `run` in `view` and its stored report, named for a page
/// ("run #N of the history (started …)"); `None` when there is none or it was
/// stored before schema 3.
pub fn earlier_report(
    conn: &Connection,
    view: &HistoryView,
    run: i64,
) -> anyhow::Result<Option<(String, Report)>> {
    let at = view.runs.iter().position(|r| r.id == run);
    let Some(before) = at.and_then(|i| i.checked_sub(1)).map(|i| &view.runs[i]) else {
        return Ok(None);
    };
    Ok(stored_report(conn, before.id)?.map(|report| {
        (
            format!(
                "run #{} of the history (started {})",
                before.id, before.started
            ),
            report,
        )
    }))
}

/// The report stored with a run; `None` for runs written before schema 3.
pub fn stored_report(conn: &Connection, run: i64) -> anyhow::Result<Option<Report>> {
    let text: Option<String> = conn
        .query_row("SELECT report FROM runs WHERE id = ?1", [run], |r| r.get(0))
        .optional()?
        .flatten();
    text.map(|t| {
        serde_json::from_str(&t).with_context(|| format!("the report stored with run {run}"))
    })
    .transpose()
}

/// Whether a run started at `started` is already in the history (for imports).
pub fn has_run(conn: &Connection, started: &str, hosts: &str) -> anyhow::Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM runs WHERE started = ?1 AND hosts = ?2",
            params![started, hosts],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Environment, Latency, Outcome};
    use qbench_core::stats::Summary;
    use qbench_core::{Backend, Precision};

    fn report(started: &str, version: &str, f16_status: Outcome, median: f64) -> Report {
        let mut r = Report::new("0.1.0", started, crate::testing::settings());
        r.environments.push(Environment {
            host: Some("ci".into()),
            browser: "chromium".parse().unwrap(),
            version: version.into(),
            ..Environment::default()
        });
        for (precision, outcome) in [(Precision::F32, Outcome::Ok), (Precision::F16, f16_status)] {
            let mut c = crate::testing::cell_on_ci("chromium", Backend::Webgpu, precision, 1);
            if outcome == Outcome::Ok {
                let raw = vec![median, median * 1.01, median * 0.99];
                c.latency_ms = Some(Latency {
                    first: median,
                    summary: Summary::from_samples(&raw).unwrap(),
                    raw,
                });
            }
            c.outcome = outcome;
            r.planned.push(c.id());
            r.cells.push(c);
        }
        r.finished = Some(started.replace("T0", "T1"));
        r
    }

    #[test]
    fn prune_keeps_the_newest_runs_and_drops_old_ones_with_their_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut conn = open(&path).unwrap();
        for day in 1..=4 {
            let started = format!("2026-11-0{day}T01:00:00Z");
            insert(
                &mut conn,
                &report(&started, "156", Outcome::Ok, 10.0),
                "r.json",
            )
            .unwrap();
        }
        let cells = |conn: &Connection| -> i64 {
            conn.query_row("SELECT COUNT(*) FROM cells", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(cells(&conn), 8);
        assert_eq!(prune(&mut conn, Some(2), None).unwrap(), 2);
        let left: Vec<String> = runs(&conn)
            .unwrap()
            .into_iter()
            .map(|r| r.started)
            .collect();
        assert_eq!(left, ["2026-11-03T01:00:00Z", "2026-11-04T01:00:00Z"]);
        assert_eq!(cells(&conn), 4, "the deleted runs' cells went with them");
        assert_eq!(prune(&mut conn, None, Some("2026-11-04")).unwrap(), 1);
        assert_eq!(runs(&conn).unwrap().len(), 1);
        assert_eq!(prune(&mut conn, Some(5), Some("2026-01-01")).unwrap(), 0);
        assert!(prune(&mut conn, None, Some("last tuesday")).is_err());
        drop(conn);
        // The history still opens and takes new runs.
        let mut conn = open(&path).unwrap();
        insert(
            &mut conn,
            &report("2026-11-05T01:00:00Z", "156", Outcome::Ok, 9.0),
            "n.json",
        )
        .unwrap();
        assert_eq!(runs(&conn).unwrap().len(), 2);
    }

    #[test]
    fn two_runs_in_trend_and_changes_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("h.sqlite")).unwrap();
        insert(
            &mut conn,
            &report("2026-11-26T01:00:00Z", "155", Outcome::Ok, 10.0),
            "a.json",
        )
        .unwrap();
        insert(
            &mut conn,
            &report(
                "2026-11-27T01:00:00Z",
                "156",
                Outcome::Timeout {
                    message: "no answer".into(),
                },
                12.0,
            ),
            "b.json",
        )
        .unwrap();
        insert(
            &mut conn,
            &report("2026-11-28T01:00:00Z", "157", Outcome::Ok, 11.0),
            "c.json",
        )
        .unwrap();
        let runs = runs(&conn).unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(
            (runs[1].ok, runs[1].cells, runs[1].hosts.as_str()),
            (1, 2, "ci")
        );
        let t = trend(
            &conn,
            &Filter {
                precision: Some(qbench_core::Precision::F32),
                ..Filter::default()
            },
            2,
        )
        .unwrap();
        assert_eq!(t.len(), 2, "the last two runs");
        assert_eq!(t[0].cell, "ci chromium webgpu f32 batch 1");
        assert_eq!(t[0].median.unwrap().0, 12.0);
        assert_eq!(t[1].browser_version.as_deref(), Some("157"));
        let c = changes(&conn, "2026-11-01").unwrap();
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(
            (
                c[0].change,
                c[0].from.as_str(),
                c[0].to.as_str(),
                c[0].browser_version.as_deref()
            ),
            (Change::Broke, "ok", "timeout", Some("156"))
        );
        assert_eq!(c[0].reason.as_deref(), Some("no answer"));
        assert_eq!((c[1].change, c[1].run), (Change::Fixed, runs[2].id));
        assert_eq!(
            changes(&conn, "2026-11-28").unwrap().len(),
            1,
            "only the fix is that recent"
        );
        assert!(has_run(&conn, "2026-11-27T01:00:00Z", "ci").unwrap());
    }

    #[test]
    fn the_first_schema_is_migrated_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let conn = open_at(&path, 1).unwrap();
            let v: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, 1);
            conn.execute(
                "INSERT INTO runs (started, qbench_version, hosts, settings, environments, source) VALUES ('2026-11-01T00:00:00Z', '0.0.9', 'old', '{}', '[]', 'v1')",
                [],
            )
            .unwrap();
            conn.execute("INSERT INTO cells (run_id, browser, backend, precision, batch, status, memory) VALUES (1, 'firefox', 'cpu', 'f32', 1, 'ok', '{}')", []).unwrap();
        }
        let mut conn = open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        assert_eq!(runs(&conn).unwrap()[0].source, "v1", "old rows kept");
        insert(
            &mut conn,
            &report("2026-11-28T01:00:00Z", "157", Outcome::Ok, 11.0),
            "new.json",
        )
        .unwrap();
        let class: Option<String> = conn
            .query_row(
                "SELECT adapter_class FROM cells WHERE run_id = 2 LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(class, None, "the new column exists");
        drop(conn);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains("schema version 99, written by a newer qbench"),
            "{err:#}"
        );
        assert_eq!(crate::exit::code_of(&err), 2);
    }

    #[test]
    fn dates_are_normalised() {
        assert_eq!(
            normalise_date("2026-11-28").unwrap(),
            "2026-11-28T00:00:00Z"
        );
        assert_eq!(
            normalise_date("2026-11-28T05:00:00Z").unwrap(),
            "2026-11-28T05:00:00Z"
        );
        assert!(normalise_date("yesterday").is_err());
    }
}
