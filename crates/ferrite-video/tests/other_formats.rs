//! Formats Ferrite does not decode by itself: refused with a message that names the format and
//! how to get FFmpeg on a machine without it, and read through FFmpeg on one that has it (a
//! WebM made here from an MP4 of drawn frames at uneven times: same frames, same times).

mod common;

use std::path::Path;
use std::process::Command;

use common::write_mp4;
use ferrite_video::{Ffmpeg, Video, VideoError};
use image::{GrayImage, Luma};

/// A gray frame with a bright square whose place depends on `k`: every frame differs.
fn drawn_frame(k: u32) -> GrayImage {
    GrayImage::from_fn(160, 120, |x, y| {
        let inside = (10 + 20 * k..40 + 20 * k).contains(&x) && (40..70).contains(&y);
        Luma([if inside { 230 } else { 60 + (y / 4) as u8 }])
    })
}

fn mean_difference(a: &GrayImage, b: &GrayImage) -> f64 {
    a.pixels()
        .zip(b.pixels())
        .map(|(p, q)| (f64::from(p[0]) - f64::from(q[0])).abs())
        .sum::<f64>()
        / f64::from(a.width() * a.height())
}

#[test]
fn other_formats_without_ffmpeg_are_refused_naming_the_format_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    for (name, head) in [
        (
            "clip.webm",
            &[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81][..],
        ),
        ("clip.avi", b"RIFF\x10\x00\x00\x00AVI LIST"),
        ("clip.gif", b"GIF89a\x10\x00\x10\x00"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, head).unwrap();
        let err = Video::open_with(&path, None).err().unwrap();
        let text = err.to_string();
        assert!(matches!(err, VideoError::NeedsFfmpeg { .. }), "{text}");
        assert!(text.contains(name) && text.contains("install it"), "{text}");
    }
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video").unwrap();
    let err = Video::open_with(&text, None).err().unwrap();
    assert!(matches!(err, VideoError::Container { .. }), "{err}");
}

fn ffmpeg_or_fail() -> Ffmpeg {
    Ffmpeg::find().expect("FFmpeg (ffmpeg and ffprobe) must be on the PATH for this test")
}

#[test]
#[ignore = "needs FFmpeg (Debian's ffmpeg; .ci/run installs it and runs ignored tests)"]
fn webm_is_read_through_ffmpeg_with_the_stream_times() {
    let ffmpeg = ffmpeg_or_fail();
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("clip.mp4");
    let times_ms = [0u64, 40, 120, 200, 500, 540];
    let frames: Vec<GrayImage> = (0..times_ms.len() as u32).map(drawn_frame).collect();
    write_mp4(&mp4, &frames, &times_ms, None);
    let webm = dir.path().join("clip.webm");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&mp4)
        .args(["-fps_mode", "passthrough", "-c:v", "libvpx", "-b:v", "1M"])
        .arg(&webm)
        .status()
        .unwrap();
    assert!(status.success());

    let video = Video::open_with(&webm, Some(&ffmpeg)).unwrap();
    assert!(matches!(video, Video::Ffmpeg(_)));
    let info = video.info().clone();
    assert_eq!((info.width, info.height), (160, 120));
    assert!(info.codec.contains("VP8"), "{}", info.codec);
    let decoded: Vec<_> = video.collect::<Result<_, _>>().unwrap();
    assert_eq!(decoded.len(), frames.len());
    for ((frame, original), &t) in decoded.iter().zip(&frames).zip(&times_ms) {
        assert!(
            (frame.time_s - t as f64 / 1000.0).abs() < 0.002,
            "{} vs {t} ms",
            frame.time_s
        );
        // Lossy twice over, but nearest to its own original of all the frames.
        let nearest = (0..frames.len())
            .min_by(|&a, &b| {
                mean_difference(&frame.gray, &frames[a])
                    .total_cmp(&mean_difference(&frame.gray, &frames[b]))
            })
            .unwrap();
        assert_eq!(nearest, frame.index);
        assert!(mean_difference(&frame.gray, original) < 10.0);
    }

    // H.264 with B-frames (x264's High profile): OpenH264 does not decode them, so the video
    // goes through FFmpeg where it is, and without it stops where they start, saying why.
    let high = dir.path().join("high.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
        ])
        .args([
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&high)
        .status()
        .unwrap();
    assert!(status.success());
    let video = Video::open_with(&high, Some(&ffmpeg)).unwrap();
    assert!(matches!(video, Video::Ffmpeg(_)));
    assert_eq!(video.collect::<Result<Vec<_>, _>>().unwrap().len(), 25);
    let video = Video::open_with(&high, None).unwrap();
    let outcome: Result<Vec<_>, _> = video.collect();
    let err = outcome
        .expect_err("OpenH264 stops at the first B-frame")
        .to_string();
    assert!(
        err.contains("high.mp4") && err.contains("B-frames"),
        "{err}"
    );

    // What FFmpeg cannot read either is one clear error naming the file.
    let text = dir.path().join("notes.webm");
    std::fs::write(&text, b"not a video at all").unwrap();
    let err = Video::open_with(&text, Some(&ffmpeg))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("notes.webm") && err.contains("FFmpeg cannot read it"),
        "{err}"
    );
}

/// An MP4 without FFmpeg still needs nothing but Ferrite.
#[test]
fn mp4_needs_no_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("clip.mp4");
    write_mp4(&mp4, &[drawn_frame(0), drawn_frame(1)], &[0, 40], None);
    let video = Video::open_with(Path::new(&mp4), None).unwrap();
    assert!(matches!(video, Video::Mp4(_)));
    assert_eq!(video.count(), 2);
}
