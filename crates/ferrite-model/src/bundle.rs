use std::borrow::Cow;
use std::path::Path;

use crate::precision::{widen_to_f32, PrecisionError};
use crate::{ModelCard, ModelError};

/// File name of the weights inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the model card inside a model directory.
pub const CARD_FILE: &str = "card.json";

/// A model in memory: its card and the bytes of its safetensors weights file (under burn's
/// module paths, the format both engines read). Which engine runs it is the caller's choice:
/// `ferrite_engine::Network::from_safetensors` or `ferrite_burn::load_net`.
///
/// Invariant: `weights` hold float32 tensors. A file stored in float16 (as the shipped models
/// are) is widened by [`ModelBundle::new`], which [`ModelBundle::read`] and the shipped models go
/// through; a bundle built field by field must hold float32 already (as training's does).
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// The model card.
    pub card: ModelCard,
    /// The weights file's bytes (borrowed for a model embedded in the binary).
    pub weights: Cow<'static, [u8]>,
}

impl ModelBundle {
    /// A bundle of `card` and the weights file `weights`, widened to float32 if it stores
    /// float16 or bfloat16 (borrowed as it is otherwise).
    pub fn new(
        card: ModelCard,
        weights: Cow<'static, [u8]>,
    ) -> Result<ModelBundle, PrecisionError> {
        let weights = match weights {
            Cow::Borrowed(bytes) => widen_to_f32(bytes)?,
            Cow::Owned(bytes) => {
                let widened = match widen_to_f32(&bytes)? {
                    Cow::Owned(wide) => Some(wide),
                    Cow::Borrowed(_) => None,
                };
                Cow::Owned(widened.unwrap_or(bytes))
            }
        };
        Ok(ModelBundle { card, weights })
    }

    /// SHA-256 of the weights as the engines read them (float32): identifies the model a name
    /// such as `accurate` stood for when a card recorded it, whatever precision it was stored in.
    pub fn weights_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        ferrite_data::lowercase_hex(&Sha256::digest(&self.weights))
    }

    /// Reads the card of the model directory `dir` only (cheap): for showing what a model is
    /// without reading its weights.
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

    /// Reads a model directory: its card and its weights file.
    pub fn read(dir: &Path) -> Result<ModelBundle, ModelError> {
        let card = Self::read_card(dir)?;
        let path = dir.join(WEIGHTS_FILE);
        if !path.is_file() {
            return Err(ModelError::Missing {
                path,
                what: "weights file",
            });
        }
        let weights = std::fs::read(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        Self::new(card, Cow::Owned(weights)).map_err(|e| ModelError::Weights {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes `card.json` into an existing model directory, atomically.
    pub fn save_card(dir: &Path, card: &ModelCard) -> Result<(), ModelError> {
        let json = serde_json::to_vec_pretty(card).expect("model card serialises");
        write_atomically(&dir.join(CARD_FILE), &json)
    }

    /// Writes the bundle to `dir` (created if needed), weights first. Each file is written to a
    /// temporary name and renamed, so an interrupted save never leaves a half-written model.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        write_atomically(&dir.join(WEIGHTS_FILE), &self.weights)?;
        Self::save_card(dir, &self.card)
    }
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
