//! Emotions over time: each analysed frame's faces, followed by the tracker, classified in
//! engine calls of many frames' faces at a time, with each track's probabilities smoothed; and
//! per track, a summary of the video.

use std::collections::BTreeMap;

use serde::Serialize;

use ferrite_data::{Emotion, NUM_CLASSES};
use ferrite_infer::{crop_face, detect_faces, Detection, EmotionModel, FaceBox, PredictOptions};

use crate::smooth::Smoother;
use crate::track::{Tracker, TrackerConfig};
use crate::VideoFrame;

/// Faces that fill an engine call: the waiting frames are classified once they have this many.
/// The `wide` network (`accurate`) classified 192 faces/s in batches of 13 (five frames of
/// about three faces: one detection interval), 229 in batches of 32, 223 in 64 and 237 in 256
/// (`ferrite bench --arch wide --engine ferrite --no-train --infer-batch N`, 2 threads).
const BATCH_FACES: usize = 32;

/// Most frames kept waiting, however few faces they have: rows come out at least this often.
const MAX_WAITING_FRAMES: usize = 16;

/// Most pixels of waiting frames (they are kept for the caller, e.g. to draw on): 16 frames of
/// 1280x720, 4 of 4K.
const MAX_WAITING_PIXELS: usize = 16 * 1280 * 720;

/// One face in one analysed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceRow {
    /// The frame's index in the video (presentation order, from 0).
    pub frame: usize,
    /// The frame's time, in seconds.
    pub time_s: f64,
    /// The track the face belongs to.
    pub track: usize,
    /// Where the face is.
    pub bbox: FaceBox,
    /// This frame's probabilities, in label order.
    pub probabilities: [f32; NUM_CLASSES],
    /// This frame's most probable emotion.
    pub label: Emotion,
    /// The track's smoothed probabilities up to this frame.
    pub smoothed: [f32; NUM_CLASSES],
    /// The most probable smoothed emotion.
    pub smoothed_label: Emotion,
    /// Whether the detector ran on this frame (else the boxes were carried from the last one).
    pub detected: bool,
}

/// A track over the whole video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSummary {
    /// The track's id.
    pub track: usize,
    /// First time seen, in seconds.
    pub first_s: f64,
    /// Last time seen, in seconds.
    pub last_s: f64,
    /// Analysed frames it was in.
    pub frames: usize,
    /// The smoothed emotion it showed in the most frames.
    pub dominant: String,
    /// Share of its frames in each smoothed emotion.
    pub share: BTreeMap<String, f64>,
    /// Its mean (raw) probabilities.
    pub mean_probabilities: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default)]
struct TrackTotals {
    first_s: f64,
    last_s: f64,
    frames: usize,
    label_counts: [usize; NUM_CLASSES],
    probability_sums: [f64; NUM_CLASSES],
}

/// A frame whose faces are located and wait to be classified with those of the next frames.
struct Located {
    frame: VideoFrame,
    /// Each face's track and box.
    faces: Vec<(usize, Detection)>,
    /// Each face's 48x48 crop.
    crops: Vec<Vec<u8>>,
    detected: bool,
}

/// An analysed frame and its faces.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedFrame {
    /// The frame.
    pub frame: VideoFrame,
    /// Its faces, by track.
    pub rows: Vec<FaceRow>,
}

/// Analyses the frames of one video, in order.
///
/// Where faces are depends only on the detector and the tracker, not on their emotions, so
/// each frame's faces are located as it comes and classified later, with those of the next
/// frames, in one engine call once [`BATCH_FACES`] are waiting ([`VideoAnalyzer::push`]):
/// batched, the engine classifies faces faster than one frame's two or three at a time. The
/// smoothing of each track ([`Smoother`]) follows frame order as the rows come out.
pub struct VideoAnalyzer<'a> {
    model: &'a EmotionModel,
    options: PredictOptions,
    tracker: Tracker,
    smoother: Smoother,
    frames_until_detection: usize,
    /// Located frames not yet classified.
    waiting: Vec<Located>,
    totals: BTreeMap<usize, TrackTotals>,
}

impl<'a> VideoAnalyzer<'a> {
    /// An analyser for one video (a fresh tracker) whose faces `model` classifies; fails on
    /// invalid tracker or detector settings.
    pub fn new(
        model: &'a EmotionModel,
        options: PredictOptions,
        tracking: TrackerConfig,
    ) -> Result<VideoAnalyzer<'a>, String> {
        tracking.validate()?;
        options.detector.validate()?;
        Ok(VideoAnalyzer {
            model,
            options,
            tracker: Tracker::new(tracking),
            smoother: Smoother::new(tracking.smoothing),
            frames_until_detection: 0,
            waiting: Vec::new(),
            totals: BTreeMap::new(),
        })
    }

    /// Takes the next frame: its faces are located now and classified with those of the next
    /// frames. Returns the frames that are done, in order (none, or all that were waiting when
    /// enough faces, frames or pixels are); [`VideoAnalyzer::finish`] gives the rest.
    pub fn push(&mut self, frame: VideoFrame) -> Vec<AnalysedFrame> {
        let located = match self.carry(&frame) {
            Some((faces, crops)) => Located {
                frame,
                faces,
                crops,
                detected: false,
            },
            None => {
                let (faces, crops) = self.detect(&frame);
                Located {
                    frame,
                    faces,
                    crops,
                    detected: true,
                }
            }
        };
        self.waiting.push(located);
        if self.enough_waiting() {
            self.classify_waiting()
        } else {
            Vec::new()
        }
    }

    /// The frames still waiting, classified (call after the last frame).
    pub fn finish(&mut self) -> Vec<AnalysedFrame> {
        self.classify_waiting()
    }

    /// One frame analysed at once (a live stream, where each frame is answered before the next
    /// comes): its faces, classified and smoothed. Not to be mixed with [`VideoAnalyzer::push`].
    pub fn analyze(&mut self, frame: &VideoFrame) -> Vec<FaceRow> {
        let mut done = self.push(frame.clone());
        done.extend(self.finish());
        done.pop().map(|f| f.rows).unwrap_or_default()
    }

    /// Whether the waiting frames fill an engine call, or are as many (or as large) as may wait.
    fn enough_waiting(&self) -> bool {
        let faces: usize = self.waiting.iter().map(|l| l.crops.len()).sum();
        let pixels: usize = self
            .waiting
            .iter()
            .map(|l| l.frame.gray.as_raw().len())
            .sum();
        faces >= BATCH_FACES
            || self.waiting.len() >= MAX_WAITING_FRAMES
            || pixels >= MAX_WAITING_PIXELS
    }

    /// The waiting frames' faces in one engine call, then each frame's rows in order.
    fn classify_waiting(&mut self) -> Vec<AnalysedFrame> {
        let waiting = std::mem::take(&mut self.waiting);
        let crops: Vec<&[u8]> = waiting
            .iter()
            .flat_map(|l| l.crops.iter().map(Vec::as_slice))
            .collect();
        let mut probabilities = self.model.classify(&crops, self.options.tta).into_iter();
        let frames = waiting
            .into_iter()
            .map(|located| {
                let (w, h) = located.frame.gray.dimensions();
                let rows = located
                    .faces
                    .iter()
                    .map(|&(track, d)| {
                        let p = probabilities.next().expect("one result per face");
                        let smoothed = self.smoother.smooth(track, &p);
                        let row = FaceRow {
                            frame: located.frame.index,
                            time_s: located.frame.time_s,
                            track,
                            bbox: FaceBox::clipped(&d, w, h),
                            probabilities: p,
                            label: Emotion::most_likely(&p),
                            smoothed,
                            smoothed_label: Emotion::most_likely(&smoothed),
                            detected: located.detected,
                        };
                        self.count(&row);
                        row
                    })
                    .collect();
                AnalysedFrame {
                    frame: located.frame,
                    rows,
                }
            })
            .collect();
        // Every frame of an ended track is behind us now.
        let tracker = &self.tracker;
        self.smoother.forget_ended(|id| tracker.follows(id));
        frames
    }

    /// The faces of `frame` carried from the last frame, if it is not a detection round and
    /// every carried face still looks like the face last detected in its track.
    #[allow(clippy::type_complexity)]
    fn carry(&mut self, frame: &VideoFrame) -> Option<(Vec<(usize, Detection)>, Vec<Vec<u8>>)> {
        if self.frames_until_detection == 0 {
            return None;
        }
        self.frames_until_detection -= 1;
        let framing = self.options.framing;
        let carried = self.tracker.in_view();
        let crops: Vec<Vec<u8>> = carried
            .iter()
            .map(|(_, d)| crop_face(&frame.gray, &framing.frame(d)))
            .collect();
        let changed = carried
            .iter()
            .zip(&crops)
            .any(|((id, _), face)| self.tracker.face_changed(*id, face));
        (!changed).then_some((carried, crops))
    }

    /// A detection round on `frame`: detections matched to tracks, faces the detector missed
    /// kept while they still look the same. Each face's track and box, and its crop.
    #[allow(clippy::type_complexity)]
    fn detect(&mut self, frame: &VideoFrame) -> (Vec<(usize, Detection)>, Vec<Vec<u8>>) {
        let framing = self.options.framing;
        let crop = |d: &Detection| crop_face(&frame.gray, &framing.frame(d));
        let mut detections = detect_faces(&frame.gray, &self.options.detector);
        detections.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut crops: Vec<Vec<u8>> = detections.iter().map(crop).collect();
        let ids = self.tracker.observe(&detections, &crops);
        let mut faces: Vec<(usize, Detection)> = ids.into_iter().zip(detections).collect();
        for ((id, _), face) in faces.iter().zip(&crops) {
            self.tracker.found(*id, face);
        }
        // A face the detector missed that still looks as it did when last found is still there.
        for (id, d) in self.tracker.unseen() {
            let face = crop(&d);
            if !self.tracker.face_changed(id, &face) {
                self.tracker.keep(id);
                faces.push((id, d));
                crops.push(face);
            }
        }
        self.frames_until_detection = self.tracker.config().detect_every - 1;
        let mut order: Vec<usize> = (0..faces.len()).collect();
        order.sort_by_key(|&i| faces[i].0);
        let faces = order.iter().map(|&i| faces[i]).collect();
        let crops = order.iter().map(|&i| crops[i].clone()).collect();
        (faces, crops)
    }

    fn count(&mut self, row: &FaceRow) {
        let totals = self.totals.entry(row.track).or_insert_with(|| TrackTotals {
            first_s: row.time_s,
            ..TrackTotals::default()
        });
        totals.last_s = row.time_s;
        totals.frames += 1;
        totals.label_counts[row.smoothed_label.index()] += 1;
        for (sum, p) in totals.probability_sums.iter_mut().zip(row.probabilities) {
            *sum += f64::from(p);
        }
    }

    /// Every track seen so far, summarised.
    pub fn summary(&self) -> Vec<TrackSummary> {
        self.totals
            .iter()
            .map(|(&track, t)| {
                let n = t.frames.max(1) as f64;
                let dominant = (0..NUM_CLASSES)
                    .max_by_key(|&k| t.label_counts[k])
                    .unwrap_or(0);
                TrackSummary {
                    track,
                    first_s: t.first_s,
                    last_s: t.last_s,
                    frames: t.frames,
                    dominant: Emotion::ALL[dominant].name().into(),
                    share: by_label(|k| t.label_counts[k] as f64 / n),
                    mean_probabilities: by_label(|k| t.probability_sums[k] / n),
                }
            })
            .collect()
    }
}

fn by_label(value: impl Fn(usize) -> f64) -> BTreeMap<String, f64> {
    Emotion::ALL
        .iter()
        .map(|e| (e.name().to_string(), value(e.index())))
        .collect()
}
