//! Quality of a precision against the float32 baseline on the same inputs.

use serde::{Deserialize, Serialize};

/// Why quality could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityError {
    /// No inputs.
    #[error("no inputs to compare")]
    Empty,
    /// Probability rows are not whole rows of `classes`.
    #[error("{what} has {len} values, not a multiple of {classes} classes")]
    Ragged {
        /// Which array.
        what: &'static str,
        /// Its length.
        len: usize,
        /// Number of classes.
        classes: usize,
    },
    /// The arrays cover a different number of inputs.
    #[error("candidate covers {candidate} inputs, baseline {baseline}, labels {labels}")]
    CountMismatch {
        /// Inputs in the candidate.
        candidate: usize,
        /// Inputs in the baseline.
        baseline: usize,
        /// Labels given.
        labels: usize,
    },
    /// A probability is NaN or infinite.
    #[error("{what} probability {index} is {value}, not a finite number")]
    NotFinite {
        /// Which array.
        what: &'static str,
        /// Flat index.
        index: usize,
        /// The value.
        value: f32,
    },
}

/// Quality of one precision versus float32 over the same inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Number of inputs compared.
    pub n: usize,
    /// Inputs whose top-1 class equals float32's, percent.
    pub top1_agreement_pct: f64,
    /// Mean over inputs of |max_k p(k) − max_k p_f32(k)|.
    pub drift_mean: f64,
    /// Largest such drift.
    pub drift_max: f64,
    /// Inputs whose top-1 class equals the label, percent.
    pub accuracy_pct: f64,
    /// Largest |p − p_native_f32| over all probabilities of these inputs: for a float32
    /// cell, how far this backend is from native float32; set by the caller.
    pub max_abs_diff_vs_native: Option<f64>,
}

/// Index of the largest value; the first one on ties (as NumPy's `argmax`).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn rows<'a>(
    what: &'static str,
    probs: &'a [f32],
    classes: usize,
) -> Result<std::slice::ChunksExact<'a, f32>, QualityError> {
    if classes == 0 || !probs.len().is_multiple_of(classes) {
        return Err(QualityError::Ragged {
            what,
            len: probs.len(),
            classes,
        });
    }
    if let Some(index) = probs.iter().position(|v| !v.is_finite()) {
        return Err(QualityError::NotFinite {
            what,
            index,
            value: probs[index],
        });
    }
    Ok(probs.chunks_exact(classes))
}

impl Quality {
    /// Compares `candidate` probabilities with `baseline` (float32) ones, row-major
    /// `[inputs, classes]`, and both with `labels`.
    pub fn compare(
        candidate: &[f32],
        baseline: &[f32],
        labels: &[u8],
        classes: usize,
    ) -> Result<Self, QualityError> {
        let cand = rows("candidate", candidate, classes)?;
        let base = rows("baseline", baseline, classes)?;
        let (nc, nb) = (cand.len(), base.len());
        if nc != nb || nc != labels.len() {
            return Err(QualityError::CountMismatch {
                candidate: nc,
                baseline: nb,
                labels: labels.len(),
            });
        }
        if nc == 0 {
            return Err(QualityError::Empty);
        }
        let (mut agree, mut correct, mut drift_sum, mut drift_max) =
            (0usize, 0usize, 0.0f64, 0.0f64);
        for ((c, b), &label) in cand.zip(base).zip(labels) {
            let (top_c, top_b) = (argmax(c), argmax(b));
            agree += usize::from(top_c == top_b);
            correct += usize::from(top_c == usize::from(label));
            let drift = (f64::from(c[top_c]) - f64::from(b[top_b])).abs();
            drift_sum += drift;
            drift_max = drift_max.max(drift);
        }
        let pct = |k: usize| 100.0 * k as f64 / nc as f64;
        Ok(Self {
            n: nc,
            top1_agreement_pct: pct(agree),
            drift_mean: drift_sum / nc as f64,
            drift_max,
            accuracy_pct: pct(correct),
            max_abs_diff_vs_native: None,
        })
    }
}

/// Largest absolute difference between two equally long arrays.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> Result<f64, QualityError> {
    if a.len() != b.len() {
        return Err(QualityError::CountMismatch {
            candidate: a.len(),
            baseline: b.len(),
            labels: a.len(),
        });
    }
    let _ = rows("candidate", a, 1)?;
    let _ = rows("baseline", b, 1)?;
    Ok(a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_probabilities() {
        // Three inputs, three classes.
        let base = [
            0.7, 0.2, 0.1, /**/ 0.1, 0.5, 0.4, /**/ 0.3, 0.3, 0.4,
        ];
        let cand = [
            0.6, 0.3, 0.1, /**/ 0.1, 0.4, 0.5, /**/ 0.25, 0.25, 0.5,
        ];
        let labels = [0, 1, 1];
        let q = Quality::compare(&cand, &base, &labels, 3).unwrap();
        assert_eq!(q.n, 3);
        assert_eq!(q.top1_agreement_pct, 100.0 * 2.0 / 3.0); // input 1 flips 1 → 2
        assert_eq!(q.accuracy_pct, 100.0 / 3.0); // only input 0 is right
        let drifts = [
            0.7f32 as f64 - 0.6f32 as f64,
            0.5f32 as f64 - 0.5f32 as f64,
            0.5f32 as f64 - 0.4f32 as f64,
        ];
        assert_eq!(q.drift_max, drifts[0].abs().max(drifts[2].abs()));
        assert_eq!(
            q.drift_mean,
            (drifts[0].abs() + drifts[1].abs() + drifts[2].abs()) / 3.0
        );
        assert_eq!(q.max_abs_diff_vs_native, None);
    }

    #[test]
    fn identical_sets_agree_fully() {
        let p = [0.1, 0.9, 0.8, 0.2];
        let q = Quality::compare(&p, &p, &[1, 1], 2).unwrap();
        assert_eq!(
            (
                q.top1_agreement_pct,
                q.drift_mean,
                q.drift_max,
                q.accuracy_pct
            ),
            (100.0, 0.0, 0.0, 50.0)
        );
    }

    #[test]
    fn ties_pick_the_first_class() {
        assert_eq!(argmax(&[0.5, 0.5]), 0);
        assert_eq!(argmax(&[0.1, 0.2, 0.2]), 1);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            Quality::compare(&[], &[], &[], 10).unwrap_err(),
            QualityError::Empty
        );
        assert_eq!(
            Quality::compare(&[0.5; 3], &[0.5; 4], &[0, 0], 2).unwrap_err(),
            QualityError::Ragged {
                what: "candidate",
                len: 3,
                classes: 2
            }
        );
        assert_eq!(
            Quality::compare(&[0.5; 4], &[0.5; 2], &[0, 0], 2).unwrap_err(),
            QualityError::CountMismatch {
                candidate: 2,
                baseline: 1,
                labels: 2
            }
        );
        assert!(matches!(
            Quality::compare(&[0.5, f32::NAN], &[0.5, 0.5], &[0], 2),
            Err(QualityError::NotFinite {
                what: "candidate",
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn max_abs_diff_of_arrays() {
        assert_eq!(
            max_abs_diff(&[1.0, 2.0, 3.0], &[1.0, 2.5, 2.0]).unwrap(),
            1.0
        );
        assert!(max_abs_diff(&[1.0], &[1.0, 2.0]).is_err());
    }
}
