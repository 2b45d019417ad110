//! A frame as the analyser takes it, whichever decoder (or camera) it came from.

use image::GrayImage;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Position in presentation order, from 0.
    pub index: usize,
    /// Presentation time in seconds, from the stream's time stamps.
    pub time_s: f64,
    /// The frame's luma (brightness) plane: what face detection and the model read, rotated.
    pub gray: GrayImage,
}
