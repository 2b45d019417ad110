//! A face row's JSON, shared by videos, the live webcam and the browser's private mode.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use ferrite_data::{Emotion, NUM_CLASSES};

use crate::FaceRow;

fn by_label(p: &[f32; NUM_CLASSES]) -> BTreeMap<&'static str, f32> {
    Emotion::ALL
        .iter()
        .map(|e| (e.name(), p[e.index()]))
        .collect()
}

/// A row as JSON: `frame`, `time_s`, `track`, `box` `[x, y, width, height]`, `label`,
/// `confidence`, `probabilities`, `smoothed_label`, `smoothed_confidence`, `smoothed`,
/// `detected`.
impl Serialize for FaceRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let b = self.bbox;
        let mut s = serializer.serialize_struct("FaceRow", 11)?;
        s.serialize_field("frame", &self.frame)?;
        s.serialize_field("time_s", &self.time_s)?;
        s.serialize_field("track", &self.track)?;
        s.serialize_field("box", &[b.x, b.y, b.width, b.height])?;
        s.serialize_field("label", self.label.name())?;
        s.serialize_field("confidence", &self.probabilities[self.label.index()])?;
        s.serialize_field("probabilities", &by_label(&self.probabilities))?;
        s.serialize_field("smoothed_label", self.smoothed_label.name())?;
        s.serialize_field(
            "smoothed_confidence",
            &self.smoothed[self.smoothed_label.index()],
        )?;
        s.serialize_field("smoothed", &by_label(&self.smoothed))?;
        s.serialize_field("detected", &self.detected)?;
        s.end()
    }
}
