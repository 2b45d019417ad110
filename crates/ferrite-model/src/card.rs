use serde::{Deserialize, Serialize};

use crate::{ArchSpec, TemperatureScaling, TrainingRecord};

/// Version of the model card that this build writes. Version 2 types the training record
/// ([`TrainingRecord`]); version-1 cards (free-form training JSON) are still read.
pub const FORMAT_VERSION: u32 = 2;

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
    /// How the weights were trained: one leg per training run, oldest first.
    #[serde(default)]
    pub training: TrainingRecord,
    /// Evaluation results per split (the JSON of `ferrite eval`), keyed by split name.
    #[serde(default)]
    pub evaluation: serde_json::Map<String, serde_json::Value>,
    /// Free-text notes: limits, what the model reached, intended use.
    #[serde(default)]
    pub notes: String,
    /// The temperature its probabilities go through everywhere (`ferrite calibrate`), if fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<TemperatureScaling>,
}

impl ModelCard {
    /// Parses a card's JSON (version 1 or 2) and checks its architecture. A version-1 card
    /// comes back as version 2, its training section read into a [`TrainingRecord`].
    pub fn parse(json: &str) -> Result<ModelCard, String> {
        let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        match version {
            Some(1) => {
                let record = TrainingRecord::from_version_1(&value["training"]);
                value["training"] = serde_json::to_value(record).expect("record serialises");
                value["format_version"] = FORMAT_VERSION.into();
            }
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(format!(
                    "format version {v} is not supported (this build reads versions 1 to \
                     {FORMAT_VERSION}; a newer Ferrite wrote it)"
                ))
            }
            None => return Err("no format_version: not a Ferrite model card".into()),
        }
        let card: ModelCard = serde_json::from_value(value).map_err(|e| e.to_string())?;
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
            training: TrainingRecord::default(),
            evaluation: serde_json::Map::new(),
            notes: String::new(),
            calibration: None,
        }
    }
}
