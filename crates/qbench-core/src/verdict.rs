//! Did a cell get slower? The ratio new/old of two cells' median latencies with
//! a 95% confidence interval from their raw samples (a seeded percentile
//! bootstrap), and a verdict against a minimum effect that never cries wolf:
//! `slower` or `faster` only when the whole interval is beyond the threshold,
//! `unsure` when the data cannot tell.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::matrix::named_enum;
use crate::stats::{median, quantile};

/// Bootstrap resamples behind every interval: enough that the 2.5% and 97.5%
/// percentiles move by well under the threshold between seeds.
pub const RESAMPLES: usize = 2000;

/// The seed `compare` uses unless told otherwise, so the same two reports always
/// give the same verdicts.
pub const DEFAULT_SEED: u64 = 20_261_128;

named_enum!(
    /// What the samples say about a latency change.
    Verdict, "verdict", {
        /// The whole interval lies above 1 + threshold.
        Slower => "slower",
        /// The whole interval lies below 1 − threshold.
        Faster => "faster",
        /// The whole interval lies within 1 ± threshold.
        Same => "same",
        /// The interval straddles a threshold: the data cannot tell. Never fails a gate.
        Unsure => "unsure",
    }
);

named_enum!(
    /// What a ratio's interval was drawn from: what a reader should know before
    /// trusting its width.
    Basis, "basis", {
        /// A bootstrap of one page's samples on each side.
        Samples => "samples",
        /// A t interval over the rounds' (pages') medians.
        Rounds => "rounds",
        /// A bootstrap of one page's pairs of alternating samples.
        Pairs => "pairs",
        /// One page a side, widened by how far the peers' pages lie apart.
        Peers => "peers",
        /// One page a side, widened by the largest swing of level inside a page.
        Swing => "swing",
        /// One page a side, widened by how far pages of the cell's class landed
        /// from one another on this host in earlier runs (`--history`), pooled
        /// with the peers.
        History => "history",
        /// One page a side and fewer than two peers on either: nothing in the
        /// reports bounds how far a page lands from the next, so the interval is
        /// unbounded and the verdict `unsure`.
        Unbounded => "unbounded",
    }
);

/// The ratio new/old of median latencies, its 95% interval and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// median(new) / median(old).
    pub ratio: f64,
    /// Lower end of the 95% interval of the ratio.
    pub low: f64,
    /// Upper end of the 95% interval of the ratio.
    pub high: f64,
    /// What the interval was drawn from.
    pub basis: Basis,
    /// The verdict against the threshold.
    pub verdict: Verdict,
}

/// Why two sets of samples cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// One side has too few samples for an interval.
    #[error("too few samples to compare ({old} before, {new} now; at least {MIN_SAMPLES} each)")]
    TooFew {
        /// Samples before.
        old: usize,
        /// Samples now.
        new: usize,
    },
    /// A sample is NaN, infinite, zero or negative.
    #[error("a latency sample is not a positive finite number")]
    NotPositive,
    /// The threshold is not in [0, 1).
    #[error("threshold {0} is not a fraction in [0, 1)")]
    Threshold(f64),
    /// Paired samples that do not pair: different rounds or sample counts.
    #[error("the samples do not pair ({old} before, {new} now, round by round)")]
    Unpaired {
        /// Samples per round before.
        old: String,
        /// Samples per round now.
        new: String,
    },
}

/// Fewest samples per side the bootstrap is run on.
pub const MIN_SAMPLES: usize = 5;

/// Judges a ratio interval against `threshold` (0.05 = 5%).
pub fn judge(low: f64, high: f64, threshold: f64) -> Verdict {
    if low > 1.0 + threshold {
        Verdict::Slower
    } else if high < 1.0 - threshold {
        Verdict::Faster
    } else if low >= 1.0 - threshold && high <= 1.0 + threshold {
        Verdict::Same
    } else {
        Verdict::Unsure
    }
}

/// Compares `new` latency samples with `old` ones: the ratio of medians with a
/// 95% percentile-bootstrap interval (`RESAMPLES` resamples, seeded by `seed`),
/// judged against `threshold`.
pub fn compare(
    old: &[f64],
    new: &[f64],
    threshold: f64,
    seed: u64,
) -> Result<RatioEstimate, CompareError> {
    check(old, new, threshold)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut a, mut b) = (vec![0.0; old.len()], vec![0.0; new.len()]);
    let ratios = (0..RESAMPLES)
        .map(|_| resampled_median(new, &mut b, &mut rng) / resampled_median(old, &mut a, &mut rng))
        .collect();
    Ok(estimate(old, new, ratios, threshold))
}

/// Refuses a threshold outside [0, 1), too few samples, or a sample that is not positive and finite.
fn check(old: &[f64], new: &[f64], threshold: f64) -> Result<(), CompareError> {
    if !(0.0..1.0).contains(&threshold) {
        return Err(CompareError::Threshold(threshold));
    }
    if old.len() < MIN_SAMPLES || new.len() < MIN_SAMPLES {
        return Err(CompareError::TooFew {
            old: old.len(),
            new: new.len(),
        });
    }
    if old.iter().chain(new).any(|v| !v.is_finite() || *v <= 0.0) {
        return Err(CompareError::NotPositive);
    }
    Ok(())
}

/// The ratio of the samples' medians, the 2.5%–97.5% percentiles of the
/// bootstrapped `ratios`, and the verdict.
fn estimate(old: &[f64], new: &[f64], mut ratios: Vec<f64>, threshold: f64) -> RatioEstimate {
    let ratio = median(new).expect("checked non-empty") / median(old).expect("checked non-empty");
    ratios.sort_by(f64::total_cmp);
    let (low, high) = (quantile(&ratios, 0.025), quantile(&ratios, 0.975));
    RatioEstimate {
        ratio,
        low,
        high,
        basis: Basis::Samples,
        verdict: judge(low, high, threshold),
    }
}

/// Compares samples grouped by browser session (round). With at least two
/// rounds on each side the unit of comparison is the round: each round's median,
/// on a log scale, and Welch's t interval for the difference of their means,
/// exponentiated into an interval of the ratio. Rounds differ by more than their
/// samples show (a page settles into its own state; a shared machine drifts),
/// and with few rounds only a t interval is honest about how little that tells:
/// a bootstrap over three rounds is far too narrow. With fewer rounds, as
/// [`compare`] on the pooled samples, widened by how far sessions move a median
/// as the two reports show it ([`widen_by_sessions`]).
pub fn compare_rounds(
    old: &[&[f64]],
    new: &[&[f64]],
    spread: SessionSpread,
    threshold: f64,
    seed: u64,
) -> Result<RatioEstimate, CompareError> {
    let pooled = |groups: &[&[f64]]| {
        groups
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect::<Vec<f64>>()
    };
    let (old_all, new_all) = (pooled(old), pooled(new));
    if old.len() < 2 || new.len() < 2 || old.iter().chain(new).any(|g| g.is_empty()) {
        return compare(&old_all, &new_all, threshold, seed)
            .map(|e| widen_by_sessions(e, spread, threshold));
    }
    check(&old_all, &new_all, threshold)?;
    let log_medians = |groups: &[&[f64]]| -> Vec<f64> {
        groups
            .iter()
            .map(|g| median(g).expect("checked non-empty").ln())
            .collect()
    };
    let (a, b) = (log_medians(old), log_medians(new));
    let (mean_a, var_a) = mean_and_variance(&a);
    let (mean_b, var_b) = mean_and_variance(&b);
    let (se_a, se_b) = (var_a / a.len() as f64, var_b / b.len() as f64);
    let se = (se_a + se_b).sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let denominator = se_a * se_a / (a.len() - 1) as f64 + se_b * se_b / (b.len() - 1) as f64;
    let df = if denominator > 0.0 {
        (se_a + se_b).powi(2) / denominator
    } else {
        f64::INFINITY
    };
    let d = mean_b - mean_a;
    let half = t975(df) * se;
    let (low, high) = ((d - half).exp(), (d + half).exp());
    Ok(RatioEstimate {
        ratio: d.exp(),
        low,
        high,
        basis: Basis::Rounds,
        verdict: judge(low, high, threshold),
    })
}

/// Consecutive samples whose median is one point of a page's course in
/// [`state_swing`]: the fewest whose median two stray samples cannot move.
pub const SWING_BLOCK: usize = 5;

/// How far a page's level moved while it was sampled: the log of the ratio of
/// the highest to the lowest median of consecutive blocks of [`SWING_BLOCK`]
/// samples (a trailing partial block is left out); 0 with fewer than two
/// blocks. A page's level can move while it is sampled, with the same input,
/// code and weights: Firefox's CPU cells at batch 32 run at about 20 ms for a
/// stretch of samples, then about 31, and back. A page that stayed at one
/// level all through its samples shows nothing of that; its neighbours often
/// do.
pub fn state_swing(samples: &[f64]) -> f64 {
    let medians: Vec<f64> = samples
        .chunks_exact(SWING_BLOCK)
        .filter_map(median)
        .filter(|m| m.is_finite() && *m > 0.0)
        .collect();
    if medians.len() < 2 {
        return 0.0;
    }
    let low = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let high = medians.iter().copied().fold(0.0, f64::max);
    (high / low).ln()
}

/// What two reports show of how far one page's median moves while the build
/// stays the same: the evidence a comparison of single pages is widened by.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionSpread<'a> {
    /// The medians of the cell's *peers* in the old and the new report: the
    /// other cells that ran the same arithmetic (the simulated precisions of
    /// one browser, backend and batch), each in a page of its own.
    pub peers: [&'a [f64]; 2],
    /// The largest [`state_swing`] inside any page of the cell's class (its
    /// host, browser, backend and batch, every precision), in either report:
    /// a page's level is the page's and the machine's, whatever it computes.
    pub swing: f64,
    /// How far pages of the cell's class landed from one another on this
    /// host in earlier runs, when a history was given.
    pub learned: Option<LearnedSpread>,
    /// How many verdicts the comparison gives at once (a gate fails on any):
    /// the interval is each one's of a family that holds at 95% together
    /// ([`family_quantile`]), so an A/A comparison of many cells says
    /// `slower` of none. 0 or 1: a plain 95% interval.
    pub family: usize,
}

/// Fewest degrees of freedom (pages less groups) a [`LearnedSpread`] needs
/// before it counts: with fewer, the t quantile alone (2.3 at 8) makes the
/// interval wider than the peers' would be.
pub const MIN_LEARNED_DF: usize = 8;

/// How far pages of one class of cells (a host, browser, backend and batch)
/// land from one another, learned from earlier runs (Bencher's thresholds
/// over a window of past runs): the pooled variance of the pages' log
/// medians, each around the mean of its group, a group being pages that ran
/// the same arithmetic from the same build (so only the page moved them
/// apart, whatever changed between builds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LearnedSpread {
    /// The sum, over groups, of the squared deviations of each page's log
    /// median from its group's mean.
    pub squares: f64,
    /// Degrees of freedom: pages less groups, over groups of two or more.
    pub df: usize,
    /// Pages in groups of two or more.
    pub pages: usize,
    /// Runs those pages came from (set by whoever knows the runs).
    pub runs: usize,
}

impl LearnedSpread {
    /// Learns from groups of page medians (ms). A group of one page, and a
    /// median that is not a positive finite number, add nothing.
    pub fn from_groups<'a>(groups: impl IntoIterator<Item = &'a [f64]>) -> Self {
        let mut spread = Self::default();
        for group in groups {
            let logs: Vec<f64> = group
                .iter()
                .filter(|m| m.is_finite() && **m > 0.0)
                .map(|m| m.ln())
                .collect();
            if logs.len() < 2 {
                continue;
            }
            let (_, var) = mean_and_variance(&logs);
            spread.squares += var * (logs.len() - 1) as f64;
            spread.df += logs.len() - 1;
            spread.pages += logs.len();
        }
        spread
    }

    /// The standard deviation of a page's log median around its group's
    /// level; `None` with no degrees of freedom.
    pub fn sigma(&self) -> Option<f64> {
        (self.df > 0).then(|| (self.squares / self.df as f64).sqrt())
    }

    /// The half-width, on the log scale, of the interval of the ratio of two
    /// single pages, one of `family` verdicts at 95% together: t × √2 ×
    /// sigma; `None` below [`MIN_LEARNED_DF`].
    pub fn half_width(&self, family: usize) -> Option<f64> {
        (self.df >= MIN_LEARNED_DF).then(|| pooled_half_width(self.squares, self.df, family))
    }

    /// The smallest slowdown a comparison of single pages can call `slower`
    /// against `threshold` with this spread alone, one of `family` verdicts:
    /// the ratio whose interval's lower end is 1 + threshold. `None` below
    /// [`MIN_LEARNED_DF`].
    pub fn smallest_slowdown(&self, threshold: f64, family: usize) -> Option<f64> {
        self.half_width(family).map(|h| (1.0 + threshold) * h.exp())
    }
}

/// t × √(2 × squares / df): the half-width, on the log scale, of the
/// difference of two page levels whose variance is estimated by `squares`
/// over `df` degrees of freedom, one of `family` intervals at 95% together.
fn pooled_half_width(squares: f64, df: usize, family: usize) -> f64 {
    family_quantile(df as f64, family) * (2.0 * squares / df as f64).sqrt()
}

/// Widens a comparison of single browser sessions by how much sessions move a
/// median, as measured in the two reports themselves. One session's samples
/// say nothing of how far the next session lands from it (on a shared machine,
/// ×1.6 and more); two things in the reports do:
///
/// - The peers' medians. Their sample variance on a log scale, pooled over
///   the reports with at least two peers, is each median's variance, so the
///   log ratio of two medians has twice that; its t interval (the peers'
///   degrees of freedom) gives one half-width. With fewer than two peers on
///   both sides there is no spread to measure, and a page's own samples say
///   nothing of how far the next page lands (a two-precision A/A pair on this
///   machine: Chromium CPU batch 1 `f32` at 0.985 ms in one page, 0.560 in the
///   next, while `int8`'s pages sat at 0.545 and 0.540): the interval is
///   unbounded, the verdict `unsure` ([`Basis::Unbounded`]).
/// - The swing: a page's level moved that far while the code stayed the
///   same, so a page that sat at one level throughout may lie that far from
///   the next. The peers miss it when they all happened to sit at the same
///   level (a third A/A pair on this machine called two cells `slower` and
///   `faster` by ×1.43 and ×0.68 that way, while a page of their class swung
///   by ×1.55 inside itself).
///
/// With a [`LearnedSpread`] of [`MIN_LEARNED_DF`] or more, the peers' squares
/// are pooled with the history's, and the interval is never unbounded: the
/// history has seen many more pages of the class on this host than the two
/// reports hold, and its t quantile is the smaller for it ([`Basis::History`]).
/// The swing still counts, as what the present pages themselves show.
///
/// The t quantile is each verdict's of the comparison's family
/// ([`SessionSpread::family`]): a gate fails on any of its cells, so the
/// intervals hold at 95% together (on a noisy 2-core machine, plain 95%
/// intervals called a cell `slower` or `faster` in 9 of 45 A/A pairs of
/// 42-cell reports).
///
/// The larger half-width, on the log scale around the ratio, replaces
/// `estimate`'s interval where it is wider, and the verdict is judged again.
pub fn widen_by_sessions(
    estimate: RatioEstimate,
    spread: SessionSpread,
    threshold: f64,
) -> RatioEstimate {
    let peers = LearnedSpread::from_groups(spread.peers);
    let (squares, df, basis) = match spread.learned.filter(|l| l.df >= MIN_LEARNED_DF) {
        Some(learned) => (
            peers.squares + learned.squares,
            peers.df + learned.df,
            Basis::History,
        ),
        None if peers.df == 0 => {
            return RatioEstimate {
                low: 0.0,
                high: f64::INFINITY,
                basis: Basis::Unbounded,
                verdict: Verdict::Unsure,
                ..estimate
            };
        }
        None => (peers.squares, peers.df, Basis::Peers),
    };
    let from_pages = pooled_half_width(squares, df, spread.family);
    let swing = if spread.swing.is_finite() {
        spread.swing.max(0.0)
    } else {
        0.0
    };
    let (half, basis) = if swing > from_pages {
        (swing, Basis::Swing)
    } else {
        (from_pages, basis)
    };
    let d = estimate.ratio.ln();
    let (low, high) = ((d - half).exp(), (d + half).exp());
    if low >= estimate.low && high <= estimate.high {
        return estimate;
    }
    let (low, high) = (estimate.low.min(low), estimate.high.max(high));
    RatioEstimate {
        low,
        high,
        basis,
        verdict: judge(low, high, threshold),
        ..estimate
    }
}

/// Compares samples taken in pairs: in each round (page) the old and the new
/// build ran alternately, `old[r][i]` and `new[r][i]` back to back, so whatever
/// slows the machine for a while slows both alike. With one round, a percentile
/// bootstrap that resamples whole pairs (the two sides always share their draw)
/// of the ratio of medians. With more, the unit is the round: each round's ratio
/// of medians, on a log scale, with a paired t interval over rounds, so a build
/// that lands in a different state per page widens the interval instead of
/// deciding the verdict.
pub fn compare_paired(
    old: &[&[f64]],
    new: &[&[f64]],
    threshold: f64,
    seed: u64,
) -> Result<RatioEstimate, CompareError> {
    let counts = |groups: &[&[f64]]| groups.iter().map(|g| g.len()).collect::<Vec<_>>();
    if counts(old) != counts(new) || old.iter().any(|g| g.is_empty()) {
        let show = |groups: &[&[f64]]| format!("{:?}", counts(groups));
        return Err(CompareError::Unpaired {
            old: show(old),
            new: show(new),
        });
    }
    let (old_all, new_all) = (old.concat(), new.concat());
    check(&old_all, &new_all, threshold)?;
    if old.len() == 1 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = old_all.len();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        let ratios = (0..RESAMPLES)
            .map(|_| {
                for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                    let i = rng.random_range(0..n);
                    (*x, *y) = (old_all[i], new_all[i]);
                }
                a.sort_by(f64::total_cmp);
                b.sort_by(f64::total_cmp);
                quantile(&b, 0.5) / quantile(&a, 0.5)
            })
            .collect();
        return Ok(RatioEstimate {
            basis: Basis::Pairs,
            ..estimate(&old_all, &new_all, ratios, threshold)
        });
    }
    let logs: Vec<f64> = old
        .iter()
        .zip(new)
        .map(|(o, n)| (median(n).expect("non-empty") / median(o).expect("non-empty")).ln())
        .collect();
    let (mean, var) = mean_and_variance(&logs);
    let half = t975((logs.len() - 1) as f64) * (var / logs.len() as f64).sqrt();
    let (low, high) = ((mean - half).exp(), (mean + half).exp());
    Ok(RatioEstimate {
        ratio: mean.exp(),
        low,
        high,
        basis: Basis::Rounds,
        verdict: judge(low, high, threshold),
    })
}

/// Mean and sample variance (n − 1).
fn mean_and_variance(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The `p` quantile of Student's t with `df` degrees of freedom (fractional
/// df too; below one, one; the normal's at infinity).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if df.is_finite() {
        distrs::StudentsT::ppf(p, df.max(1.0))
    } else {
        distrs::Normal::ppf(p, 0.0, 1.0)
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: a 95%
/// two-sided interval's.
pub fn t975(df: f64) -> f64 {
    t_quantile(0.975, df)
}

/// The quantile of a two-sided interval of one of `family` verdicts that
/// holds for all of them at once with 95% (Bonferroni): 1 − 0.025 / family.
/// A family of one (or none) is the plain 95% interval's.
pub fn family_quantile(df: f64, family: usize) -> f64 {
    t_quantile(1.0 - 0.025 / family.max(1) as f64, df)
}

/// The median of one resample with replacement of `samples`, drawn into `scratch`.
fn resampled_median(samples: &[f64], scratch: &mut [f64], rng: &mut ChaCha8Rng) -> f64 {
    for slot in scratch.iter_mut() {
        *slot = samples[rng.random_range(0..samples.len())];
    }
    scratch.sort_by(f64::total_cmp);
    quantile(scratch, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 for a verdict that would fail or flatter a gate, 0 otherwise.
    fn alarm(v: Verdict) -> usize {
        usize::from(matches!(v, Verdict::Slower | Verdict::Faster))
    }

    /// Latency-like samples: a floor plus a right-skewed (log-normal) tail.
    fn latencies(n: usize, scale: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
        (0..n)
            .map(|_| scale * (1.0 + 0.1 * (0.5 * normal(rng)).exp()))
            .collect()
    }

    #[test]
    fn judge_follows_the_interval() {
        assert_eq!(judge(1.06, 1.2, 0.05), Verdict::Slower);
        assert_eq!(judge(1.04, 1.2, 0.05), Verdict::Unsure);
        assert_eq!(judge(0.8, 0.94, 0.05), Verdict::Faster);
        assert_eq!(judge(0.8, 0.96, 0.05), Verdict::Unsure);
        assert_eq!(judge(0.96, 1.04, 0.05), Verdict::Same);
        assert_eq!(judge(0.95, 1.05, 0.05), Verdict::Same);
        assert_eq!(judge(0.9, 1.1, 0.05), Verdict::Unsure);
    }

    #[test]
    fn equal_distributions_are_never_slower_or_faster() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for seed in 0..300 {
            let n = 10 + (seed as usize % 40);
            let (old, new) = (latencies(n, 1.0, &mut rng), latencies(n, 1.0, &mut rng));
            let e = compare(&old, &new, 0.05, seed).unwrap();
            assert!(
                matches!(e.verdict, Verdict::Same | Verdict::Unsure),
                "seed {seed}: {e:?}"
            );
            assert!(e.low <= e.ratio && e.ratio <= e.high, "{e:?}");
        }
    }

    #[test]
    fn a_quarter_slower_with_thirty_samples_is_slower() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for seed in 0..50 {
            let (old, new) = (latencies(30, 1.0, &mut rng), latencies(30, 1.25, &mut rng));
            let e = compare(&old, &new, 0.05, seed).unwrap();
            assert_eq!(e.verdict, Verdict::Slower, "seed {seed}: {e:?}");
            assert!((e.ratio - 1.25).abs() < 0.1, "{e:?}");
            let e = compare(&new, &old, 0.05, seed).unwrap();
            assert_eq!(e.verdict, Verdict::Faster, "seed {seed}: {e:?}");
        }
    }

    /// Medians of four single-page cells doing the same work, each page at a
    /// level drawn log-normally with spread `sigma`.
    fn session_medians(sigma: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
        (0..4)
            .map(|_| median(&latencies(30, 1.0, rng)).unwrap() * (sigma * normal(rng)).exp())
            .collect()
    }

    /// A standard normal draw (Box–Muller, from two uniforms).
    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// The spread of peers alone, no swing.
    fn peers<'a>(old: &'a [f64], new: &'a [f64]) -> SessionSpread<'a> {
        SessionSpread {
            peers: [old, new],
            ..SessionSpread::default()
        }
    }

    #[test]
    fn peers_in_other_sessions_widen_a_single_session_comparison() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (old, new) = (latencies(30, 1.0, &mut rng), latencies(30, 1.25, &mut rng));
        let e = compare(&old, &new, 0.05, 1).unwrap();
        assert_eq!(e.verdict, Verdict::Slower);
        // Peers that agree to ±1%: the verdict stands.
        let tight = widen_by_sessions(e, peers(&[1.0, 1.01, 0.99], &[1.25, 1.24, 1.26]), 0.05);
        assert_eq!(tight.verdict, Verdict::Slower, "{tight:?}");
        assert_eq!(tight.ratio, e.ratio);
        // Peers a page state apart (×1.5): a quarter is within what sessions do.
        let spread = widen_by_sessions(e, peers(&[1.0, 1.5, 1.0], &[1.25, 1.9, 1.3]), 0.05);
        assert_eq!(spread.verdict, Verdict::Unsure, "{spread:?}");
        assert!(spread.low < 1.0 && spread.high > 1.6, "{spread:?}");
        // Identical peers add nothing.
        assert_eq!(
            widen_by_sessions(e, peers(&[2.0, 2.0], &[2.0, 2.0]), 0.05),
            e
        );
        // Two peers on one side are enough to measure a spread.
        assert_eq!(widen_by_sessions(e, peers(&[2.0, 2.0], &[2.0]), 0.05), e);
        // Fewer than two on both sides measure nothing: unbounded, never a verdict.
        for few in [peers(&[1.0], &[1.5]), SessionSpread::default()] {
            let unbounded = widen_by_sessions(e, few, 0.05);
            assert_eq!(
                (
                    unbounded.low,
                    unbounded.high,
                    unbounded.basis,
                    unbounded.verdict
                ),
                (0.0, f64::INFINITY, Basis::Unbounded, Verdict::Unsure)
            );
            assert_eq!(unbounded.ratio, e.ratio);
        }
    }

    #[test]
    fn a_learned_spread_pools_each_group_around_its_own_mean() {
        let e1 = std::f64::consts::E;
        // Groups at different levels: only the deviations inside each count.
        // ln: [0, 2] (mean 1, squares 2), [1, 1, 1] (0), [5] (a lone page: nothing).
        let (a, b, c) = ([1.0, e1 * e1], [e1, e1, e1], [e1.powi(5)]);
        let s = LearnedSpread::from_groups([&a[..], &b[..], &c[..], &[f64::NAN, 1.0][..]]);
        assert!((s.squares - 2.0).abs() < 1e-12, "{s:?}");
        assert_eq!((s.df, s.pages, s.runs), (3, 5, 0));
        assert!((s.sigma().unwrap() - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // Below eight degrees of freedom it does not count.
        assert_eq!(
            (s.half_width(1), s.smallest_slowdown(0.05, 1)),
            (None, None)
        );
        assert_eq!(LearnedSpread::default().sigma(), None);
        // Nine groups of two pages ×1.02 apart: df 9, squares 9 × (ln 1.02)² / 2.
        let pair = [1.0, 1.02];
        let s = LearnedSpread::from_groups(std::iter::repeat_n(&pair[..], 9));
        assert_eq!((s.df, s.pages), (9, 18));
        let sigma = 1.02f64.ln() / 2f64.sqrt();
        assert!((s.sigma().unwrap() - sigma).abs() < 1e-12);
        let half = t975(9.0) * 2f64.sqrt() * sigma;
        assert!((s.half_width(1).unwrap() - half).abs() < 1e-12);
        assert!((s.smallest_slowdown(0.05, 1).unwrap() - 1.05 * half.exp()).abs() < 1e-12);
        // One of 40 verdicts at 95% together: wider, by t(0.999375, 9) / t(0.975, 9).
        let wide = s.half_width(40).unwrap();
        assert!((wide / half - t_quantile(0.999_375, 9.0) / t975(9.0)).abs() < 1e-12);
    }

    /// A history of many tight pages narrows what four peers a side allow,
    /// and bounds a cell that has no peers; a history of wide pages widens;
    /// too little history changes nothing; the swing still counts.
    #[test]
    fn a_learned_spread_bounds_and_narrows_a_single_session_comparison() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (old, new) = (latencies(40, 1.0, &mut rng), latencies(40, 1.12, &mut rng));
        let e = compare(&old, &new, 0.05, 1).unwrap();
        assert_eq!(e.verdict, Verdict::Slower, "{e:?}");
        // Peers ±4%: their t quantile over 6 df leaves 12% unsure.
        let (old_peers, new_peers) = ([1.0, 1.04, 0.96, 1.0], [1.08, 1.12, 1.16, 1.12]);
        let by_peers = widen_by_sessions(e, peers(&old_peers, &new_peers), 0.05);
        assert_eq!(
            (by_peers.basis, by_peers.verdict),
            (Basis::Peers, Verdict::Unsure)
        );
        // Sixty pages a history learned at ±1%: slower, on the history.
        let tight = [1.0, 1.01, 0.99, 1.0, 1.005, 0.995];
        let learned = LearnedSpread::from_groups(std::iter::repeat_n(&tight[..], 10));
        let spread = |learned| SessionSpread {
            peers: [&old_peers, &new_peers],
            learned: Some(learned),
            ..SessionSpread::default()
        };
        let judged = widen_by_sessions(e, spread(learned), 0.05);
        assert_eq!(
            (judged.basis, judged.verdict),
            (Basis::History, Verdict::Slower)
        );
        assert!(judged.high - judged.low < by_peers.high - by_peers.low);
        // No peers at all: the history bounds it.
        let alone = SessionSpread {
            learned: Some(learned),
            ..SessionSpread::default()
        };
        assert_eq!(widen_by_sessions(e, alone, 0.05).basis, Basis::History);
        // A history of pages ×1.6 apart: unsure.
        let wide = [1.0, 1.6, 1.0, 1.6];
        let learned_wide = LearnedSpread::from_groups(std::iter::repeat_n(&wide[..], 5));
        let judged = widen_by_sessions(e, spread(learned_wide), 0.05);
        assert_eq!(
            (judged.basis, judged.verdict),
            (Basis::History, Verdict::Unsure)
        );
        // Too few degrees of freedom: as if there were no history.
        let short = LearnedSpread::from_groups([&tight[..]]);
        assert_eq!(widen_by_sessions(e, spread(short), 0.05), by_peers);
        // A page that swung ×1.3 inside itself outweighs a tight history.
        let swung = SessionSpread {
            swing: 1.3f64.ln(),
            ..spread(learned)
        };
        let judged = widen_by_sessions(e, swung, 0.05);
        assert_eq!(
            (judged.basis, judged.verdict),
            (Basis::Swing, Verdict::Unsure)
        );
    }

    #[test]
    fn state_swing_is_the_range_of_block_medians() {
        // Blocks of five: medians 20, 31, 20 (one stray sample in each moves nothing).
        let mut s = vec![20.0, 20.5, 19.5, 20.0, 90.0];
        s.extend([31.0, 30.0, 32.0, 31.0, 1.0]);
        s.extend([20.0, 20.0, 20.0, 21.0, 19.0]);
        assert!((state_swing(&s) - (31.0f64 / 20.0).ln()).abs() < 1e-12);
        // The trailing partial block is left out; one block is no course at all.
        s.extend([100.0, 100.0, 100.0, 100.0]);
        assert!((state_swing(&s) - (31.0f64 / 20.0).ln()).abs() < 1e-12);
        assert_eq!(state_swing(&s[..9]), 0.0);
        assert_eq!(state_swing(&[]), 0.0);
        assert_eq!(state_swing(&[5.0; 20]), 0.0);
    }

    /// The third A/A pair's Firefox CPU batch-32 `f16-native` cell: 81.3 →
    /// 116 ms, each page in one state, its four peers all in the other state
    /// in both reports (29–37 ms); a peer's page swung between 20 and 31 ms.
    #[test]
    fn a_swing_inside_a_page_widens_a_single_session_comparison() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (old, new) = (
            latencies(36, 81.3, &mut rng),
            latencies(23, 116.0, &mut rng),
        );
        let e = compare(&old, &new, 0.05, 1).unwrap();
        let (old_peers, new_peers) = ([33.9, 30.8, 29.4, 30.9], [30.6, 31.3, 36.6, 28.2]);
        let bare = widen_by_sessions(e, peers(&old_peers, &new_peers), 0.05);
        assert_eq!(bare.verdict, Verdict::Slower, "{bare:?}");
        let swing = (31.0f64 / 20.0).ln();
        let spread = SessionSpread {
            peers: [&old_peers, &new_peers],
            swing,
            ..SessionSpread::default()
        };
        let widened = widen_by_sessions(e, spread, 0.05);
        assert_eq!(widened.verdict, Verdict::Unsure, "{widened:?}");
        assert_eq!((bare.basis, widened.basis), (Basis::Peers, Basis::Swing));
        assert!((widened.low - e.ratio / 1.55).abs() < 1e-9, "{widened:?}");
        assert!((widened.high - e.ratio * 1.55).abs() < 1e-9, "{widened:?}");
        assert_eq!(widened.ratio, e.ratio);
        // A change beyond the swing and the threshold still counts.
        let twice = latencies(30, 2.0 * 81.3, &mut rng);
        let e = compare(&old, &twice, 0.05, 1).unwrap();
        assert_eq!(widen_by_sessions(e, spread, 0.05).verdict, Verdict::Slower);
        // A swing narrower than the samples' own interval changes nothing.
        let tiny = SessionSpread {
            swing: 1e-6,
            ..peers(&[2.0, 2.0], &[2.0, 2.0])
        };
        assert_eq!(widen_by_sessions(e, tiny, 0.05), e);
    }

    /// Two single-round reports of one build, each cell in a page of its own
    /// whose level moves by a log-normal ×e^0.2. The samples alone call most
    /// cells slower or faster; judged with their peers' spread, at most the 5%
    /// a 95% interval may miss by (fewer, the threshold takes its share). A
    /// real quarter is still caught when sessions move by 2%.
    #[test]
    fn session_spread_keeps_separate_runs_from_crying_wolf() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut bare, mut widened_alarms, mut family_alarms) = (0, 0, 0);
        for seed in 0..400 {
            let (old, new) = (
                session_medians(0.2, &mut rng),
                session_medians(0.2, &mut rng),
            );
            let (a, b) = (
                latencies(30, old[0], &mut rng),
                latencies(30, new[0], &mut rng),
            );
            let e = compare(&a, &b, 0.05, seed).unwrap();
            bare += alarm(e.verdict);
            widened_alarms +=
                alarm(widen_by_sessions(e, peers(&old[1..], &new[1..]), 0.05).verdict);
            let family = SessionSpread {
                family: 400,
                ..peers(&old[1..], &new[1..])
            };
            family_alarms += alarm(widen_by_sessions(e, family, 0.05).verdict);
        }
        assert!(bare > 300, "{bare} of 400 without the peers");
        assert!(widened_alarms <= 20, "{widened_alarms} of 400 with them");
        // Judged as one gate of 400 verdicts, at 95% together: none.
        assert_eq!(family_alarms, 0);
        for seed in 0..50 {
            let (old, new) = (
                session_medians(0.02, &mut rng),
                session_medians(0.02, &mut rng),
            );
            let (a, b) = (latencies(30, 1.0, &mut rng), latencies(30, 1.25, &mut rng));
            let e = compare(&a, &b, 0.05, seed).unwrap();
            let widened = widen_by_sessions(e, peers(&old[1..], &new[1..]), 0.05);
            assert_eq!(widened.verdict, Verdict::Slower, "seed {seed}: {widened:?}");
        }
    }

    #[test]
    fn identical_samples_are_the_same() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = latencies(30, 1.0, &mut rng);
        let e = compare(&s, &s, 0.05, 7).unwrap();
        assert_eq!(e.ratio, 1.0);
        assert_eq!(e.verdict, Verdict::Same, "{e:?}");
    }

    #[test]
    fn the_seed_fixes_the_interval() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (old, new) = (latencies(20, 1.0, &mut rng), latencies(20, 1.03, &mut rng));
        assert_eq!(
            compare(&old, &new, 0.05, 9).unwrap(),
            compare(&old, &new, 0.05, 9).unwrap()
        );
    }

    /// Rounds whose level depends on the page load (a state each page lands in
    /// by chance: 1.0 or 1.4), as seen in Chromium's CPU cells on a shared machine.
    fn page_states(rounds: usize, scale: f64, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        (0..rounds)
            .map(|_| {
                let level = if rng.random_range(0.0..1.0) < 0.5 {
                    1.0
                } else {
                    1.4
                };
                latencies(40, scale * level, rng)
            })
            .collect()
    }

    #[test]
    fn page_to_page_variance_widens_the_interval() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut alarms_pooled = 0;
        for seed in 0..200 {
            let (old, new) = (page_states(3, 1.0, &mut rng), page_states(3, 1.0, &mut rng));
            let (o, n): (Vec<&[f64]>, Vec<&[f64]>) = (
                old.iter().map(Vec::as_slice).collect(),
                new.iter().map(Vec::as_slice).collect(),
            );
            let e = compare_rounds(&o, &n, SessionSpread::default(), 0.05, seed).unwrap();
            // Only when every page of one side landed in the slow state and every
            // page of the other in the fast one can the data not tell them apart.
            let all =
                |v: &[Vec<f64>], slow: bool| v.iter().all(|r| (median(r).unwrap() > 1.5) == slow);
            let lopsided =
                (all(&old, true) && all(&new, false)) || (all(&old, false) && all(&new, true));
            if !lopsided {
                assert!(
                    matches!(e.verdict, Verdict::Same | Verdict::Unsure),
                    "seed {seed}: {e:?}"
                );
            }
            let pooled = compare(&o.concat(), &n.concat(), 0.05, seed).unwrap();
            alarms_pooled += alarm(pooled.verdict);
        }
        assert!(
            alarms_pooled > 20,
            "pooling pages hides their variance: {alarms_pooled} alarms in 200"
        );
    }

    #[test]
    fn a_quarter_slower_in_every_round_is_slower() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for seed in 0..30 {
            let old: Vec<Vec<f64>> = (0..3).map(|_| latencies(30, 1.0, &mut rng)).collect();
            let new: Vec<Vec<f64>> = (0..3).map(|_| latencies(30, 1.25, &mut rng)).collect();
            let (o, n): (Vec<&[f64]>, Vec<&[f64]>) = (
                old.iter().map(Vec::as_slice).collect(),
                new.iter().map(Vec::as_slice).collect(),
            );
            assert_eq!(
                compare_rounds(&o, &n, SessionSpread::default(), 0.05, seed)
                    .unwrap()
                    .verdict,
                Verdict::Slower,
                "seed {seed}"
            );
        }
        // One round a side: the pooled comparison, widened by the peers'
        // spread (unbounded without peers); with two rounds or more the rounds
        // speak and peers are unused.
        let (a, b) = (latencies(30, 1.0, &mut rng), latencies(30, 1.25, &mut rng));
        let pooled = compare(&a, &b, 0.05, 1).unwrap();
        let alone = compare_rounds(&[&a], &[&b], SessionSpread::default(), 0.05, 1).unwrap();
        assert_eq!((alone.ratio, alone.basis), (pooled.ratio, Basis::Unbounded));
        let agreeing = peers(&[1.0, 1.0], &[1.25, 1.25]);
        assert_eq!(
            compare_rounds(&[&a], &[&b], agreeing, 0.05, 1).unwrap(),
            pooled
        );
        let (spread_old, spread_new) = ([1.0, 1.5, 1.0], [1.25, 1.9, 1.3]);
        let single =
            compare_rounds(&[&a], &[&b], peers(&spread_old, &spread_new), 0.05, 1).unwrap();
        assert_eq!(
            single,
            widen_by_sessions(pooled, peers(&spread_old, &spread_new), 0.05)
        );
        assert_eq!(single.verdict, Verdict::Unsure);
        let (a2, b2) = (latencies(30, 1.0, &mut rng), latencies(30, 1.25, &mut rng));
        let rounds = |peers| compare_rounds(&[&a, &a2], &[&b, &b2], peers, 0.05, 1).unwrap();
        assert_eq!(
            rounds(peers(&spread_old, &spread_new)),
            rounds(SessionSpread::default())
        );
    }

    #[test]
    fn t_quantiles_match_the_tables_and_the_normal_limit() {
        // Student's t tables, 0.975 and 0.9995 (two-sided 99.9%).
        for (df, q) in [(1.0, 12.706), (4.0, 2.776), (9.0, 2.262), (30.0, 2.042)] {
            assert!((t975(df) - q).abs() < 1e-3, "{df}: {}", t975(df));
        }
        for (df, q) in [(4.0, 8.610), (10.0, 4.587), (60.0, 3.460)] {
            assert!((t_quantile(0.9995, df) - q).abs() < 2e-3, "{df}");
        }
        assert!((t975(f64::INFINITY) - 1.959_964).abs() < 1e-6);
        assert!((t975(1e9) - 1.96).abs() < 1e-3);
        let mid = t975(2.5);
        assert!(mid < 4.303 && mid > 3.182, "{mid}");
        assert!(
            (t975(0.2) - 12.706).abs() < 1e-3,
            "below one degree of freedom: one"
        );
        // A family of 20 verdicts at 95% together: each at 1 − 0.025/20.
        assert_eq!(family_quantile(9.0, 20), t_quantile(0.99875, 9.0));
        assert_eq!(family_quantile(9.0, 1), t975(9.0));
        assert_eq!(family_quantile(9.0, 0), t975(9.0));
    }

    #[test]
    fn two_rounds_that_disagree_leave_the_verdict_unsure() {
        // Pages in different states: 1.0 and 1.4 on each side; the samples of
        // each page are tight, the rounds are not.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let old = [latencies(50, 1.0, &mut rng), latencies(50, 1.4, &mut rng)];
        let new = [latencies(50, 1.4, &mut rng), latencies(50, 1.4, &mut rng)];
        let (o, n): (Vec<&[f64]>, Vec<&[f64]>) = (
            old.iter().map(Vec::as_slice).collect(),
            new.iter().map(Vec::as_slice).collect(),
        );
        let e = compare_rounds(&o, &n, SessionSpread::default(), 0.05, 0).unwrap();
        assert_eq!(e.verdict, Verdict::Unsure, "{e:?}");
        assert!(e.low < 0.9 && e.high > 1.5, "{e:?}");
    }

    /// Two builds measured alternately while the machine switches between a
    /// fast and a slow level for stretches of samples (as a shared machine's
    /// CPU does): the level hits both sides of a pair alike.
    fn switching_pairs(n: usize, scale: f64, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let mut level = 1.0;
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for _ in 0..n {
            if rng.random_range(0.0..1.0) < 0.1 {
                level = if level == 1.0 { 1.6 } else { 1.0 };
            }
            old.push(level * latencies(1, 1.0, rng)[0]);
            new.push(level * latencies(1, scale, rng)[0]);
        }
        (old, new)
    }

    #[test]
    fn pairs_under_a_switching_machine_are_never_slower_or_faster() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut unpaired_alarms = 0;
        for seed in 0..200 {
            let (old, new) = switching_pairs(40, 1.0, &mut rng);
            let e = compare_paired(&[&old], &[&new], 0.05, seed).unwrap();
            assert!(
                matches!(e.verdict, Verdict::Same | Verdict::Unsure),
                "seed {seed}: {e:?}"
            );
            // The same samples taken as two separate runs: the levels of the
            // stretches decide the verdict.
            let (far_old, _) = switching_pairs(40, 1.0, &mut rng);
            let unpaired = compare(&far_old, &new, 0.05, seed).unwrap();
            unpaired_alarms += alarm(unpaired.verdict);
        }
        assert!(
            unpaired_alarms > 20,
            "separate runs under a switching machine cry wolf: {unpaired_alarms} in 200"
        );
    }

    #[test]
    fn pairs_a_quarter_slower_are_slower_and_rounds_pair_too() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for seed in 0..50 {
            let (old, new) = switching_pairs(30, 1.25, &mut rng);
            let e = compare_paired(&[&old], &[&new], 0.05, seed).unwrap();
            assert_eq!(e.verdict, Verdict::Slower, "seed {seed}: {e:?}");
            assert!((e.ratio - 1.25).abs() < 0.1, "{e:?}");
        }
        let rounds: Vec<(Vec<f64>, Vec<f64>)> = (0..3)
            .map(|_| switching_pairs(30, 1.25, &mut rng))
            .collect();
        let old: Vec<&[f64]> = rounds.iter().map(|r| r.0.as_slice()).collect();
        let new: Vec<&[f64]> = rounds.iter().map(|r| r.1.as_slice()).collect();
        let e = compare_paired(&old, &new, 0.05, 0).unwrap();
        assert_eq!(e.verdict, Verdict::Slower, "{e:?}");
        let same: Vec<&[f64]> = rounds.iter().map(|r| r.0.as_slice()).collect();
        let e = compare_paired(&old, &same, 0.05, 0).unwrap();
        assert_eq!((e.ratio, e.verdict), (1.0, Verdict::Same));
    }

    #[test]
    fn samples_that_do_not_pair_are_refused() {
        assert_eq!(
            compare_paired(&[&[1.0; 6]], &[&[1.0; 7]], 0.05, 0),
            Err(CompareError::Unpaired {
                old: "[6]".into(),
                new: "[7]".into()
            })
        );
        assert_eq!(
            compare_paired(&[&[1.0; 6], &[1.0; 6]], &[&[1.0; 12]], 0.05, 0)
                .unwrap_err()
                .to_string(),
            "the samples do not pair ([6, 6] before, [12] now, round by round)"
        );
        assert_eq!(
            compare_paired(&[&[1.0; 4]], &[&[1.0; 4]], 0.05, 0),
            Err(CompareError::TooFew { old: 4, new: 4 })
        );
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        assert_eq!(
            compare(&[1.0; 4], &[1.0; 30], 0.05, 0),
            Err(CompareError::TooFew { old: 4, new: 30 })
        );
        assert_eq!(
            compare(&[1.0; 5], &[0.0; 5], 0.05, 0),
            Err(CompareError::NotPositive)
        );
        assert_eq!(
            compare(&[1.0; 5], &[f64::NAN; 5], 0.05, 0),
            Err(CompareError::NotPositive)
        );
        assert_eq!(
            compare(&[1.0; 5], &[1.0; 5], 1.5, 0),
            Err(CompareError::Threshold(1.5))
        );
    }
}
