//! The JSON shape of a prediction, shared by `ferrite predict --format json` and the REST API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::predictor::{Face, ImagePrediction};

/// One face as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceReport {
    /// `[x, y, width, height]` in the original image's pixels.
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    /// Top emotion.
    pub label: String,
    /// Its probability.
    pub confidence: f32,
    /// Every emotion's probability, by label.
    pub probabilities: BTreeMap<String, f32>,
}

/// One image as reported: its faces, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageReport {
    /// The file (or upload) name.
    pub file: String,
    /// Image width, when it was read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    /// Image height, when it was read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
    /// Faces found (empty when none, or on error).
    pub faces: Vec<FaceReport>,
    /// True when the whole image was classified as one face.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub whole_image: bool,
    /// Why the image could not be processed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

impl FaceReport {
    /// The report of one face.
    pub fn new(face: &Face) -> FaceReport {
        let b = face.bbox;
        FaceReport {
            bbox: [b.x, b.y, b.width, b.height],
            label: face.label.name().to_string(),
            confidence: face.confidence,
            probabilities: ferrite_data::Emotion::ALL
                .iter()
                .map(|e| (e.name().to_string(), face.probabilities[e.index()]))
                .collect(),
        }
    }
}

impl ImageReport {
    /// The report of a processed image.
    pub fn ok(file: impl Into<String>, prediction: &ImagePrediction) -> ImageReport {
        ImageReport {
            file: file.into(),
            width: Some(prediction.width),
            height: Some(prediction.height),
            faces: prediction.faces.iter().map(FaceReport::new).collect(),
            whole_image: prediction.whole_image,
            error: None,
        }
    }

    /// The report of an image that failed.
    pub fn failed(file: impl Into<String>, error: impl ToString) -> ImageReport {
        ImageReport {
            file: file.into(),
            width: None,
            height: None,
            faces: Vec::new(),
            whole_image: false,
            error: Some(error.to_string()),
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (the CSV of `ferrite
/// predict` and `ferrite video`, and the API's video CSV).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
