//! Adam, on the engine's flat parameter list.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::WeightsError;

/// Adam state: first and second moments per parameter tensor.
#[derive(Debug, Clone, Default)]
pub struct Adam {
    /// Exponential decay of the first moment.
    pub beta1: f32,
    /// Exponential decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub epsilon: f32,
    step: u32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Adam with the usual betas (0.9, 0.999) and `epsilon`.
    pub fn new(epsilon: f32) -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon,
            ..Adam::default()
        }
    }

    /// One update of every parameter tensor with its gradient.
    pub fn step(&mut self, lr: f32, params: Vec<&mut [f32]>, grads: &[Vec<f32>]) {
        if self.m.is_empty() {
            self.m = grads.iter().map(|g| vec![0.0; g.len()]).collect();
            self.v = self.m.clone();
        }
        self.step += 1;
        let c1 = 1.0 - self.beta1.powi(self.step as i32);
        let c2 = 1.0 - self.beta2.powi(self.step as i32);
        for (((p, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for i in 0..p.len() {
                m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g[i];
                v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g[i] * g[i];
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + self.epsilon);
            }
        }
    }

    /// Serialises the moments and step count (for checkpoints).
    pub fn to_safetensors(&self) -> Vec<u8> {
        let bytes: Vec<(String, Vec<u8>, usize)> = self
            .m
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("m.{i}"), m))
            .chain(
                self.v
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("v.{i}"), v)),
            )
            .map(|(name, t)| {
                (
                    name,
                    t.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    t.len(),
                )
            })
            .collect();
        let views: Vec<(String, TensorView)> = bytes
            .iter()
            .map(|(name, data, len)| {
                let view = TensorView::new(Dtype::F32, vec![*len], data).expect("sizes match");
                (name.clone(), view)
            })
            .collect();
        let metadata = HashMap::from([("step".to_string(), self.step.to_string())]);
        safetensors::serialize(views, &Some(metadata)).expect("adam state serialises")
    }

    /// Restores the state written by [`Adam::to_safetensors`].
    pub fn from_safetensors(bytes: &[u8], epsilon: f32) -> Result<Adam, WeightsError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        let step = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get("step"))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WeightsError::Missing("step".into()))?;
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        let read = |prefix: &str| -> Vec<Vec<f32>> {
            (0..)
                .map_while(|i| file.tensor(&format!("{prefix}.{i}")).ok())
                .map(|t| {
                    t.data()
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect()
                })
                .collect()
        };
        Ok(Adam {
            step,
            m: read("m"),
            v: read("v"),
            ..Adam::new(epsilon)
        })
    }
}
