//! Where an inference's time goes, stage by stage (`qbench run --profile`).
//!
//! The page times the network cut after each stage: the stages up to it, then
//! one sum of its output and the readback of that single float. Each cut is
//! therefore a finished computation (on WebGPU, read back), and the cuts pay
//! the same sum-and-readback, so a stage's cost is its cut minus the cut
//! before it. Cuts are timed round-robin, so the machine's drift spreads over
//! all of them.

use serde::{Deserialize, Serialize};

use crate::matrix::named_enum;
use crate::stats::median;

named_enum!(
    /// A place the network can be cut for timing, in the order it runs.
    Stage, "stage", {
        /// The images on the device, nothing computed.
        Upload => "upload",
        /// The first 3×3 convolution, its 2×2 max-pool and ReLU.
        Conv1 => "conv1",
        /// The second convolution, pool and ReLU.
        Conv2 => "conv2",
        /// The first dense layer and its ReLU.
        Fc1 => "fc1",
        /// The second dense layer: the logits.
        Fc2 => "fc2",
        /// Softmax (in the page, on the host once the logits are read back):
        /// the whole inference as a sample times it.
        Softmax => "softmax",
    }
);

/// One cut's timings from one page, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutSamples {
    /// Where the network was cut.
    pub stage: Stage,
    /// Each timing of the cut: up to and including `stage`, one sum, read back.
    pub samples_ms: Vec<f64>,
}

/// One stage of a cell's profile, medians over every round's timings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    /// The stage.
    pub stage: Stage,
    /// Median time of the network cut after this stage, milliseconds.
    pub cut_ms: f64,
    /// This cut's median minus the previous stage's (for `upload`, the whole
    /// cut: uploading, the sum and the readback), milliseconds. Noise can
    /// make a cheap stage's difference negative; it is kept as measured.
    pub ms: f64,
    /// Timings of the cut.
    pub samples: usize,
}

/// The profile of a cell from every round's cuts (in `Stage` order, only the
/// stages that were timed); empty when no round timed any.
pub fn stage_times(rounds: &[&[CutSamples]]) -> Vec<StageTime> {
    let mut out: Vec<StageTime> = Vec::new();
    for &stage in Stage::ALL {
        let pooled: Vec<f64> = rounds
            .iter()
            .flat_map(|cuts| cuts.iter().filter(|c| c.stage == stage))
            .flat_map(|c| c.samples_ms.iter().copied())
            .collect();
        let Some(cut_ms) = median(&pooled) else {
            continue;
        };
        let before = out.last().map_or(0.0, |s| s.cut_ms);
        out.push(StageTime {
            stage,
            cut_ms,
            ms: cut_ms - before,
            samples: pooled.len(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(stage: Stage, samples_ms: &[f64]) -> CutSamples {
        CutSamples {
            stage,
            samples_ms: samples_ms.to_vec(),
        }
    }

    #[test]
    fn each_stage_costs_its_cut_minus_the_one_before() {
        let one = [
            cut(Stage::Upload, &[1.0, 3.0]),
            cut(Stage::Conv1, &[10.0]),
            cut(Stage::Softmax, &[25.0, 27.0]),
        ];
        let two = [cut(Stage::Upload, &[2.0]), cut(Stage::Conv1, &[12.0, 14.0])];
        let times = stage_times(&[&one, &two]);
        let got: Vec<(Stage, f64, f64, usize)> = times
            .iter()
            .map(|t| (t.stage, t.cut_ms, t.ms, t.samples))
            .collect();
        assert_eq!(
            got,
            [
                (Stage::Upload, 2.0, 2.0, 3),
                (Stage::Conv1, 12.0, 10.0, 3),
                // conv2, fc1 and fc2 were not cut: softmax counts from conv1.
                (Stage::Softmax, 26.0, 14.0, 2),
            ]
        );
    }

    #[test]
    fn no_cuts_no_profile() {
        assert!(stage_times(&[]).is_empty());
        assert!(stage_times(&[&[cut(Stage::Fc1, &[])]]).is_empty());
    }

    #[test]
    fn stages_read_and_write_their_names() {
        assert_eq!("fc1".parse::<Stage>().unwrap(), Stage::Fc1);
        assert_eq!(Stage::Conv2.to_string(), "conv2");
        assert!("fc3".parse::<Stage>().is_err());
    }
}
