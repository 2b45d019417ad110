//! Per-epoch checkpoints: network and optimizer in burnpack (with parameter ids, so optimizer
//! state re-attaches on resume) plus a JSON state. Every file is written under a temporary name
//! and renamed.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use ferrite_eval::HistoryPoint;
use ferrite_model::{write_atomically, FerNet};

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
}

const STATE: &str = "state.json";
const NET: &str = "net.bpk";
const OPTIM: &str = "optim.bpk";

/// The checkpoint folder inside a run's output folder.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// Saves network, optimizer and state to `dir`.
pub fn save(
    dir: &Path,
    net: &FerNet,
    optim: &ModuleOptimizer,
    state: &RunState,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let net_path = dir.join(NET);
    let tmp = dir.join("net.bpk.tmp");
    net.clone()
        .into_record()
        .save(&tmp)
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &net_path).map_err(|e| io(&net_path, e))?;
    let optim_path = dir.join(OPTIM);
    let tmp = dir.join("optim.bpk.tmp");
    optim.save(&tmp).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &optim_path).map_err(|e| io(&optim_path, e))?;
    let json = serde_json::to_vec_pretty(state).expect("state serialises");
    write_atomically(&dir.join(STATE), &json).map_err(|e| e.to_string())
}

/// Loads a checkpoint into a freshly built network and optimizer.
pub fn load(
    dir: &Path,
    net: FerNet,
    optim: ModuleOptimizer,
) -> Result<(FerNet, ModuleOptimizer, RunState), String> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path)
        .map_err(|e| format!("cannot resume: {}", io(&state_path, e)))?;
    let state: RunState = serde_json::from_str(&text).map_err(|e| io(&state_path, e))?;
    let net_path = dir.join(NET);
    let record = ModuleRecord::load(&net_path).map_err(|e| io(&net_path, e))?;
    let net = net.try_load_record(record).map_err(|e| io(&net_path, e))?;
    let optim_path = dir.join(OPTIM);
    let optim = optim.load(&optim_path).map_err(|e| io(&optim_path, e))?;
    Ok((net, optim, state))
}
