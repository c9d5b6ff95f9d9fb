//! Thresholds that learn the testbed: how far pages of each class of cells
//! (a host, browser, backend and batch) landed from one another in the
//! history's recent runs, which a comparison of single rounds widens its
//! intervals by instead of only what the two reports show
//! (`verdict::widen_by_sessions`).

use std::collections::{BTreeMap, BTreeSet};

use qbench_core::schema::Cell;
use qbench_core::verdict::LearnedSpread;
use qbench_core::{Agent, Backend, Precision};

use crate::history::pages::{self, PageRow};

/// A class of cells: pages of it share the host's and the browser's levels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Class {
    /// The host label (empty when the reports had none).
    pub host: String,
    /// The browser.
    pub browser: Agent,
    /// The backend.
    pub backend: Backend,
    /// The batch size.
    pub batch: u32,
}

impl Class {
    fn of_page(p: &PageRow) -> Self {
        Self {
            host: p.host.clone(),
            browser: p.browser,
            backend: p.backend,
            batch: p.batch,
        }
    }

    fn of_cell(c: &Cell) -> Self {
        Self {
            host: c.host.clone().unwrap_or_default(),
            browser: c.browser,
            backend: c.backend,
            batch: c.batch,
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.is_empty() {
            String::new()
        } else {
            format!("{} ", self.host)
        };
        write!(
            f,
            "{host}{} {} batch {}",
            self.browser.name(),
            self.backend.name(),
            self.batch
        )
    }
}

/// The spread learned for every class a history's window has pages of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    /// Where it was learned from, as the comparison names it.
    pub source: String,
    /// Runs of the window that had pages.
    pub runs: usize,
    /// Each class's spread.
    pub classes: BTreeMap<Class, LearnedSpread>,
}

impl Learned {
    /// Learns from `pages` (a history's window, `history::pages::recent`).
    /// Pages are grouped by class, arithmetic and build: the simulated
    /// precisions of one class ran the same float32 arithmetic, so in one
    /// build they are one group; every other precision is a group of its
    /// own. Inside a group only the pages differed.
    pub fn from_pages(source: &str, pages: &[PageRow]) -> Self {
        type Group<'a> = (Class, Option<Precision>, &'a str);
        let mut groups: BTreeMap<Group, Vec<f64>> = BTreeMap::new();
        let mut runs: BTreeMap<Class, BTreeSet<i64>> = BTreeMap::new();
        for p in pages {
            let arithmetic = (!p.precision.is_simulated()).then_some(p.precision);
            let class = Class::of_page(p);
            runs.entry(class.clone()).or_default().insert(p.run);
            groups
                .entry((class, arithmetic, p.build.as_str()))
                .or_default()
                .push(p.median);
        }
        let mut by_class: BTreeMap<Class, Vec<&[f64]>> = BTreeMap::new();
        for ((class, _, _), medians) in &groups {
            by_class.entry(class.clone()).or_default().push(medians);
        }
        let classes = by_class
            .into_iter()
            .map(|(class, groups)| {
                let spread = LearnedSpread {
                    runs: runs.get(&class).map_or(0, BTreeSet::len),
                    ..LearnedSpread::from_groups(groups)
                };
                (class, spread)
            })
            .collect();
        let all_runs: BTreeSet<i64> = pages.iter().map(|p| p.run).collect();
        Self {
            source: source.to_string(),
            runs: all_runs.len(),
            classes,
        }
    }

    /// Learns from the newest `window` runs of the history `conn` (named
    /// `source`), leaving out runs started at any of `exclude`: the reports
    /// being compared, so a comparison does not learn from itself.
    pub fn from_history(
        conn: &rusqlite::Connection,
        source: &str,
        window: usize,
        exclude: &[&str],
    ) -> anyhow::Result<Self> {
        Ok(Self::from_pages(
            source,
            &pages::recent(conn, window, exclude)?,
        ))
    }

    /// The spread learned for `cell`'s class, if any.
    pub fn of(&self, cell: &Cell) -> Option<LearnedSpread> {
        self.classes.get(&Class::of_cell(cell)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(run: i64, build: &str, precision: Precision, batch: u32, median: f64) -> PageRow {
        PageRow {
            run,
            build: build.into(),
            host: "ci".into(),
            browser: "firefox".parse().unwrap(),
            backend: Backend::Cpu,
            precision,
            batch,
            median,
        }
    }

    #[test]
    fn pages_are_pooled_by_arithmetic_and_build_within_each_class() {
        let e = std::f64::consts::E;
        let pages = [
            // Build a: the simulated precisions are one group, ln 0 and 2.
            page(1, "a", Precision::F32, 1, 1.0),
            page(1, "a", Precision::Int8, 1, e.powi(2)),
            // int8-compute is a group of its own: ln 10 and 12.
            page(1, "a", Precision::Int8Compute, 1, e.powi(10)),
            page(2, "a", Precision::Int8Compute, 1, e.powi(12)),
            // Build b is another group: a change of build is not a spread.
            page(2, "b", Precision::F32, 1, e.powi(20)),
            page(3, "b", Precision::F16, 1, e.powi(20)),
            // A lone page adds nothing; another batch is another class.
            page(3, "b", Precision::Int8Native, 1, 5.0),
            page(3, "b", Precision::F32, 32, 7.0),
        ];
        let learned = Learned::from_pages("h.sqlite", &pages);
        assert_eq!((learned.source.as_str(), learned.runs), ("h.sqlite", 3));
        let cell =
            |batch| crate::testing::cell_on_ci("firefox", Backend::Cpu, Precision::F32, batch);
        let one = learned.of(&cell(1)).unwrap();
        // Squares: 2 (0 and 2) + 2 (10 and 12) + 0 (20 and 20); df 1 + 1 + 1.
        assert!((one.squares - 4.0).abs() < 1e-9, "{one:?}");
        assert_eq!((one.df, one.pages, one.runs), (3, 6, 3));
        let wide = learned.of(&cell(32)).unwrap();
        assert_eq!((wide.df, wide.pages, wide.runs), (0, 0, 1));
        let mut elsewhere = cell(1);
        elsewhere.host = Some("other".into());
        assert_eq!(learned.of(&elsewhere), None);
        assert_eq!(
            Class::of_cell(&cell(1)).to_string(),
            "ci firefox cpu batch 1"
        );
    }
}
