//! MP4/MOV files with H.264 video, decoded one frame at a time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use image::GrayImage;
use mp4::{Mp4Reader, Mp4Track, TrackType};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use crate::annexb::{avcc_to_annexb, push_nal};
use crate::{Rotation, VideoError, VideoFrame};

/// What a video is, from its container.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Frame width as shown (after rotation).
    pub width: u32,
    /// Frame height as shown (after rotation).
    pub height: u32,
    /// Frames in the video track.
    pub frames: u32,
    /// Length of the video track, in seconds.
    pub duration_s: f64,
    /// Frames per second on average (the stream's own time stamps are what frames carry).
    pub average_fps: f64,
    /// The rotation applied to every frame.
    pub rotation: Rotation,
    /// The codec, in words.
    pub codec: String,
}

/// An open MP4/MOV video whose frames are read by iterating over it, in presentation order.
/// Only the current sample and the decoder's reference frames are held in memory.
pub struct Mp4Video {
    path: PathBuf,
    reader: Mp4Reader<BufReader<File>>,
    track_id: u32,
    timescale: f64,
    length_size: usize,
    /// SPS and PPS in Annex B, sent before the first sample.
    parameter_sets: Vec<u8>,
    decoder: Decoder,
    info: VideoInfo,
    /// The next sample to read (1-based).
    next_sample: u32,
    /// The stream reorders frames (B-frames), which OpenH264 does not decode.
    b_frames: bool,
    /// Presentation times of samples sent to the decoder and not yet out of it: a decoder
    /// emits frames in presentation order, so each frame takes the earliest.
    pending_times: BinaryHeap<Reverse<u64>>,
    emitted: usize,
    /// Frames the decoder still held after the last sample, once it was flushed.
    flushed: Option<VecDeque<VideoFrame>>,
    /// The Annex B buffer, reused from sample to sample.
    packet: Vec<u8>,
}

impl Mp4Video {
    /// Opens `path` and finds its video track; fails, naming the file, on anything but an
    /// MP4/MOV container with H.264 video.
    pub fn open(path: &Path) -> Result<Mp4Video, VideoError> {
        let io = |source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut file = BufReader::new(file);
        if top_level_boxes(&mut file, size).is_some_and(|b| b.mdat && !b.moov) {
            return Err(VideoError::NoIndex {
                path: path.to_path_buf(),
            });
        }
        file.rewind().map_err(io)?;
        let reader = Mp4Reader::read_header(file, size).map_err(|e| VideoError::Container {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let track = video_track(&reader, path)?;
        let avc1 = track
            .trak
            .mdia
            .minf
            .stbl
            .stsd
            .avc1
            .as_ref()
            .ok_or_else(|| VideoError::Codec {
                path: path.to_path_buf(),
                codec: codec_name(track),
            })?;
        let mut parameter_sets = Vec::new();
        for nal in avc1
            .avcc
            .sequence_parameter_sets
            .iter()
            .chain(&avc1.avcc.picture_parameter_sets)
        {
            push_nal(&mut parameter_sets, &nal.bytes);
        }
        let tkhd = &track.trak.tkhd;
        let m = &tkhd.matrix;
        let rotation = Rotation::from_matrix(m.a, m.b, m.c, m.d);
        let (w, h) = (u32::from(track.width()), u32::from(track.height()));
        let (width, height) = match rotation {
            Rotation::R90 | Rotation::R270 => (h, w),
            _ => (w, h),
        };
        let frames = track.sample_count();
        // Composition offsets (a `ctts` box) mean frames are shown in another order than they
        // are decoded: B-frames.
        let b_frames = track.trak.mdia.minf.stbl.ctts.is_some();
        let duration_s = track.duration().as_secs_f64();
        let info = VideoInfo {
            width,
            height,
            frames,
            duration_s,
            average_fps: if duration_s > 0.0 {
                frames as f64 / duration_s
            } else {
                0.0
            },
            rotation,
            codec: "H.264 (AVC)".into(),
        };
        let decoder = Decoder::new().map_err(|e| VideoError::Decode {
            path: path.to_path_buf(),
            sample: 0,
            reason: e.to_string(),
        })?;
        Ok(Mp4Video {
            path: path.to_path_buf(),
            track_id: track.track_id(),
            timescale: f64::from(track.timescale().max(1)),
            length_size: usize::from(avc1.avcc.length_size_minus_one & 3) + 1,
            parameter_sets,
            reader,
            decoder,
            info,
            next_sample: 1,
            b_frames,
            pending_times: BinaryHeap::new(),
            emitted: 0,
            flushed: None,
            packet: Vec::new(),
        })
    }

    /// What the video is.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Whether the stream has B-frames (frames decoded in another order than shown), which
    /// OpenH264 does not decode: most encoders' Main and High profiles use them.
    pub fn has_b_frames(&self) -> bool {
        self.b_frames
    }

    fn decode_error(&self, sample: u32, reason: impl ToString) -> VideoError {
        let mut reason = reason.to_string();
        if self.b_frames {
            reason.push_str(
                "; the stream has B-frames, which OpenH264 does not decode: with FFmpeg \
                 installed Ferrite reads it through FFmpeg",
            );
        }
        VideoError::Decode {
            path: self.path.clone(),
            sample,
            reason,
        }
    }

    /// A frame from the decoder's luma plane, stamped with the earliest pending time.
    fn frame(&mut self, y: &[u8], stride: usize, (w, h): (usize, usize)) -> VideoFrame {
        let mut gray = GrayImage::new(w as u32, h as u32);
        for (row, out) in y.chunks(stride).zip(gray.chunks_exact_mut(w)) {
            out.copy_from_slice(&row[..w]);
        }
        let time = self.pending_times.pop().map_or(0, |Reverse(t)| t);
        let frame = VideoFrame {
            index: self.emitted,
            time_s: time as f64 / self.timescale,
            gray: self.info.rotation.apply(gray),
        };
        self.emitted += 1;
        frame
    }

    /// Sends the next sample to the decoder; a frame when one comes out.
    fn decode_next_sample(&mut self) -> Result<Option<VideoFrame>, VideoError> {
        let id = self.next_sample;
        self.next_sample += 1;
        let sample = self
            .reader
            .read_sample(self.track_id, id)
            .map_err(|e| self.decode_error(id, e))?
            .ok_or_else(|| self.decode_error(id, "the sample is missing"))?;
        self.packet.clear();
        if id == 1 {
            self.packet.extend_from_slice(&self.parameter_sets);
        }
        avcc_to_annexb(&sample.bytes, self.length_size, &mut self.packet)
            .map_err(|e| self.decode_error(id, e))?;
        let time = sample.start_time as i64 + i64::from(sample.rendering_offset);
        self.pending_times.push(Reverse(time.max(0) as u64));
        let decoded = match self.decoder.decode(&self.packet) {
            Ok(Some(yuv)) => Some((yuv.y().to_vec(), yuv.strides().0, yuv.dimensions())),
            Ok(None) => None,
            Err(e) => return Err(self.decode_error(id, e)),
        };
        Ok(decoded.map(|(y, stride, dims)| self.frame(&y, stride, dims)))
    }

    /// The frames the decoder still holds after the last sample.
    fn flush(&mut self) -> Result<VecDeque<VideoFrame>, VideoError> {
        let last = self.next_sample.saturating_sub(1);
        let planes: Vec<_> = self
            .decoder
            .flush_remaining()
            .map_err(|e| VideoError::Decode {
                path: self.path.clone(),
                sample: last,
                reason: e.to_string(),
            })?
            .iter()
            .map(|yuv| (yuv.y().to_vec(), yuv.strides().0, yuv.dimensions()))
            .collect();
        Ok(planes
            .into_iter()
            .map(|(y, stride, dims)| self.frame(&y, stride, dims))
            .collect())
    }
}

impl Iterator for Mp4Video {
    type Item = Result<VideoFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(queue) = &mut self.flushed {
                return queue.pop_front().map(Ok);
            }
            if self.next_sample > self.info.frames {
                match self.flush() {
                    Ok(frames) => self.flushed = Some(frames),
                    Err(e) => {
                        self.flushed = Some(VecDeque::new());
                        return Some(Err(e));
                    }
                }
                continue;
            }
            match self.decode_next_sample() {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => continue,
                Err(e) => {
                    // A broken sample ends the video: later ones depend on it.
                    self.flushed = Some(VecDeque::new());
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The file's first video track.
fn video_track<'a>(
    reader: &'a Mp4Reader<BufReader<File>>,
    path: &Path,
) -> Result<&'a Mp4Track, VideoError> {
    let mut tracks: Vec<&Mp4Track> = reader
        .tracks()
        .values()
        .filter(|t| matches!(t.track_type(), Ok(TrackType::Video)))
        .collect();
    tracks.sort_by_key(|t| t.track_id());
    tracks.first().copied().ok_or_else(|| VideoError::NoVideo {
        path: path.to_path_buf(),
    })
}

/// The codec of a video track that is not H.264, in words.
fn codec_name(track: &Mp4Track) -> String {
    let stsd = &track.trak.mdia.minf.stbl.stsd;
    if stsd.hev1.is_some() {
        "H.265 (HEVC)".into()
    } else if stsd.vp09.is_some() {
        "VP9".into()
    } else {
        "in a codec other than H.264".into()
    }
}

/// Which of the boxes that matter an ISO media file holds at its top level.
#[derive(Debug, Default, PartialEq)]
struct TopLevel {
    moov: bool,
    mdat: bool,
}

/// Walks the top-level boxes' headers (size and type; the contents are skipped), up to the
/// end of the file or a box that runs past it (a truncated one). `None`: not an ISO media
/// file (its first box is not `ftyp`).
fn top_level_boxes(file: &mut (impl Read + Seek), size: u64) -> Option<TopLevel> {
    let mut found = TopLevel::default();
    let mut at = 0u64;
    while at + 8 <= size {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut head = [0u8; 16];
        file.read_exact(&mut head[..8]).ok()?;
        let kind: [u8; 4] = head[4..8].try_into().ok()?;
        if at == 0 && &kind != b"ftyp" {
            return None;
        }
        let length = match u32::from_be_bytes(head[..4].try_into().ok()?) {
            0 => size - at,
            1 => {
                file.read_exact(&mut head[8..16]).ok()?;
                u64::from_be_bytes(head[8..16].try_into().ok()?)
            }
            n => u64::from(n),
        };
        match &kind {
            b"moov" => found.moov = true,
            b"mdat" => found.mdat = true,
            _ => {}
        }
        if length < 8 {
            break;
        }
        at = at.saturating_add(length);
    }
    Some(found)
}
