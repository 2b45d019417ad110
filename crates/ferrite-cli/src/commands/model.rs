use std::process::ExitCode;

use clap::Args;

use ferrite_model::{ModelCard, TrainingLeg, TrainingRecord};

use super::model_arg::ModelArg;

/// Arguments of `ferrite model`.
#[derive(Args)]
pub struct ModelArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Print the whole model card as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `ferrite model`: what a model is, how it was trained and how well it does.
pub fn run(args: ModelArgs) -> anyhow::Result<ExitCode> {
    let source = args.model.resolve()?;
    let card = source.read_card()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&card)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("model        {source}");
    print_summary(&card);
    print!("{}", legs_table(&card.training));
    for (split, eval) in &card.evaluation {
        let num = |k: &str| eval.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        println!(
            "{:<16} accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  (n = {})",
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

fn print_summary(card: &ModelCard) {
    let blocks: Vec<String> = card
        .arch
        .blocks
        .iter()
        .map(|b| format!("{}x{}", b.convs, b.channels))
        .collect();
    println!(
        "architecture {} (conv blocks {}, dense {:?}, dropout {} / {}, {:.0} MFLOP per face)",
        card.arch.name,
        blocks.join(" "),
        card.arch.hidden,
        card.arch.conv_dropout,
        card.arch.fc_dropout,
        card.arch.forward_macs() as f64 * 2e-6
    );
    println!("labels       {}", card.labels.join(", "));
}

/// The training record as a table: a row per leg, its recipe as `ferrite train` options under
/// it.
fn legs_table(record: &TrainingRecord) -> String {
    if record.legs.is_empty() {
        return "training     none recorded\n".into();
    }
    let mut out = format!(
        "training     {} leg{}, {} epochs, {} in all\n",
        record.legs.len(),
        if record.legs.len() == 1 { "" } else { "s" },
        record.total_epochs(),
        duration(record.total_seconds())
    );
    out.push_str(&format!(
        "  {:>3}  {:<7}  {:<6}  {:>6}  {:>4}  {:>7}  {:>7}  {}\n",
        "leg", "engine", "device", "epochs", "best", "val acc", "time", "hardware"
    ));
    for (i, leg) in record.legs.iter().enumerate() {
        out.push_str(&format!(
            "  {:>3}  {:<7}  {:<6}  {:>6}  {:>4}  {:>7.4}  {:>7}  {}\n       {}\n",
            i + 1,
            leg.engine,
            leg.device,
            leg.epochs,
            leg.best_epoch,
            leg.best_val_accuracy,
            duration(leg.seconds),
            leg.hardware,
            leg.recipe.command_line(leg.engine, leg.device)
        ));
        if let Some(note) = leg_origin(leg) {
            out.push_str(&format!("       {note}\n"));
        }
    }
    out
}

/// The recipe stage a leg was and the sittings it took, when the card records them.
fn leg_origin(leg: &TrainingLeg) -> Option<String> {
    let sittings = match leg.sittings.len() {
        0 | 1 => None,
        n => Some(format!("{n} sittings")),
    };
    let stage = leg.recipe.stage.as_ref().map(|s| format!("recipe {s}"));
    match (stage, sittings) {
        (None, None) => None,
        (Some(a), Some(b)) => Some(format!("{a}, {b}")),
        (a, b) => a.or(b),
    }
}

/// `42 s`, `7 min`, `2.0 h`.
fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{duration, leg_origin};
    use ferrite_model::{ModelCard, Sitting};

    #[test]
    fn a_leg_says_which_recipe_stage_it_was_and_how_many_sittings_it_took() {
        let card: ModelCard =
            serde_json::from_str(include_str!("../../../../models/fast/card.json")).unwrap();
        let mut leg = card.training.legs[0].clone();
        leg.recipe.stage = None;
        leg.sittings.clear();
        assert_eq!(leg_origin(&leg), None, "a leg run by `ferrite train` alone");
        let sitting = Sitting {
            hardware: "here".into(),
            first_epoch: 1,
            epochs: 3,
            seconds: 60.0,
        };
        leg.recipe.stage = Some("fast-no-dropout 1/1 (distil)".into());
        leg.sittings = vec![sitting.clone()];
        assert_eq!(
            leg_origin(&leg).as_deref(),
            Some("recipe fast-no-dropout 1/1 (distil)"),
            "one sitting of a recipe file's only stage"
        );
        leg.recipe.stage = Some("fast 1/2 (distil)".into());
        leg.sittings = vec![sitting.clone(), sitting];
        assert_eq!(
            leg_origin(&leg).as_deref(),
            Some("recipe fast 1/2 (distil), 2 sittings")
        );
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(434.0), "7 min");
        assert_eq!(duration(7319.0), "2.0 h");
    }
}
