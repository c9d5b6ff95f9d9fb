//! The network's parameters as plain float32 tensors: loading and saving them
//! (safetensors), quantizing every tensor to a precision, and estimating memory.

use burn::tensor::TensorData;
use qbench_core::memory::{self, WeightMemory};
use qbench_core::{ParamRole, Precision, QuantError};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::network::Net;

/// One parameter tensor of the network: its name, role and shape (burn's layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Name in the weights file and in `inspect` (`conv1.weight`, ...).
    pub name: &'static str,
    /// Which per-channel axis applies.
    pub role: ParamRole,
    /// Shape: conv `[out, in, kh, kw]`, dense `[in, out]`, bias `[n]`.
    pub shape: &'static [usize],
}

const fn spec(name: &'static str, role: ParamRole, shape: &'static [usize]) -> ParamSpec {
    ParamSpec { name, role, shape }
}

/// Every parameter tensor, in network order.
pub const PARAMS: [ParamSpec; 8] = [
    spec("conv1.weight", ParamRole::ConvWeight, &[32, 1, 3, 3]),
    spec("conv1.bias", ParamRole::Bias, &[32]),
    spec("conv2.weight", ParamRole::ConvWeight, &[64, 32, 3, 3]),
    spec("conv2.bias", ParamRole::Bias, &[64]),
    spec("fc1.weight", ParamRole::DenseWeight, &[3136, 128]),
    spec("fc1.bias", ParamRole::Bias, &[128]),
    spec("fc2.weight", ParamRole::DenseWeight, &[128, 10]),
    spec("fc2.bias", ParamRole::Bias, &[10]),
];

/// Why weights could not be loaded or quantized.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The bytes are not a safetensors file.
    #[error("weights are not a valid safetensors file: {0}")]
    Format(#[from] safetensors::SafeTensorError),
    /// A tensor has the wrong dtype or shape.
    #[error(
        "weights tensor `{name}`: expected float32 {expected:?}, found {found_dtype} {found:?}"
    )]
    Shape {
        /// Tensor name.
        name: &'static str,
        /// Expected shape.
        expected: &'static [usize],
        /// Shape in the file.
        found: Vec<usize>,
        /// Dtype in the file.
        found_dtype: String,
    },
    /// Quantizing a tensor failed.
    #[error("quantizing `{name}` to {precision}: {source}")]
    Quantize {
        /// Tensor name.
        name: &'static str,
        /// Target precision.
        precision: Precision,
        /// What went wrong.
        source: QuantError,
    },
    /// Reading a trained tensor back from burn failed.
    #[error("reading `{name}` from the model: {message}")]
    Read {
        /// Tensor name.
        name: &'static str,
        /// burn's message.
        message: String,
    },
}

/// The values of every tensor in [`PARAMS`], in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    values: Vec<Vec<f32>>,
}

/// Weights after quantize → dequantize, with the int8 scales of each tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedWeights {
    /// The dequantized weights.
    pub weights: Weights,
    /// Scales per tensor in [`PARAMS`] order (empty for float precisions).
    pub scales: Vec<Vec<f32>>,
}

impl Weights {
    /// Weights from values in [`PARAMS`] order; lengths must match the shapes.
    pub fn from_values(values: Vec<Vec<f32>>) -> Result<Self, WeightsError> {
        for (spec, v) in PARAMS.iter().zip(&values) {
            if v.len() != spec.shape.iter().product::<usize>() {
                return Err(shape_error(spec, vec![v.len()], "float32"));
            }
        }
        assert_eq!(
            values.len(),
            PARAMS.len(),
            "one value vector per parameter tensor"
        );
        Ok(Self { values })
    }

    /// Parses a safetensors file holding every tensor of [`PARAMS`] as float32.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, WeightsError> {
        let file = SafeTensors::deserialize(bytes)?;
        let mut values = Vec::with_capacity(PARAMS.len());
        for spec in &PARAMS {
            let view = file.tensor(spec.name)?;
            if view.dtype() != Dtype::F32 || view.shape() != spec.shape {
                return Err(shape_error(
                    spec,
                    view.shape().to_vec(),
                    &format!("{:?}", view.dtype()),
                ));
            }
            values.push(
                view.data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            );
        }
        Ok(Self { values })
    }

    /// The weights as a safetensors file (float32, little-endian, burn's layout).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, WeightsError> {
        let bytes: Vec<Vec<u8>> = self
            .values
            .iter()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views = PARAMS
            .iter()
            .zip(&bytes)
            .map(|(spec, b)| {
                Ok((
                    spec.name,
                    TensorView::new(Dtype::F32, spec.shape.to_vec(), b)?,
                ))
            })
            .collect::<Result<Vec<_>, WeightsError>>()?;
        Ok(safetensors::serialize(views, None)?)
    }

    /// Reads the trained parameters back from a network.
    pub fn from_net(net: &Net) -> Result<Self, WeightsError> {
        let read = |name: &'static str, data: Result<TensorData, burn::tensor::ExecutionError>| {
            data.map_err(|e| WeightsError::Read {
                name,
                message: e.to_string(),
            })?
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| WeightsError::Read {
                name,
                message: format!("{e:?}"),
            })
        };
        let bias = |b: &Option<burn::module::Param<burn::tensor::Tensor<1>>>| {
            b.as_ref()
                .expect("the network's layers have biases")
                .val()
                .try_into_data()
        };
        Self::from_values(vec![
            read("conv1.weight", net.conv1.weight.val().try_into_data())?,
            read("conv1.bias", bias(&net.conv1.bias))?,
            read("conv2.weight", net.conv2.weight.val().try_into_data())?,
            read("conv2.bias", bias(&net.conv2.bias))?,
            read("fc1.weight", net.fc1.weight.val().try_into_data())?,
            read("fc1.bias", bias(&net.fc1.bias))?,
            read("fc2.weight", net.fc2.weight.val().try_into_data())?,
            read("fc2.bias", bias(&net.fc2.bias))?,
        ])
    }

    /// Shape and values of the named tensor. Panics on a name not in [`PARAMS`].
    pub fn tensor(&self, name: &str) -> (&'static [usize], &[f32]) {
        let i = param_index(name);
        (PARAMS[i].shape, &self.values[i])
    }

    /// Each tensor's spec with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&'static ParamSpec, &[f32])> {
        PARAMS.iter().zip(self.values.iter().map(Vec::as_slice))
    }

    /// Every tensor quantized to `precision` and dequantized back.
    pub fn quantized(&self, precision: Precision) -> Result<QuantizedWeights, WeightsError> {
        let mut values = Vec::with_capacity(PARAMS.len());
        let mut scales = Vec::with_capacity(PARAMS.len());
        for (spec, v) in self.iter() {
            let q = precision
                .quantize(v, spec.shape, spec.role)
                .map_err(|source| WeightsError::Quantize {
                    name: spec.name,
                    precision,
                    source,
                })?;
            values.push(q.values);
            scales.push(q.scales);
        }
        Ok(QuantizedWeights {
            weights: Weights { values },
            scales,
        })
    }
}

/// The position of parameter `name` in [`PARAMS`]; panics on a name the network lacks.
fn param_index(name: &str) -> usize {
    PARAMS
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no parameter named {name}"))
}

impl QuantizedWeights {
    /// The int8 scales of parameter `name` (empty for float tensors).
    pub fn scales_of(&self, name: &str) -> &[f32] {
        &self.scales[param_index(name)]
    }

    /// The one scale of tensor `name` when it has exactly one (int8 per
    /// tensor): what burn's packed int8 storage takes.
    pub fn int8_scale(&self, name: &str) -> Option<f32> {
        match self.scales_of(name) {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// Estimated weight memory of the network at `precision`.
pub fn memory(precision: Precision) -> WeightMemory {
    memory::estimate(PARAMS.iter().map(|s| (s.role, s.shape)), precision)
}

fn shape_error(spec: &ParamSpec, found: Vec<usize>, dtype: &str) -> WeightsError {
    WeightsError::Shape {
        name: spec.name,
        expected: spec.shape,
        found,
        found_dtype: dtype.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Weights {
        let values = PARAMS
            .iter()
            .map(|s| {
                (0..s.shape.iter().product::<usize>())
                    .map(|i| (i as f32 - 7.0) * 0.001)
                    .collect()
            })
            .collect();
        Weights::from_values(values).unwrap()
    }

    #[test]
    fn parameter_count() {
        assert_eq!(
            memory(Precision::F32).parameters,
            320 + 18_496 + 401_536 + 1_290
        );
        assert_eq!(memory(Precision::F32).estimated_weight_bytes, 421_642 * 4);
    }

    #[test]
    fn safetensors_round_trip() {
        let w = ramp();
        assert_eq!(
            Weights::from_safetensors(&w.to_safetensors().unwrap()).unwrap(),
            w
        );
    }

    #[test]
    fn wrong_shape_names_the_tensor() {
        let w = ramp();
        let bytes: Vec<u8> = [1.0f32; 10].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut views: Vec<(&str, TensorView)> = Vec::new();
        let good: Vec<Vec<u8>> = w
            .values
            .iter()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        for (spec, b) in PARAMS.iter().zip(&good) {
            if spec.name == "fc2.weight" {
                views.push((
                    spec.name,
                    TensorView::new(Dtype::F32, vec![10], &bytes).unwrap(),
                ));
            } else {
                views.push((
                    spec.name,
                    TensorView::new(Dtype::F32, spec.shape.to_vec(), b).unwrap(),
                ));
            }
        }
        let file = safetensors::serialize(views, None).unwrap();
        let err = Weights::from_safetensors(&file).unwrap_err().to_string();
        assert_eq!(
            err,
            "weights tensor `fc2.weight`: expected float32 [128, 10], found F32 [10]"
        );
    }

    #[test]
    fn quantized_clone_quantizes_every_tensor() {
        let w = ramp();
        let q = w.quantized(Precision::Int8Channel).unwrap();
        let scale_counts: Vec<usize> = q.scales.iter().map(Vec::len).collect();
        assert_eq!(scale_counts, vec![32, 1, 64, 1, 128, 1, 10, 1]);
        for ((spec, orig), (_, deq)) in w.iter().zip(q.weights.iter()) {
            let expected = Precision::Int8Channel
                .quantize(orig, spec.shape, spec.role)
                .unwrap()
                .values;
            assert_eq!(deq, &expected[..], "{}", spec.name);
        }
    }
}
