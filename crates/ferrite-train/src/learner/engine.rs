//! Training on Ferrite's gemm engine.

use std::path::Path;

use serde::{Deserialize, Serialize};

use ferrite_engine::{
    distillation_loss, softmax_cross_entropy, Adam, Grads, Network, Sgd, Trace, WeightAverage,
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
    /// The radius of sharpness-aware minimisation, when each gradient is taken twice.
    sam: Option<f32>,
    trace: Trace,
}

impl EngineLearner {
    /// A freshly initialised network for `arch`, updated by `rule`.
    pub(crate) fn new(arch: &ArchSpec, seed: u64, rule: &UpdateRule) -> EngineLearner {
        let net = Network::new(arch, seed);
        EngineLearner {
            average: rule.ema.map(|decay| WeightAverage::new(decay, &net)),
            sam: rule.sam,
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

    /// The training pass on `input`: the batch's loss, the logits, and the loss's gradient
    /// with respect to the logits (labels, mixed labels and the teacher's targets weighed as
    /// `loss` says). Leaves the trace for [`Network::backward`].
    fn loss_and_gradient(
        &mut self,
        input: &[f32],
        labels: &[usize],
        loss: &LossSpec,
        seed: u64,
    ) -> (f32, Vec<f32>, Vec<f32>) {
        let logits = self
            .net
            .forward_train(input, labels.len(), seed, &mut self.trace);
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
        (value, logits, dlogits)
    }

    /// SAM's gradient: the batch's gradient again, at the weights moved `radius` along
    /// `grads` (the gradient at the weights themselves), with the same dropout. The weights and
    /// batch-norm statistics are put back as they were, so the step moves from the weights and
    /// the statistics count the batch once.
    fn sharpness_aware(
        &mut self,
        input: &[f32],
        labels: &[usize],
        loss: &LossSpec,
        seed: u64,
        radius: f32,
        grads: &Grads,
    ) -> Grads {
        let norm = grads
            .iter()
            .flatten()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt();
        let scale = (f64::from(radius) / (norm + 1e-12)) as f32;
        let unmoved = self.net.clone();
        for (param, grad) in self.net.params_mut().into_iter().zip(grads) {
            for (w, g) in param.iter_mut().zip(grad) {
                *w += scale * g;
            }
        }
        let (_, _, dlogits) = self.loss_and_gradient(input, labels, loss, seed);
        let moved = self.net.backward(&mut self.trace, &dlogits);
        self.net = unmoved;
        moved
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
        let (value, logits, dlogits) = self.loss_and_gradient(&input, labels, loss, seed);
        let mut grads = self.net.backward(&mut self.trace, &dlogits);
        if let Some(radius) = self.sam {
            grads = self.sharpness_aware(&input, labels, loss, seed, radius, &grads);
        }
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

#[cfg(test)]
mod tests {
    use ferrite_data::NUM_CLASSES;

    use super::*;

    const FACES: usize = 6;
    const LR: f64 = 0.1;

    /// A small network on 16x16 inputs, updated by plain SGD (so that an update is `-lr`
    /// times the gradient it was given), with SAM at `radius` if any.
    fn learner(radius: Option<f32>) -> EngineLearner {
        let rule = UpdateRule {
            optimizer: Optimizer::Sgd,
            momentum: 0.0,
            sam: radius,
            ..UpdateRule::default()
        };
        EngineLearner::new(&ArchSpec::reference().with_input_size(16), 11, &rule)
    }

    fn batch() -> (Vec<f32>, Vec<usize>) {
        let input = (0..FACES * 16 * 16)
            .map(|i| ((i * 37) % 101) as f32 / 100.0)
            .collect();
        (input, vec![0, 3, 4, 5, 3, 6])
    }

    fn step(learner: &mut EngineLearner) -> (f32, Vec<f32>) {
        let (input, labels) = batch();
        learner.step(input, &labels, &labels_only(), LR, 5)
    }

    /// The loss of the labels alone, every class weighing the same.
    fn labels_only() -> LossSpec<'static> {
        LossSpec {
            class_weights: &[1.0; NUM_CLASSES],
            smoothing: 0.1,
            soft: None,
            mix: None,
        }
    }

    fn statistics(net: &Network) -> Vec<Vec<f32>> {
        let conv = net.blocks.iter().flatten().map(|l| &l.bn);
        let hidden = net.hidden.iter().map(|l| &l.bn);
        conv.chain(hidden)
            .flat_map(|bn| [bn.running_mean.clone(), bn.running_var.clone()])
            .collect()
    }

    fn weights(net: &mut Network) -> Vec<Vec<f32>> {
        net.params_mut().into_iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn sam_reports_the_batch_as_a_plain_step_does_and_counts_its_statistics_once() {
        let mut plain = learner(None);
        let mut sam = learner(Some(0.05));
        assert_eq!(step(&mut sam), step(&mut plain));
        assert_eq!(statistics(&sam.net), statistics(&plain.net));
        assert_ne!(weights(&mut sam.net), weights(&mut plain.net));
    }

    #[test]
    fn sam_steps_from_the_weights_along_the_gradient_at_the_moved_weights() {
        let radius = 0.05;
        let mut sam = learner(Some(radius));
        let start = weights(&mut sam.net);
        step(&mut sam);

        // The gradient at the weights, from a plain step of lr 1 on a copy: start - after.
        let mut probe = learner(None);
        let before = weights(&mut probe.net);
        let (input, labels) = batch();
        let loss = labels_only();
        probe.step(input.clone(), &labels, &loss, 1.0, 5);
        let gradient: Vec<Vec<f32>> = before
            .iter()
            .zip(weights(&mut probe.net))
            .map(|(b, a)| b.iter().zip(a).map(|(b, a)| b - a).collect())
            .collect();
        let norm = gradient.iter().flatten().map(|g| g * g).sum::<f32>().sqrt();

        // A plain step from the moved weights, with the statistics the weights had.
        let mut moved = learner(None);
        for (param, grad) in moved.net.params_mut().into_iter().zip(&gradient) {
            for (w, g) in param.iter_mut().zip(grad) {
                *w += radius * g / norm;
            }
        }
        let moved_start = weights(&mut moved.net);
        moved.step(input, &labels, &loss, LR, 5);
        let moved_end = weights(&mut moved.net);
        let moved_update: Vec<f32> = moved_start
            .iter()
            .flatten()
            .zip(moved_end.iter().flatten())
            .map(|(s, a)| s - a)
            .collect();
        let sam_end = weights(&mut sam.net);
        let mut sam_update = start
            .iter()
            .flatten()
            .zip(sam_end.iter().flatten())
            .map(|(s, e)| s - e);
        let mut plain_update = gradient.iter().flatten().map(|g| LR as f32 * g);
        let largest_gap = |other: &mut dyn Iterator<Item = f32>| {
            moved_update
                .iter()
                .zip(other)
                .map(|(m, o)| (m - o).abs())
                .fold(0f32, f32::max)
        };
        let from_sam = largest_gap(&mut sam_update);
        let from_plain = largest_gap(&mut plain_update);
        assert!(from_sam < 1e-5, "SAM's update differs by {from_sam}");
        assert!(
            from_plain > 1e-3,
            "the gradient at the moved weights is the same as at the weights ({from_plain})"
        );
    }
}
