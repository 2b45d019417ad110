//! `ferrite video`: emotions over time in video files: every face followed with a track id,
//! its emotions per analysed frame (raw and smoothed), and a summary per track.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::NUM_CLASSES;
use ferrite_eval::{draw_boxes, plot_timeline, LabelledBox, TrackSeries};
use ferrite_infer::{DetectorConfig, EmotionModel, PredictOptions, Predictor};
use ferrite_video::{
    csv_header, write_csv_error, write_csv_rows, AnalysedFrame, FaceRow, FrameSampler,
    TrackerConfig, Video, VideoAnalyzer, VideoFrame, VideoReport, VideoWriter,
};

use super::model_arg::ModelArg;
use super::tta_arg::TtaArg;

/// Output format of `ferrite video`.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum Format {
    /// A summary per video and per track.
    Table,
    /// One row per face per analysed frame.
    Csv,
    /// A JSON array, one object per video: what it is and a summary per track.
    Json,
}

/// Arguments of `ferrite video`.
#[derive(Args)]
pub struct VideoArgs {
    /// Video files: MP4 or MOV with H.264 (read by Ferrite itself), or any format FFmpeg reads
    /// (WebM, MKV, AVI, HEVC, GIF, ...) when the machine has FFmpeg.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
    /// Analyse this many frames per second, by the stream's time stamps (default: every frame).
    #[arg(long)]
    fps: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Run the face detector on every this many analysed frames (and whenever a followed face
    /// changes too much); boxes are carried in between.
    #[arg(long, default_value_t = TrackerConfig::default().detect_every)]
    detect_every: usize,
    /// Weight of the newest frame in each track's moving average of probabilities (1: none).
    #[arg(long, default_value_t = TrackerConfig::default().smoothing)]
    smoothing: f32,
    #[command(flatten)]
    tta: TtaArg,
    /// Smallest face to look for, in pixels.
    #[arg(long, default_value_t = DetectorConfig::default().min_face)]
    min_face: u32,
    /// Write each video's timeline into this folder (NAME-timeline.png: every track's smoothed
    /// probabilities over time).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --out, also an annotated copy of each video (NAME.mp4: the analysed frames in gray,
    /// each face's box, track id and smoothed emotion in colour).
    #[arg(long, requires = "out")]
    annotate: bool,
}

/// Seconds between the timeline points kept per track (at most 5 a second, so an hour-long
/// video keeps 18,000 points a track, not every frame).
const TIMELINE_STEP_S: f64 = 0.2;

/// Each track's smoothed probabilities over time, thinned to one point per
/// [`TIMELINE_STEP_S`].
#[derive(Default)]
struct Timeline {
    tracks: BTreeMap<usize, Vec<(f64, [f32; NUM_CLASSES])>>,
}

impl Timeline {
    fn add(&mut self, rows: &[FaceRow]) {
        for row in rows {
            let points = self.tracks.entry(row.track).or_default();
            if points
                .last()
                .is_none_or(|(t, _)| row.time_s >= t + TIMELINE_STEP_S)
            {
                points.push((row.time_s, row.smoothed));
            }
        }
    }

    fn save(self, dir: &Path, input: &Path, duration_s: f64) -> anyhow::Result<()> {
        let stem = input
            .file_stem()
            .map_or("video".into(), |s| s.to_string_lossy());
        let path = dir.join(format!("{stem}-timeline.png"));
        let series: Vec<TrackSeries> = self.tracks.into_iter().collect();
        plot_timeline(
            &series,
            &format!("{stem}: emotions over time"),
            duration_s,
            &path,
        )
        .map_err(anyhow::Error::msg)?;
        eprintln!("timeline written to {}", path.display());
        Ok(())
    }
}

/// Runs `ferrite video`.
pub fn run(args: VideoArgs) -> anyhow::Result<ExitCode> {
    FrameSampler::new(args.fps).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let tracking = TrackerConfig {
        detect_every: args.detect_every,
        smoothing: args.smoothing,
        ..TrackerConfig::default()
    };
    tracking.validate().map_err(anyhow::Error::msg)?;
    let options = PredictOptions {
        detector: DetectorConfig {
            min_face: args.min_face,
            ..DetectorConfig::default()
        },
        tta: args.tta.get(),
        ..PredictOptions::default()
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create the folder {}: {e}", dir.display()))?;
    }
    let model = EmotionModel::from_source(&args.model.resolve()?)?;
    let predictor = Predictor::new(model, options).map_err(anyhow::Error::msg)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == Format::Csv {
        writeln!(out, "{}", csv_header())?;
    }
    let mut reports = Vec::new();
    let mut failures = 0;
    for input in &args.inputs {
        let report = analyse(&predictor, options, tracking, input, &args, &mut out)?;
        failures += usize::from(report.error.is_some());
        if args.format == Format::Table {
            print_summary(&report, &mut out)?;
        }
        reports.push(report);
    }
    if args.format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
    }
    eprintln!(
        "{} video(s), {} track(s), {failures} failed",
        reports.len(),
        reports.iter().map(|r| r.tracks.len()).sum::<usize>()
    );
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Decodes and analyses one video, writing its CSV rows as they come; a video that cannot be
/// read gives a report with its error (and a CSV row saying so), and the others go on.
fn analyse(
    predictor: &Predictor,
    options: PredictOptions,
    tracking: TrackerConfig,
    input: &std::path::Path,
    args: &VideoArgs,
    out: &mut impl Write,
) -> anyhow::Result<VideoReport> {
    let file = input.display().to_string();
    let mut report = VideoReport::new(file.clone());
    let mut video = match Video::open(input) {
        Ok(video) => video,
        Err(e) => return failed(report, e.to_string(), args.format, out),
    };
    let info = video.info().clone();
    report.opened(&info);
    let mut analyzer =
        VideoAnalyzer::new(predictor.model(), options, tracking).map_err(anyhow::Error::msg)?;
    let bar = progress_bar(u64::from(info.frames), &file);
    let annotated = match (&args.out, args.annotate) {
        (Some(dir), true) => Some(Annotated::create(dir, input, info.width, info.height)?),
        _ => None,
    };
    let mut outputs = Outputs {
        file: file.clone(),
        format: args.format,
        annotated,
        timeline: Timeline::default(),
        frames_analysed: 0,
    };
    let mut sampler = FrameSampler::new(args.fps).map_err(anyhow::Error::msg)?;
    let mut stopped = None;
    for frame in video.by_ref() {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        };
        bar.inc(1);
        if !sampler.take(frame.time_s) {
            continue;
        }
        let done = analyzer.push(frame);
        bar.suspend(|| outputs.take(done, out))?;
    }
    // The frames analysed before a decoding error are reported too.
    outputs.take(analyzer.finish(), out)?;
    bar.finish_and_clear();
    report.frames_analysed = outputs.frames_analysed;
    report.tracks = analyzer.summary();
    if let Some(error) = stopped {
        return failed(report, error, args.format, out);
    }
    let (annotated, timeline) = (outputs.annotated, outputs.timeline);
    if let Some(annotated) = annotated {
        let last = args
            .fps
            .map_or(1.0 / info.average_fps.max(1.0), |fps| 1.0 / fps);
        annotated.finish(last)?;
    }
    if let Some(dir) = &args.out {
        timeline.save(dir, input, info.duration_s)?;
    }
    Ok(report)
}

/// Where the analysed frames of one video go: CSV rows, the timeline, the annotated copy.
struct Outputs {
    file: String,
    format: Format,
    annotated: Option<Annotated>,
    timeline: Timeline,
    frames_analysed: usize,
}

impl Outputs {
    fn take(&mut self, done: Vec<AnalysedFrame>, out: &mut impl Write) -> anyhow::Result<()> {
        for AnalysedFrame { frame, rows } in done {
            self.frames_analysed += 1;
            if let Some(annotated) = &mut self.annotated {
                annotated.push(&frame, &rows)?;
            }
            self.timeline.add(&rows);
            if self.format == Format::Csv {
                write_csv_rows(out, &self.file, &rows)?;
            }
        }
        Ok(())
    }
}

/// An annotated copy of a video being written.
struct Annotated {
    writer: VideoWriter,
    path: PathBuf,
    /// The even width and height the copy has (H.264 halves chroma).
    size: (u32, u32),
    frames: usize,
}

impl Annotated {
    fn create(dir: &Path, input: &Path, width: u32, height: u32) -> anyhow::Result<Annotated> {
        let stem = input
            .file_stem()
            .map_or("video".into(), |s| s.to_string_lossy());
        let path = dir.join(format!("{stem}.mp4"));
        let size = (width & !1, height & !1);
        let writer = VideoWriter::create(&path, size.0, size.1)?;
        Ok(Annotated {
            writer,
            path,
            size,
            frames: 0,
        })
    }

    fn push(&mut self, frame: &VideoFrame, rows: &[FaceRow]) -> anyhow::Result<()> {
        let (w, h) = self.size;
        let gray = image::imageops::crop_imm(&frame.gray, 0, 0, w, h).to_image();
        let mut rgb = image::DynamicImage::ImageLuma8(gray).to_rgb8();
        let boxes: Vec<LabelledBox> = rows
            .iter()
            .map(|r| LabelledBox {
                rect: [r.bbox.x, r.bbox.y, r.bbox.width, r.bbox.height],
                emotion: r.smoothed_label,
                caption: format!(
                    "#{} {} {:.0}%",
                    r.track,
                    r.smoothed_label,
                    100.0 * r.smoothed[r.smoothed_label.index()]
                ),
            })
            .collect();
        draw_boxes(&mut rgb, &boxes).map_err(anyhow::Error::msg)?;
        self.frames += 1;
        Ok(self.writer.push_rgb(&rgb, frame.time_s)?)
    }

    fn finish(self, last_frame_s: f64) -> anyhow::Result<()> {
        if self.frames == 0 {
            eprintln!(
                "{}: no frame was analysed, no annotated copy",
                self.path.display()
            );
            return Ok(());
        }
        self.writer.finish(last_frame_s)?;
        eprintln!("annotated video written to {}", self.path.display());
        Ok(())
    }
}

/// Records `error` in `report` (and a CSV row for it).
fn failed(
    mut report: VideoReport,
    error: String,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<VideoReport> {
    if format == Format::Csv {
        write_csv_error(out, &report.file, &error)?;
    }
    report.error = Some(error);
    Ok(report)
}

fn print_summary(report: &VideoReport, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(error) = &report.error {
        return writeln!(out, "{}: error: {error}", report.file);
    }
    writeln!(
        out,
        "{}: {}x{}, {:.1} s, {} frames analysed, {} track(s)",
        report.file,
        report.width.unwrap_or(0),
        report.height.unwrap_or(0),
        report.duration_s.unwrap_or(0.0),
        report.frames_analysed,
        report.tracks.len()
    )?;
    for t in &report.tracks {
        writeln!(
            out,
            "  track {:>3}: {:>7.2}-{:<7.2} s {:>6} frames  mostly {} ({:.0}%)",
            t.track,
            t.first_s,
            t.last_s,
            t.frames,
            t.dominant,
            100.0 * t.share.get(&t.dominant).copied().unwrap_or(0.0)
        )?;
    }
    Ok(())
}

fn progress_bar(frames: u64, file: &str) -> ProgressBar {
    let bar = ProgressBar::new(frames);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} frames [{elapsed_precise}<{eta_precise}, {per_sec}]",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(file.to_string());
    bar
}
