//! Training on Ferrite's gemm engine.

use std::path::Path;

use serde::{Deserialize, Serialize};

use ferrite_engine::{
    distillation_loss, softmax_cross_entropy, Adam, Network, Sgd, Trace, WeightAverage,
};
use ferrite_model::{write_atomically, ArchSpec, Optimizer, UpdateRule};

use super::{io, Learner, LossSpec, ADAM_EPSILON};

/// The optimizer of an engine run.
enum EngineOptimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl EngineOptimizer {
    fn new(rule: &UpdateRule) -> EngineOptimizer {
        match rule.optimizer {
            Optimizer::Adam => {
                let mut adam = Adam::new(ADAM_EPSILON);
                adam.weight_decay = rule.weight_decay;
                EngineOptimizer::Adam(adam)
            }
            Optimizer::Sgd | Optimizer::Nesterov => EngineOptimizer::Sgd(Sgd::new(
                rule.momentum,
                rule.optimizer == Optimizer::Nesterov,
                rule.weight_decay,
            )),
        }
    }

    fn step(&mut self, lr: f32, params: Vec<&mut [f32]>, grads: &[Vec<f32>]) {
        match self {
            EngineOptimizer::Adam(adam) => adam.step(lr, params, grads),
            EngineOptimizer::Sgd(sgd) => sgd.step(lr, params, grads),
        }
    }

    /// The checkpoint file of the state (the name says which optimizer wrote it).
    fn file(&self) -> &'static str {
        match self {
            EngineOptimizer::Adam(_) => "adam.safetensors",
            EngineOptimizer::Sgd(_) => "sgd.safetensors",
        }
    }

    fn to_safetensors(&self) -> Vec<u8> {
        match self {
            EngineOptimizer::Adam(adam) => adam.to_safetensors(),
            EngineOptimizer::Sgd(sgd) => sgd.to_safetensors(),
        }
    }

    /// The same optimizer with the state in `bytes`.
    fn restored(&self, bytes: &[u8]) -> Result<EngineOptimizer, ferrite_engine::WeightsError> {
        Ok(match self {
            EngineOptimizer::Adam(adam) => {
                EngineOptimizer::Adam(Adam::from_safetensors(bytes, adam)?)
            }
            EngineOptimizer::Sgd(sgd) => EngineOptimizer::Sgd(Sgd::from_safetensors(bytes, sgd)?),
        })
    }
}

/// The weight average's checkpoint: its weights, and this record of its progress.
const AVERAGE_WEIGHTS: &str = "average.safetensors";
const AVERAGE_STATE: &str = "average.json";

#[derive(Serialize, Deserialize)]
struct AverageState {
    updates: u64,
}

/// The engine's network, its optimizer, the weight average when one is kept, and the buffers
/// a step reuses.
pub(crate) struct EngineLearner {
    net: Network,
    optimizer: EngineOptimizer,
    average: Option<WeightAverage>,
    trace: Trace,
}

impl EngineLearner {
    /// A freshly initialised network for `arch`, updated by `rule`.
    pub(crate) fn new(arch: &ArchSpec, seed: u64, rule: &UpdateRule) -> EngineLearner {
        let net = Network::new(arch, seed);
        EngineLearner {
            average: rule.ema.map(|decay| WeightAverage::new(decay, &net)),
            net,
            optimizer: EngineOptimizer::new(rule),
            trace: Trace::default(),
        }
    }

    /// The network that is validated and saved: the average when one is kept.
    fn kept(&self) -> &Network {
        self.average
            .as_ref()
            .map_or(&self.net, WeightAverage::network)
    }

    /// Starts the average, if one is kept, again from the current weights.
    fn restart_average(&mut self) {
        if let Some(average) = &mut self.average {
            *average = WeightAverage::new(average.decay, &self.net);
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
        if let Some(mix) = &loss.mix {
            let (other, other_grad) =
                softmax_cross_entropy(&logits, mix.partners, loss.class_weights, loss.smoothing);
            value = mix.lambda * value + (1.0 - mix.lambda) * other;
            for (d, o) in dlogits.iter_mut().zip(other_grad) {
                *d = mix.lambda * *d + (1.0 - mix.lambda) * o;
            }
        }
        if let Some(soft) = &loss.soft {
            let (soft_value, soft_grad) = distillation_loss(&logits, soft.logits, soft.temperature);
            value = (1.0 - soft.weight) * value + soft.weight * soft_value;
            for (d, s) in dlogits.iter_mut().zip(soft_grad) {
                *d = (1.0 - soft.weight) * *d + soft.weight * s;
            }
        }
        let grads = self.net.backward(&mut self.trace, &dlogits);
        self.optimizer
            .step(lr as f32, self.net.params_mut(), &grads);
        if let Some(average) = &mut self.average {
            average.update(&self.net);
        }
        (value, logits)
    }

    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32> {
        self.kept().forward_infer(&input, n)
    }

    fn unaveraged_logits(&self, input: Vec<f32>, n: usize) -> Option<Vec<f32>> {
        self.average
            .as_ref()
            .map(|_| self.net.forward_infer(&input, n))
    }

    fn weights(&self) -> Result<Vec<u8>, String> {
        Ok(self.kept().to_safetensors())
    }

    fn set_weights(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.net = Network::from_safetensors(&self.net.arch, bytes).map_err(|e| e.to_string())?;
        self.restart_average();
        Ok(())
    }

    fn save_checkpoint(&self, dir: &Path) -> Result<(), String> {
        let write = |name: &str, bytes: &[u8]| {
            write_atomically(&dir.join(name), bytes).map_err(|e| e.to_string())
        };
        write("net.safetensors", &self.net.to_safetensors())?;
        write(self.optimizer.file(), &self.optimizer.to_safetensors())?;
        if let Some(average) = &self.average {
            write(AVERAGE_WEIGHTS, &average.network().to_safetensors())?;
            let state = AverageState {
                updates: average.updates(),
            };
            write(
                AVERAGE_STATE,
                &serde_json::to_vec(&state).expect("serialises"),
            )?;
        }
        Ok(())
    }

    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path)
                .map(|bytes| (bytes, path.clone()))
                .map_err(|e| io(&path, e))
        };
        let (bytes, path) = read("net.safetensors")?;
        self.net = Network::from_safetensors(&self.net.arch, &bytes).map_err(|e| io(&path, e))?;
        let (bytes, path) = read(self.optimizer.file())?;
        self.optimizer = self.optimizer.restored(&bytes).map_err(|e| io(&path, e))?;
        if let Some(average) = &self.average {
            let (state, path) = read(AVERAGE_STATE)?;
            let state: AverageState = serde_json::from_slice(&state).map_err(|e| io(&path, e))?;
            let (bytes, path) = read(AVERAGE_WEIGHTS)?;
            self.average = Some(
                WeightAverage::from_safetensors(
                    average.decay,
                    state.updates,
                    &self.net.arch,
                    &bytes,
                )
                .map_err(|e| io(&path, e))?,
            );
        }
        Ok(())
    }
}
