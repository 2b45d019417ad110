//! `ferrite video` end to end on MP4 files made here: the CSV, JSON and table outputs, frame
//! sampling, annotated copies, bad files; and, with FER2013_DIR, real faces followed by track.

mod common;

use common::{ferrite, text};
use std::path::Path;

use ferrite_video::{Mp4Video, VideoWriter};
use image::{imageops::FilterType, GrayImage, Luma};

fn background(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        Luma([(110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos()) as u8])
    })
}

/// A video of `frames` at 25 frames/s.
fn write_video(path: &Path, frames: &[GrayImage]) {
    let (w, h) = frames[0].dimensions();
    let mut writer = VideoWriter::create(path, w, h).unwrap();
    for (k, frame) in frames.iter().enumerate() {
        writer.push_gray(frame, k as f64 * 0.04).unwrap();
    }
    writer.finish(0.04).unwrap();
}

#[test]
fn videos_are_sampled_reported_annotated_and_bad_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let frames: Vec<GrayImage> = (0..25).map(|_| background(320, 240)).collect();
    write_video(&clip, &frames);
    let bad = dir.path().join("broken.mp4");
    std::fs::write(&bad, b"not a video at all").unwrap();
    let (clip, bad) = (clip.to_str().unwrap(), bad.to_str().unwrap());

    // One second at 25 frames/s, sampled at 5 frames/s: 5 frames analysed.
    let out = ferrite(&["video", clip, bad, "--fps", "5", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["frames_analysed"], 5, "{reports}");
    assert_eq!(reports[0]["width"], 320);
    assert!(reports[0]["tracks"].as_array().unwrap().is_empty());
    let error = reports[1]["error"].as_str().unwrap();
    assert!(
        error.contains("broken.mp4") && error.contains("MP4"),
        "{error}"
    );

    let out = ferrite(&["video", clip, "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.starts_with("file,frame,time_s,track,x,y,width,height,label,confidence,angry"));
    assert_eq!(csv.lines().count(), 1, "no faces, no rows: {csv}");

    let annotated = dir.path().join("annotated");
    let out = ferrite(&[
        "video",
        clip,
        "--out",
        annotated.to_str().unwrap(),
        "--annotate",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plot = image::open(annotated.join("clip-timeline.png")).unwrap();
    assert!(plot.width() >= 1000);
    assert!(
        text(&out.stdout).contains("25 frames analysed"),
        "{}",
        text(&out.stdout)
    );
    let copy = Mp4Video::open(&annotated.join("clip.mp4")).unwrap();
    assert_eq!(copy.info().frames, 25);
    assert_eq!((copy.info().width, copy.info().height), (320, 240));

    for bad_option in [
        ["--fps", "0"],
        ["--detect-every", "0"],
        ["--smoothing", "2"],
    ] {
        let out = ferrite(&["video", clip, bad_option[0], bad_option[1]]);
        assert!(!out.status.success(), "{bad_option:?} was accepted");
    }
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn real_faces_are_followed_with_one_track_each() {
    let data = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    let mut set =
        ferrite_data::load_dataset(Path::new(&data), ferrite_data::Split::PublicTest).unwrap();
    set.limit(2);
    let faces: Vec<GrayImage> = set
        .samples
        .iter()
        .map(|s| {
            let face = GrayImage::from_raw(48, 48, s.pixels.clone()).unwrap();
            image::imageops::resize(&face, 120, 120, FilterType::Triangle)
        })
        .collect();
    let frames: Vec<GrayImage> = (0..20)
        .map(|k| {
            let mut frame = background(480, 240);
            image::imageops::overlay(&mut frame, &faces[0], 40 + k, 60);
            image::imageops::overlay(&mut frame, &faces[1], 300 - k, 60);
            frame
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("two.mp4");
    write_video(&clip, &frames);
    let plots = dir.path().join("plots");
    let out = ferrite(&[
        "video",
        clip.to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        plots.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Two tracks, two panels: taller than a one-panel plot.
    let plot = image::open(plots.join("two-timeline.png")).unwrap();
    assert!(plot.height() > 400, "{}", plot.height());
    let csv = text(&out.stdout);
    let tracks: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(tracks.into_iter().collect::<Vec<_>>(), ["1", "2"], "{csv}");
    assert_eq!(csv.lines().count(), 1 + 40, "{csv}");
}
