//! The shipped weights and digits: they load, and float32 reaches 98% on the held-out set.

use burn::tensor::Device;
use qbench_core::Precision;
use qbench_core::quality::argmax;
use qbench_model::network::{CLASSES, images_tensor};
use qbench_model::{Net, assets};

fn accuracy(precision: Precision) -> f64 {
    let device = Device::flex();
    let weights = assets::weights()
        .unwrap()
        .quantized(precision)
        .unwrap()
        .weights;
    let net = Net::from_weights(&weights, &device);
    let digits = assets::digits().unwrap();
    let mut correct = 0;
    for start in (0..digits.len()).step_by(250) {
        let end = (start + 250).min(digits.len());
        let probs = net
            .probabilities(images_tensor(&digits.pixels(start, end), &device))
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        correct += probs
            .chunks_exact(CLASSES)
            .zip(&digits.labels()[start..end])
            .filter(|(row, label)| argmax(row) == usize::from(**label))
            .count();
    }
    100.0 * correct as f64 / digits.len() as f64
}

#[test]
fn shipped_digits_are_the_held_out_two_thousand() {
    let digits = assets::digits().unwrap();
    assert_eq!(digits.len(), 2000);
    let mut per_class = [0usize; 10];
    for &l in digits.labels() {
        per_class[usize::from(l)] += 1;
    }
    assert!(
        per_class.iter().all(|&n| n > 150),
        "every digit is represented: {per_class:?}"
    );
}

#[test]
fn float32_reaches_98_percent_and_int8_stays_close() {
    let f32_acc = accuracy(Precision::F32);
    assert!(f32_acc >= 98.0, "float32 held-out accuracy {f32_acc}");
    let int8_acc = accuracy(Precision::Int8);
    assert!(
        (f32_acc - int8_acc).abs() <= 1.0,
        "int8 {int8_acc} vs f32 {f32_acc}"
    );
}
