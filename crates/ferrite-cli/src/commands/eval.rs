use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, ValueEnum};

use ferrite_data::{load_dataset, Emotion, Split, Tta, NUM_CLASSES};
use ferrite_engine::{ensemble_probabilities, Network};
use ferrite_eval::{
    classification_report_text, plot_confusion, plot_reliability, Calibration, ConfusionMatrix,
    EvalReport, PairedComparison,
};
use ferrite_model::{Engine, ModelBundle, ModelSource};

use super::model_arg::ModelArg;
use super::tta_arg::TtaArg;

/// Output format of `ferrite eval`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The classification report and confusion matrix as text.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `ferrite eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Dataset: Kaggle layout, fer2013.csv, or a folder of class subfolders.
    #[arg(long)]
    data: PathBuf,
    /// Split: train, public-test, private-test, test or all.
    #[arg(long, default_value = "test")]
    split: Split,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Engine: ferrite (the gemm engine, faster) or burn (the reference).
    #[arg(long, default_value = "ferrite")]
    engine: Engine,
    #[command(flatten)]
    tta: TtaArg,
    /// Save the confusion matrix as PNG here (text format default: confusion-SPLIT.png).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Save the reliability diagram as PNG here (text format default: reliability-SPLIT.png).
    #[arg(long)]
    reliability: Option<PathBuf>,
    /// Leave out the card's temperature: the network's own probabilities.
    #[arg(long)]
    uncalibrated: bool,
    /// Record the result in the model card's `evaluation` under the split's name.
    #[arg(long)]
    save_to_card: bool,
    /// Evaluate the ensemble of --model and this model (give it once per further member): the
    /// members' probabilities combined as a distillation teacher combines them (their geometric
    /// mean), each member reading its own windows with the same TTA, without temperatures.
    /// Reported as the ensemble, never as one model's figure.
    #[arg(long = "with", value_name = "NAME|DIR")]
    with: Vec<ModelSource>,
    /// Compare with this model on the same faces, with the same TTA and engine: both accuracies,
    /// their difference with a 95% confidence interval, and McNemar's exact test on the faces
    /// only one of the two gets right (JSON: `comparison`). Whether a change really helped.
    #[arg(long, value_name = "NAME|DIR")]
    against: Option<ModelSource>,
}

/// Runs `ferrite eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let source = args.model.resolve()?;
    if args.save_to_card && source.dir().is_none() {
        anyhow::bail!(
            "--save-to-card writes into a model folder, and {source} is inside the binary; \
             give --model DIR"
        );
    }
    if args.save_to_card && !args.with.is_empty() {
        anyhow::bail!("--save-to-card records one model's figures, and --with makes an ensemble");
    }
    if args.save_to_card && args.against.is_some() {
        anyhow::bail!(
            "--save-to-card records one model's figures, and --against compares two: run them apart"
        );
    }
    let bundle = source.load()?;
    let set = load_dataset(&args.data, args.split)?;
    eprintln!(
        "{}",
        set.summary(&format!("{} ({})", args.data.display(), args.split))
    );
    let faces: Vec<&[u8]> = set.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let tta = args.tta.get();
    let mut probabilities = classify(&bundle, &source, &faces, tta, args.engine)?;
    let mut evaluated = format!("model {source} ({})", bundle.card.arch.name);
    let mut arch = bundle.card.arch.name.clone();
    if !args.with.is_empty() {
        let mut members = vec![probabilities];
        for member in &args.with {
            let member_bundle = member.load()?;
            members.push(classify(&member_bundle, member, &faces, tta, args.engine)?);
            evaluated.push_str(&format!(" + {member} ({})", member_bundle.card.arch.name));
        }
        probabilities = ensemble_probabilities(&members);
        evaluated = format!("the ensemble of {evaluated}");
        arch = format!("ensemble of {}", members.len());
    }
    let card = bundle.card;
    let scaling = card
        .calibration
        .as_ref()
        .filter(|_| !args.uncalibrated && args.with.is_empty());
    if let Some(scaling) = scaling {
        let kind = tta.for_side(card.arch.input_size);
        probabilities
            .iter_mut()
            .for_each(|p| scaling.apply(p, kind));
    }
    let labels: Vec<Emotion> = set.samples.iter().map(|s| s.label).collect();
    let calibration = Calibration::measure(&probabilities, &labels);
    let predicted = top_classes(&probabilities);
    let pairs = labels.iter().copied().zip(predicted.iter().copied());
    let mut report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
    report.calibration = Some(calibration.clone());
    if let Some(other) = &args.against {
        let other_bundle = other.load()?;
        let other_predicted =
            top_classes(&classify(&other_bundle, other, &faces, tta, args.engine)?);
        report.comparison = Some(PairedComparison::measure(
            &other.to_arg(),
            &labels,
            &predicted,
            &other_predicted,
        ));
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            println!(
                "{evaluated} on {} split `{}`{}",
                args.data.display(),
                args.split,
                match tta {
                    Tta::Off => "",
                    Tta::Flip => " with flip TTA",
                    Tta::Crops => " with ten-crop TTA",
                    Tta::Zoom => " with zoom TTA",
                }
            );
            println!("{}", classification_report_text(&report));
            let temperature = match scaling {
                Some(s) => format!(
                    "temperature {:.3} from the card",
                    s.temperature_for(tta.for_side(card.arch.input_size))
                ),
                None => "no temperature".to_string(),
            };
            println!(
                "expected calibration error ({} bins, {temperature}): {:.4}",
                ferrite_eval::BINS,
                calibration.ece
            );
            if let Some(comparison) = &report.comparison {
                println!("{}", comparison.text());
            }
        }
    }
    let plot = args.plot.clone().or_else(|| {
        matches!(args.format, Format::Text)
            .then(|| PathBuf::from(format!("confusion-{}.png", args.split)))
    });
    if let Some(path) = plot {
        let title = format!("{arch} - {} (acc {:.3})", args.split, report.accuracy);
        plot_confusion(&report, &title, &path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        eprintln!("confusion matrix saved to {}", path.display());
    }
    let reliability = args.reliability.clone().or_else(|| {
        matches!(args.format, Format::Text)
            .then(|| PathBuf::from(format!("reliability-{}.png", args.split)))
    });
    if let Some(path) = reliability {
        let title = format!("{arch} - {}", args.split);
        plot_reliability(&calibration, &title, &path)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        eprintln!("reliability diagram saved to {}", path.display());
    }
    if args.save_to_card {
        let mut card = card;
        let key = match tta {
            Tta::Off => args.split.to_string(),
            Tta::Flip => format!("{}+tta", args.split),
            Tta::Crops => format!("{}+crops", args.split),
            Tta::Zoom => format!("{}+zoom", args.split),
        };
        card.evaluation.insert(key, serde_json::to_value(&report)?);
        let dir = source.dir().expect("checked before evaluating");
        ModelBundle::save_card(dir, &card).context("updating the model card")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The most probable class of each face.
fn top_classes(probabilities: &[[f32; NUM_CLASSES]]) -> Vec<Emotion> {
    probabilities.iter().map(Emotion::most_likely).collect()
}

/// Probabilities for `faces` from the model in `bundle` (read from `source`) on `engine`,
/// through the views of `tta`, without the card's temperature.
fn classify(
    bundle: &ModelBundle,
    source: &ModelSource,
    faces: &[&[u8]],
    tta: Tta,
    engine: Engine,
) -> anyhow::Result<Vec<[f32; NUM_CLASSES]>> {
    Ok(match engine {
        Engine::Ferrite => Network::from_safetensors(&bundle.card.arch, &bundle.weights)
            .with_context(|| format!("model weights of {source}"))?
            .predict(faces, tta),
        Engine::Burn => burn_classify(bundle, faces, tta)
            .with_context(|| format!("burn, with the model {source}"))?,
    })
}

/// Probabilities for `faces` from the model in `bundle`, on burn (the reference).
#[cfg(feature = "burn")]
fn burn_classify(
    bundle: &ModelBundle,
    faces: &[&[u8]],
    tta: Tta,
) -> anyhow::Result<Vec<[f32; NUM_CLASSES]>> {
    let device = ferrite_burn::cpu_device();
    let net = ferrite_burn::load_net(&bundle.card.arch, &bundle.weights, &device)
        .map_err(anyhow::Error::msg)?;
    let side = bundle.card.arch.input_size;
    Ok(ferrite_burn::Classifier::new(net, side, device).predict(faces, tta))
}

/// A lean build has no burn: refused, saying how to get it.
#[cfg(not(feature = "burn"))]
fn burn_classify(
    _bundle: &ModelBundle,
    _faces: &[&[u8]],
    _tta: Tta,
) -> anyhow::Result<Vec<[f32; NUM_CLASSES]>> {
    anyhow::bail!(ferrite_train::NO_BURN)
}
