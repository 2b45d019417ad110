//! `ferrite calibrate`: fits a model's temperature on a validation split and records it in the
//! card, so that every probability Ferrite gives for it (predict, video, the API, Python, the
//! ONNX export) goes through it; with `--tta`, the temperature of that test-time augmentation's
//! averaged probabilities.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use ferrite_data::{load_dataset, Emotion, Tta, ValidationSplit};
use ferrite_engine::Network;
use ferrite_eval::{fit_temperature, fit_temperature_for_ece, tempered, Calibration};
use ferrite_model::{CalibrationObjective, ModelBundle, TemperatureScaling, TtaTemperature};

use super::model_arg::ModelArg;
use super::tta_arg::TtaArg;

/// Arguments of `ferrite calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Dataset: Kaggle layout, fer2013.csv, or its folder.
    #[arg(long)]
    data: PathBuf,
    /// Split the temperature is fitted on: public-test. PrivateTest, the whole test folder and
    /// the training set are refused (PrivateTest is reported, never tuned on).
    #[arg(long, default_value = "public-test")]
    split: ValidationSplit,
    /// What the temperature minimises on the split: `likelihood` (the labels' negative
    /// log-likelihood, the usual choice) or `ece` (the expected calibration error itself, for a
    /// model the likeliest temperature leaves miscalibrated).
    #[arg(long, default_value_t = CalibrationObjective::Likelihood)]
    objective: CalibrationObjective,
    /// Fit the temperature of this test-time augmentation's averaged probabilities (softer than
    /// one view's), used wherever the model is asked for it; the single view's temperature must
    /// be fitted first, and stays.
    #[command(flatten)]
    tta: TtaArg,
}

/// Runs `ferrite calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let source = args.model.resolve()?;
    let Some(dir) = source.dir() else {
        anyhow::bail!(
            "calibrate writes the temperature into a model folder's card, and {source} is \
             inside the binary; give --model DIR"
        );
    };
    let bundle = source.load()?;
    let set = load_dataset(&args.data, args.split.split())?;
    eprintln!(
        "{}",
        set.summary(&format!("{} ({})", args.data.display(), args.split))
    );
    let faces: Vec<&[u8]> = set.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights)
        .with_context(|| format!("model weights of {source}"))?;
    let mut card = bundle.card;
    let earlier = card.calibration.take();
    let tta = args.tta.get().for_side(card.arch.input_size);
    if tta.is_on() && earlier.is_none() {
        anyhow::bail!(
            "{source} has no temperature for a single view yet: run `ferrite calibrate` without \
             --tta first, then again with --tta={tta}"
        );
    }
    let raw = net.predict(&faces, tta);
    let labels: Vec<Emotion> = set.samples.iter().map(|s| s.label).collect();
    let temperature = match args.objective {
        CalibrationObjective::Likelihood => fit_temperature(&raw, &labels),
        CalibrationObjective::Ece => fit_temperature_for_ece(&raw, &labels),
    };
    let ece_before = Calibration::measure(&raw, &labels).ece;
    let ece_after = Calibration::measure(&tempered(&raw, temperature), &labels).ece;
    let views = match tta {
        Tta::Off => String::new(),
        kind => format!(" for {kind} TTA"),
    };
    println!(
        "{source}: temperature {temperature:.3}{views} fitted on {} ({} faces, objective {}): \
         expected calibration error {ece_before:.4} -> {ece_after:.4}",
        args.split,
        faces.len(),
        args.objective,
    );
    card.calibration = Some(match (tta, earlier) {
        (Tta::Off, earlier) => TemperatureScaling {
            temperature,
            fitted_on: args.split.to_string(),
            objective: args.objective,
            ece_before,
            ece_after,
            with_tta: earlier.map(|e| e.with_tta).unwrap_or_default(),
        },
        (_, earlier) => {
            let mut scaling = earlier.expect("checked before fitting");
            let fitted = TtaTemperature {
                temperature,
                objective: args.objective,
                ece_before,
                ece_after,
            };
            scaling.with_tta.insert(tta.name().to_string(), fitted);
            scaling
        }
    });
    ModelBundle::save_card(dir, &card).context("updating the model card")?;
    println!(
        "recorded in {}",
        dir.join(ferrite_model::CARD_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}
