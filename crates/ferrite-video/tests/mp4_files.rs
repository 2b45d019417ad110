//! MP4 files made here (frames drawn in code, encoded with OpenH264, muxed with the `mp4`
//! crate), read back: frame count, time stamps of a variable frame rate, pixels, rotation, and
//! the errors for files that are not H.264 video.

mod common;

use common::write_mp4;
use ferrite_video::{Mp4Video, Rotation, VideoError};
use image::{GrayImage, Luma};

const W: u32 = 160;
const H: u32 = 96;

/// A frame with a bright 24x24 square at a place that moves with `k`.
fn drawn_frame(k: u32) -> GrayImage {
    GrayImage::from_fn(W, H, |x, y| {
        let (sx, sy) = (8 + 12 * k, 20 + 4 * k);
        let inside = (sx..sx + 24).contains(&x) && (sy..sy + 24).contains(&y);
        Luma([if inside { 220 } else { 40 + (x / 4) as u8 }])
    })
}

fn mean_abs_diff(a: &GrayImage, b: &GrayImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn frames_come_back_in_order_with_the_streams_time_stamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    let frames: Vec<GrayImage> = (0..8).map(drawn_frame).collect();
    // A variable frame rate: gaps of 40, 40, 70, 50, 100, 10 and 90 ms.
    let times = [0, 40, 80, 150, 200, 300, 310, 400];
    write_mp4(&path, &frames, &times, None);

    let mut video = Mp4Video::open(&path).unwrap();
    let info = video.info().clone();
    assert_eq!((info.width, info.height, info.frames), (W, H, 8));
    assert_eq!(info.rotation, Rotation::R0);
    let decoded: Vec<_> = video.by_ref().map(Result::unwrap).collect();
    assert_eq!(decoded.len(), 8);
    for (k, frame) in decoded.iter().enumerate() {
        assert_eq!(frame.index, k);
        assert!(
            (frame.time_s - times[k] as f64 / 1000.0).abs() < 1e-9,
            "{frame:?}"
        );
        let diff = mean_abs_diff(&frame.gray, &frames[k]);
        assert!(diff < 6.0, "frame {k} differs by {diff} on average");
    }
    assert!(video.next().is_none());
}

#[test]
fn a_rotated_track_gives_upright_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portrait.mp4");
    let frames: Vec<GrayImage> = (0..3).map(drawn_frame).collect();
    const ONE: i32 = 0x10000;
    write_mp4(&path, &frames, &[0, 33, 66], Some([0, ONE, -ONE, 0]));
    let mut video = Mp4Video::open(&path).unwrap();
    assert_eq!(video.info().rotation, Rotation::R90);
    assert_eq!((video.info().width, video.info().height), (H, W));
    let first = video.next().unwrap().unwrap();
    assert_eq!(first.gray.dimensions(), (H, W));
    let upright = image::imageops::rotate90(&frames[0]);
    assert!(mean_abs_diff(&first.gray, &upright) < 6.0);
}

#[test]
fn files_that_are_not_h264_video_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video").unwrap();
    let err = Mp4Video::open(&text).err().unwrap();
    assert!(matches!(err, VideoError::Container { .. }), "{err}");
    assert!(err.to_string().contains("notes.mp4"), "{err}");

    let missing = dir.path().join("missing.mp4");
    let err = Mp4Video::open(&missing).err().unwrap();
    assert!(err.to_string().contains("missing.mp4"), "{err}");

    // A truncated file: the header promises more than is there.
    let clip = dir.path().join("clip.mp4");
    write_mp4(&clip, &[drawn_frame(0), drawn_frame(1)], &[0, 40], None);
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let outcome = Mp4Video::open(&cut).map(|video| video.collect::<Result<Vec<_>, _>>());
    match outcome {
        Err(e) | Ok(Err(e)) => assert!(e.to_string().contains("cut.mp4"), "{e}"),
        Ok(Ok(frames)) => panic!("a truncated file gave {} frames", frames.len()),
    }
}

/// A recording that stopped before its index was written (the `moov` box after the frames, as
/// cameras write it): one error that says so, naming the file, for Ferrite's decoder and for
/// `Video::open` alike (FFmpeg cannot read such a file either).
#[test]
fn a_recording_cut_before_its_index_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let frames: Vec<GrayImage> = (0..10).map(drawn_frame).collect();
    let times: Vec<u64> = (0..10).map(|k| k * 40).collect();
    write_mp4(&clip, &frames, &times, None);
    let bytes = std::fs::read(&clip).unwrap();
    let moov = bytes
        .windows(4)
        .position(|w| w == b"moov")
        .expect("a moov box");
    let mdat = bytes
        .windows(4)
        .position(|w| w == b"mdat")
        .expect("an mdat box");
    assert!(mdat < moov, "the writer puts the index after the frames");
    let cut = dir.path().join("stopped.mp4");
    std::fs::write(&cut, &bytes[..moov - 8]).unwrap();
    let err = Mp4Video::open(&cut).err().unwrap();
    assert!(matches!(err, VideoError::NoIndex { .. }), "{err}");
    assert!(err.to_string().contains("stopped.mp4"), "{err}");
    let err = ferrite_video::Video::open(&cut).err().unwrap();
    assert!(err.to_string().contains("index (its moov box"), "{err}");
    // The whole file still reads.
    assert_eq!(Mp4Video::open(&clip).unwrap().count(), 10);
}
