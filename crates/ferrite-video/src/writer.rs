//! Writing MP4 files with H.264 video (OpenH264's encoder, the `mp4` crate's muxer), frame by
//! frame: annotated copies of videos, and test videos made in code.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use mp4::{
    AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType,
};
use openh264::encoder::Encoder;
use openh264::formats::{RgbSliceU8, YUVBuffer};

use crate::VideoError;

/// Time stamps are written in milliseconds.
const TIMESCALE: u32 = 1000;

/// An MP4 being written: frames go in one at a time with their times; [`VideoWriter::finish`]
/// writes the index. Frames are encoded and written as they come (only the last one waits for
/// its duration, the next frame's time).
pub struct VideoWriter {
    path: PathBuf,
    encoder: Encoder,
    width: u32,
    height: u32,
    mp4: Option<Mp4Writer<BufWriter<File>>>,
    /// The last frame's sample, held until the next frame's time gives its duration.
    held: Option<(Vec<u8>, bool, u64)>,
}

impl VideoWriter {
    /// Starts `path` for frames of `width` x `height` (even numbers: H.264 halves chroma).
    pub fn create(path: &Path, width: u32, height: u32) -> Result<VideoWriter, VideoError> {
        let fail = |reason: String| VideoError::Write {
            path: path.to_path_buf(),
            reason,
        };
        if width % 2 == 1 || height % 2 == 1 || width == 0 || height == 0 {
            return Err(fail(format!(
                "frames of {width}x{height}: sides must be even and non-zero"
            )));
        }
        let encoder = Encoder::new().map_err(|e| fail(e.to_string()))?;
        Ok(VideoWriter {
            path: path.to_path_buf(),
            encoder,
            width,
            height,
            mp4: None,
            held: None,
        })
    }

    fn fail(&self, reason: impl ToString) -> VideoError {
        VideoError::Write {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Adds a grayscale frame shown from `time_s` seconds on.
    pub fn push_gray(&mut self, frame: &GrayImage, time_s: f64) -> Result<(), VideoError> {
        self.check_size(frame.dimensions())?;
        let mut data = frame.as_raw().clone();
        data.resize(data.len() * 3 / 2, 128);
        let yuv = YUVBuffer::from_vec(data, self.width as usize, self.height as usize);
        self.push(&yuv, time_s)
    }

    /// Adds a colour frame shown from `time_s` seconds on.
    pub fn push_rgb(&mut self, frame: &RgbImage, time_s: f64) -> Result<(), VideoError> {
        self.check_size(frame.dimensions())?;
        let source = RgbSliceU8::new(frame.as_raw(), (self.width as usize, self.height as usize));
        self.push(&YUVBuffer::from_rgb8_source(source), time_s)
    }

    fn check_size(&self, (w, h): (u32, u32)) -> Result<(), VideoError> {
        if (w, h) == (self.width, self.height) {
            Ok(())
        } else {
            Err(self.fail(format!(
                "a frame of {w}x{h} in a video of {}x{}",
                self.width, self.height
            )))
        }
    }

    fn push(&mut self, yuv: &YUVBuffer, time_s: f64) -> Result<(), VideoError> {
        let stream = match self.encoder.encode(yuv) {
            Ok(bits) => bits.to_vec(),
            Err(e) => return Err(self.fail(e)),
        };
        let (mut sps, mut pps) = (None, None);
        let mut sample = Vec::new();
        let mut sync = false;
        for nal in openh264::nal_units(&stream) {
            let start = nal.iter().position(|&b| b == 1).map_or(0, |i| i + 1);
            let nal = &nal[start..];
            match nal.first().map(|b| b & 0x1f) {
                Some(7) => sps = Some(nal.to_vec()),
                Some(8) => pps = Some(nal.to_vec()),
                Some(kind) => {
                    sync |= kind == 5;
                    sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    sample.extend_from_slice(nal);
                }
                None => {}
            }
        }
        if self.mp4.is_none() {
            let (Some(sps), Some(pps)) = (sps, pps) else {
                return Err(self.fail("the encoder's first frame has no SPS/PPS"));
            };
            self.mp4 = Some(self.start(sps, pps)?);
        }
        let time = (time_s * f64::from(TIMESCALE)).round().max(0.0) as u64;
        if let Some(held) = self.held.take() {
            self.write(held, time)?;
        }
        self.held = Some((sample, sync, time));
        Ok(())
    }

    fn start(&self, sps: Vec<u8>, pps: Vec<u8>) -> Result<Mp4Writer<BufWriter<File>>, VideoError> {
        let file = File::create(&self.path).map_err(|e| self.fail(e))?;
        let brand = |b: &[u8; 4]| FourCC { value: *b };
        let config = Mp4Config {
            major_brand: brand(b"isom"),
            minor_version: 512,
            compatible_brands: vec![brand(b"isom"), brand(b"avc1")],
            timescale: TIMESCALE,
        };
        let mut mp4 =
            Mp4Writer::write_start(BufWriter::new(file), &config).map_err(|e| self.fail(e))?;
        mp4.add_track(&TrackConfig {
            track_type: TrackType::Video,
            timescale: TIMESCALE,
            language: "und".into(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width: self.width as u16,
                height: self.height as u16,
                seq_param_set: sps,
                pic_param_set: pps,
            }),
        })
        .map_err(|e| self.fail(e))?;
        Ok(mp4)
    }

    /// Writes a held sample that lasts until `until`.
    fn write(
        &mut self,
        (bytes, is_sync, start): (Vec<u8>, bool, u64),
        until: u64,
    ) -> Result<(), VideoError> {
        let sample = Mp4Sample {
            start_time: start,
            duration: until.saturating_sub(start).max(1) as u32,
            rendering_offset: 0,
            is_sync,
            bytes: bytes.into(),
        };
        let mp4 = self.mp4.as_mut().expect("started with the first frame");
        mp4.write_sample(1, &sample).map_err(|e| VideoError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Writes the last frame (lasting `last_frame_s`) and the file's index.
    pub fn finish(mut self, last_frame_s: f64) -> Result<(), VideoError> {
        if let Some(held) = self.held.take() {
            let until = held.2 + (last_frame_s * f64::from(TIMESCALE)).round().max(1.0) as u64;
            self.write(held, until)?;
        }
        match self.mp4.take() {
            Some(mut mp4) => mp4.write_end().map_err(|e| self.fail(e)),
            None => Err(self.fail("no frames were written")),
        }
    }
}
