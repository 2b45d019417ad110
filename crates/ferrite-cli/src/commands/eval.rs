use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, ValueEnum};

use ferrite_data::{load_dataset, Emotion, Split};
use ferrite_engine::Network;
use ferrite_eval::{classification_report_text, plot_confusion, ConfusionMatrix, EvalReport};
use ferrite_model::{cpu_device, default_model_dir, Classifier, Engine, ModelBundle, WEIGHTS_FILE};

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
    /// Model directory (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
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
    /// Average predictions with the horizontally flipped face.
    #[arg(long)]
    tta: bool,
    /// Save the confusion matrix as PNG here (text format default: confusion-SPLIT.png).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Record the result in the model card's `evaluation` under the split's name.
    #[arg(long)]
    save_to_card: bool,
}

/// Runs `ferrite eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let model_dir = args.model.clone().unwrap_or_else(default_model_dir);
    let set = load_dataset(&args.data, args.split)?;
    eprintln!(
        "{}",
        set.summary(&format!("{} ({})", args.data.display(), args.split))
    );
    let card = ModelBundle::read_card(&model_dir)?;
    let faces: Vec<&[u8]> = set.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let probabilities = match args.engine {
        Engine::Burn => {
            let device = cpu_device();
            let bundle = ModelBundle::load(&model_dir, &device)?;
            Classifier::new(bundle.net, device).predict(&faces, args.tta)
        }
        Engine::Ferrite => {
            let path = model_dir.join(WEIGHTS_FILE);
            let bytes = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
            Network::from_safetensors(&card.arch, &bytes)
                .with_context(|| format!("model weights {}", path.display()))?
                .predict(&faces, args.tta)
        }
    };
    let pairs = set.samples.iter().zip(&probabilities).map(|(s, p)| {
        let best = (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0);
        (s.label, Emotion::ALL[best])
    });
    let report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            println!(
                "model {} ({}) on {} split `{}`{}",
                model_dir.display(),
                card.arch.name,
                args.data.display(),
                args.split,
                if args.tta { " with flip TTA" } else { "" }
            );
            println!("{}", classification_report_text(&report));
        }
    }
    let plot = args.plot.clone().or_else(|| {
        matches!(args.format, Format::Text)
            .then(|| PathBuf::from(format!("confusion-{}.png", args.split)))
    });
    if let Some(path) = plot {
        let title = format!(
            "{} - {} (acc {:.3})",
            card.arch.name, args.split, report.accuracy
        );
        plot_confusion(&report, &title, &path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        eprintln!("confusion matrix saved to {}", path.display());
    }
    if args.save_to_card {
        let mut card = card;
        let key = if args.tta {
            format!("{}+tta", args.split)
        } else {
            args.split.to_string()
        };
        card.evaluation.insert(key, serde_json::to_value(&report)?);
        ModelBundle::save_card(&model_dir, &card).context("updating the model card")?;
    }
    Ok(ExitCode::SUCCESS)
}
