//! A live stream's frames (a webcam), each answered before the next comes: the server's Live
//! page and the browser's private mode both follow a session's faces through one
//! [`LiveSession`], so both give the same track ids, boxes and smoothed labels.

use image::GrayImage;
use serde::Serialize;

use ferrite_infer::{EmotionModel, PredictOptions};

use crate::{FaceRow, TrackerConfig, VideoAnalyzer, VideoFrame};

/// One analysed frame of a live session.
#[derive(Debug, Serialize)]
pub struct LiveReport {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// The frame's number in its session, from 0.
    pub frame: usize,
    /// Seconds since the session's first frame.
    pub time_s: f64,
    /// Each face: its track, box, this frame's and the smoothed probabilities.
    pub faces: Vec<FaceRow>,
}

/// One camera's frames, in order: a fresh tracker and smoothing for each session.
pub struct LiveSession<'a> {
    analyzer: VideoAnalyzer<'a>,
    frames: usize,
}

impl<'a> LiveSession<'a> {
    /// A session whose faces `model` classifies with `options` (the tracker's defaults);
    /// fails on invalid detector settings.
    pub fn new(model: &'a EmotionModel, options: PredictOptions) -> Result<Self, String> {
        Ok(LiveSession {
            analyzer: VideoAnalyzer::new(model, options, TrackerConfig::default())?,
            frames: 0,
        })
    }

    /// Analyses the session's next frame, taken `time_s` seconds after its first (the caller's
    /// clock: the server's, or the browser's in private mode).
    pub fn frame(&mut self, gray: GrayImage, time_s: f64) -> LiveReport {
        let frame = VideoFrame {
            index: self.frames,
            time_s,
            gray,
        };
        self.frames += 1;
        let (width, height) = frame.gray.dimensions();
        LiveReport {
            width,
            height,
            frame: frame.index,
            time_s,
            faces: self.analyzer.analyze(&frame),
        }
    }
}
