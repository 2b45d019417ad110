use serde::{Deserialize, Serialize};

use ferrite_data::ValidationSplit;
use ferrite_model::{ArchSpec, Distillation, Engine, ModelSource, TrainDevice};

use crate::{Augmenter, ClassWeighting, LrSchedule};

/// Everything that defines a training run. Saved in checkpoints and in the model card, so a
/// run can be resumed and repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The network to train.
    pub arch: ArchSpec,
    /// The engine that trains it.
    #[serde(default)]
    pub engine: Engine,
    /// Where the burn engine runs (the gemm engine is CPU-only). Not part of a run's identity:
    /// a run started on a GPU can be resumed on the CPU and the other way round.
    #[serde(default)]
    pub device: TrainDevice,
    /// Number of epochs.
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// Epochs without validation improvement before the plateau schedule halves the rate.
    pub plateau_patience: usize,
    /// Label smoothing (0 = one-hot targets).
    pub label_smoothing: f32,
    /// Class weighting in the loss.
    pub class_weighting: ClassWeighting,
    /// On-the-fly augmentation.
    pub augment: Augmenter,
    /// Seed for initialisation, shuffling, augmentation and dropout.
    pub seed: u64,
    /// The split that chooses the best epoch (a type that cannot hold PrivateTest).
    #[serde(default)]
    pub val_split: ValidationSplit,
    /// Train on at most this many images (a quick run), if set.
    pub limit: Option<usize>,
    /// Wall-clock budget of this invocation in seconds, if set: after each epoch but the first
    /// (warm-up), the run is re-planned to the epochs the rest of the budget holds at the last
    /// epoch's pace (never more than `epochs`); the schedule follows the new length.
    #[serde(default)]
    pub time_limit: Option<f64>,
    /// A model (a folder or a shipped model's name) whose weights a new run starts from instead
    /// of a random initialisation (fine-tuning, or another schedule cycle after a finished
    /// run); the optimizer starts fresh. Ignored on resume, where the checkpoint holds the
    /// weights.
    #[serde(default)]
    pub init: Option<ModelSource>,
    /// Knowledge distillation from a teacher model, if set (the gemm engine only).
    #[serde(default)]
    pub distill: Option<Distillation>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: ArchSpec::reference(),
            engine: Engine::Ferrite,
            device: TrainDevice::Cpu,
            epochs: 30,
            batch_size: 64,
            lr: 1e-3,
            schedule: LrSchedule::Cosine,
            plateau_patience: 3,
            label_smoothing: 0.1,
            class_weighting: ClassWeighting::Sqrt,
            augment: Augmenter::report(),
            seed: 42,
            val_split: ValidationSplit::PublicTest,
            limit: None,
            time_limit: None,
            init: None,
            distill: None,
        }
    }
}

impl TrainConfig {
    /// Checks values a run cannot start with.
    pub fn validate(&self) -> Result<(), String> {
        self.arch.validate()?;
        if self.epochs == 0 {
            return Err("--epochs must be at least 1".into());
        }
        if self.batch_size == 0 || self.batch_size > 4096 {
            return Err(format!(
                "--batch-size {} is out of range (1-4096)",
                self.batch_size
            ));
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(format!("--lr {} is out of range (0, 1)", self.lr));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(format!(
                "--label-smoothing {} is out of range [0, 0.5)",
                self.label_smoothing
            ));
        }
        if self.device == TrainDevice::Vulkan && self.engine != Engine::Burn {
            return Err(
                "--device vulkan needs --engine burn (the gemm engine runs on the CPU)".into(),
            );
        }
        if let Some(distill) = &self.distill {
            distill.validate()?;
            if self.engine != Engine::Ferrite {
                return Err(
                    "distillation (--teacher) runs on the gemm engine: --engine ferrite".into(),
                );
            }
        }
        if self.time_limit.is_some_and(|t| t.is_nan() || t <= 0.0) {
            return Err("--time-limit must be a positive number of seconds".into());
        }
        Ok(())
    }
}
