//! Ferrite's video: video files read and decoded one frame at a time, so memory does not grow
//! with a video's length; faces followed from frame to frame ([`Tracker`]) and their emotions
//! smoothed over time ([`VideoAnalyzer`]). H.264 in MP4/MOV ([`Mp4Video`]) needs nothing
//! installed: the demuxer is the `mp4` crate and the decoder OpenH264, built from its bundled
//! source by the `openh264` crate. Other formats ([`FfmpegVideo`]: WebM, MKV, AVI, HEVC, GIF,
//! ...) are read through FFmpeg when the machine has it; [`Video::open`] picks. Each frame
//! carries its presentation time from the stream (variable frame rates are kept, not rebuilt
//! from a nominal rate), and the rotation metadata is applied.
//!
//! The decoders are the `decode` feature (on by default). Without it the crate is the part
//! that needs no C code and no files: tracking, smoothing, [`VideoAnalyzer`] and the live
//! sessions ([`LiveSession`]), which is what the browser's WebAssembly build uses.
//!
//! ```no_run
//! # #[cfg(feature = "decode")] {
//! let mut video = ferrite_video::Video::open("clip.mp4".as_ref()).unwrap();
//! println!("{:?}", video.info());
//! for frame in video.by_ref() {
//!     let frame = frame.unwrap();
//!     println!("frame {} at {:.3} s: {}x{}", frame.index, frame.time_s, frame.gray.width(), frame.gray.height());
//! }
//! # }
//! ```

mod analyze;
mod frame;
mod live;
mod row_json;
mod smooth;
mod track;

#[cfg(feature = "decode")]
mod annexb;
#[cfg(feature = "decode")]
mod error;
#[cfg(feature = "decode")]
mod ffmpeg;
#[cfg(feature = "decode")]
mod mp4_video;
#[cfg(feature = "decode")]
mod output;
#[cfg(feature = "decode")]
mod rotation;
#[cfg(feature = "decode")]
mod source;
#[cfg(feature = "decode")]
mod writer;

pub use analyze::{AnalysedFrame, FaceRow, TrackSummary, VideoAnalyzer};
pub use frame::VideoFrame;
pub use live::{LiveReport, LiveSession};
pub use smooth::Smoother;
pub use track::{FaceTrack, Tracker, TrackerConfig};

#[cfg(feature = "decode")]
pub use error::VideoError;
#[cfg(feature = "decode")]
pub use ffmpeg::{Ffmpeg, FfmpegVideo};
#[cfg(feature = "decode")]
pub use mp4_video::{Mp4Video, VideoInfo};
#[cfg(feature = "decode")]
pub use output::{csv_header, write_csv_error, write_csv_rows, FrameSampler, VideoReport};
#[cfg(feature = "decode")]
pub use rotation::Rotation;
#[cfg(feature = "decode")]
pub use source::Video;
#[cfg(feature = "decode")]
pub use writer::VideoWriter;
