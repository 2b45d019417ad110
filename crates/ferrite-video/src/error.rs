use std::path::PathBuf;

/// Why a video could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The video file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Not an MP4/MOV container, or a damaged one.
    #[error("{path}: not a readable MP4/MOV file ({reason})")]
    Container {
        /// The video file.
        path: PathBuf,
        /// What the demuxer said.
        reason: String,
    },
    /// An MP4/MOV whose index (the `moov` box, which most cameras and recorders write last)
    /// never was written: the recording or download stopped part way.
    #[error(
        "{path}: the video's index (its moov box, written when a recording ends) is missing: \
         the recording or download stopped before it finished, so no frame can be found in \
         it. Record or download it again, or rebuild the index from a complete video made \
         the same way (e.g. with untrunc)"
    )]
    NoIndex {
        /// The video file.
        path: PathBuf,
    },
    /// The file has no video track.
    #[error("{path}: has no video track")]
    NoVideo {
        /// The video file.
        path: PathBuf,
    },
    /// The video is in a codec this build does not decode.
    #[error(
        "{path}: the video is {codec}; Ferrite decodes H.264 (AVC) in MP4/MOV by itself. \
         Convert it with FFmpeg: ffmpeg -i INPUT -c:v libx264 -an OUTPUT.mp4"
    )]
    Codec {
        /// The video file.
        path: PathBuf,
        /// The codec found.
        codec: String,
    },
    /// A format only FFmpeg reads, on a machine without FFmpeg.
    #[error(
        "{path}: {what}; Ferrite decodes H.264 (AVC) in MP4/MOV by itself and reads other \
         formats through FFmpeg, which this machine does not have: install it (apt-get install \
         ffmpeg, brew install ffmpeg, winget install ffmpeg) or point FERRITE_FFMPEG and \
         FERRITE_FFPROBE at its programs, or convert the file: ffmpeg -i INPUT -c:v libx264 -an \
         OUTPUT.mp4"
    )]
    NeedsFfmpeg {
        /// The video file.
        path: PathBuf,
        /// The format found, in words.
        what: String,
    },
    /// A video could not be written.
    #[error("{path}: cannot write the video ({reason})")]
    Write {
        /// The video file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The H.264 stream could not be decoded.
    #[error("{path}: frame {sample}: cannot decode the H.264 data ({reason})")]
    Decode {
        /// The video file.
        path: PathBuf,
        /// The sample (1-based) at fault.
        sample: u32,
        /// What the decoder said.
        reason: String,
    },
}
