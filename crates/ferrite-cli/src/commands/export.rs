//! `ferrite export`: a model as a file other software runs (ONNX).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use ferrite_engine::Network;

use super::model_arg::ModelArg;

/// What `ferrite export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// ONNX (opset 13): `input` float32 [N, 1, 48, 48] in [0, 1] -> `probabilities` [N, 7],
    /// batch norm folded, the labels in the metadata.
    Onnx,
}

/// Arguments of `ferrite export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The format to write.
    #[arg(long, value_enum, default_value = "onnx")]
    format: ExportFormat,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `ferrite export`.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let source = args.model.resolve()?;
    let bundle = source.load()?;
    let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights)
        .with_context(|| format!("{}: the weights do not match the card", source.to_arg()))?;
    let bytes = match args.format {
        ExportFormat::Onnx => ferrite_onnx::export(&net, &bundle.card),
    };
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
