//! Videos sent to `POST /api/video`, analysed one at a time on a thread of their own (a video
//! is thousands of frames: it must not hold up the photo requests of the inference pool), with
//! a bounded queue. Each upload is written to a temporary file that is removed when its
//! analysis ends; its result (the per-video report, the per-track summaries and every face
//! row) stays in memory for the client to fetch, and only the last few results are kept.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use rand::Rng;
use serde::Serialize;

use ferrite_infer::PredictOptions;
use ferrite_video::{
    AnalysedFrame, FaceRow, FrameSampler, TrackerConfig, Video, VideoAnalyzer, VideoReport,
};

use crate::models::{ModelChoice, ModelSet};

/// Sizes and limits of video analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoConfig {
    /// Largest upload, in bytes.
    pub max_bytes: usize,
    /// Videos that may wait while one is analysed; one more is answered 503.
    pub queue: usize,
    /// Finished results kept in memory for their clients (the oldest goes first).
    pub kept: usize,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            max_bytes: 256 << 20,
            queue: 2,
            kept: 8,
        }
    }
}

/// How a video is to be analysed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSettings {
    /// Detector, framing and TTA.
    pub options: PredictOptions,
    /// Tracking and smoothing.
    pub tracking: TrackerConfig,
    /// Frames a second to analyse (`None`: every frame).
    pub fps: Option<f64>,
    /// The model that classifies the faces.
    pub model: ModelChoice,
}

/// A finished analysis.
#[derive(Debug, Serialize)]
pub struct VideoResult {
    /// The video, its frames analysed and its tracks (and why it stopped early, if it did).
    pub report: VideoReport,
    /// Every face in every analysed frame, in order.
    pub rows: Vec<FaceRow>,
    /// Seconds the analysis took.
    pub seconds: f64,
}

/// Where a video's analysis is.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum JobStatus {
    /// Waiting for the video thread.
    Queued,
    /// Being analysed: frames decoded so far, of the container's count.
    Running {
        /// Frames decoded.
        frames_done: u64,
        /// Frames in the video track.
        frames_total: u64,
    },
    /// Finished (a video that could not be read to its end has `report.error`).
    Done {
        /// The result.
        result: Arc<VideoResult>,
    },
}

struct Queued {
    id: String,
    name: String,
    bytes: Bytes,
    settings: VideoSettings,
}

#[derive(Default)]
struct Table {
    jobs: HashMap<String, JobStatus>,
    /// Finished jobs, oldest first.
    finished: VecDeque<String>,
}

/// The video thread and what it has done.
pub struct VideoJobs {
    queue: Sender<Queued>,
    table: Arc<Mutex<Table>>,
    config: VideoConfig,
}

/// Why a video was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoRefusal {
    /// Every queue place is taken.
    Busy,
}

impl VideoJobs {
    /// Starts the video thread.
    pub fn start(models: Arc<ModelSet>, config: VideoConfig) -> VideoJobs {
        let (queue, receiver) = crossbeam_channel::bounded::<Queued>(config.queue);
        let table = Arc::new(Mutex::new(Table::default()));
        let worker_table = table.clone();
        std::thread::Builder::new()
            .name("ferrite-video".into())
            .spawn(move || video_loop(&models, &receiver, &worker_table, config.kept))
            .expect("the video thread starts");
        VideoJobs {
            queue,
            table,
            config,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &VideoConfig {
        &self.config
    }

    /// Queues the video `bytes` (named `name`); returns the job's id.
    pub fn submit(
        &self,
        name: String,
        bytes: Bytes,
        settings: VideoSettings,
    ) -> Result<String, VideoRefusal> {
        let id = format!("{:032x}", rand::thread_rng().gen::<u128>());
        self.lock().jobs.insert(id.clone(), JobStatus::Queued);
        let job = Queued {
            id: id.clone(),
            name,
            bytes,
            settings,
        };
        match self.queue.try_send(job) {
            Ok(()) => Ok(id),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.lock().jobs.remove(&id);
                Err(VideoRefusal::Busy)
            }
        }
    }

    /// Where job `id` is, if it exists (or is still kept).
    pub fn status(&self, id: &str) -> Option<JobStatus> {
        self.lock().jobs.get(id).cloned()
    }

    /// Forgets a finished job's result; false when there is no such finished job.
    pub fn remove(&self, id: &str) -> bool {
        let mut table = self.lock();
        if !matches!(table.jobs.get(id), Some(JobStatus::Done { .. })) {
            return false;
        }
        table.jobs.remove(id);
        table.finished.retain(|f| f != id);
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn video_loop(models: &ModelSet, queue: &Receiver<Queued>, table: &Mutex<Table>, kept: usize) {
    let set = |id: &str, status: JobStatus| {
        let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
        if let JobStatus::Done { .. } = status {
            table.finished.push_back(id.to_string());
            while table.finished.len() > kept {
                if let Some(old) = table.finished.pop_front() {
                    table.jobs.remove(&old);
                }
            }
        }
        table.jobs.insert(id.to_string(), status);
    };
    for job in queue.iter() {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyse(models, &job, |done, total| {
                set(
                    &job.id,
                    JobStatus::Running {
                        frames_done: done,
                        frames_total: total,
                    },
                )
            })
        }));
        let (report, rows) = outcome.unwrap_or_else(|_| {
            let mut report = VideoReport::new(job.name.clone());
            report.error = Some("internal error while analysing this video".into());
            (report, Vec::new())
        });
        let result = VideoResult {
            report,
            rows,
            seconds: started.elapsed().as_secs_f64(),
        };
        set(
            &job.id,
            JobStatus::Done {
                result: Arc::new(result),
            },
        );
    }
}

/// Writes the upload to a temporary file (removed on return), then decodes and analyses it,
/// reporting progress every few frames.
fn analyse(
    models: &ModelSet,
    job: &Queued,
    mut progress: impl FnMut(u64, u64),
) -> (VideoReport, Vec<FaceRow>) {
    let mut report = VideoReport::new(job.name.clone());
    let mut rows = Vec::new();
    let fail = |mut report: VideoReport, error: String| {
        report.error = Some(error);
        report
    };
    let file = match temporary_copy(&job.bytes) {
        Ok(file) => file,
        Err(e) => return (fail(report, format!("cannot buffer the upload: {e}")), rows),
    };
    let mut video = match Video::open(file.path()) {
        // The error names the temporary file: say the upload's name instead.
        Ok(video) => video,
        Err(e) => return (fail(report, upload_error(&e, file.path(), &job.name)), rows),
    };
    let info = video.info().clone();
    report.opened(&info);
    let settings = &job.settings;
    let model = models.get(settings.model);
    let mut analyzer = match VideoAnalyzer::new(model, settings.options, settings.tracking) {
        Ok(analyzer) => analyzer,
        Err(e) => return (fail(report, e), rows),
    };
    let mut sampler = match FrameSampler::new(settings.fps) {
        Ok(sampler) => sampler,
        Err(e) => return (fail(report, e), rows),
    };
    let total = u64::from(info.frames);
    let mut done = 0u64;
    progress(0, total);
    for frame in video.by_ref() {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                report.error = Some(upload_error(&e, file.path(), &job.name));
                break;
            }
        };
        done += 1;
        if sampler.take(frame.time_s) {
            let analysed = analyzer.push(frame);
            keep(&mut report, &mut rows, analysed);
        }
        if done.is_multiple_of(10) {
            progress(done, total);
        }
    }
    keep(&mut report, &mut rows, analyzer.finish());
    report.tracks = analyzer.summary();
    (report, rows)
}

/// Counts the analysed frames and keeps their rows.
fn keep(report: &mut VideoReport, rows: &mut Vec<FaceRow>, analysed: Vec<AnalysedFrame>) {
    report.frames_analysed += analysed.len();
    rows.extend(analysed.into_iter().flat_map(|f| f.rows));
}

fn temporary_copy(bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("ferrite-upload-")
        .suffix(".mp4")
        .tempfile()?;
    file.write_all(bytes)?;
    file.flush()?;
    Ok(file)
}

/// A video error with the temporary file's path replaced by the upload's name.
fn upload_error(e: &ferrite_video::VideoError, temp: &std::path::Path, name: &str) -> String {
    e.to_string().replace(&temp.display().to_string(), name)
}
