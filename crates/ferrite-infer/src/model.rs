//! The emotion classifier behind inference: a model card plus the weights on Ferrite's CPU
//! engine. The shipped model is embedded in the binary, so it works from any directory.

use std::path::{Path, PathBuf};

use ferrite_data::NUM_CLASSES;
use ferrite_engine::Network;
use ferrite_model::{ModelBundle, ModelCard, WEIGHTS_FILE};

/// The shipped model's card, embedded at build time.
const SHIPPED_CARD: &str = include_str!("../../../models/ferrite/card.json");
/// The shipped model's weights, embedded at build time.
const SHIPPED_WEIGHTS: &[u8] = include_bytes!("../../../models/ferrite/model.safetensors");

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    /// Card missing, unreadable or invalid.
    #[error(transparent)]
    Card(#[from] ferrite_model::ModelError),
    /// Weights unreadable or not matching the card's architecture.
    #[error("{path}: {reason}")]
    Weights {
        /// The weights file (or `<shipped>`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A loaded classifier: 48x48 faces in, 7 probabilities out.
pub struct EmotionModel {
    card: ModelCard,
    net: Network,
    origin: String,
}

impl EmotionModel {
    /// The model shipped inside this binary.
    pub fn shipped() -> EmotionModel {
        let card = ModelCard::parse(SHIPPED_CARD).expect("the embedded model card is valid");
        let net = Network::from_safetensors(&card.arch, SHIPPED_WEIGHTS)
            .expect("the embedded weights match their card");
        EmotionModel {
            card,
            net,
            origin: "shipped (embedded in the binary)".into(),
        }
    }

    /// Loads a model directory (`card.json` + `model.safetensors`).
    pub fn from_dir(dir: &Path) -> Result<EmotionModel, ModelLoadError> {
        let card = ModelBundle::read_card(dir)?;
        let path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path).map_err(|e| ModelLoadError::Weights {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let net =
            Network::from_safetensors(&card.arch, &bytes).map_err(|e| ModelLoadError::Weights {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Ok(EmotionModel {
            card,
            net,
            origin: dir.display().to_string(),
        })
    }

    /// `dir` if given, else `$FERRITE_MODEL` if set, else the shipped model.
    pub fn load(dir: Option<&Path>) -> Result<EmotionModel, ModelLoadError> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => match std::env::var_os("FERRITE_MODEL") {
                Some(dir) => Self::from_dir(Path::new(&dir)),
                None => Ok(Self::shipped()),
            },
        }
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Where the model came from: a directory or the embedded copy.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Probabilities (label order) for 48x48 faces; `tta` averages with mirrored faces.
    pub fn classify(&self, faces: &[&[u8]], tta: bool) -> Vec<[f32; NUM_CLASSES]> {
        self.net.predict(faces, tta)
    }
}
