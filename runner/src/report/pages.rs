//! How a cell's pages agree and what the host did while they ran: the
//! machine each local browser ran on, the spread of each cell's round
//! medians (one page each), and the pages taken on a busy host.

use std::fmt::Write;

use qbench_core::host::Machine;
use qbench_core::schema::{Cell, Report};

use super::text::markdown as md;

/// One cell's pages.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSpread {
    /// The cell, as `host/browser/backend/precision/batch`.
    pub cell: String,
    /// Its rounds' medians, milliseconds, in the order they ran.
    pub medians: Vec<f64>,
    /// Why each page taken on a busy host counts as busy, by round (from 1).
    pub busy: Vec<(usize, String)>,
    /// Pages the host was watched during.
    pub watched: usize,
}

impl PageSpread {
    /// The slowest page's median over the fastest's.
    pub fn max_over_min(&self) -> f64 {
        let (lo, hi) = self
            .medians
            .iter()
            .fold((f64::INFINITY, 0f64), |(lo, hi), m| {
                (lo.min(*m), hi.max(*m))
            });
        hi / lo
    }

    /// The medians' coefficient of variation (population standard deviation
    /// over the mean).
    pub fn cv(&self) -> f64 {
        let n = self.medians.len() as f64;
        let mean = self.medians.iter().sum::<f64>() / n;
        let var = self.medians.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / n;
        var.sqrt() / mean
    }
}

/// The pages of every cell that ran in at least two, or in one the host watched.
pub fn spreads(report: &Report) -> Vec<PageSpread> {
    report.cells.iter().filter_map(spread).collect()
}

fn spread(cell: &Cell) -> Option<PageSpread> {
    let rounds = &cell.sampling.as_ref()?.rounds;
    let watched = rounds.iter().filter(|r| r.host.is_some()).count();
    if rounds.len() < 2 && watched == 0 {
        return None;
    }
    Some(PageSpread {
        cell: cell.id().to_string(),
        medians: rounds.iter().map(|r| r.median).collect(),
        busy: rounds
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i + 1, r.host.as_ref()?.busy_reason.clone()?)))
            .collect(),
        watched,
    })
}

/// Each host's machine, once.
pub fn machines(report: &Report) -> Vec<(String, &Machine)> {
    let mut seen: Vec<(String, &Machine)> = Vec::new();
    for e in &report.environments {
        let host = e.host.clone().unwrap_or_else(|| "–".into());
        if let Some(m) = &e.machine
            && !seen.iter().any(|(h, _)| *h == host)
        {
            seen.push((host, m));
        }
    }
    seen
}

/// A machine in a few words.
pub fn describe(m: &Machine) -> String {
    let mut parts = vec![format!("{}, {} cores", m.cpu_model, m.cores)];
    if let Some(mhz) = m.mhz {
        parts.push(format!("{mhz:.0} MHz"));
    }
    parts.push(m.governor.as_ref().map_or_else(
        || "no frequency governor visible".to_string(),
        |g| format!("governor {g}"),
    ));
    if m.virtualized {
        parts.push("virtual machine".into());
    }
    parts.push(m.shared_reason.as_ref().map_or_else(
        || "nothing says it is shared".into(),
        |r| format!("looks shared: {r}"),
    ));
    parts.push(m.browser_cpus.as_ref().map_or_else(
        || "browser not pinned".to_string(),
        |cpus| {
            let list: Vec<String> = cpus.iter().map(ToString::to_string).collect();
            format!(
                "browser pinned to CPU{} {}",
                if cpus.len() > 1 { "s" } else { "" },
                list.join(",")
            )
        },
    ));
    parts.join(" · ")
}

/// The report's "Host and pages" section; nothing when no cell ran in two
/// pages and no host was watched.
pub fn markdown(out: &mut String, report: &Report) {
    let machines = machines(report);
    let spreads = spreads(report);
    if machines.is_empty() && spreads.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Host and pages\n");
    for (host, m) in &machines {
        let _ = writeln!(out, "- {}: {}", md(host), md(&describe(m)));
    }
    if !machines.is_empty() {
        let _ = writeln!(out);
    }
    busy_pages(out, &spreads);
    let several: Vec<&PageSpread> = spreads.iter().filter(|s| s.medians.len() >= 2).collect();
    if several.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Each round runs a cell in a page of its own; how far the pages' medians spread:\n"
    );
    let _ = writeln!(
        out,
        "| cell | pages | slowest / fastest | spread (CV) | busy pages |\n|---|---|---|---|---|"
    );
    for s in several {
        let busy: Vec<String> = s.busy.iter().map(|(round, _)| round.to_string()).collect();
        let _ = writeln!(
            out,
            "| {} | {} | ×{:.3} | {:.1}% | {} |",
            md(&s.cell),
            s.medians.len(),
            s.max_over_min(),
            s.cv() * 100.0,
            if s.watched == 0 {
                "host not watched".to_string()
            } else if busy.is_empty() {
                format!("none of {} watched", s.watched)
            } else {
                format!("round {}", busy.join(", "))
            }
        );
    }
    let _ = writeln!(out);
}

/// How many pages were watched and which were taken on a busy host, why.
fn busy_pages(out: &mut String, spreads: &[PageSpread]) {
    let watched: usize = spreads.iter().map(|s| s.watched).sum();
    if watched == 0 {
        return;
    }
    let busy: Vec<String> = spreads
        .iter()
        .flat_map(|s| {
            s.busy
                .iter()
                .map(move |(round, why)| format!("- {} round {round}: {}", md(&s.cell), md(why)))
        })
        .collect();
    let _ = writeln!(
        out,
        "Pages with the host watched: {watched}; taken on a busy host (other processes' CPU \
         use, or the hypervisor's; `--retry-busy N` takes them again): {}\n",
        busy.len()
    );
    if !busy.is_empty() {
        let _ = writeln!(out, "{}\n", busy.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use qbench_core::schema::{Round, Sampling};
    use qbench_core::{Backend, Browser, Precision};

    use super::*;
    use crate::testing::{host_activity as activity, round};

    fn cell(rounds: Vec<Round>) -> Cell {
        let mut c = Cell::new(
            Browser::Chromium.into(),
            Backend::Cpu,
            Precision::F32,
            1,
            qbench_model::weights::memory(Precision::F32),
        );
        c.sampling = Some(Sampling {
            stop: rounds[0].stop,
            ci_half_width_pct: 1.0,
            rounds,
        });
        c
    }

    #[test]
    fn spread_is_slowest_over_fastest_and_the_cv_of_the_medians() {
        let s = PageSpread {
            cell: "c".into(),
            medians: vec![1.0, 2.0, 1.0, 2.0],
            busy: vec![],
            watched: 0,
        };
        assert_eq!(s.max_over_min(), 2.0);
        // mean 1.5, deviation 0.5.
        assert!((s.cv() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn busy_pages_are_listed_by_round_and_one_unwatched_page_says_nothing() {
        let mut busy = round(2.0);
        busy.host = Some(activity(Some("other processes used 0.60 cores")));
        let mut quiet = round(1.0);
        quiet.host = Some(activity(None));
        let mut report = Report::new("0", "2026-12-07T00:00:00Z", crate::testing::settings());
        report.cells.push(cell(vec![quiet, busy]));
        report.cells.push(cell(vec![round(1.0)]));
        let spreads = spreads(&report);
        assert_eq!(spreads.len(), 1);
        assert_eq!(spreads[0].medians, vec![1.0, 2.0]);
        assert_eq!(
            spreads[0].busy,
            vec![(2, "other processes used 0.60 cores".to_string())]
        );
        let mut out = String::new();
        markdown(&mut out, &report);
        assert!(out.contains("| ×2.000 | 33.3% | round 2 |"), "{out}");
        assert!(
            out.contains("Pages with the host watched: 2; taken on a busy host"),
            "{out}"
        );
        assert!(
            out.contains("- chromium cpu f32 batch 1 round 2: other processes used 0.60 cores"),
            "{out}"
        );
        report.cells[0].sampling.as_mut().unwrap().rounds[1].host = Some(activity(None));
        let mut out = String::new();
        markdown(&mut out, &report);
        assert!(
            out.contains("| ×2.000 | 33.3% | none of 2 watched |"),
            "{out}"
        );
        report.cells[0].sampling.as_mut().unwrap().rounds[0].host = None;
        report.cells[0].sampling.as_mut().unwrap().rounds[1].host = None;
        let mut out = String::new();
        markdown(&mut out, &report);
        assert!(
            out.contains("| ×2.000 | 33.3% | host not watched |"),
            "{out}"
        );
    }

    #[test]
    fn single_pages_are_counted_not_tabled() {
        let mut quiet = round(1.0);
        quiet.host = Some(activity(None));
        let mut report = Report::new("0", "2026-12-07T00:00:00Z", crate::testing::settings());
        report.cells.push(cell(vec![quiet]));
        let mut out = String::new();
        markdown(&mut out, &report);
        assert!(
            out.contains("Pages with the host watched: 1; taken on a busy host"),
            "{out}"
        );
        assert!(out.contains("them again): 0\n"), "{out}");
        assert!(!out.contains("| cell |"), "{out}");
    }

    #[test]
    fn a_machine_is_described_once_per_host() {
        let machine = Machine {
            cpu_model: "AMD EPYC".into(),
            cores: 2,
            governor: None,
            mhz: Some(2445.4),
            virtualized: true,
            shared_reason: None,
            browser_cpus: Some(vec![1]),
        };
        let mut report = Report::new("0", "2026-12-07T00:00:00Z", crate::testing::settings());
        for browser in [Browser::Chromium, Browser::Firefox] {
            report.environments.push(qbench_core::schema::Environment {
                host: Some("vm".into()),
                browser: browser.into(),
                machine: Some(machine.clone()),
                ..Default::default()
            });
        }
        assert_eq!(machines(&report).len(), 1);
        assert_eq!(
            describe(&machine),
            "AMD EPYC, 2 cores · 2445 MHz · no frequency governor visible · virtual machine · \
             nothing says it is shared · browser pinned to CPU 1"
        );
    }
}
