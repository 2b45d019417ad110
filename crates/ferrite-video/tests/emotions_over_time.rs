//! Videos made here, analysed: real FER2013 faces (PublicTest) pasted into frames that drift
//! across a textured background, encoded to MP4; the analyser must follow each face with one
//! track id, detect on its schedule, and give each frame's face the probabilities the model
//! gives the same crop.

mod common;

use std::path::Path;

use common::write_mp4;
use ferrite_data::{load_dataset, Split, FACE_SIZE};
use ferrite_infer::{EmotionModel, PredictOptions};
use ferrite_video::{Mp4Video, TrackerConfig, VideoAnalyzer};
use image::{imageops::FilterType, GrayImage, Luma};

fn background(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let v = 110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos();
        Luma([v as u8])
    })
}

fn model() -> EmotionModel {
    EmotionModel::shipped()
}

#[test]
fn a_video_without_faces_gives_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mp4");
    let frames: Vec<GrayImage> = (0..6).map(|_| background(320, 240)).collect();
    write_mp4(&path, &frames, &[0, 40, 80, 120, 160, 200], None);
    let model = model();
    let mut analyzer =
        VideoAnalyzer::new(&model, PredictOptions::default(), TrackerConfig::default()).unwrap();
    for frame in Mp4Video::open(&path).unwrap() {
        assert!(analyzer.analyze(&frame.unwrap()).is_empty());
    }
    assert!(analyzer.summary().is_empty());
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn two_faces_keep_their_tracks_across_a_video() {
    let data = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    let mut set = load_dataset(Path::new(&data), Split::PublicTest).unwrap();
    set.limit(2);
    let faces: Vec<GrayImage> = set
        .samples
        .iter()
        .map(|s| {
            let face = GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, s.pixels.clone());
            image::imageops::resize(&face.unwrap(), 120, 120, FilterType::Triangle)
        })
        .collect();
    // 12 frames; the faces drift 2 px a frame.
    let frames: Vec<GrayImage> = (0..12)
        .map(|k| {
            let mut frame = background(480, 240);
            image::imageops::overlay(&mut frame, &faces[0], 40 + 2 * k, 60);
            image::imageops::overlay(&mut frame, &faces[1], 300 - 2 * k, 60);
            frame
        })
        .collect();
    let times: Vec<u64> = (0..12).map(|k| k * 40).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.mp4");
    write_mp4(&path, &frames, &times, None);

    let model = model();
    let tracking = TrackerConfig {
        detect_every: 4,
        ..TrackerConfig::default()
    };
    let mut analyzer = VideoAnalyzer::new(&model, PredictOptions::default(), tracking).unwrap();
    let mut rows = Vec::new();
    for frame in Mp4Video::open(&path).unwrap() {
        for done in analyzer.push(frame.unwrap()) {
            rows.extend(done.rows);
        }
    }
    rows.extend(analyzer.finish().into_iter().flat_map(|done| done.rows));
    // Frames classified together between detection rounds give what one frame at a time gives.
    let mut one_by_one = VideoAnalyzer::new(&model, PredictOptions::default(), tracking).unwrap();
    let single: Vec<_> = Mp4Video::open(&path)
        .unwrap()
        .flat_map(|frame| one_by_one.analyze(&frame.unwrap()))
        .collect();
    assert_eq!(single.len(), rows.len());
    for (a, b) in single.iter().zip(&rows) {
        assert_eq!(
            (a.frame, a.track, a.bbox, a.detected),
            (b.frame, b.track, b.bbox, b.detected)
        );
        for (p, q) in a.smoothed.iter().zip(&b.smoothed) {
            assert!((p - q).abs() < 1e-4, "{a:?} vs {b:?}");
        }
    }
    // Two faces in every frame, the left one always track 1.
    assert_eq!(rows.len(), 24, "{rows:?}");
    for pair in rows.chunks(2) {
        assert_eq!((pair[0].track, pair[1].track), (1, 2), "{pair:?}");
        assert!(pair[0].bbox.x < pair[1].bbox.x);
    }
    // The detector ran on frame 0, then at least every 4th frame (sooner when the drifting
    // faces moved off their carried boxes), and the frames between carried the boxes.
    let mut detected: Vec<usize> = rows
        .iter()
        .filter(|r| r.detected)
        .map(|r| r.frame)
        .collect();
    detected.dedup();
    assert_eq!(detected[0], 0);
    assert!(
        detected.windows(2).all(|w| w[1] - w[0] <= 4),
        "{detected:?}"
    );
    assert!(
        detected.len() < 12,
        "every frame was detected: {detected:?}"
    );
    for row in &rows {
        let sum: f32 = row.smoothed.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
        assert!((row.time_s - row.frame as f64 * 0.04).abs() < 1e-9);
    }
    let summary = analyzer.summary();
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0].frames, 12);
    assert!((summary[0].last_s - 0.44).abs() < 1e-9);
    let share: f64 = summary[0].share.values().sum();
    assert!((share - 1.0).abs() < 1e-9);
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn a_face_that_leaves_and_comes_back_keeps_its_track() {
    let data = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    let mut set = load_dataset(Path::new(&data), Split::PublicTest).unwrap();
    set.limit(1);
    let face = GrayImage::from_raw(48, 48, set.samples[0].pixels.clone()).unwrap();
    let face = image::imageops::resize(&face, 120, 120, FilterType::Triangle);
    // 10 frames with the face, 40 without (20 detection rounds at every 2nd frame: far more
    // than the 5 a track may be missed), then 10 with it again a little to the right.
    let frames: Vec<GrayImage> = (0..60u32)
        .map(|k| {
            let mut frame = background(400, 240);
            match k {
                0..10 => image::imageops::overlay(&mut frame, &face, 60 + 2 * k as i64, 60),
                50.. => image::imageops::overlay(&mut frame, &face, 110, 70),
                _ => {}
            }
            frame
        })
        .collect();
    let times: Vec<u64> = (0..60).map(|k| k * 40).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("back.mp4");
    write_mp4(&path, &frames, &times, None);
    let model = model();
    let tracking = TrackerConfig {
        detect_every: 2,
        ..TrackerConfig::default()
    };
    let mut analyzer = VideoAnalyzer::new(&model, PredictOptions::default(), tracking).unwrap();
    let rows: Vec<_> = Mp4Video::open(&path)
        .unwrap()
        .flat_map(|frame| analyzer.analyze(&frame.unwrap()))
        .collect();
    let before: Vec<usize> = rows
        .iter()
        .filter(|r| r.frame < 10)
        .map(|r| r.track)
        .collect();
    let after: Vec<usize> = rows
        .iter()
        .filter(|r| r.frame >= 50)
        .map(|r| r.track)
        .collect();
    assert_eq!(before, vec![1; 10], "{rows:?}");
    assert_eq!(
        after,
        vec![1; 10],
        "back, the face takes up its track: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.frame < 10 || r.frame >= 50),
        "no face while it was gone"
    );
    assert_eq!(analyzer.summary().len(), 1);
}
