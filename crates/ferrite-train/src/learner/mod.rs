//! The engines a run can train on, behind one interface: Ferrite's gemm engine, and burn (the
//! reference, on the CPU or a GPU) in builds with the `burn` feature. Each keeps its own
//! network and optimizer state; both read and write the same weights format.

#[cfg(feature = "burn")]
mod burn;
#[cfg(feature = "burn")]
mod burn_loss;
mod engine;

use std::path::Path;

use ferrite_data::NUM_CLASSES;
use ferrite_model::{ArchSpec, Engine, UpdateRule};

use crate::TrainDevice;

/// The loss settings of a step.
pub(crate) struct LossSpec<'a> {
    pub class_weights: &'a [f32; NUM_CLASSES],
    pub smoothing: f32,
    /// A teacher's logits for the same faces, when distilling.
    pub soft: Option<SoftTargets<'a>>,
    /// The second labels of a mixup batch, when mixing.
    pub mix: Option<MixedLabels<'a>>,
}

/// A mixup batch's labels: face `i` is `lambda` x face `i` plus `1 - lambda` x another face,
/// whose label is `partners[i]`; the loss blends the two labels' losses alike.
pub(crate) struct MixedLabels<'a> {
    /// The label of the face blended into each face.
    pub partners: &'a [usize],
    /// The share of each face's own image and label.
    pub lambda: f32,
}

/// What distillation adds to a step's loss.
pub(crate) struct SoftTargets<'a> {
    /// The teacher's logits, a row per face.
    pub logits: &'a [f32],
    /// The softmax temperature.
    pub temperature: f32,
    /// The soft loss's share of the total.
    pub weight: f32,
}

/// A network and its optimizer on one engine.
pub(crate) trait Learner {
    /// One optimisation step on `input` (`labels.len()` faces in `[0, 1]`); returns the loss and
    /// the training-mode logits.
    fn step(
        &mut self,
        input: Vec<f32>,
        labels: &[usize],
        loss: &LossSpec,
        lr: f64,
        seed: u64,
    ) -> (f32, Vec<f32>);
    /// Inference-mode logits for `n` faces, of the weights that are saved (the weight
    /// average when one is kept).
    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32>;
    /// When a weight average is kept: inference-mode logits of the last step's weights, so
    /// that a run can show what the average adds.
    fn unaveraged_logits(&self, _input: Vec<f32>, _n: usize) -> Option<Vec<f32>> {
        None
    }
    /// The network's weights as a `model.safetensors` file's content.
    fn weights(&self) -> Result<Vec<u8>, String>;
    /// Replaces the network's weights with those in `bytes` (same architecture).
    fn set_weights(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// Writes network and optimizer state into the checkpoint folder.
    fn save_checkpoint(&self, dir: &Path) -> Result<(), String>;
    /// Restores network and optimizer state from the checkpoint folder.
    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String>;
}

/// What a learner is built from: the network, where it trains, and how it is updated.
pub(crate) struct LearnerSpec<'a> {
    pub engine: Engine,
    /// Where burn trains (the gemm engine is CPU-only, so lean builds never read it).
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub device: TrainDevice,
    pub arch: &'a ArchSpec,
    /// Seeds the initial weights.
    pub seed: u64,
    pub update: &'a UpdateRule,
}

/// Builds the learner `spec` describes.
pub(crate) fn new_learner(spec: &LearnerSpec) -> Result<Box<dyn Learner>, String> {
    match spec.engine {
        Engine::Ferrite => Ok(Box::new(engine::EngineLearner::new(
            spec.arch,
            spec.seed,
            spec.update,
        ))),
        Engine::Burn => burn_learner(spec),
    }
}

#[cfg(feature = "burn")]
fn burn_learner(spec: &LearnerSpec) -> Result<Box<dyn Learner>, String> {
    Ok(Box::new(burn::BurnLearner::new(
        spec.arch,
        spec.seed,
        spec.device,
        spec.update,
    )?))
}

#[cfg(not(feature = "burn"))]
fn burn_learner(_spec: &LearnerSpec) -> Result<Box<dyn Learner>, String> {
    Err(crate::NO_BURN.into())
}

/// Adam's epsilon, as Keras uses it (the report's optimizer).
const ADAM_EPSILON: f32 = 1e-7;

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}
