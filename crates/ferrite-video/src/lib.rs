//! Ferrite's video: video files read and decoded one frame at a time, so memory does not grow
//! with a video's length; faces followed from frame to frame ([`Tracker`]) and their emotions
//! smoothed over time ([`VideoAnalyzer`]). H.264 in MP4/MOV ([`Mp4Video`]) needs nothing
//! installed: the demuxer is the `mp4` crate and the decoder OpenH264, built from its bundled
//! source by the `openh264` crate. Other formats ([`FfmpegVideo`]: WebM, MKV, AVI, HEVC, GIF,
//! ...) are read through FFmpeg when the machine has it; [`Video::open`] picks. Each frame
//! carries its presentation time from the stream (variable frame rates are kept, not rebuilt
//! from a nominal rate), and the rotation metadata is applied.
//!
//! ```no_run
//! let mut video = ferrite_video::Video::open("clip.mp4".as_ref()).unwrap();
//! println!("{:?}", video.info());
//! for frame in video.by_ref() {
//!     let frame = frame.unwrap();
//!     println!("frame {} at {:.3} s: {}x{}", frame.index, frame.time_s, frame.gray.width(), frame.gray.height());
//! }
//! ```

mod analyze;
mod annexb;
mod error;
mod ffmpeg;
mod mp4_video;
mod output;
mod rotation;
mod smooth;
mod source;
mod track;
mod writer;

pub use analyze::{AnalysedFrame, FaceRow, TrackSummary, VideoAnalyzer};
pub use error::VideoError;
pub use ffmpeg::{Ffmpeg, FfmpegVideo};
pub use mp4_video::{Mp4Video, VideoFrame, VideoInfo};
pub use output::{csv_header, write_csv_error, write_csv_rows, FrameSampler, VideoReport};
pub use rotation::Rotation;
pub use smooth::Smoother;
pub use source::Video;
pub use track::{FaceTrack, Tracker, TrackerConfig};
pub use writer::VideoWriter;
