//! A video file, read by whichever decoder fits it: Ferrite's own for H.264 in MP4/MOV (nothing
//! to install), FFmpeg for everything else when the machine has it (and for H.264 with
//! B-frames, which OpenH264 does not decode); without FFmpeg, other formats are refused with a
//! message that names the format and how to get FFmpeg.

use std::path::Path;

use crate::ffmpeg::{Ffmpeg, FfmpegVideo};
use crate::{Mp4Video, VideoError, VideoFrame, VideoInfo};

/// An open video whose frames are read by iterating over it, in presentation order.
pub enum Video {
    /// H.264 in MP4/MOV, decoded by OpenH264 (boxed: its reader and decoder state is large).
    Mp4(Box<Mp4Video>),
    /// Any other format, decoded by FFmpeg.
    Ffmpeg(FfmpegVideo),
}

impl Video {
    /// Opens `path` with Ferrite's decoder, or through FFmpeg (if this machine has it) for
    /// formats that one does not read.
    pub fn open(path: &Path) -> Result<Video, VideoError> {
        Self::open_with(path, Ffmpeg::find().as_ref())
    }

    /// [`Video::open`] with FFmpeg given (`None`: as on a machine without it).
    pub fn open_with(path: &Path, ffmpeg: Option<&Ffmpeg>) -> Result<Video, VideoError> {
        let refused = match Mp4Video::open(path) {
            // OpenH264 does not decode B-frames: FFmpeg does, where it is.
            Ok(video) if video.has_b_frames() && ffmpeg.is_some() => {
                let ffmpeg = ffmpeg.expect("checked just above");
                return FfmpegVideo::open(ffmpeg, path).map(Video::Ffmpeg);
            }
            Ok(video) => return Ok(Video::Mp4(Box::new(video))),
            Err(e @ (VideoError::Codec { .. } | VideoError::Container { .. })) => e,
            Err(e) => return Err(e),
        };
        match ffmpeg {
            Some(ffmpeg) => FfmpegVideo::open(ffmpeg, path).map(Video::Ffmpeg),
            None => Err(match refused {
                VideoError::Codec { path, codec } => VideoError::NeedsFfmpeg {
                    path,
                    what: format!("video in {codec}"),
                },
                VideoError::Container { path, reason } => match sniff(&path) {
                    Some(format) => VideoError::NeedsFfmpeg {
                        path,
                        what: format.to_string(),
                    },
                    None => VideoError::Container { path, reason },
                },
                other => other,
            }),
        }
    }

    /// What the video is.
    pub fn info(&self) -> &VideoInfo {
        match self {
            Video::Mp4(video) => video.info(),
            Video::Ffmpeg(video) => video.info(),
        }
    }
}

impl Iterator for Video {
    type Item = Result<VideoFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Video::Mp4(video) => video.next(),
            Video::Ffmpeg(video) => video.next(),
        }
    }
}

/// The video format a file's first bytes announce, for one that is not MP4/MOV.
fn sniff(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 12];
    let n = std::io::Read::read(&mut std::fs::File::open(path).ok()?, &mut head).ok()?;
    let head = &head[..n];
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("a WebM/Matroska (MKV) video")
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        Some("an AVI video")
    } else if head.starts_with(b"GIF8") {
        Some("an animated GIF")
    } else if head.starts_with(b"FLV") {
        Some("an FLV video")
    } else if head.starts_with(&[0x30, 0x26, 0xB2, 0x75]) {
        Some("a WMV/ASF video")
    } else {
        None
    }
}
