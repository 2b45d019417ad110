//! Ferrite's video: MP4 and MOV files with H.264 video, read and decoded one frame at a time,
//! so memory does not grow with a video's length; faces followed from frame to frame
//! ([`Tracker`]) and their emotions smoothed over time ([`VideoAnalyzer`]). The decoder is OpenH264, built from its
//! bundled source by the `openh264` crate, and the demuxer is the `mp4` crate: nothing to
//! install. Each frame carries its presentation time from the stream (variable frame rates are
//! kept, not rebuilt from a nominal rate), and the track's rotation is applied.
//!
//! ```no_run
//! let mut video = ferrite_video::Mp4Video::open("clip.mp4".as_ref()).unwrap();
//! println!("{:?}", video.info());
//! for frame in video.by_ref() {
//!     let frame = frame.unwrap();
//!     println!("frame {} at {:.3} s: {}x{}", frame.index, frame.time_s, frame.gray.width(), frame.gray.height());
//! }
//! ```

mod analyze;
mod annexb;
mod error;
mod mp4_video;
mod output;
mod rotation;
mod track;
mod writer;

pub use analyze::{FaceRow, TrackSummary, VideoAnalyzer};
pub use error::VideoError;
pub use mp4_video::{Mp4Video, VideoFrame, VideoInfo};
pub use output::{csv_header, write_csv_error, write_csv_rows, FrameSampler, VideoReport};
pub use rotation::Rotation;
pub use track::{FaceTrack, Tracker, TrackerConfig};
pub use writer::VideoWriter;
