//! Videos in other containers and codecs (WebM/VP8/VP9, MKV, AVI, HEVC, animated GIF, ...),
//! read through FFmpeg when the machine has it: `ffprobe` says what the video is, and `ffmpeg`
//! decodes its first video stream to gray frames on a pipe, one frame at a time (memory does not
//! grow with the video's length). Each frame's time comes from the stream (FFmpeg's `showinfo`
//! filter prints it), and FFmpeg applies the rotation metadata itself.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Receiver;
use image::GrayImage;

use crate::{Rotation, VideoError, VideoFrame, VideoInfo};

/// Lines of FFmpeg's own messages kept to explain a failure.
const KEPT_MESSAGES: usize = 4;

/// FFmpeg's two programs: `$FERRITE_FFMPEG` and `$FERRITE_FFPROBE` when set, else `ffmpeg` and
/// `ffprobe` on the PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

impl Ffmpeg {
    /// FFmpeg, if both programs run on this machine.
    pub fn find() -> Option<Ffmpeg> {
        let program = |var: &str, name: &str| {
            std::env::var_os(var).map_or_else(|| PathBuf::from(name), PathBuf::from)
        };
        let ffmpeg = Ffmpeg {
            ffmpeg: program("FERRITE_FFMPEG", "ffmpeg"),
            ffprobe: program("FERRITE_FFPROBE", "ffprobe"),
        };
        let runs = |p: &Path| {
            Command::new(p)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        (runs(&ffmpeg.ffmpeg) && runs(&ffmpeg.ffprobe)).then_some(ffmpeg)
    }
}

/// A video decoded by FFmpeg, read by iterating over it.
pub struct FfmpegVideo {
    path: PathBuf,
    child: Child,
    frames: BufReader<ChildStdout>,
    times: Receiver<f64>,
    messages: Arc<Mutex<Vec<String>>>,
    info: VideoInfo,
    emitted: usize,
    done: bool,
}

impl FfmpegVideo {
    /// Asks `ffprobe` what `path` is and starts `ffmpeg` decoding its first video stream.
    pub fn open(ffmpeg: &Ffmpeg, path: &Path) -> Result<FfmpegVideo, VideoError> {
        let info = probe(ffmpeg, path)?;
        let mut child = Command::new(&ffmpeg.ffmpeg)
            .args(["-hide_banner", "-nostdin", "-loglevel", "info", "-i"])
            .arg(path)
            .args([
                "-map",
                "0:v:0",
                "-vf",
                "showinfo",
                "-fps_mode",
                "passthrough",
            ])
            .args(["-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| VideoError::Io {
                path: ffmpeg.ffmpeg.clone(),
                source: e,
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, times) = crossbeam_channel::unbounded();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        std::thread::Builder::new()
            .name("ferrite-ffmpeg-log".into())
            .spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(time) = showinfo_time(&line) {
                        if sender.send(time).is_err() {
                            return;
                        }
                    } else if !line.contains("Parsed_showinfo") {
                        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                        kept.push(line.trim().to_string());
                        if kept.len() > KEPT_MESSAGES {
                            kept.remove(0);
                        }
                    }
                }
            })
            .expect("the FFmpeg log thread starts");
        Ok(FfmpegVideo {
            path: path.to_path_buf(),
            child,
            frames: BufReader::with_capacity(1 << 20, stdout),
            times,
            messages,
            info,
            emitted: 0,
            done: false,
        })
    }

    /// What the video is.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The error that ended decoding: where it stopped, and FFmpeg's last words.
    fn failure(&self, status: String) -> VideoError {
        let said = self
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("; ");
        VideoError::Decode {
            path: self.path.clone(),
            sample: self.emitted as u32 + 1,
            reason: format!("FFmpeg stopped ({status}): {said}"),
        }
    }
}

impl Iterator for FfmpegVideo {
    type Item = Result<VideoFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (w, h) = (self.info.width, self.info.height);
        let mut gray = GrayImage::new(w, h);
        match self.frames.read_exact(&mut gray) {
            Ok(()) => {
                let time_s = self
                    .times
                    .recv()
                    .unwrap_or_else(|_| self.emitted as f64 / self.info.average_fps.max(1.0));
                let frame = VideoFrame {
                    index: self.emitted,
                    time_s,
                    gray,
                };
                self.emitted += 1;
                Some(Ok(frame))
            }
            Err(_) => {
                self.done = true;
                match self.child.wait() {
                    Ok(status) if status.success() => None,
                    Ok(status) => Some(Err(self.failure(status.to_string()))),
                    Err(e) => Some(Err(self.failure(e.to_string()))),
                }
            }
        }
    }
}

impl Drop for FfmpegVideo {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The `pts_time` of a `showinfo` frame line.
fn showinfo_time(line: &str) -> Option<f64> {
    if !line.contains("Parsed_showinfo") || !line.contains(" n:") {
        return None;
    }
    let rest = &line[line.find("pts_time:")? + "pts_time:".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// What `ffprobe` says of the first video stream: displayed size, frames, duration, rate,
/// rotation and codec.
fn probe(ffmpeg: &Ffmpeg, path: &Path) -> Result<VideoInfo, VideoError> {
    let container = |reason: String| VideoError::Container {
        path: path.to_path_buf(),
        reason,
    };
    let out = Command::new(&ffmpeg.ffprobe)
        .args(["-v", "error", "-select_streams", "v:0", "-of", "json"])
        .args(["-show_entries", "stream=codec_long_name,width,height,nb_frames,duration,avg_frame_rate:stream_side_data=rotation:format=duration"])
        .arg(path)
        .output()
        .map_err(|e| VideoError::Io {
            path: ffmpeg.ffprobe.clone(),
            source: e,
        })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', "; ");
        return Err(container(format!("FFmpeg cannot read it either: {said}")));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| container(format!("ffprobe's answer: {e}")))?;
    let stream = json["streams"].get(0).ok_or_else(|| VideoError::NoVideo {
        path: path.to_path_buf(),
    })?;
    let number = |v: &serde_json::Value| -> Option<f64> {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let (w, h) = match (number(&stream["width"]), number(&stream["height"])) {
        (Some(w), Some(h)) if w > 0.0 && h > 0.0 => (w as u32, h as u32),
        _ => return Err(container("the video stream has no frame size".into())),
    };
    let rotation = stream["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| number(&d["rotation"]))
        .map_or(Rotation::R0, |degrees| {
            Rotation::from_degrees((-degrees).rem_euclid(360.0) as u32)
        });
    let (width, height) = match rotation {
        Rotation::R90 | Rotation::R270 => (h, w),
        _ => (w, h),
    };
    let rate = stream["avg_frame_rate"]
        .as_str()
        .and_then(|r| {
            let (n, d) = r.split_once('/')?;
            let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
            (d > 0.0).then_some(n / d)
        })
        .unwrap_or(0.0);
    let duration_s = number(&stream["duration"])
        .or_else(|| number(&json["format"]["duration"]))
        .unwrap_or(0.0);
    // Containers such as WebM do not count their frames: then it is estimated from the rate.
    let frames = number(&stream["nb_frames"]).unwrap_or((duration_s * rate).round()) as u32;
    Ok(VideoInfo {
        width,
        height,
        frames,
        duration_s,
        average_fps: rate,
        rotation,
        codec: format!(
            "{} (through FFmpeg)",
            stream["codec_long_name"]
                .as_str()
                .unwrap_or("unknown codec")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_come_from_showinfo_lines() {
        let line =
            "[Parsed_showinfo_0 @ 0x55fa] n:   3 pts:    120 pts_time:0.12    pos: 483 fmt:gray";
        assert_eq!(showinfo_time(line), Some(0.12));
        let config = "[Parsed_showinfo_0 @ 0x55fa] config in time_base: 1/1000, frame_rate: 10/1";
        assert_eq!(showinfo_time(config), None);
        assert_eq!(
            showinfo_time("Input #0, matroska,webm, from 'a.webm':"),
            None
        );
    }
}
