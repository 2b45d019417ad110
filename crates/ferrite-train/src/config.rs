use serde::{Deserialize, Serialize};

use ferrite_data::ValidationSplit;
use ferrite_model::{
    ArchSpec, Distillation, Engine, ModelError, ModelSource, TeacherTargets, TrainDevice,
    UpdateRule,
};

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
    /// With `init`: take only the first this-many conv blocks from it (whose channels and convs
    /// must be this architecture's), and start the later blocks, the dense layers and the
    /// classifier fresh: a deeper or differently-headed network grown from a trained one.
    #[serde(default)]
    pub init_blocks: Option<usize>,
    /// Knowledge distillation from a teacher model, if set.
    #[serde(default)]
    pub distill: Option<Distillation>,
    /// The optimizer and the weight average.
    #[serde(flatten)]
    pub update: UpdateRule,
    /// Mixup: each batch is blended with a shuffled copy of itself, in a proportion drawn from
    /// Beta(alpha, alpha), and the loss blends the two labels alike. 0 turns it off.
    #[serde(default)]
    pub mixup: f32,
    /// CutMix: into each face a box of another face of the batch is pasted, its side drawn from
    /// Beta(alpha, alpha), and the loss blends the two labels by area. 0 turns it off; with
    /// `mixup` too, each batch takes one of them.
    #[serde(default)]
    pub cutmix: f32,
    /// The recipe and stage this run is, when a recipe runs it (`fast 2/2 (fine-tune)`).
    #[serde(default)]
    pub recipe_stage: Option<String>,
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
            init_blocks: None,
            distill: None,
            update: UpdateRule::default(),
            mixup: 0.0,
            cutmix: 0.0,
            recipe_stage: None,
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
        if let Some(blocks) = self.init_blocks {
            if self.init.is_none() {
                return Err("--init-blocks takes blocks from the --init model: give --init".into());
            }
            if blocks == 0 || blocks > self.arch.blocks.len() {
                return Err(format!(
                    "--init-blocks {blocks}: `{}` has {} conv blocks",
                    self.arch.name,
                    self.arch.blocks.len()
                ));
            }
        }
        let teachers = self.distill.iter().flat_map(|d| &d.teachers);
        for source in self.init.iter().chain(teachers) {
            if let ModelSource::Stage(stage) = source {
                let stage = stage.clone();
                return Err(ModelError::OutsideRecipe { stage }.to_string());
            }
        }
        if let Some(distill) = &self.distill {
            distill.validate()?;
        }
        self.update.validate()?;
        if self.update.ema.is_some() && self.engine != Engine::Ferrite {
            return Err("--ema runs on the gemm engine: --engine ferrite".into());
        }
        if self.update.sam.is_some() && self.engine != Engine::Ferrite {
            return Err("--sam runs on the gemm engine: --engine ferrite".into());
        }
        for (flag, alpha) in [("--mixup", self.mixup), ("--cutmix", self.cutmix)] {
            if !(0.0..=10.0).contains(&alpha) {
                return Err(format!("{flag} {alpha} is out of range [0, 10]"));
            }
        }
        if (self.mixup > 0.0 || self.cutmix > 0.0)
            && self
                .distill
                .as_ref()
                .is_some_and(|d| d.targets == TeacherTargets::Clean)
        {
            return Err(
                "--mixup and --cutmix mix faces, and --teacher-targets clean has one target per \
                 face: use --teacher-targets online"
                    .into(),
            );
        }
        if self.time_limit.is_some_and(|t| t.is_nan() || t <= 0.0) {
            return Err("--time-limit must be a positive number of seconds".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(config: TrainConfig) -> String {
        config.validate().unwrap_err()
    }

    #[test]
    fn an_average_or_sam_on_burn_and_mixing_with_one_target_per_face_are_refused() {
        let mut config = TrainConfig {
            engine: Engine::Burn,
            ..TrainConfig::default()
        };
        config.update.ema = Some(0.999);
        assert!(refused(config.clone()).contains("--ema"));
        config.update.ema = None;
        config.update.sam = Some(0.05);
        assert!(refused(config).contains("--sam"));
        let config = TrainConfig {
            mixup: 0.2,
            distill: Some(Distillation {
                teachers: vec![ModelSource::Dir("teacher".into())],
                temperature: 4.0,
                weight: 0.7,
                targets: TeacherTargets::Clean,
            }),
            ..TrainConfig::default()
        };
        assert!(refused(config.clone()).contains("--teacher-targets online"));
        let cut = TrainConfig {
            mixup: 0.0,
            cutmix: 1.0,
            ..config.clone()
        };
        assert!(refused(cut).contains("--teacher-targets online"));
        let mut outside_a_recipe = config;
        outside_a_recipe.mixup = 0.0;
        outside_a_recipe.distill.as_mut().unwrap().teachers =
            vec![ModelSource::Stage("previous".into())];
        assert!(refused(outside_a_recipe).contains("@previous"));
        let config = TrainConfig {
            mixup: -1.0,
            ..TrainConfig::default()
        };
        assert!(refused(config).contains("--mixup"));
        let config = TrainConfig {
            cutmix: 11.0,
            ..TrainConfig::default()
        };
        assert!(refused(config).contains("--cutmix"));
    }

    #[test]
    fn a_configuration_saved_before_the_update_rule_reads_as_adam() {
        let mut json = serde_json::to_value(TrainConfig::default()).unwrap();
        let map = json.as_object_mut().unwrap();
        for key in [
            "optimizer",
            "momentum",
            "weight_decay",
            "ema",
            "mixup",
            "cutmix",
        ] {
            assert!(
                map.remove(key).is_some(),
                "{key} is a field of the saved config"
            );
        }
        let config: TrainConfig = serde_json::from_value(json).unwrap();
        assert_eq!(config, TrainConfig::default());
    }
}
