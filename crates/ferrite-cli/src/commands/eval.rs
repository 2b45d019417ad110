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
use ferrite_model::{Engine, ModelBundle, ModelCard, ModelSource};

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

/// Runs `ferrite eval`: the flags checked into a plan, the faces classified and measured, then
/// the report printed and the files written.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let plan = EvalPlan::new(args)?;
    let evaluation = Evaluation::measure(&plan)?;
    evaluation.print(&plan)?;
    evaluation.save_plots(&plan)?;
    evaluation.save_to_card(&plan)?;
    Ok(ExitCode::SUCCESS)
}

/// `ferrite eval`'s flags, checked once before any model or face is read.
struct EvalPlan {
    model: ModelSource,
    /// The further members of an ensemble (`--with`).
    members: Vec<ModelSource>,
    against: Option<ModelSource>,
    data: PathBuf,
    split: Split,
    engine: Engine,
    tta: Tta,
    format: Format,
    /// Whether the card's temperature is applied: not with `--uncalibrated`, nor to an ensemble.
    calibrated: bool,
    confusion_png: Option<PathBuf>,
    reliability_png: Option<PathBuf>,
    /// The model folder whose card records the result (`--save-to-card`).
    card_dir: Option<PathBuf>,
}

impl EvalPlan {
    /// The plan of `args`, or why they cannot go together.
    fn new(args: EvalArgs) -> anyhow::Result<Self> {
        let model = args.model.resolve()?;
        let card_dir = match (args.save_to_card, model.dir()) {
            (false, _) => None,
            (true, None) => anyhow::bail!(
                "--save-to-card writes into a model folder, and {model} is inside the binary; \
                 give --model DIR"
            ),
            (true, Some(_)) if !args.with.is_empty() => anyhow::bail!(
                "--save-to-card records one model's figures, and --with makes an ensemble"
            ),
            (true, Some(_)) if args.against.is_some() => anyhow::bail!(
                "--save-to-card records one model's figures, and --against compares two: run \
                 them apart"
            ),
            (true, Some(dir)) => Some(dir.to_path_buf()),
        };
        let text = matches!(args.format, Format::Text);
        let split = args.split;
        let default_png = |kind: &str| text.then(|| PathBuf::from(format!("{kind}-{split}.png")));
        Ok(Self {
            calibrated: !args.uncalibrated && args.with.is_empty(),
            confusion_png: args.plot.or_else(|| default_png("confusion")),
            reliability_png: args.reliability.or_else(|| default_png("reliability")),
            model,
            members: args.with,
            against: args.against,
            data: args.data,
            split,
            engine: args.engine,
            tta: args.tta.get(),
            format: args.format,
            card_dir,
        })
    }

    /// Probabilities for `faces` from the model read from `source`, with the plan's views and
    /// engine, without the card's temperature.
    fn classify(
        &self,
        bundle: &ModelBundle,
        source: &ModelSource,
        faces: &[&[u8]],
    ) -> anyhow::Result<Vec<[f32; NUM_CLASSES]>> {
        Ok(match self.engine {
            Engine::Ferrite => Network::from_safetensors(&bundle.card.arch, &bundle.weights)
                .with_context(|| format!("model weights of {source}"))?
                .predict(faces, self.tta),
            Engine::Burn => burn_classify(bundle, faces, self.tta)
                .with_context(|| format!("burn, with the model {source}"))?,
        })
    }

    /// The `--against` model's comparison with `predicted` on the same faces, if one was asked.
    fn compare(
        &self,
        faces: &[&[u8]],
        labels: &[Emotion],
        predicted: &[Emotion],
    ) -> anyhow::Result<Option<PairedComparison>> {
        let Some(other) = &self.against else {
            return Ok(None);
        };
        let other_predicted = top_classes(&self.classify(&other.load()?, other, faces)?);
        Ok(Some(PairedComparison::measure(
            &other.to_arg(),
            labels,
            predicted,
            &other_predicted,
        )))
    }

    /// The key of the card's `evaluation` this plan's result goes under.
    fn card_key(&self) -> String {
        match self.tta {
            Tta::Off => self.split.to_string(),
            Tta::Flip => format!("{}+tta", self.split),
            Tta::Crops => format!("{}+crops", self.split),
            Tta::Zoom => format!("{}+zoom", self.split),
        }
    }
}

/// What one evaluation measured: of a model, or of an ensemble with it first.
struct Evaluation {
    /// What was evaluated, in words: the model, or the ensemble and its members.
    subject: String,
    /// The architecture's name, or "ensemble of N": the plots' titles.
    arch: String,
    /// The (first) model's card: its temperature, and where `--save-to-card` writes.
    card: ModelCard,
    /// The card's temperature applied to the probabilities, if one was.
    temperature: Option<f32>,
    report: EvalReport,
    calibration: Calibration,
}

impl Evaluation {
    /// Loads the model and the split, classifies the faces (with the ensemble's members and
    /// the model compared against, if any) and measures the result.
    fn measure(plan: &EvalPlan) -> anyhow::Result<Self> {
        let bundle = plan.model.load()?;
        let set = load_dataset(&plan.data, plan.split)?;
        eprintln!(
            "{}",
            set.summary(&format!("{} ({})", plan.data.display(), plan.split))
        );
        let faces: Vec<&[u8]> = set.samples.iter().map(|s| s.pixels.as_slice()).collect();
        let labels: Vec<Emotion> = set.samples.iter().map(|s| s.label).collect();
        let mut probabilities = plan.classify(&bundle, &plan.model, &faces)?;
        let mut subject = format!("model {} ({})", plan.model, bundle.card.arch.name);
        let mut arch = bundle.card.arch.name.clone();
        if !plan.members.is_empty() {
            let mut members = vec![probabilities];
            for member in &plan.members {
                let member_bundle = member.load()?;
                members.push(plan.classify(&member_bundle, member, &faces)?);
                subject.push_str(&format!(" + {member} ({})", member_bundle.card.arch.name));
            }
            probabilities = ensemble_probabilities(&members);
            subject = format!("the ensemble of {subject}");
            arch = format!("ensemble of {}", members.len());
        }
        let card = bundle.card;
        let views = plan.tta.for_side(card.arch.input_size);
        let scaling = card.calibration.as_ref().filter(|_| plan.calibrated);
        if let Some(scaling) = scaling {
            probabilities
                .iter_mut()
                .for_each(|p| scaling.apply(p, views));
        }
        let temperature = scaling.map(|s| s.temperature_for(views));
        let calibration = Calibration::measure(&probabilities, &labels);
        let predicted = top_classes(&probabilities);
        let pairs = labels.iter().copied().zip(predicted.iter().copied());
        let mut report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
        report.calibration = Some(calibration.clone());
        report.comparison = plan.compare(&faces, &labels, &predicted)?;
        Ok(Self {
            subject,
            arch,
            card,
            temperature,
            report,
            calibration,
        })
    }

    /// Prints the report to stdout in the plan's format.
    fn print(&self, plan: &EvalPlan) -> anyhow::Result<()> {
        if let Format::Json = plan.format {
            println!("{}", serde_json::to_string_pretty(&self.report)?);
            return Ok(());
        }
        let views = match plan.tta {
            Tta::Off => "",
            Tta::Flip => " with flip TTA",
            Tta::Crops => " with ten-crop TTA",
            Tta::Zoom => " with zoom TTA",
        };
        println!(
            "{} on {} split `{}`{views}",
            self.subject,
            plan.data.display(),
            plan.split
        );
        println!("{}", classification_report_text(&self.report));
        let temperature = match self.temperature {
            Some(t) => format!("temperature {t:.3} from the card"),
            None => "no temperature".to_string(),
        };
        println!(
            "expected calibration error ({} bins, {temperature}): {:.4}",
            ferrite_eval::BINS,
            self.calibration.ece
        );
        if let Some(comparison) = &self.report.comparison {
            println!("{}", comparison.text());
        }
        Ok(())
    }

    /// Draws the confusion matrix and the reliability diagram where the plan says.
    fn save_plots(&self, plan: &EvalPlan) -> anyhow::Result<()> {
        if let Some(path) = &plan.confusion_png {
            let title = format!(
                "{} - {} (acc {:.3})",
                self.arch, plan.split, self.report.accuracy
            );
            plot_confusion(&self.report, &title, path)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            eprintln!("confusion matrix saved to {}", path.display());
        }
        if let Some(path) = &plan.reliability_png {
            let title = format!("{} - {}", self.arch, plan.split);
            plot_reliability(&self.calibration, &title, path)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            eprintln!("reliability diagram saved to {}", path.display());
        }
        Ok(())
    }

    /// Records the report in the model's card, if the plan says so (`--save-to-card`).
    fn save_to_card(self, plan: &EvalPlan) -> anyhow::Result<()> {
        let Some(dir) = &plan.card_dir else {
            return Ok(());
        };
        let mut card = self.card;
        card.evaluation
            .insert(plan.card_key(), serde_json::to_value(&self.report)?);
        ModelBundle::save_card(dir, &card).context("updating the model card")
    }
}

/// The most probable class of each face.
fn top_classes(probabilities: &[[f32; NUM_CLASSES]]) -> Vec<Emotion> {
    probabilities.iter().map(Emotion::most_likely).collect()
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
