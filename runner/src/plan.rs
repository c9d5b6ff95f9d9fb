//! The matrix of cells a run will measure, and the order it measures them in:
//! grouped by browser (one session at a time), shuffled within each browser
//! per round so slow drift of the machine spreads over all cells.

use qbench_core::schema::CellId;
use qbench_core::{Backend, Browser, Precision};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

pub use qbench_core::Agent;

/// One cell to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlannedCell {
    /// Browser (or native).
    pub agent: Agent,
    /// Backend.
    pub backend: Backend,
    /// Precision.
    pub precision: Precision,
    /// Inputs per timed inference.
    pub batch: u32,
}

impl PlannedCell {
    /// The cell's id in a report, on `host`.
    pub fn id(&self, host: Option<&str>) -> CellId {
        CellId {
            host: host.map(str::to_string),
            browser: self.agent,
            backend: self.backend,
            precision: self.precision,
            batch: self.batch,
        }
    }
}

/// Every agent × backend × precision × batch, grouped by agent (one session
/// each), each axis in the order given, duplicates dropped.
pub fn cells(
    agents: &[Agent],
    backends: &[Backend],
    precisions: &[Precision],
    batches: &[u32],
) -> Vec<PlannedCell> {
    let mut out = Vec::new();
    for &agent in &dedup(agents) {
        for &backend in &dedup(backends) {
            for &precision in &dedup(precisions) {
                for &batch in &dedup(batches) {
                    out.push(PlannedCell {
                        agent,
                        backend,
                        precision,
                        batch,
                    });
                }
            }
        }
    }
    out
}

/// The browsers as agents.
pub fn browsers(browsers: &[Browser]) -> Vec<Agent> {
    browsers.iter().map(|&b| Agent::Browser(b)).collect()
}

/// The order of a run: for each agent in turn, `rounds` passes over its cells.
/// With several rounds each pass is shuffled with a generator seeded by `seed`,
/// the round and the agent, so drift spreads over all cells; a single round
/// keeps the planned order, except that each backend × precision runs its
/// largest batch first: that cell measures quality on its samples' digits
/// (see `schedule`), and should it fail, a smaller batch still can. Returns
/// `(round, cell)` pairs, rounds counted from 1.
pub fn order(cells: &[PlannedCell], rounds: u32, seed: u64) -> Vec<(u32, PlannedCell)> {
    let agents = dedup(&cells.iter().map(|c| c.agent).collect::<Vec<_>>());
    let mut out = Vec::new();
    for (a, agent) in agents.iter().enumerate() {
        let mine: Vec<PlannedCell> = cells
            .iter()
            .copied()
            .filter(|c| c.agent == *agent)
            .collect();
        for round in 1..=rounds.max(1) {
            let mut pass = mine.clone();
            if rounds > 1 {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(round) << 32) ^ a as u64);
                pass.shuffle(&mut rng);
            } else {
                // Stable: the groups keep their planned order.
                let group = |c: &PlannedCell| {
                    mine.iter()
                        .position(|m| (m.backend, m.precision) == (c.backend, c.precision))
                };
                pass.sort_by_key(|c| (group(c), std::cmp::Reverse(c.batch)));
            }
            out.extend(pass.into_iter().map(|c| (round, c)));
        }
    }
    out
}

fn dedup<T: Copy + PartialEq>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for &i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matrix_is_grouped_by_agent() {
        let c = cells(
            &browsers(Browser::ALL),
            Backend::ALL,
            &[Precision::Int8, Precision::F32],
            &[1, 32, 1],
        );
        assert_eq!(c.len(), 3 * 2 * 2 * 2);
        assert_eq!(
            c[0],
            PlannedCell {
                agent: Agent::Browser(Browser::Chromium),
                backend: Backend::Webgpu,
                precision: Precision::Int8,
                batch: 1
            }
        );
        assert_eq!(c[1].batch, 32);
        assert_eq!(c[2].precision, Precision::F32);
        assert_eq!(c[4].backend, Backend::Cpu);
        assert_eq!(c[8].agent, Agent::Browser(Browser::Firefox));
        assert_eq!(c[16].agent, Agent::Browser(Browser::Webkit));
    }

    #[test]
    fn rounds_shuffle_within_each_agent_and_the_seed_fixes_the_order() {
        let c = cells(
            &browsers(&[Browser::Chromium, Browser::Firefox]),
            Backend::ALL,
            Precision::ALL,
            &[1, 32],
        );
        let o = order(&c, 3, 7);
        assert_eq!(o.len(), 3 * c.len());
        // Chromium's three rounds first, then Firefox's.
        let half = o.len() / 2;
        assert!(
            o[..half]
                .iter()
                .all(|(_, c)| c.agent == Agent::Browser(Browser::Chromium))
        );
        assert!(
            o[half..]
                .iter()
                .all(|(_, c)| c.agent == Agent::Browser(Browser::Firefox))
        );
        // Each round holds every cell of the agent exactly once.
        let per = c.len() / 2;
        let round1: Vec<PlannedCell> = o[..per]
            .iter()
            .map(|(r, c)| {
                assert_eq!(*r, 1);
                *c
            })
            .collect();
        assert!(c[..per].iter().all(|x| round1.contains(x)));
        // Rounds differ from each other and from the plan; the same seed gives the same order.
        assert_ne!(round1, c[..per].to_vec());
        assert_ne!(
            o[..per].iter().map(|x| x.1).collect::<Vec<_>>(),
            o[per..2 * per].iter().map(|x| x.1).collect::<Vec<_>>()
        );
        assert_eq!(o, order(&c, 3, 7));
        assert_ne!(o, order(&c, 3, 8));
        // One round: the planned order, each backend × precision's largest
        // batch first.
        let single: Vec<PlannedCell> = order(&c, 1, 7).into_iter().map(|x| x.1).collect();
        assert_eq!(single.len(), c.len());
        for (pair, planned) in single.chunks(2).zip(c.chunks(2)) {
            assert_eq!(pair, [planned[1], planned[0]]);
        }
    }
}
