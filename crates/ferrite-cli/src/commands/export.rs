//! `ferrite export`: a model as a file other software runs (ONNX), the dashboard as a static
//! site that reads photos and webcam frames in the browser (private mode, no server), or a model
//! folder stored in half the bytes (float16).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use ferrite_engine::Network;
use ferrite_model::{narrow_to_f16, write_atomically, ModelBundle, ModelSource, WEIGHTS_FILE};

use super::model_arg::ModelArg;

/// What `ferrite export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// ONNX (opset 13): `input` float32 [N, 1, 48, 48] in [0, 1] -> `probabilities` [N, 7],
    /// batch norm folded, the labels in the metadata.
    Onnx,
    /// The dashboard as a static site (a folder for any static file host): the Predictor,
    /// Live webcam and Batch pages in private mode, the fast model in WebAssembly.
    Web,
    /// The model folder (card.json + model.safetensors) with its weights stored as float16:
    /// half the size, read by every command as float32, the way the shipped models are stored.
    Float16,
}

/// Arguments of `ferrite export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The format to write.
    #[arg(long, value_enum, default_value = "onnx")]
    format: ExportFormat,
    /// The file to write (`--format web` and `float16`: the folder).
    #[arg(long, value_name = "FILE|DIR")]
    out: PathBuf,
}

/// Runs `ferrite export`.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    match args.format {
        ExportFormat::Onnx => onnx(&args),
        ExportFormat::Web => web(&args),
        ExportFormat::Float16 => float16(&args),
    }
}

/// The model `--model` names, its weights checked against its card by building the network.
fn load_checked(args: &ExportArgs) -> anyhow::Result<(ModelSource, ModelBundle, Network)> {
    let source = args.model.resolve()?;
    let bundle = source.load()?;
    let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights)
        .with_context(|| format!("{}: the weights do not match the card", source.to_arg()))?;
    Ok((source, bundle, net))
}

/// Writes the model folder with float16 weights (checked to load before anything is written).
fn float16(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (source, bundle, _) = load_checked(args)?;
    let half = narrow_to_f16(&bundle.weights)
        .with_context(|| format!("{}: cannot store the weights as float16", source.to_arg()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_atomically(&args.out.join(WEIGHTS_FILE), &half)?;
    ModelBundle::save_card(&args.out, &bundle.card)?;
    println!(
        "{}: model {} with float16 weights ({:.1} MB, from {:.1} MB)",
        args.out.display(),
        source.to_arg(),
        half.len() as f64 / 1e6,
        bundle.weights.len() as f64 / 1e6,
    );
    Ok(ExitCode::SUCCESS)
}

fn onnx(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (source, bundle, net) = load_checked(args)?;
    let bytes = ferrite_onnx::export(&net, &bundle.card);
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{}: model {} as ONNX (opset {}, {:.1} MB): {} float32 [N, 1, 48, 48] in [0, 1] -> {} [N, 7]",
        args.out.display(),
        source.to_arg(),
        ferrite_onnx::OPSET,
        bytes.len() as f64 / 1e6,
        ferrite_onnx::INPUT,
        ferrite_onnx::OUTPUT,
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the static site: the private mode's model is the one it runs, so `--model`, if
/// given, must name it.
fn web(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let model = ferrite_server::assets::PRIVATE_MODEL;
    if let Some(given) = args.model.given() {
        if *given != ModelSource::Shipped(model) {
            anyhow::bail!(
                "--format web runs the `{}` model in the browser (the private mode's); --model {} applies to --format onnx",
                model.name(),
                given.to_arg()
            );
        }
    }
    let site = ferrite_server::assets::static_site();
    let mut bytes = 0;
    for (path, content) in &site {
        let file = args.out.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&file, content)
            .with_context(|| format!("cannot write {}", file.display()))?;
        bytes += content.len();
    }
    println!(
        "{}: the dashboard as a static site ({} files, {:.1} MB; the `{}` model runs in the browser). \
         Serve the folder with any static file host, e.g. `python3 -m http.server -d {}`; \
         the webcam needs https or localhost",
        args.out.display(),
        site.len(),
        bytes as f64 / 1e6,
        model.name(),
        args.out.display(),
    );
    Ok(ExitCode::SUCCESS)
}
