//! Per-epoch checkpoints: the learner's network and optimizer (burnpack for burn, so optimizer
//! state re-attaches to parameter ids on resume; safetensors for the gemm engine) plus a JSON
//! run state. Every file is written under a temporary name and renamed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ferrite_eval::HistoryPoint;
use ferrite_model::{write_atomically, Sitting, TrainingLeg, TrainingRecord};

use crate::learner::Learner;
use crate::{Plateau, TrainConfig};

/// The run state saved with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The run's configuration.
    pub config: TrainConfig,
    /// The next epoch to run (1-based).
    pub next_epoch: usize,
    /// Epochs done so far.
    pub history: Vec<HistoryPoint>,
    /// Learning rate per epoch (parallel to `history`).
    pub lr_history: Vec<f64>,
    /// Seconds per epoch (parallel to `history`).
    pub epoch_seconds: Vec<f64>,
    /// Plateau-schedule state.
    pub plateau: Plateau,
    /// Best validation accuracy and its epoch.
    pub best: Option<(f64, usize)>,
    /// The training legs of the model the run started from (`--init`), oldest first. Read
    /// also from checkpoints written before the record was typed (`started_from`, a version-1
    /// card's training section).
    #[serde(default, alias = "started_from", deserialize_with = "earlier_legs")]
    pub earlier_legs: Vec<TrainingLeg>,
    /// The invocations that worked on this run, oldest first (checkpoints before this field:
    /// none recorded).
    #[serde(default)]
    pub sittings: Vec<Sitting>,
}

fn earlier_legs<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<TrainingLeg>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    if value.is_array() {
        serde_json::from_value(value).map_err(serde::de::Error::custom)
    } else {
        Ok(TrainingRecord::from_version_1(&value).legs)
    }
}

/// The run state's file in a checkpoint folder.
pub(crate) const STATE: &str = "state.json";

/// The checkpoint folder inside a run's output folder.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// Saves the learner's network and optimizer, then the run state, into `dir`. The state is
/// written last, so a checkpoint whose state exists is complete.
pub(crate) fn save(dir: &Path, learner: &dyn Learner, state: &RunState) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    learner.save_checkpoint(dir)?;
    let json = serde_json::to_vec_pretty(state).expect("state serialises");
    write_atomically(&dir.join(STATE), &json).map_err(|e| e.to_string())
}

/// The run state saved in `dir` (the learner built from its configuration then loads the
/// network and optimizer with [`Learner::load_checkpoint`]).
pub(crate) fn load_state(dir: &Path) -> Result<RunState, String> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path)
        .map_err(|e| format!("cannot resume: {}", io(&state_path, e)))?;
    serde_json::from_str(&text).map_err(|e| io(&state_path, e))
}
