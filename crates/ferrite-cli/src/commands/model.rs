use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use ferrite_model::{default_model_dir, ModelBundle};

/// Arguments of `ferrite model`.
#[derive(Args)]
pub struct ModelArgs {
    /// Model directory (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print the whole model card as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `ferrite model`: what a model is, how it was trained and how well it does.
pub fn run(args: ModelArgs) -> anyhow::Result<ExitCode> {
    let dir = args.model.unwrap_or_else(default_model_dir);
    let card = ModelBundle::read_card(&dir)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&card)?);
        return Ok(ExitCode::SUCCESS);
    }
    let blocks: Vec<String> = card
        .arch
        .blocks
        .iter()
        .map(|b| format!("{}x{}", b.convs, b.channels))
        .collect();
    println!("model        {}", dir.display());
    println!(
        "architecture {} (conv blocks {}, dense {:?}, {:.0} MFLOP per face)",
        card.arch.name,
        blocks.join(" "),
        card.arch.hidden,
        card.arch.forward_macs() as f64 * 2e-6
    );
    println!("labels       {}", card.labels.join(", "));
    if let Some(t) = card.training.as_object() {
        let get = |k: &str| {
            t.get(k)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "training     {} epochs, best epoch {}, {}s on {}",
            get("epochs_completed"),
            get("best_epoch"),
            t.get("training_seconds")
                .and_then(|v| v.as_f64())
                .map_or("-".into(), |s| format!("{s:.0}")),
            get("hardware")
        );
    }
    for (split, eval) in &card.evaluation {
        let num = |k: &str| eval.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        println!(
            "{:<12} accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  (n = {})",
            split,
            num("accuracy"),
            num("macro_f1"),
            num("weighted_f1"),
            eval.get("n").and_then(|v| v.as_u64()).unwrap_or(0)
        );
    }
    if !card.notes.is_empty() {
        println!("\n{}", card.notes);
    }
    Ok(ExitCode::SUCCESS)
}
