use serde::{Deserialize, Serialize};

use crate::ArchSpec;

/// Version of the model directory format; bumped when old models can no longer be read.
pub const FORMAT_VERSION: u32 = 1;

/// The model card: what the weights are, how they were trained and how well they do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// Model directory format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The architecture the weights belong to.
    pub arch: ArchSpec,
    /// Output labels, in order.
    pub labels: Vec<String>,
    /// How faces are prepared: size, channels and scale.
    pub input: serde_json::Value,
    /// The training recipe and run facts (free-form, written by the trainer).
    #[serde(default)]
    pub training: serde_json::Value,
    /// Evaluation results per split (the JSON of `ferrite eval`), keyed by split name.
    #[serde(default)]
    pub evaluation: serde_json::Map<String, serde_json::Value>,
    /// Free-text notes: limits, what the model reached, intended use.
    #[serde(default)]
    pub notes: String,
}

impl ModelCard {
    /// Parses a card's JSON and checks its format version and architecture.
    pub fn parse(json: &str) -> Result<ModelCard, String> {
        let card: ModelCard = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if card.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                card.format_version
            ));
        }
        card.arch
            .validate()
            .map_err(|reason| format!("invalid architecture: {reason}"))?;
        Ok(card)
    }

    /// A card for a new, untrained model of `arch`.
    pub fn new(arch: ArchSpec) -> ModelCard {
        ModelCard {
            format_version: FORMAT_VERSION,
            arch,
            labels: ferrite_data::Emotion::names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            input: serde_json::json!({
                "size": ferrite_data::FACE_SIZE,
                "channels": 1,
                "layout": "NCHW",
                "scale": "pixel / 255",
            }),
            training: serde_json::Value::Null,
            evaluation: serde_json::Map::new(),
            notes: String::new(),
        }
    }
}
