//! What a run writes about itself: the leg it adds to the model card's training record, and
//! the history files (CSV, JSON, curves) in its output folder.

use std::path::Path;

use ferrite_data::Dataset;
use ferrite_eval::{plot_history, EvalReport};
use ferrite_model::{
    write_atomically, DataRecord, EpochRecord, ModelCard, Recipe, TrainingLeg, TrainingRecord,
};

use crate::checkpoint::RunState;
use crate::{TrainConfig, TrainError};

/// Facts about a run that do not change from epoch to epoch.
pub(crate) struct RunFacts {
    /// The machine, from [`crate::provenance::hardware`].
    pub hardware: String,
    /// Training and validation data.
    pub data: DataRecord,
}

impl RunFacts {
    /// The facts of a run on `train` and `val` on `hardware`, distilled from teacher members
    /// whose weights have the digests `teachers_weights_sha256` (none without a teacher).
    pub(crate) fn new(
        hardware: String,
        train: &Dataset,
        val: &Dataset,
        teachers_weights_sha256: Vec<String>,
    ) -> RunFacts {
        RunFacts {
            hardware,
            data: DataRecord {
                train_images: train.samples.len(),
                train_class_counts: train.class_counts(),
                val_images: val.samples.len(),
                train_data_sha256: train.content_hash(),
                teachers_weights_sha256,
            },
        }
    }
}

/// The options of `config` as the card records them.
pub(crate) fn recipe(config: &TrainConfig) -> Recipe {
    Recipe {
        epochs: config.epochs,
        batch_size: config.batch_size,
        lr: config.lr,
        schedule: config.schedule.name().into(),
        augment: config.augment.preset_name().into(),
        erase: config.augment.erase_prob,
        class_weights: config.class_weighting.name().into(),
        label_smoothing: config.label_smoothing,
        seed: config.seed,
        val_split: config.val_split,
        limit: config.limit,
        time_limit: config.time_limit,
        init: config.init.as_ref().map(|source| source.to_arg()),
        init_blocks: config.init_blocks,
        distill: config.distill.clone(),
        update: config.update,
        mixup: config.mixup,
        cutmix: config.cutmix,
        stage: config.recipe_stage.clone(),
        crop: (config.arch.input_size < ferrite_data::FACE_SIZE).then_some(config.arch.input_size),
    }
}

/// This run so far as one training leg.
pub(crate) fn leg(state: &RunState, facts: &RunFacts) -> TrainingLeg {
    let config = &state.config;
    let (best_val_accuracy, best_epoch) = state.best.unwrap_or((0.0, 0));
    TrainingLeg {
        engine: config.engine,
        device: config.device,
        hardware: facts.hardware.clone(),
        epochs: state.history.len(),
        best_epoch,
        best_val_accuracy,
        seconds: state.epoch_seconds.iter().sum(),
        recipe: recipe(config),
        sittings: state.sittings.clone(),
        data: facts.data.clone(),
        history: epoch_records(state),
    }
}

fn epoch_records(state: &RunState) -> Vec<EpochRecord> {
    state
        .history
        .iter()
        .zip(&state.lr_history)
        .zip(&state.epoch_seconds)
        .map(|((point, &lr), &seconds)| EpochRecord {
            epoch: point.epoch,
            loss: point.loss,
            acc: point.acc,
            val_loss: point.val_loss,
            val_acc: point.val_acc,
            lr,
            seconds: Some(seconds),
        })
        .collect()
}

/// The card of the model saved now: the earlier legs, this run's leg, and the validation
/// report of the saved epoch.
pub(crate) fn model_card(state: &RunState, facts: &RunFacts, val_report: &EvalReport) -> ModelCard {
    let mut card = ModelCard::new(state.config.arch.clone());
    let mut legs = state.earlier_legs.clone();
    legs.push(leg(state, facts));
    card.training = TrainingRecord { legs };
    card.evaluation.insert(
        state.config.val_split.to_string(),
        serde_json::to_value(val_report).expect("report"),
    );
    card
}

/// Writes `history.csv`, `history.json` and `curves.png` into `out`.
pub(crate) fn write_history(out: &Path, state: &RunState) -> Result<(), TrainError> {
    let mut csv = String::from("epoch,loss,acc,val_loss,val_acc,lr,seconds\n");
    for ((h, lr), s) in state
        .history
        .iter()
        .zip(&state.lr_history)
        .zip(&state.epoch_seconds)
    {
        csv.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.3e},{:.1}\n",
            h.epoch, h.loss, h.acc, h.val_loss, h.val_acc, lr, s
        ));
    }
    let io = |e: ferrite_model::ModelError| TrainError::Io(e.to_string());
    write_atomically(&out.join("history.csv"), csv.as_bytes()).map_err(io)?;
    let json = serde_json::to_vec_pretty(&state.history).expect("history serialises");
    write_atomically(&out.join("history.json"), &json).map_err(io)?;
    plot_history(&state.history, &out.join("curves.png")).map_err(TrainError::Io)
}
