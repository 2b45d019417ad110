//! Faces followed from frame to frame. Detection runs on a schedule (every `detect_every`
//! analysed frames, and early when a carried face changes too much to trust); in between, each
//! face keeps its last box (faces move little between frames). Detections are matched to
//! tracks in two stages: by overlap (IoU, best pairs first) with where each track's motion
//! (its box's velocity over the last detection rounds) puts it now; then the detections left
//! by appearance (the 48x48 face against the face last detected in the track) among the tracks
//! left, near where they were last seen, ended tracks too for `max_lost` rounds. So a person who
//! stays in view keeps one id, also when moving fast or when the detector misses them for a
//! while (a turned head); a face the detector misses but whose pixels have not changed stays
//! in view.

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
    /// Detection rounds an ended track is remembered after that, to be taken up again by a
    /// face that looks like it near where it was last seen (0: never).
    pub max_lost: usize,
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
            // With detection every 5 frames at 30 frames/s: about 5 s.
            max_lost: 30,
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
    /// How far its box's centre moved per detection round, on average (pixels, x and y).
    velocity: (f32, f32),
}

/// How far from where a track was last seen (in its box's widths) a face that looks like it
/// may take it up. People do not cross a frame in the second or so a track is unmatched.
const REACH_WIDTHS: f32 = 3.0;

/// Most mean absolute difference (0-255) between a detected 48x48 face and a track's last
/// detected face for the face to take the track up by its looks. On bench/video.sh's clip of
/// three FER2013 faces swinging (`examples/face_video`), a face found again after the detector
/// lost it for a second measured 6-22 from its track's face, and the other two faces 61-103.
const LOOKS_ALIKE: f32 = 30.0;

/// Weight of the newest displacement in a track's velocity.
const VELOCITY_WEIGHT: f32 = 0.5;

impl FaceTrack {
    /// Where its motion puts the box after it went unseen for `missed` rounds and one more.
    fn predicted(&self) -> Detection {
        let rounds = (self.missed + 1) as f32;
        Detection {
            x: self.bbox.x + self.velocity.0 * rounds,
            y: self.bbox.y + self.velocity.1 * rounds,
            ..self.bbox
        }
    }

    /// Whether `detection` is near enough to where the track was last seen to be its face.
    fn within_reach(&self, detection: &Detection) -> bool {
        let (cx, cy) = centre(&self.bbox);
        let (dx, dy) = centre(detection);
        let reach = REACH_WIDTHS * self.bbox.width.max(detection.width);
        (cx - dx).hypot(cy - dy) <= reach
    }

    /// Moves the track to `detection`, seen after `missed` unseen rounds, learning its motion.
    fn see(&mut self, detection: &Detection) {
        let (cx, cy) = centre(&self.bbox);
        let (dx, dy) = centre(detection);
        let rounds = (self.missed + 1) as f32;
        let step = ((dx - cx) / rounds, (dy - cy) / rounds);
        self.velocity = if self.velocity == (0.0, 0.0) {
            step
        } else {
            (
                VELOCITY_WEIGHT * step.0 + (1.0 - VELOCITY_WEIGHT) * self.velocity.0,
                VELOCITY_WEIGHT * step.1 + (1.0 - VELOCITY_WEIGHT) * self.velocity.1,
            )
        };
        self.bbox = *detection;
        self.missed = 0;
    }
}

fn centre(d: &Detection) -> (f32, f32) {
    (d.x + d.width / 2.0, d.y + d.height / 2.0)
}

/// Mean absolute difference (0-255) of two 48x48 faces.
fn face_distance(a: &[u8], b: &[u8]) -> f32 {
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f32 / a.len().max(1) as f32
}

/// The tracks of one video.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<FaceTrack>,
    /// Ended tracks, remembered for `max_lost` rounds (their `missed` keeps counting).
    lost: Vec<FaceTrack>,
    next_id: usize,
}

impl Tracker {
    /// A tracker with no faces yet.
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker {
            config,
            tracks: Vec::new(),
            lost: Vec::new(),
            next_id: 1,
        }
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Takes a detection round: `detections` and their 48x48 `faces`. Each detection
    /// continues the track whose predicted box it overlaps most (best pairs first), else the
    /// track it looks most like among those left and those ended lately, near where that was
    /// last seen, else starts a new one; tracks not seen for more than `max_missed` rounds end.
    /// Returns the ids of the faces in view, one per detection, in detection order.
    pub fn observe(&mut self, detections: &[Detection], faces: &[Vec<u8>]) -> Vec<usize> {
        assert_eq!(detections.len(), faces.len(), "one face per detection");
        // Ended tracks are candidates again, after the tracks in view.
        let live = self.tracks.len();
        self.tracks.append(&mut self.lost);
        let mut track_of: Vec<Option<usize>> = vec![None; detections.len()];
        let mut matched = vec![false; self.tracks.len()];
        let by_overlap = self.pairs(detections, |t, track, d| {
            let overlap = track
                .predicted()
                .iou(&detections[d])
                .max(track.bbox.iou(&detections[d]));
            (t < live && overlap >= self.config.min_iou).then_some(overlap)
        });
        Self::assign(by_overlap, &mut matched, &mut track_of);
        let by_looks = self.pairs(detections, |_, track, d| {
            let distance = face_distance(track.reference.as_ref()?, &faces[d]);
            let near = track.within_reach(&detections[d]);
            (near && distance <= LOOKS_ALIKE).then_some(-distance)
        });
        Self::assign(by_looks, &mut matched, &mut track_of);
        for (track, seen) in self.tracks.iter_mut().zip(&matched) {
            if !seen {
                track.missed += 1;
            }
        }
        let mut ids = Vec::with_capacity(detections.len());
        for (d, detection) in detections.iter().enumerate() {
            let id = match track_of[d] {
                Some(t) => {
                    self.tracks[t].see(detection);
                    self.tracks[t].id
                }
                None => {
                    self.tracks.push(FaceTrack {
                        id: self.next_id,
                        bbox: *detection,
                        missed: 0,
                        reference: None,
                        velocity: (0.0, 0.0),
                    });
                    self.next_id += 1;
                    self.next_id - 1
                }
            };
            ids.push(id);
        }
        let (max_missed, max_lost) = (self.config.max_missed, self.config.max_lost);
        let (tracks, ended): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tracks)
            .into_iter()
            .partition(|t| t.missed <= max_missed);
        self.tracks = tracks;
        self.lost = ended
            .into_iter()
            .filter(|t| t.reference.is_some() && t.missed <= max_missed + max_lost)
            .collect();
        ids
    }

    /// The (score, track, detection) pairs that `score` (of a track's index, the track and a
    /// detection's index) allows, best first.
    fn pairs(
        &self,
        detections: &[Detection],
        score: impl Fn(usize, &FaceTrack, usize) -> Option<f32>,
    ) -> Vec<(f32, usize, usize)> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate() {
            for d in 0..detections.len() {
                if let Some(s) = score(t, track, d) {
                    pairs.push((s, t, d));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        pairs
    }

    /// Matches the pairs, best first, each track and detection once.
    fn assign(
        pairs: Vec<(f32, usize, usize)>,
        matched: &mut [bool],
        track_of: &mut [Option<usize>],
    ) {
        for (_, t, d) in pairs {
            if !matched[t] && track_of[d].is_none() {
                matched[t] = true;
                track_of[d] = Some(t);
            }
        }
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

    /// Whether track `id` is still followed (it has not ended, or ended lately and may be
    /// taken up again).
    pub fn follows(&self, id: usize) -> bool {
        self.tracks.iter().chain(&self.lost).any(|t| t.id == id)
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
        face_distance(reference, face) > self.config.max_change
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

    /// Faces that tell apart: flat gray levels far from each other.
    fn face(level: u8) -> Vec<u8> {
        vec![level; 2304]
    }

    /// A round of detections with their faces, each recorded as found (as the analyser does).
    fn round(tracker: &mut Tracker, seen: &[(Detection, u8)]) -> Vec<usize> {
        let (dets, faces): (Vec<Detection>, Vec<Vec<u8>>) =
            seen.iter().map(|&(d, level)| (d, face(level))).unzip();
        let ids = tracker.observe(&dets, &faces);
        for (id, f) in ids.iter().zip(&faces) {
            tracker.found(*id, f);
        }
        ids
    }

    #[test]
    fn a_face_that_moves_a_little_keeps_its_id() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        let faces = [face(0), face(0)];
        assert_eq!(
            tracker.observe(&[det(0.0, 0.0), det(200.0, 0.0)], &faces),
            [1, 2]
        );
        // Both move 5 px; listed in the other order: ids follow the faces.
        assert_eq!(
            tracker.observe(&[det(205.0, 5.0), det(5.0, 0.0)], &faces),
            [2, 1]
        );
        // A third face appears far away: a new id.
        assert_eq!(
            tracker.observe(
                &[det(5.0, 0.0), det(205.0, 5.0), det(400.0, 0.0)],
                &[face(0), face(0), face(0)]
            ),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_fast_face_keeps_its_id_and_its_motion_is_learned() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        // 40 px a round with 50 px boxes: consecutive boxes overlap by IoU 0.11, under 0.3.
        // The first step is taken by its looks, the next ones by where its motion puts it.
        for k in 0..6 {
            let ids = round(&mut tracker, &[(det(40.0 * k as f32, 0.0), 90)]);
            assert_eq!(ids, [1], "round {k}");
        }
        assert!((tracker.tracks[0].velocity.0 - 40.0).abs() < 1.0);
        // Its motion also carries it past a face that looks different.
        let mut tracker = Tracker::new(TrackerConfig::default());
        round(&mut tracker, &[(det(0.0, 0.0), 90), (det(300.0, 0.0), 200)]);
        for k in 1..4 {
            let x = 40.0 * k as f32;
            let ids = round(&mut tracker, &[(det(x, 0.0), 90), (det(300.0, 0.0), 200)]);
            assert_eq!(ids, [1, 2], "round {k}");
        }
    }

    #[test]
    fn a_face_gone_longer_than_allowed_ends_its_track_unless_it_comes_back_looking_the_same() {
        let mut tracker = Tracker::new(TrackerConfig {
            max_missed: 1,
            max_lost: 3,
            ..TrackerConfig::default()
        });
        round(&mut tracker, &[(det(0.0, 0.0), 90)]);
        round(&mut tracker, &[]);
        assert!(tracker.in_view().is_empty());
        // Back after one missed round: the same track.
        assert_eq!(round(&mut tracker, &[(det(0.0, 0.0), 90)]), [1]);
        round(&mut tracker, &[]);
        round(&mut tracker, &[]);
        assert!(
            tracker.in_view().is_empty() && tracker.unseen().is_empty(),
            "ended"
        );
        assert!(tracker.follows(1), "but remembered");
        // Gone for three rounds, back near where it was, looking the same: taken up again.
        assert_eq!(round(&mut tracker, &[(det(20.0, 10.0), 92)]), [1]);
        // Another face where it was, after it left: a new track.
        round(&mut tracker, &[]);
        round(&mut tracker, &[]);
        assert_eq!(round(&mut tracker, &[(det(0.0, 0.0), 200)]), [2]);
        // Gone for longer than max_missed + max_lost rounds: forgotten.
        for _ in 0..5 {
            round(&mut tracker, &[]);
        }
        assert!(!tracker.follows(1) && !tracker.follows(2));
        assert_eq!(round(&mut tracker, &[(det(0.0, 0.0), 90)]), [3]);
        // A face that looks the same far away is someone else.
        round(&mut tracker, &[]);
        round(&mut tracker, &[]);
        assert_eq!(round(&mut tracker, &[(det(400.0, 0.0), 90)]), [4]);
    }

    #[test]
    fn a_carried_face_that_changes_from_its_detection_asks_for_detection() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.observe(&[det(0.0, 0.0)], &[face(100)]);
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
