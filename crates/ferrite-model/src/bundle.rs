use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use crate::{FerNet, ModelCard, ModelError};

/// File name of the weights inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the model card inside a model directory.
pub const CARD_FILE: &str = "card.json";

/// A model directory: `card.json` (architecture, recipe, results) and `model.safetensors`.
pub struct ModelBundle {
    /// The model card.
    pub card: ModelCard,
    /// The network with its weights.
    pub net: FerNet,
}

/// The shipped model's directory: `$FERRITE_MODEL` if set, else `models/ferrite` in the source
/// tree this binary was built from.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERRITE_MODEL") {
        return PathBuf::from(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/ferrite");
    dir.canonicalize().unwrap_or(dir)
}

impl ModelBundle {
    /// Reads the card only (cheap): for showing what a model is without loading weights.
    pub fn read_card(dir: &Path) -> Result<ModelCard, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::Missing {
                path: dir.to_path_buf(),
                what: "model directory",
            });
        }
        let path = dir.join(CARD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|_| ModelError::Missing {
            path: path.clone(),
            what: "model card",
        })?;
        ModelCard::parse(&text).map_err(|reason| ModelError::Card { path, reason })
    }

    /// Loads a model directory onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<ModelBundle, ModelError> {
        let card = Self::read_card(dir)?;
        let path = dir.join(WEIGHTS_FILE);
        if !path.is_file() {
            return Err(ModelError::Missing {
                path,
                what: "weights file",
            });
        }
        let mut net = FerNet::new(&card.arch, device);
        let mut store = SafetensorsStore::from_file(&path).validate(true);
        let result = net.load_from(&mut store).map_err(|e| ModelError::Weights {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if !result.errors.is_empty() || !result.missing.is_empty() {
            return Err(ModelError::Weights {
                path,
                reason: format!(
                    "does not match architecture `{}`: {} errors {:?}, missing {:?}",
                    card.arch.name,
                    result.errors.len(),
                    result.errors.iter().take(3).collect::<Vec<_>>(),
                    result.missing.iter().take(3).collect::<Vec<_>>()
                ),
            });
        }
        Ok(ModelBundle { card, net })
    }

    /// Writes `card.json` into an existing model directory, atomically.
    pub fn save_card(dir: &Path, card: &ModelCard) -> Result<(), ModelError> {
        let json = serde_json::to_vec_pretty(card).expect("model card serialises");
        write_atomically(&dir.join(CARD_FILE), &json)
    }

    /// Writes the bundle to `dir` (created if needed). Each file is written to a temporary
    /// name and renamed, so an interrupted save never leaves a half-written model.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        save_model(dir, &self.card, &self.net)
    }
}

fn save_model(dir: &Path, card: &ModelCard, net: &FerNet) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    let mut store = SafetensorsStore::from_bytes(None);
    net.save_into(&mut store).map_err(|e| ModelError::Weights {
        path: weights.clone(),
        reason: e.to_string(),
    })?;
    let bytes = store.get_bytes().map_err(|e| ModelError::Weights {
        path: weights.clone(),
        reason: e.to_string(),
    })?;
    write_atomically(&weights, &bytes)?;
    ModelBundle::save_card(dir, card)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
