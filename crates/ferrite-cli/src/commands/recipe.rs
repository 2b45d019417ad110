//! Recipe files for `ferrite train --recipe`: TOML with a name and stages, each stage a name
//! and the `ferrite train` options of its run, parsed by the same parser as the command line.
//! The recipes of the shipped models are built in.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use serde::Deserialize;

use ferrite_model::Engine;
use ferrite_train::{Stage, StagedRecipe, TrainDevice};

use super::train::TrainOptions;

/// The recipes built into the binary: the shipped models'.
const BUILT_IN: &[(&str, &str)] = &[
    ("fast", include_str!("../../../../recipes/fast.toml")),
    (
        "accurate",
        include_str!("../../../../recipes/accurate.toml"),
    ),
];

/// A recipe file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    name: String,
    #[serde(rename = "stage", default)]
    stages: Vec<StageEntry>,
}

/// One `[[stage]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageEntry {
    name: String,
    /// `ferrite train` options, separated by white space (no quoting: paths without spaces).
    options: String,
}

/// A stage's options, parsed as `ferrite train` parses its own.
#[derive(Parser)]
#[command(no_binary_name = true)]
struct StageOptions {
    #[command(flatten)]
    options: TrainOptions,
}

/// The recipe `name_or_path` names (a built-in name, or a file), its burn stages on
/// `device`.
pub fn load(name_or_path: &str, device: TrainDevice) -> anyhow::Result<StagedRecipe> {
    let (text, origin) = match BUILT_IN.iter().find(|(name, _)| *name == name_or_path) {
        Some((name, text)) => (text.to_string(), format!("built-in recipe `{name}`")),
        None => {
            let path = Path::new(name_or_path);
            if !path.is_file() {
                bail!(
                    "no recipe `{name_or_path}`: not a built-in one ({}) and no such file",
                    BUILT_IN
                        .iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            (text, path.display().to_string())
        }
    };
    parse(&text, device).with_context(|| format!("in {origin}"))
}

/// Parses a recipe's text.
fn parse(text: &str, device: TrainDevice) -> anyhow::Result<StagedRecipe> {
    let file: RecipeFile = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
    let stages = file
        .stages
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let parsed = StageOptions::try_parse_from(entry.options.split_whitespace())
                .map_err(|e| anyhow!("stage {} ({}): {}", i + 1, entry.name, clap_message(&e)))?;
            let mut config = parsed.options.to_config(TrainDevice::Cpu);
            if config.engine == Engine::Burn {
                config.device = device;
            }
            Ok(Stage {
                name: entry.name.clone(),
                config,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let recipe = StagedRecipe {
        name: file.name,
        stages,
    };
    recipe.validate().map_err(|e| anyhow!(e))?;
    Ok(recipe)
}

/// clap's message without its `error: ` prefix and its pointer to `--help`.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.contains("For more information"))
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_model::{ModelSource, Optimizer, ShippedModel};

    #[test]
    fn the_built_in_recipes_parse_into_their_stages() {
        let fast = load("fast", TrainDevice::Cpu).unwrap();
        assert_eq!(fast.stages.len(), 4);
        ran_as_the_shipped_legs(&fast, ShippedModel::Fast);
        let last = &fast.stages[3].config;
        assert_eq!(last.arch.name, "fast-deep");
        assert!(
            ShippedModel::Fast
                .card()
                .arch
                .has_the_weights_of(&last.arch),
            "the recipe makes the shipped fast model's network"
        );
        assert_eq!((last.arch.conv_dropout, last.arch.fc_dropout), (0.0, 0.1));
        assert_eq!(last.epochs, 30);
        assert!(last.distill.is_some());
        assert!(
            last.mixup > 0.0,
            "function matching: the teacher reads mixed batches"
        );
        let accurate = load("accurate", TrainDevice::Vulkan).unwrap();
        assert_eq!(accurate.stages.len(), 11);
        ran_as_the_shipped_legs(&accurate, ShippedModel::Accurate);
        let last = &accurate.stages[10].config;
        assert_eq!((last.arch.conv_dropout, last.arch.fc_dropout), (0.1, 0.3));
        assert!(ShippedModel::Accurate
            .card()
            .arch
            .has_the_weights_of(&last.arch));
        let devices: Vec<_> = accurate.stages.iter().map(|s| s.config.device).collect();
        assert_eq!(devices[0], TrainDevice::Vulkan, "burn stages go to the GPU");
        assert_eq!(devices[1], TrainDevice::Cpu, "gemm stages stay on the CPU");
    }

    /// Each stage of `recipe` has the seed, rate and teacher that the shipped model's card records
    /// for its leg (a stage's `@previous` teacher: the model its leg started from; an `@NAME`
    /// teacher, some earlier leg's folder, is taken as the card records it): the recipe is what
    /// made the model.
    fn ran_as_the_shipped_legs(recipe: &StagedRecipe, model: ShippedModel) {
        let legs = model.card().training.legs;
        assert_eq!(recipe.stages.len(), legs.len(), "{model:?}: a stage a leg");
        for (stage, leg) in recipe.stages.iter().zip(&legs) {
            let config = &stage.config;
            let started_from = leg.recipe.init.as_deref().map(|init| init.parse().unwrap());
            let recorded: Vec<&ModelSource> = leg
                .recipe
                .distill
                .iter()
                .flat_map(|d| &d.teachers)
                .collect();
            let expected = config.distill.as_ref().map(|d| {
                let resolved = d
                    .teachers
                    .iter()
                    .enumerate()
                    .map(|(i, teacher)| match teacher {
                        ModelSource::Stage(name) if name == ModelSource::PREVIOUS_STAGE => {
                            started_from.clone().unwrap()
                        }
                        ModelSource::Stage(_) => recorded.get(i).map_or(teacher, |r| *r).clone(),
                        named => named.clone(),
                    });
                (resolved.collect::<Vec<_>>(), d.targets)
            });
            let teachers = |d: &Option<ferrite_model::Distillation>| {
                d.as_ref().map(|d| (d.teachers.clone(), d.targets))
            };
            assert_eq!(
                (config.seed, config.lr, config.mixup, config.cutmix),
                (
                    leg.recipe.seed,
                    leg.recipe.lr,
                    leg.recipe.mixup,
                    leg.recipe.cutmix
                ),
                "{model:?}, stage {}",
                stage.name
            );
            // Where the card says which weights a shipped teacher had, the model shipped under
            // that name now has them: the recipe still names the teacher the leg learnt from.
            let named = config.distill.iter().flat_map(|d| &d.teachers);
            for (teacher, digest) in named.zip(&leg.data.teachers_weights_sha256) {
                if let ModelSource::Shipped(shipped) = teacher {
                    assert_eq!(
                        digest,
                        &shipped.bundle().weights_sha256(),
                        "{model:?}, stage {}: `{}` is no longer the teacher it had",
                        stage.name,
                        shipped.name()
                    );
                }
            }
            assert_eq!(
                expected,
                teachers(&leg.recipe.distill),
                "{model:?}, stage {}",
                stage.name
            );
        }
    }

    #[test]
    fn a_recipe_file_takes_the_options_of_the_command_line() {
        let text = r#"
            name = "try"
            [[stage]]
            name = "sgd"
            options = """--arch fast --optimizer nesterov --lr 0.01 --weight-decay 5e-4 --ema 0.999
              --crop 40 --conv-dropout 0.1 --fc-dropout 0.3 --teacher accurate --teacher fast"""
        "#;
        let recipe = parse(text, TrainDevice::Cpu).unwrap();
        let config = &recipe.stages[0].config;
        assert_eq!(config.update.optimizer, Optimizer::Nesterov);
        assert_eq!(config.update.ema, Some(0.999));
        let arch = &config.arch;
        assert_eq!(
            (arch.input_size, arch.conv_dropout, arch.fc_dropout),
            (40, 0.1, 0.3)
        );
        assert_eq!(arch.blocks, ferrite_model::ArchSpec::fast().blocks);
        assert_eq!(config.distill.as_ref().unwrap().teachers.len(), 2);
    }

    #[test]
    fn mistakes_are_named() {
        let stage = |options: &str| {
            format!("name = \"r\"\n[[stage]]\nname = \"one\"\noptions = \"{options}\"\n")
        };
        let e = parse(&stage("--epochs many"), TrainDevice::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("stage 1 (one)"), "{e:#}");
        let e = parse(&stage("--epochs 0"), TrainDevice::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("--epochs"), "{e:#}");
        let e = parse(&stage("--fc-dropout 1"), TrainDevice::Cpu).unwrap_err();
        assert!(
            format!("{e:#}").contains("dropout 1 is not in [0, 1)"),
            "{e:#}"
        );
        let e = parse(&stage("--teacher @previous"), TrainDevice::Cpu).unwrap_err();
        assert!(
            format!("{e:#}").contains("stage 1 (one): @previous"),
            "no stage before the first: {e:#}"
        );
        let e = parse("name = \"r\"\nstages = 3\n", TrainDevice::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("stages"), "{e:#}");
        let e = parse("name = \"r\"\n", TrainDevice::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("no stages"), "{e:#}");
        let e = load("/no/such/recipe.toml", TrainDevice::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("fast, accurate"), "{e:#}");
    }

    /// The experiments' recipe files, which README's commands run, parse and validate.
    #[test]
    fn every_experiment_recipe_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/experiments");
        let mut loaded = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                let recipe = load(path.to_str().unwrap(), TrainDevice::Cpu);
                assert!(
                    recipe.is_ok(),
                    "{}: {:#}",
                    path.display(),
                    recipe.err().unwrap()
                );
                loaded += 1;
            }
        }
        assert!(loaded >= 2, "{loaded} recipes in {}", dir.display());
    }
}
