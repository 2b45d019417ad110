use serde::{Deserialize, Serialize};

use ferrite_model::{ArchSpec, Engine};

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
    /// The split that chooses the best epoch (never PrivateTest).
    pub val_split: String,
    /// Train on at most this many images (a quick run), if set.
    pub limit: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: ArchSpec::reference(),
            engine: Engine::Ferrite,
            epochs: 30,
            batch_size: 64,
            lr: 1e-3,
            schedule: LrSchedule::Cosine,
            plateau_patience: 3,
            label_smoothing: 0.1,
            class_weighting: ClassWeighting::Sqrt,
            augment: Augmenter::report(),
            seed: 42,
            val_split: "public-test".into(),
            limit: None,
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
        if self.val_split == "private-test" {
            return Err("PrivateTest is for reporting only; choose models on public-test".into());
        }
        Ok(())
    }
}
