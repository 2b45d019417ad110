//! Making MP4 files for tests: frames encoded with OpenH264 and muxed with the `mp4` crate.

use std::io::Cursor;
use std::path::Path;

use image::GrayImage;
use mp4::{AvcConfig, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};
use openh264::encoder::Encoder;
use openh264::formats::YUVBuffer;

/// The frame in I420 with neutral chroma.
fn yuv(frame: &GrayImage) -> YUVBuffer {
    let mut data = frame.as_raw().clone();
    data.resize(data.len() * 3 / 2, 128);
    YUVBuffer::from_vec(data, frame.width() as usize, frame.height() as usize)
}

/// The NAL units of an Annex B stream.
fn nal_units(stream: &[u8]) -> Vec<Vec<u8>> {
    openh264::nal_units(stream)
        .map(|nal| {
            let start = nal.iter().position(|&b| b == 1).map_or(0, |i| i + 1);
            nal[start..].to_vec()
        })
        .filter(|nal| !nal.is_empty())
        .collect()
}

/// An MP4 of `frames` shown at `times_ms` (one per frame, increasing; the last frame lasts
/// 40 ms), with the track matrix `rotation_matrix` patched in when given.
pub fn write_mp4(
    path: &Path,
    frames: &[GrayImage],
    times_ms: &[u64],
    rotation_matrix: Option<[i32; 4]>,
) {
    let mut encoder = Encoder::new().unwrap();
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut samples = Vec::new();
    for frame in frames {
        let stream = encoder.encode(&yuv(frame)).unwrap().to_vec();
        let mut sample = Vec::new();
        let mut sync = false;
        for nal in nal_units(&stream) {
            match nal[0] & 0x1f {
                7 => sps = nal,
                8 => pps = nal,
                kind => {
                    sync |= kind == 5;
                    sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    sample.extend_from_slice(&nal);
                }
            }
        }
        samples.push((sample, sync));
    }
    let config = Mp4Config {
        major_brand: str::parse("isom").unwrap(),
        minor_version: 512,
        compatible_brands: vec![str::parse("isom").unwrap(), str::parse("avc1").unwrap()],
        timescale: 1000,
    };
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).unwrap();
    writer
        .add_track(&TrackConfig {
            track_type: TrackType::Video,
            timescale: 1000,
            language: "und".into(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width: frames[0].width() as u16,
                height: frames[0].height() as u16,
                seq_param_set: sps,
                pic_param_set: pps,
            }),
        })
        .unwrap();
    for (i, (bytes, is_sync)) in samples.into_iter().enumerate() {
        let next = times_ms.get(i + 1).copied().unwrap_or(times_ms[i] + 40);
        writer
            .write_sample(
                1,
                &Mp4Sample {
                    start_time: times_ms[i],
                    duration: (next - times_ms[i]) as u32,
                    rendering_offset: 0,
                    is_sync,
                    bytes: bytes::Bytes::from(bytes),
                },
            )
            .unwrap();
    }
    writer.write_end().unwrap();
    let mut file = writer.into_writer().into_inner();
    if let Some(matrix) = rotation_matrix {
        patch_matrix(&mut file, matrix);
    }
    std::fs::write(path, file).unwrap();
}

/// Writes `a b c d` into the track header's matrix (version 0 `tkhd`: the matrix starts 40
/// bytes after the box type).
fn patch_matrix(file: &mut [u8], [a, b, c, d]: [i32; 4]) {
    let at = file.windows(4).position(|w| w == b"tkhd").unwrap() + 4 + 40;
    for (i, value) in [(0, a), (1, b), (3, c), (4, d)] {
        file[at + 4 * i..at + 4 * i + 4].copy_from_slice(&value.to_be_bytes());
    }
}
