//! Adam, on the engine's flat parameter list.

use crate::{optim_state, WeightsError};

/// Adam state: first and second moments per parameter tensor.
#[derive(Debug, Clone, Default)]
pub struct Adam {
    /// Exponential decay of the first moment.
    pub beta1: f32,
    /// Exponential decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub epsilon: f32,
    /// L2 penalty added to each gradient (PyTorch's `Adam(weight_decay=...)`, burn's
    /// `AdamConfig::with_weight_decay`), not decoupled as in AdamW.
    pub weight_decay: f32,
    step: u32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Adam with the usual betas (0.9, 0.999), `epsilon` and no weight decay.
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
        let decay = self.weight_decay;
        for (((p, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for i in 0..p.len() {
                let g = g[i] + decay * p[i];
                m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g;
                v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g * g;
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + self.epsilon);
            }
        }
    }

    /// Serialises the moments and step count (for checkpoints).
    pub fn to_safetensors(&self) -> Vec<u8> {
        optim_state::write(&[("m", &self.m), ("v", &self.v)], self.step)
    }

    /// Restores the state written by [`Adam::to_safetensors`]; the hyper-parameters are
    /// `template`'s.
    pub fn from_safetensors(bytes: &[u8], template: &Adam) -> Result<Adam, WeightsError> {
        let (step, mut groups) = optim_state::read(bytes, &["m", "v"])?;
        let v = groups.pop().unwrap_or_default();
        let m = groups.pop().unwrap_or_default();
        Ok(Adam {
            step,
            m,
            v,
            ..template.clone()
        })
    }
}
