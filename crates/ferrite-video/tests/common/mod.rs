//! Making MP4 files for tests with [`ferrite_video::VideoWriter`], and patching a track's
//! rotation matrix into one.

use std::path::Path;

use ferrite_video::VideoWriter;
use image::GrayImage;

/// An MP4 of `frames` shown at `times_ms` (one per frame, increasing; the last frame lasts
/// 40 ms), with the track matrix `a b c d` patched in when given.
pub fn write_mp4(
    path: &Path,
    frames: &[GrayImage],
    times_ms: &[u64],
    rotation_matrix: Option<[i32; 4]>,
) {
    let (w, h) = frames[0].dimensions();
    let mut writer = VideoWriter::create(path, w, h).unwrap();
    for (frame, &t) in frames.iter().zip(times_ms) {
        writer.push_gray(frame, t as f64 / 1000.0).unwrap();
    }
    writer.finish(0.04).unwrap();
    if let Some(matrix) = rotation_matrix {
        let mut file = std::fs::read(path).unwrap();
        patch_matrix(&mut file, matrix);
        std::fs::write(path, file).unwrap();
    }
}

/// Writes `a b c d` into the track header's matrix (version 0 `tkhd`: the matrix starts 40
/// bytes after the box type).
fn patch_matrix(file: &mut [u8], [a, b, c, d]: [i32; 4]) {
    let at = file.windows(4).position(|w| w == b"tkhd").unwrap() + 4 + 40;
    for (i, value) in [(0, a), (1, b), (3, c), (4, d)] {
        file[at + 4 * i..at + 4 * i + 4].copy_from_slice(&value.to_be_bytes());
    }
}
