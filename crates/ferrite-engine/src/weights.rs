//! Reading and writing the model's `model.safetensors` (burn's names and layouts), so the
//! engine and the burn model share one weight file.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use ferrite_model::ArchSpec;

use crate::layers::conv::{weight_from_oihw, weight_to_oihw};
use crate::Network;

/// Why a weight file does not fit the architecture.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file is not valid safetensors.
    #[error("not a safetensors file: {0}")]
    Format(String),
    /// A tensor the architecture needs is absent.
    #[error("tensor `{0}` is missing")]
    Missing(String),
    /// A tensor has the wrong shape or type.
    #[error("tensor `{name}` has shape {found:?}, the architecture needs {expected:?} (f32)")]
    Shape {
        /// Tensor name.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the architecture needs.
        expected: Vec<usize>,
    },
}

/// Permutes the rows of the first dense weight between burn's NCHW flatten order and the
/// engine's NHWC order. `to_nhwc` picks the direction.
fn permute_flatten_rows(w: &[f32], side: usize, c: usize, out: usize, to_nhwc: bool) -> Vec<f32> {
    let mut result = vec![0.0; w.len()];
    for ch in 0..c {
        for p in 0..side * side {
            let nchw = ch * side * side + p;
            let nhwc = p * c + ch;
            let (src, dst) = if to_nhwc { (nchw, nhwc) } else { (nhwc, nchw) };
            result[dst * out..(dst + 1) * out].copy_from_slice(&w[src * out..(src + 1) * out]);
        }
    }
    result
}

/// The first dense weight (`[in, out]`, rows in the engine's NHWC flatten order) with its rows
/// in NCHW flatten order, as burn, PyTorch and ONNX flatten a `[N, C, H, W]` tensor.
pub fn dense_rows_to_nchw(arch: &ArchSpec, w: &[f32], out: usize) -> Vec<f32> {
    let (side, c) = flatten_dims(arch);
    permute_flatten_rows(w, side, c, out, false)
}

fn flatten_dims(arch: &ArchSpec) -> (usize, usize) {
    (
        arch.final_side(),
        arch.blocks.last().map_or(1, |b| b.channels),
    )
}

impl Network {
    /// Loads weights from the bytes of a `model.safetensors` written by the burn model.
    pub fn from_safetensors(arch: &ArchSpec, bytes: &[u8]) -> Result<Network, WeightsError> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        let get = |name: &str, expected: Vec<usize>| -> Result<Vec<f32>, WeightsError> {
            let view = file
                .tensor(name)
                .map_err(|_| WeightsError::Missing(name.to_string()))?;
            if view.dtype() != Dtype::F32 || view.shape() != expected.as_slice() {
                return Err(WeightsError::Shape {
                    name: name.to_string(),
                    found: view.shape().to_vec(),
                    expected,
                });
            }
            Ok(view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let mut net = Network::new(arch, 0);
        for (b, block) in net.blocks.iter_mut().enumerate() {
            for (l, layer) in block.iter_mut().enumerate() {
                let p = format!("blocks.{b}.layers.{l}");
                let oihw = get(
                    &format!("{p}.conv.weight"),
                    vec![layer.cout, layer.cin, 3, 3],
                )?;
                layer.weight = weight_from_oihw(&oihw, layer.cin, layer.cout);
                read_bn(&get, &format!("{p}.bn"), &mut layer.bn, layer.cout)?;
            }
        }
        let (side, c) = flatten_dims(arch);
        for (i, layer) in net.hidden.iter_mut().enumerate() {
            let w = get(
                &format!("hidden.{i}.linear.weight"),
                vec![layer.inp, layer.out],
            )?;
            layer.weight = if i == 0 {
                permute_flatten_rows(&w, side, c, layer.out, true)
            } else {
                w
            };
            read_bn(&get, &format!("hidden.{i}.bn"), &mut layer.bn, layer.out)?;
        }
        let inp = net.classifier_weight.len() / ferrite_data::NUM_CLASSES;
        let w = get("classifier.weight", vec![inp, ferrite_data::NUM_CLASSES])?;
        net.classifier_weight = if net.hidden.is_empty() {
            permute_flatten_rows(&w, side, c, ferrite_data::NUM_CLASSES, true)
        } else {
            w
        };
        net.classifier_bias = get("classifier.bias", vec![ferrite_data::NUM_CLASSES])?;
        Ok(net)
    }

    /// Serialises the weights as `model.safetensors` in the burn model's names and layouts.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut tensors: HashMap<String, (Vec<usize>, Vec<u8>)> = HashMap::new();
        let mut put = |name: String, shape: Vec<usize>, data: &[f32]| {
            let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.insert(name, (shape, bytes));
        };
        for (b, block) in self.blocks.iter().enumerate() {
            for (l, layer) in block.iter().enumerate() {
                let p = format!("blocks.{b}.layers.{l}");
                put(
                    format!("{p}.conv.weight"),
                    vec![layer.cout, layer.cin, 3, 3],
                    &weight_to_oihw(&layer.weight, layer.cin, layer.cout),
                );
                write_bn(&mut put, &format!("{p}.bn"), &layer.bn);
            }
        }
        let (side, c) = flatten_dims(&self.arch);
        for (i, layer) in self.hidden.iter().enumerate() {
            let w = if i == 0 {
                permute_flatten_rows(&layer.weight, side, c, layer.out, false)
            } else {
                layer.weight.clone()
            };
            put(
                format!("hidden.{i}.linear.weight"),
                vec![layer.inp, layer.out],
                &w,
            );
            write_bn(&mut put, &format!("hidden.{i}.bn"), &layer.bn);
        }
        let classes = ferrite_data::NUM_CLASSES;
        let inp = self.classifier_weight.len() / classes;
        let w = if self.hidden.is_empty() {
            permute_flatten_rows(&self.classifier_weight, side, c, classes, false)
        } else {
            self.classifier_weight.clone()
        };
        put("classifier.weight".into(), vec![inp, classes], &w);
        put(
            "classifier.bias".into(),
            vec![classes],
            &self.classifier_bias,
        );
        let views: Vec<(String, TensorView)> = tensors
            .iter()
            .map(|(name, (shape, bytes))| {
                let view =
                    TensorView::new(Dtype::F32, shape.clone(), bytes).expect("shape matches data");
                (name.clone(), view)
            })
            .collect();
        safetensors::serialize(views, &None).expect("safetensors serialises")
    }
}

fn read_bn(
    get: &impl Fn(&str, Vec<usize>) -> Result<Vec<f32>, WeightsError>,
    prefix: &str,
    bn: &mut crate::layers::batchnorm::BatchNorm,
    c: usize,
) -> Result<(), WeightsError> {
    bn.gamma = get(&format!("{prefix}.gamma"), vec![c])?;
    bn.beta = get(&format!("{prefix}.beta"), vec![c])?;
    bn.running_mean = get(&format!("{prefix}.running_mean"), vec![c])?;
    bn.running_var = get(&format!("{prefix}.running_var"), vec![c])?;
    Ok(())
}

fn write_bn(
    put: &mut impl FnMut(String, Vec<usize>, &[f32]),
    prefix: &str,
    bn: &crate::layers::batchnorm::BatchNorm,
) {
    put(format!("{prefix}.gamma"), vec![bn.gamma.len()], &bn.gamma);
    put(format!("{prefix}.beta"), vec![bn.beta.len()], &bn.beta);
    put(
        format!("{prefix}.running_mean"),
        vec![bn.running_mean.len()],
        &bn.running_mean,
    );
    put(
        format!("{prefix}.running_var"),
        vec![bn.running_var.len()],
        &bn.running_var,
    );
}
