//! Training on Ferrite's gemm engine.

use std::path::Path;

use ferrite_engine::{distillation_loss, softmax_cross_entropy, Adam, Network, Trace};
use ferrite_model::{write_atomically, ArchSpec};

use super::{io, Learner, LossSpec, ADAM_EPSILON};

/// The engine's network, its Adam state and the buffers a step reuses.
pub(crate) struct EngineLearner {
    net: Network,
    adam: Adam,
    trace: Trace,
}

impl EngineLearner {
    /// A freshly initialised network for `arch`.
    pub(crate) fn new(arch: &ArchSpec, seed: u64) -> EngineLearner {
        EngineLearner {
            net: Network::new(arch, seed),
            adam: Adam::new(ADAM_EPSILON),
            trace: Trace::default(),
        }
    }
}

impl Learner for EngineLearner {
    fn step(
        &mut self,
        input: Vec<f32>,
        labels: &[usize],
        loss: &LossSpec,
        lr: f64,
        seed: u64,
    ) -> (f32, Vec<f32>) {
        let logits = self
            .net
            .forward_train(&input, labels.len(), seed, &mut self.trace);
        let (mut value, mut dlogits) =
            softmax_cross_entropy(&logits, labels, loss.class_weights, loss.smoothing);
        if let Some(soft) = &loss.soft {
            let (soft_value, soft_grad) = distillation_loss(&logits, soft.logits, soft.temperature);
            value = (1.0 - soft.weight) * value + soft.weight * soft_value;
            for (d, s) in dlogits.iter_mut().zip(soft_grad) {
                *d = (1.0 - soft.weight) * *d + soft.weight * s;
            }
        }
        let grads = self.net.backward(&mut self.trace, &dlogits);
        self.adam.step(lr as f32, self.net.params_mut(), &grads);
        (value, logits)
    }

    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32> {
        self.net.forward_infer(&input, n)
    }

    fn weights(&self) -> Result<Vec<u8>, String> {
        Ok(self.net.to_safetensors())
    }

    fn set_weights(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.net = Network::from_safetensors(&self.net.arch, bytes).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn save_checkpoint(&self, dir: &Path) -> Result<(), String> {
        write_atomically(&dir.join("net.safetensors"), &self.net.to_safetensors())
            .map_err(|e| e.to_string())?;
        write_atomically(&dir.join("adam.safetensors"), &self.adam.to_safetensors())
            .map_err(|e| e.to_string())
    }

    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String> {
        let path = dir.join("net.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        self.net = Network::from_safetensors(&self.net.arch, &bytes).map_err(|e| io(&path, e))?;
        let path = dir.join("adam.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        self.adam = Adam::from_safetensors(&bytes, ADAM_EPSILON).map_err(|e| io(&path, e))?;
        Ok(())
    }
}
