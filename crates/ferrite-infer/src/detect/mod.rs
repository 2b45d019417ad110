//! Face detection with MTCNN's three networks on the engine (`mtcnn/`), their weights embedded
//! in the binary so detection works offline with nothing to download.

mod mtcnn;

use image::{imageops::FilterType, GrayImage};
use serde::{Deserialize, Serialize};

/// The smallest `min_face` accepted (the API documents it as its minimum too).
const MIN_FACE_FLOOR: u32 = 20;
/// The smallest `max_side` accepted.
const MAX_SIDE_FLOOR: u32 = 80;

/// Detector settings. The defaults were chosen on FER2013 faces pasted into larger scenes (see
/// `tests/faces_in_scenes.rs` and `examples/detect_costs.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Smallest face side, in pixels of the original image, that is looked for (>= 20).
    pub min_face: u32,
    /// Images are scaled down so their longer side is at most this before detection. This
    /// bounds the detector's memory (its integral image); the pyramid's scales follow
    /// `min_face` either way, so a smaller `max_side` only blurs the faces the networks read.
    pub max_side: u32,
    /// The probability of being a face that a box needs after the last network (0 to 1; lower
    /// finds more faces and more false ones).
    pub score_threshold: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            min_face: 40,
            max_side: 1280,
            score_threshold: 0.9,
        }
    }
}

impl DetectorConfig {
    /// Checks the settings; the message names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_face < MIN_FACE_FLOOR {
            return Err(format!(
                "min_face is {}, must be at least {MIN_FACE_FLOOR}",
                self.min_face
            ));
        }
        if self.max_side < MAX_SIDE_FLOOR {
            return Err(format!(
                "max_side is {}, must be at least {MAX_SIDE_FLOOR}",
                self.max_side
            ));
        }
        if !(self.score_threshold > 0.0 && self.score_threshold < 1.0) {
            return Err(format!(
                "score_threshold is {}, must be between 0 and 1",
                self.score_threshold
            ));
        }
        Ok(())
    }

    /// The nearest settings the detector accepts.
    fn clamped(&self) -> DetectorConfig {
        let default = DetectorConfig::default();
        DetectorConfig {
            min_face: self.min_face.max(MIN_FACE_FLOOR),
            max_side: self.max_side.max(MAX_SIDE_FLOOR),
            score_threshold: if self.score_threshold > 0.0 && self.score_threshold < 1.0 {
                self.score_threshold
            } else {
                default.score_threshold
            },
        }
    }
}

/// A face found by the detector, in the original image's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// The detector's probability that this is a face.
    pub score: f64,
}

/// Finds faces in a grayscale image. Callers check `config` with
/// [`DetectorConfig::validate`] to report bad settings; out-of-range fields are clamped here.
pub fn detect_faces(gray: &GrayImage, config: &DetectorConfig) -> Vec<Detection> {
    let config = config.clamped();
    let (w, h) = gray.dimensions();
    if w == 0 || h == 0 {
        return Vec::new();
    }
    // Scale a large image down to max_side; the smallest face shrinks with it, so the
    // pyramid's levels keep their sizes.
    let scale = (config.max_side as f32 / w.max(h) as f32).min(1.0);
    let scaled;
    let input = if scale < 1.0 {
        let (sw, sh) = (
            ((w as f32 * scale).round() as u32).max(1),
            ((h as f32 * scale).round() as u32).max(1),
        );
        scaled = image::imageops::resize(gray, sw, sh, FilterType::Triangle);
        &scaled
    } else {
        gray
    };
    let (fx, fy) = (
        w as f32 / input.width() as f32,
        h as f32 / input.height() as f32,
    );
    let settings = mtcnn::MtcnnSettings {
        min_face: config.min_face as f32 / fx,
        threshold: config.score_threshold as f32,
    };
    mtcnn::detect(input, settings)
        .into_iter()
        .map(|b| Detection {
            x: b.x0 * fx,
            y: b.y0 * fy,
            width: (b.x1 - b.x0) * fx,
            height: (b.y1 - b.y0) * fy,
            score: f64::from(b.score),
        })
        .collect()
}

impl Detection {
    /// Intersection over union with `other`: 1 for the same box, 0 for boxes apart.
    pub fn iou(&self, other: &Detection) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.width * self.height + other.width * other.height - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_bad_fields_are_named() {
        assert!(DetectorConfig::default().validate().is_ok());
        let bad = DetectorConfig {
            min_face: 5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("min_face"));
        let bad = DetectorConfig {
            score_threshold: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("score_threshold"));
    }

    #[test]
    fn invalid_settings_never_reach_the_detector() {
        let bad = DetectorConfig {
            min_face: 0,
            max_side: 0,
            score_threshold: f64::NAN,
        };
        assert!(bad.clamped().validate().is_ok());
        assert!(detect_faces(&GrayImage::new(200, 200), &bad).is_empty());
    }

    #[test]
    fn blank_and_tiny_images_have_no_faces() {
        let config = DetectorConfig::default();
        assert!(detect_faces(&GrayImage::new(320, 240), &config).is_empty());
        assert!(detect_faces(&GrayImage::new(10, 300), &config).is_empty());
        assert!(detect_faces(&GrayImage::new(1, 1), &config).is_empty());
        assert!(detect_faces(&GrayImage::new(0, 0), &config).is_empty());
    }

    #[test]
    fn iou_of_a_box_with_itself_is_one_and_with_a_far_one_zero() {
        let d = |x: f32| Detection {
            x,
            y: 0.0,
            width: 50.0,
            height: 50.0,
            score: 0.9,
        };
        assert_eq!(d(0.0).iou(&d(0.0)), 1.0);
        assert_eq!(d(0.0).iou(&d(100.0)), 0.0);
        assert!((d(0.0).iou(&d(25.0)) - 1.0 / 3.0).abs() < 1e-6);
    }
}
