//! Faces followed from frame to frame. Detection runs on a schedule (every `detect_every`
//! analysed frames, and early when a carried face changes too much to trust); in between, each
//! face keeps its last box (faces move little between frames). Detections are matched to
//! tracks by overlap (IoU, best pairs first), so a person who stays in view keeps one id; a
//! face the detector misses but whose pixels have not changed stays in view.

use ferrite_infer::Detection;

/// How faces are followed and their emotions smoothed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Run the detector on every this many analysed frames (1: every frame).
    pub detect_every: usize,
    /// Least overlap (intersection over union) for a detection to continue a track.
    pub min_iou: f32,
    /// Detection rounds a track may go unseen before it ends.
    pub max_missed: usize,
    /// Weight of the newest frame in a track's exponential moving average of probabilities
    /// (1: no smoothing).
    pub smoothing: f32,
    /// Mean absolute change (0-255) of a carried face's 48x48 pixels from the last frame above
    /// which the detector runs at once.
    pub max_change: f32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            detect_every: 5,
            min_iou: 0.3,
            max_missed: 5,
            smoothing: 0.3,
            max_change: 20.0,
        }
    }
}

impl TrackerConfig {
    /// Checks the settings; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.detect_every == 0 {
            return Err("detect_every must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.min_iou) {
            return Err(format!("min_iou {} is out of range [0, 1]", self.min_iou));
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(format!(
                "smoothing {} is out of range (0, 1]",
                self.smoothing
            ));
        }
        Ok(())
    }
}

/// One followed face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceTrack {
    /// The track's id, from 1, unique within a video.
    pub id: usize,
    /// The last box.
    pub bbox: Detection,
    /// Detection rounds since it was last seen.
    missed: usize,
    /// Its 48x48 face when the detector last found it: a carried or kept box whose face has
    /// changed too much from it has lost the face.
    reference: Option<Vec<u8>>,
}

/// The tracks of one video.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<FaceTrack>,
    next_id: usize,
}

impl Tracker {
    /// A tracker with no faces yet.
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker {
            config,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Takes a detection round: each detection continues the track it overlaps most (best
    /// pairs first) or starts a new one; tracks not seen for more than `max_missed` rounds end.
    /// Returns the ids of the faces in view, one per detection, in detection order.
    pub fn observe(&mut self, detections: &[Detection]) -> Vec<usize> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate() {
            for (d, detection) in detections.iter().enumerate() {
                let overlap = track.bbox.iou(detection);
                if overlap >= self.config.min_iou {
                    pairs.push((overlap, t, d));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_of: Vec<Option<usize>> = vec![None; detections.len()];
        let mut matched = vec![false; self.tracks.len()];
        for (_, t, d) in pairs {
            if !matched[t] && track_of[d].is_none() {
                matched[t] = true;
                track_of[d] = Some(t);
            }
        }
        for (track, seen) in self.tracks.iter_mut().zip(&matched) {
            track.missed = if *seen { 0 } else { track.missed + 1 };
        }
        let mut ids = Vec::with_capacity(detections.len());
        for (d, detection) in detections.iter().enumerate() {
            let t = match track_of[d] {
                Some(t) => t,
                None => {
                    self.tracks.push(FaceTrack {
                        id: self.next_id,
                        bbox: *detection,
                        missed: 0,
                        reference: None,
                    });
                    self.next_id += 1;
                    self.tracks.len() - 1
                }
            };
            self.tracks[t].bbox = *detection;
            ids.push(self.tracks[t].id);
        }
        let max_missed = self.config.max_missed;
        self.tracks.retain(|t| t.missed <= max_missed);
        ids
    }

    /// The faces in view now (seen in the last detection round, or kept by [`Tracker::keep`]),
    /// with their boxes: what a frame without detection carries.
    pub fn in_view(&self) -> Vec<(usize, Detection)> {
        self.tracks
            .iter()
            .filter(|t| t.missed == 0)
            .map(|t| (t.id, t.bbox))
            .collect()
    }

    /// The tracks the last detection round did not see (the face left, or the detector missed
    /// it), with their boxes.
    pub fn unseen(&self) -> Vec<(usize, Detection)> {
        self.tracks
            .iter()
            .filter(|t| t.missed > 0)
            .map(|t| (t.id, t.bbox))
            .collect()
    }

    /// Whether track `id` is still followed (it has not ended).
    pub fn follows(&self, id: usize) -> bool {
        self.tracks.iter().any(|t| t.id == id)
    }

    /// Keeps track `id` in view although the detector missed it (its face was still there).
    pub fn keep(&mut self, id: usize) {
        if let Some(track) = self.tracks.iter_mut().find(|t| t.id == id) {
            track.missed = 0;
        }
    }

    /// Records track `id`'s face as the detector found it this frame.
    pub fn found(&mut self, id: usize, face: &[u8]) {
        if let Some(track) = self.tracks.iter_mut().find(|t| t.id == id) {
            track.reference = Some(face.to_vec());
        }
    }

    /// Whether the face in track `id`'s box now differs from the face the detector last found
    /// there by more than `max_change` on average (the face moved away or the box drifted:
    /// time to detect again). Comparing with the detected face, not the last frame, keeps a
    /// slow drift from adding up unseen.
    pub fn face_changed(&self, id: usize, face: &[u8]) -> bool {
        let Some(reference) = self
            .tracks
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.reference.as_ref())
        else {
            return true;
        };
        let sum: u64 = reference
            .iter()
            .zip(face)
            .map(|(&a, &b)| u64::from(a.abs_diff(b)))
            .sum();
        sum as f32 / face.len().max(1) as f32 > self.config.max_change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, y: f32) -> Detection {
        Detection {
            x,
            y,
            width: 50.0,
            height: 50.0,
            score: 5.0,
        }
    }

    #[test]
    fn a_face_that_moves_a_little_keeps_its_id() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        assert_eq!(tracker.observe(&[det(0.0, 0.0), det(200.0, 0.0)]), [1, 2]);
        // Both move 5 px; listed in the other order: ids follow the faces.
        assert_eq!(tracker.observe(&[det(205.0, 5.0), det(5.0, 0.0)]), [2, 1]);
        // A third face appears far away: a new id.
        assert_eq!(
            tracker.observe(&[det(5.0, 0.0), det(205.0, 5.0), det(400.0, 0.0)]),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_face_gone_longer_than_allowed_ends_its_track() {
        let mut tracker = Tracker::new(TrackerConfig {
            max_missed: 1,
            ..TrackerConfig::default()
        });
        tracker.observe(&[det(0.0, 0.0)]);
        tracker.observe(&[]);
        assert!(tracker.in_view().is_empty());
        // Back after one missed round: the same track.
        assert_eq!(tracker.observe(&[det(0.0, 0.0)]), [1]);
        tracker.observe(&[]);
        tracker.observe(&[]);
        // Gone for two rounds: a new track.
        assert_eq!(tracker.observe(&[det(0.0, 0.0)]), [2]);
    }

    #[test]
    fn a_carried_face_that_changes_from_its_detection_asks_for_detection() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.observe(&[det(0.0, 0.0)]);
        // Never found: nothing to compare with.
        assert!(tracker.face_changed(1, &[100; 2304]));
        tracker.found(1, &[100; 2304]);
        assert!(!tracker.face_changed(1, &[105; 2304]));
        assert!(!tracker.face_changed(1, &[115; 2304]));
        // A slow drift adds up: compared with the detected face, not the last frame.
        assert!(tracker.face_changed(1, &[125; 2304]));
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = TrackerConfig {
            detect_every: 0,
            ..TrackerConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("detect_every"));
        let bad = TrackerConfig {
            smoothing: 0.0,
            ..TrackerConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("smoothing"));
    }
}
