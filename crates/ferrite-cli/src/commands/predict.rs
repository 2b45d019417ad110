//! `ferrite predict`: emotions of every face in photos, folders and globs.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use ferrite_data::Emotion;
use ferrite_eval::{draw_boxes, LabelledBox};
use ferrite_infer::{
    csv_field, decode_file, DetectorConfig, EmotionModel, ImagePrediction, ImageReport,
    PredictOptions, Predictor,
};

use super::inputs::{expand, Input};
use super::model_arg::ModelArg;
use super::tta_arg::TtaArg;

/// Images decoded and classified together (bounded so large photos do not fill memory).
const CHUNK: usize = 16;

/// Output format of `ferrite predict`.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum Format {
    /// A readable table, one line per face.
    Table,
    /// A JSON array, one object per image.
    Json,
    /// CSV, one row per face (or per image without faces).
    Csv,
}

/// Arguments of `ferrite predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// Image files, folders (searched recursively) or glob patterns.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write copies of the images with boxes, labels and confidences into this folder.
    #[arg(long)]
    annotate: Option<PathBuf>,
    #[command(flatten)]
    tta: TtaArg,
    /// Classify each whole image as one face, without face detection.
    #[arg(long)]
    whole_image: bool,
    /// Smallest face to look for, in pixels.
    #[arg(long, default_value_t = DetectorConfig::default().min_face)]
    min_face: u32,
    /// The probability of being a face that a detection needs, 0 to 1 (lower finds more faces,
    /// and more false ones).
    #[arg(long, default_value_t = DetectorConfig::default().score_threshold)]
    threshold: f64,
    /// Largest image accepted, in megapixels.
    #[arg(long, default_value_t = 50.0)]
    max_megapixels: f64,
}

/// Runs `ferrite predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let options = PredictOptions {
        detector: DetectorConfig {
            min_face: args.min_face,
            score_threshold: args.threshold,
            ..DetectorConfig::default()
        },
        tta: args.tta.get(),
        whole_image: args.whole_image,
        max_pixels: (args.max_megapixels * 1e6) as u64,
        ..PredictOptions::default()
    };
    let model = EmotionModel::from_source(&args.model.resolve()?)?;
    let predictor = Predictor::new(model, options).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = &args.annotate {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the annotation folder {}", dir.display()))?;
    }
    let inputs = expand(&args.paths);
    let files = inputs
        .iter()
        .filter(|i| matches!(i, Input::File(_)))
        .count();
    let bar = progress_bar(files as u64);
    let mut out = Output::new(args.format);
    let mut annotated = Annotated::default();
    let mut failures = 0usize;
    for chunk in inputs.chunks(CHUNK) {
        let reports = process_chunk(&predictor, chunk, args.annotate.as_deref(), &mut annotated);
        failures += reports.iter().filter(|r| r.error.is_some()).count();
        bar.inc(chunk.iter().filter(|i| matches!(i, Input::File(_))).count() as u64);
        bar.suspend(|| out.write(&reports))?;
    }
    bar.finish_and_clear();
    out.finish()?;
    let faces = out.faces;
    eprintln!(
        "{} image(s), {faces} face(s), {failures} failed{}",
        inputs.len()
            - inputs
                .iter()
                .filter(|i| matches!(i, Input::Invalid(..)))
                .count(),
        args.annotate
            .as_ref()
            .map(|d| format!("; annotated copies in {}", d.display()))
            .unwrap_or_default()
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} images  {per_sec}  eta {eta}  {elapsed_precise}",
        )
        .expect("valid template"),
    );
    bar
}

/// Reads a chunk of inputs in parallel, classifies the faces of all of them at once, and
/// draws annotated copies when asked.
fn process_chunk(
    predictor: &Predictor,
    chunk: &[Input],
    annotate: Option<&Path>,
    annotated: &mut Annotated,
) -> Vec<ImageReport> {
    let max_pixels = predictor.options().max_pixels;
    let decoded: Vec<Result<image::DynamicImage, String>> = chunk
        .par_iter()
        .map(|input| match input {
            Input::File(path) => decode_file(path, max_pixels).map_err(|e| e.to_string()),
            Input::Invalid(_, why) => Err(why.clone()),
        })
        .collect();
    // Move the decoded images out (no copies); keep each input's error, if any, in order.
    let mut images = Vec::new();
    let errors: Vec<Option<String>> = decoded
        .into_iter()
        .map(|d| match d {
            Ok(image) => {
                images.push(image);
                None
            }
            Err(why) => Some(why),
        })
        .collect();
    let mut predictions = predictor.predict_batch(&images).into_iter();
    let mut images = images.into_iter();
    chunk
        .iter()
        .zip(errors)
        .map(|(input, error)| {
            let path = match input {
                Input::File(p) | Input::Invalid(p, _) => p,
            };
            let name = path.display().to_string();
            if let Some(why) = error {
                return ImageReport::failed(name, why);
            }
            let prediction = predictions.next().expect("one prediction per image");
            let image = images.next().expect("one image per prediction");
            let mut report = ImageReport::ok(&name, &prediction);
            if let Some(dir) = annotate {
                if let Err(e) = annotated.write(dir, path, image, &prediction) {
                    report.error = Some(format!("annotated copy not written: {e}"));
                }
            }
            report
        })
        .collect()
}

/// Names already given to annotated copies, so two inputs called `a.jpg` do not collide.
#[derive(Default)]
struct Annotated {
    used: HashSet<String>,
}

impl Annotated {
    fn write(
        &mut self,
        dir: &Path,
        source: &Path,
        image: image::DynamicImage,
        prediction: &ImagePrediction,
    ) -> anyhow::Result<()> {
        let stem = source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let mut name = format!("{stem}.png");
        let mut n = 1;
        while !self.used.insert(name.clone()) {
            name = format!("{stem}-{n}.png");
            n += 1;
        }
        let mut rgb = image.to_rgb8();
        let boxes: Vec<LabelledBox> = prediction
            .faces
            .iter()
            .map(|f| LabelledBox {
                rect: [f.bbox.x, f.bbox.y, f.bbox.width, f.bbox.height],
                emotion: f.label,
                caption: format!("{} {:.0}%", f.label, 100.0 * f.confidence),
            })
            .collect();
        draw_boxes(&mut rgb, &boxes).map_err(|e| anyhow::anyhow!(e))?;
        let path = dir.join(name);
        rgb.save(&path)
            .with_context(|| format!("{}", path.display()))?;
        Ok(())
    }
}

/// Streams reports to stdout in the chosen format.
struct Output {
    format: Format,
    started: bool,
    faces: usize,
}

impl Output {
    fn new(format: Format) -> Output {
        Output {
            format,
            started: false,
            faces: 0,
        }
    }

    fn write(&mut self, reports: &[ImageReport]) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        for report in reports {
            self.faces += report.faces.len();
            match self.format {
                Format::Table => write_table_rows(&mut stdout, report, !self.started)?,
                Format::Csv => write_csv_rows(&mut stdout, report, !self.started)?,
                Format::Json => {
                    let sep = if self.started { ",\n" } else { "[\n" };
                    write!(stdout, "{sep}{}", serde_json::to_string(report)?)?;
                }
            }
            self.started = true;
        }
        Ok(())
    }

    fn finish(&self) -> anyhow::Result<()> {
        if self.format == Format::Json {
            println!("{}", if self.started { "\n]" } else { "[]" });
        }
        Ok(())
    }
}

fn write_table_rows(
    out: &mut impl Write,
    report: &ImageReport,
    header: bool,
) -> std::io::Result<()> {
    if header {
        writeln!(
            out,
            "{:<40} {:>4}  {:<22} {:<9} {:>6}",
            "file", "face", "box", "emotion", "conf"
        )?;
    }
    if let Some(error) = &report.error {
        return writeln!(out, "{:<40} error: {error}", report.file);
    }
    if report.faces.is_empty() {
        return writeln!(out, "{:<40} no face found", report.file);
    }
    for (i, face) in report.faces.iter().enumerate() {
        let [x, y, w, h] = face.bbox;
        let whole = if report.whole_image {
            " (whole image)"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<40} {:>4}  {:<22} {:<9} {:>5.1}%{whole}",
            report.file,
            i + 1,
            format!("{x},{y} {w}x{h}"),
            face.label,
            100.0 * face.confidence
        )?;
    }
    Ok(())
}

fn write_csv_rows(out: &mut impl Write, report: &ImageReport, header: bool) -> std::io::Result<()> {
    if header {
        let labels = Emotion::names().join(",");
        writeln!(
            out,
            "file,face,x,y,width,height,label,confidence,{labels},error"
        )?;
    }
    let file = csv_field(&report.file);
    if report.faces.is_empty() {
        let error = report
            .error
            .clone()
            .unwrap_or_else(|| "no face found".into());
        let blanks = ",".repeat(7 + Emotion::ALL.len());
        return writeln!(out, "{file},{blanks}{}", csv_field(&error));
    }
    for (i, face) in report.faces.iter().enumerate() {
        let [x, y, w, h] = face.bbox;
        let probs: Vec<String> = Emotion::ALL
            .iter()
            .map(|e| format!("{:.4}", face.probabilities[e.name()]))
            .collect();
        writeln!(
            out,
            "{file},{},{x},{y},{w},{h},{},{:.4},{},{}",
            i + 1,
            face.label,
            face.confidence,
            probs.join(","),
            csv_field(report.error.as_deref().unwrap_or(""))
        )?;
    }
    Ok(())
}
