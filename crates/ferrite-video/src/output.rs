//! What an analysed video reports, in one place for `ferrite video` and the REST API: the CSV
//! rows (one per face per analysed frame) and the per-video report with its per-track
//! summaries (a row's JSON is `row_json.rs`). And which frames are analysed when sampling (`--fps`, `?fps=`).

use std::io::Write;

use ferrite_data::{Emotion, NUM_CLASSES};
use ferrite_infer::csv_field;

use crate::{FaceRow, TrackSummary, VideoInfo};

/// The CSV header: the columns of `ferrite predict --format csv` plus frame, time and track,
/// then the smoothed label and its probability.
pub fn csv_header() -> String {
    format!(
        "file,frame,time_s,track,x,y,width,height,label,confidence,{},smoothed_label,smoothed_confidence,error",
        Emotion::names().join(",")
    )
}

/// Writes one CSV line per row of `file`.
pub fn write_csv_rows(out: &mut impl Write, file: &str, rows: &[FaceRow]) -> std::io::Result<()> {
    let file = csv_field(file);
    for r in rows {
        let b = r.bbox;
        let probs: Vec<String> = r.probabilities.iter().map(|p| format!("{p:.4}")).collect();
        writeln!(
            out,
            "{file},{},{:.4},{},{},{},{},{},{},{:.4},{},{},{:.4},",
            r.frame,
            r.time_s,
            r.track,
            b.x,
            b.y,
            b.width,
            b.height,
            r.label,
            r.probabilities[r.label.index()],
            probs.join(","),
            r.smoothed_label,
            r.smoothed[r.smoothed_label.index()],
        )?;
    }
    Ok(())
}

/// Writes the CSV line that says `file` failed with `error` (every other column empty).
pub fn write_csv_error(out: &mut impl Write, file: &str, error: &str) -> std::io::Result<()> {
    let blanks = ",".repeat(12 + NUM_CLASSES);
    writeln!(out, "{}{blanks}{}", csv_field(file), csv_field(error))
}

/// One video as `ferrite video --format json` and `GET /api/video/{id}` report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoReport {
    /// The file (or upload) name.
    pub file: String,
    /// Frame width as shown, when the video could be opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Frame height as shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Rotation applied, in degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<u32>,
    /// Frames analysed (all, or those `--fps` sampled).
    pub frames_analysed: usize,
    /// A summary per track.
    pub tracks: Vec<TrackSummary>,
    /// Why the video could not be read to its end (the frames before it were analysed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl VideoReport {
    /// The report of `file` before it is opened.
    pub fn new(file: impl Into<String>) -> VideoReport {
        VideoReport {
            file: file.into(),
            width: None,
            height: None,
            duration_s: None,
            rotation: None,
            frames_analysed: 0,
            tracks: Vec::new(),
            error: None,
        }
    }

    /// Records what the opened video is.
    pub fn opened(&mut self, info: &VideoInfo) {
        self.width = Some(info.width);
        self.height = Some(info.height);
        self.duration_s = Some(info.duration_s);
        self.rotation = Some(info.rotation.degrees());
    }
}

/// Which frames are analysed: all of them, or `fps` a second by the stream's time stamps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSampler {
    fps: Option<f64>,
    next_time: f64,
}

impl FrameSampler {
    /// Every frame (`None`), or `fps` frames a second; refuses a rate that is not positive.
    pub fn new(fps: Option<f64>) -> Result<FrameSampler, String> {
        if let Some(fps) = fps {
            if !(fps.is_finite() && fps > 0.0) {
                return Err(format!("fps must be a positive number, not {fps}"));
            }
        }
        Ok(FrameSampler {
            fps,
            next_time: 0.0,
        })
    }

    /// Whether the frame at `time_s` (frames come in presentation order) is analysed.
    pub fn take(&mut self, time_s: f64) -> bool {
        let Some(fps) = self.fps else {
            return true;
        };
        if time_s + 1e-9 < self.next_time {
            return false;
        }
        self.next_time += 1.0 / fps;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_infer::FaceBox;

    #[test]
    fn sampling_follows_the_time_stamps() {
        let mut every = FrameSampler::new(None).unwrap();
        assert!((0..10).all(|i| every.take(i as f64 / 30.0)));
        // 30 frames a second sampled at 10: every third frame.
        let mut ten = FrameSampler::new(Some(10.0)).unwrap();
        let taken: Vec<usize> = (0..12).filter(|&i| ten.take(i as f64 / 30.0)).collect();
        assert_eq!(taken, vec![0, 3, 6, 9]);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(FrameSampler::new(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_row_has_the_same_columns_in_csv_and_json() {
        let mut p = [0.05f32; NUM_CLASSES];
        p[Emotion::Happy.index()] = 0.7;
        let row = FaceRow {
            frame: 3,
            time_s: 0.1,
            track: 2,
            bbox: FaceBox {
                x: 1,
                y: 2,
                width: 30,
                height: 31,
            },
            probabilities: p,
            label: Emotion::Happy,
            smoothed: p,
            smoothed_label: Emotion::Happy,
            detected: true,
        };
        let mut csv = Vec::new();
        write_csv_rows(&mut csv, "a, b.mp4", std::slice::from_ref(&row)).unwrap();
        let line = String::from_utf8(csv).unwrap();
        let fields: Vec<&str> = line.trim_end().split(',').collect();
        // The quoted file name holds a comma: one more split than columns.
        assert_eq!(fields.len(), csv_header().split(',').count() + 1, "{line}");
        assert!(line.starts_with("\"a, b.mp4\",3,0.1000,2,1,2,30,31,happy,0.7000,"));
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["box"], serde_json::json!([1, 2, 30, 31]));
        assert_eq!(json["label"], "happy");
        assert_eq!(json["smoothed"].as_object().unwrap().len(), NUM_CLASSES);
        let mut err = Vec::new();
        write_csv_error(&mut err, "x.mp4", "truncated").unwrap();
        let err = String::from_utf8(err).unwrap();
        assert_eq!(
            err.trim_end().split(',').count(),
            csv_header().split(',').count()
        );
    }
}
