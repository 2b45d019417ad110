//! Face detection with the SeetaFace frontal cascade (the `rustface` crate), its model file
//! embedded in the binary so detection works offline with nothing to download.

use std::sync::OnceLock;

use image::{imageops::FilterType, GrayImage};
use rustface::{ImageData, Model};
use serde::{Deserialize, Serialize};

/// The SeetaFace frontal detector model (BSD-2-Clause, see assets/SEETAFACE-LICENSE).
const SEETA_MODEL: &[u8] = include_bytes!("../assets/seeta_fd_frontal_v1.0.bin");

/// Side of the detector's sliding window: the smallest face it sees at scale 1.
const WINDOW: u32 = 40;

/// The parsed detector model, shared by all threads (each detection clones it into its own
/// detector, since rustface detectors keep mutable scratch buffers).
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        rustface::read_model(SEETA_MODEL).expect("the embedded SeetaFace model is valid")
    })
}

/// Detector settings. The defaults were tuned on FER2013 faces pasted into larger scenes (see
/// `tests/detection.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Smallest face side, in pixels of the original image, that is looked for (>= 20).
    pub min_face: u32,
    /// Images are scaled down so their longer side is at most this before detection (speed).
    pub max_side: u32,
    /// Cascade score a window needs to count as a face (rustface's default is 3.85; lower finds
    /// more faces and more false ones).
    pub score_threshold: f64,
    /// Sliding-window step in pixels.
    pub step: u32,
    /// Scale between pyramid levels (0.5..0.95; higher is slower and finds more).
    pub pyramid_scale: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            min_face: 40,
            max_side: 1280,
            score_threshold: 2.0,
            step: 4,
            pyramid_scale: 0.8,
        }
    }
}

impl DetectorConfig {
    /// Checks the settings; the message names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_face < 20 {
            return Err(format!(
                "min_face is {}, must be at least 20",
                self.min_face
            ));
        }
        if self.max_side < 2 * WINDOW {
            return Err(format!(
                "max_side is {}, must be at least {}",
                self.max_side,
                2 * WINDOW
            ));
        }
        if !(self.score_threshold > 0.0 && self.score_threshold.is_finite()) {
            return Err(format!(
                "score_threshold is {}, must be positive",
                self.score_threshold
            ));
        }
        if self.step == 0 || self.step > 16 {
            return Err(format!("step is {}, must be 1..=16", self.step));
        }
        if !(0.5..=0.95).contains(&self.pyramid_scale) {
            return Err(format!(
                "pyramid_scale is {}, must be 0.5..=0.95",
                self.pyramid_scale
            ));
        }
        Ok(())
    }
}

impl DetectorConfig {
    /// The nearest settings the detector accepts.
    fn clamped(&self) -> DetectorConfig {
        let default = DetectorConfig::default();
        DetectorConfig {
            min_face: self.min_face.max(20),
            max_side: self.max_side.max(2 * WINDOW),
            score_threshold: if self.score_threshold > 0.0 && self.score_threshold.is_finite() {
                self.score_threshold
            } else {
                default.score_threshold
            },
            step: self.step.clamp(1, 16),
            pyramid_scale: if self.pyramid_scale.is_finite() {
                self.pyramid_scale.clamp(0.5, 0.95)
            } else {
                default.pyramid_scale
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
    /// Cascade score (higher is surer).
    pub score: f64,
}

/// Finds frontal faces in a grayscale image. Callers check `config` with
/// [`DetectorConfig::validate`] to report bad settings; out-of-range fields are clamped here so
/// that the detector (which panics on them) never sees one.
pub fn detect_faces(gray: &GrayImage, config: &DetectorConfig) -> Vec<Detection> {
    let config = &config.clamped();
    let (w, h) = gray.dimensions();
    // Scale so the smallest wanted face becomes the detector's window, within max_side.
    let long = w.max(h) as f32;
    let scale = (WINDOW as f32 / config.min_face as f32).min(config.max_side as f32 / long);
    let (sw, sh) = (
        (w as f32 * scale).round() as u32,
        (h as f32 * scale).round() as u32,
    );
    if sw.min(sh) < WINDOW {
        return Vec::new();
    }
    let scaled;
    let input = if (sw, sh) == (w, h) {
        gray
    } else {
        scaled = image::imageops::resize(gray, sw, sh, FilterType::Triangle);
        &scaled
    };
    let (fx, fy) = (w as f32 / sw as f32, h as f32 / sh as f32);
    detect_split(input, config)
        .into_iter()
        .map(|d| d.scaled(fx, fy))
        .collect()
}

impl Detection {
    /// The same detection in an image `fx` times wider and `fy` times taller.
    fn scaled(self, fx: f32, fy: f32) -> Detection {
        Detection {
            x: self.x * fx,
            y: self.y * fy,
            width: self.width * fx,
            height: self.height * fy,
            score: self.score,
        }
    }
}

/// Runs the cascade on two threads: the two finest pyramid levels on `image` itself, the
/// coarser levels on a copy scaled down by two pyramid steps; then merges the two lists.
/// (rustface scans its pyramid on one thread; the finest levels are most of the work.)
fn detect_split(image: &GrayImage, config: &DetectorConfig) -> Vec<Detection> {
    let split = config.pyramid_scale * config.pyramid_scale;
    let (w, h) = image.dimensions();
    let (cw, ch) = (
        (w as f32 * split).round() as u32,
        (h as f32 * split).round() as u32,
    );
    if cw.min(ch) < WINDOW {
        return run_cascade(image, config, None);
    }
    // Faces up to this size are found at scales 1 and pyramid_scale, not below.
    let fine_max_face = (WINDOW as f32 / (split * 1.1)).floor() as u32;
    let (fine, coarse) = rayon::join(
        || run_cascade(image, config, Some(fine_max_face)),
        || {
            let small = image::imageops::resize(image, cw, ch, FilterType::Triangle);
            let (fx, fy) = (w as f32 / cw as f32, h as f32 / ch as f32);
            run_cascade(&small, config, None)
                .into_iter()
                .map(|d| d.scaled(fx, fy))
                .collect::<Vec<_>>()
        },
    );
    merge(fine, coarse)
}

/// One rustface pass over `image`, boxes in its pixels.
fn run_cascade(
    image: &GrayImage,
    config: &DetectorConfig,
    max_face: Option<u32>,
) -> Vec<Detection> {
    let mut detector = rustface::create_detector_with_model(model().clone());
    detector.set_min_face_size(WINDOW);
    if let Some(max_face) = max_face {
        detector.set_max_face_size(max_face);
    }
    detector.set_score_thresh(config.score_threshold);
    detector.set_slide_window_step(config.step, config.step);
    detector.set_pyramid_scale_factor(config.pyramid_scale);
    detector
        .detect(&ImageData::new(
            image.as_raw(),
            image.width(),
            image.height(),
        ))
        .into_iter()
        .map(|face| {
            let b = face.bbox();
            Detection {
                x: b.x() as f32,
                y: b.y() as f32,
                width: b.width() as f32,
                height: b.height() as f32,
                score: face.score(),
            }
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

/// Both lists, where a face found by both passes is kept once (the higher score).
fn merge(a: Vec<Detection>, b: Vec<Detection>) -> Vec<Detection> {
    let mut all: Vec<Detection> = a.into_iter().chain(b).collect();
    all.sort_by(|p, q| q.score.total_cmp(&p.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in all {
        if kept.iter().all(|k| k.iou(&d) < 0.3) {
            kept.push(d);
        }
    }
    kept
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
            pyramid_scale: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("pyramid_scale"));
    }

    #[test]
    fn merging_keeps_one_of_overlapping_faces() {
        let d = |x: f32, score: f64| Detection {
            x,
            y: 0.0,
            width: 50.0,
            height: 50.0,
            score,
        };
        let merged = merge(vec![d(0.0, 5.0), d(200.0, 4.0)], vec![d(4.0, 6.0)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].score, 6.0);
        assert_eq!(merged[1].x, 200.0);
    }

    #[test]
    fn invalid_settings_never_reach_the_detector() {
        let bad = DetectorConfig {
            min_face: 0,
            max_side: 0,
            score_threshold: f64::NAN,
            step: 0,
            pyramid_scale: 7.0,
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
    }
}
