use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Args;

use ferrite_data::ValidationSplit;
use ferrite_model::{
    ArchSpec, Distillation, Engine, ModelSource, Optimizer, TeacherTargets, UpdateRule,
    DEFAULT_MOMENTUM,
};
use ferrite_train::{
    Augmenter, ClassWeighting, LrSchedule, TrainConfig, TrainDevice, TrainOutcome,
};

use super::recipe;

/// Arguments of `ferrite train`.
#[derive(Args)]
pub struct TrainArgs {
    /// Dataset: Kaggle layout (train/, test/), fer2013.csv, or its folder.
    #[arg(long)]
    data: PathBuf,
    /// Output model directory (best model, history, curves; checkpoints in OUT/checkpoint;
    /// a recipe's stages in OUT/stages).
    #[arg(long)]
    out: PathBuf,
    /// Train by a recipe: a built-in one (fast, accurate: the shipped models) or a recipe
    /// file (TOML: a name and stages, each with its `ferrite train` options). Runs the stages
    /// one after another, each from the previous stage's model; with --resume, a stopped
    /// recipe continues where it stopped. Takes no training options but --device and
    /// --threads.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "TrainOptions")]
    recipe: Option<String>,
    /// Where the burn engine trains: cpu, or vulkan (a GPU; needs a build with `--features
    /// vulkan`). With --recipe, it applies to the recipe's burn stages.
    #[arg(long, default_value = "cpu")]
    device: TrainDevice,
    /// The training options (without --recipe).
    #[command(flatten)]
    options: TrainOptions,
    /// Continue from OUT/checkpoint (with --recipe: from the stage that stopped).
    #[arg(long)]
    resume: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// The options that define a training run (a recipe stage gives the same ones).
#[derive(Args, Debug, Clone)]
pub struct TrainOptions {
    /// Architecture preset.
    #[arg(long, default_value = "reference", value_parser = parse_arch)]
    arch: ArchSpec,
    /// Train on random SIDE x SIDE crops of each augmented 48x48 face (e.g. 40, as the best
    /// published FER2013 CNNs do); the network then classifies a face's centre crop, or ten
    /// crops with `--tta crops`. Default: the whole face.
    #[arg(long, value_name = "SIDE")]
    crop: Option<usize>,
    /// Dropout after each conv block, in [0, 1) (default: the preset's, 0.25). The card's
    /// architecture records it.
    #[arg(long, value_name = "P")]
    conv_dropout: Option<f32>,
    /// Dropout after each hidden dense layer, in [0, 1) (default: the preset's, 0.5).
    #[arg(long, value_name = "P")]
    fc_dropout: Option<f32>,
    /// Engine: ferrite (the gemm CPU engine, ~2x faster here) or burn (the reference).
    #[arg(long, default_value = "ferrite")]
    engine: Engine,
    /// Number of epochs.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Optimizer: adam (the report's), sgd (heavy-ball momentum) or nesterov (SGD with
    /// Nesterov momentum, as the best published FER2013 CNNs train; try --lr 0.01).
    #[arg(long, default_value = "adam")]
    optimizer: Optimizer,
    /// Momentum of sgd and nesterov.
    #[arg(long, default_value_t = DEFAULT_MOMENTUM)]
    momentum: f32,
    /// L2 penalty added to every gradient (PyTorch's weight_decay; 5e-4 in the published
    /// SGD recipes).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Keep an exponential moving average of the weights with this decay (e.g. 0.999),
    /// updated after every step; the average is validated and saved, and each epoch's line
    /// also shows the last step's weights (gemm engine only).
    #[arg(long, value_name = "DECAY")]
    ema: Option<f32>,
    /// Sharpness-aware minimisation with this radius (0.05 is usual): each step's gradient is
    /// taken again at the weights moved RHO up the batch's gradient, favouring flat minima, at
    /// twice a step's cost (gemm engine only).
    #[arg(long, value_name = "RHO")]
    sam: Option<f32>,
    /// Mixup with Beta(ALPHA, ALPHA): each batch blended with a shuffled copy of itself, the
    /// loss blending the two labels alike (0: off; 0.2-0.4 is usual).
    #[arg(long, default_value_t = 0.0, value_name = "ALPHA")]
    mixup: f32,
    /// CutMix with Beta(ALPHA, ALPHA): into each face a box of another face of the batch, the
    /// loss blending the two labels by area (0: off; 1.0 is usual). With --mixup too, each
    /// batch takes one of the two, with equal chance.
    #[arg(long, default_value_t = 0.0, value_name = "ALPHA")]
    cutmix: f32,
    /// Learning-rate schedule: plateau, cosine or one-cycle.
    #[arg(long, default_value = "cosine")]
    schedule: LrSchedule,
    /// Patience of the plateau schedule, in epochs.
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Label smoothing.
    #[arg(long, default_value_t = 0.1)]
    label_smoothing: f32,
    /// Class weights against imbalance: none, balanced (the report's) or sqrt.
    #[arg(long, default_value = "sqrt")]
    class_weights: ClassWeighting,
    /// Augmentation: report (rotation 20, shifts/shear/zoom 0.2, flip), light (half those
    /// ranges, flip) or none.
    #[arg(long, default_value = "report", value_parser = parse_augment)]
    augment: Augmenter,
    /// Probability of random erasing per image.
    #[arg(long, default_value_t = 0.0)]
    erase: f32,
    /// Seed for initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Split that picks the best epoch: public-test. PrivateTest, the whole test folder and the
    /// training set are refused (PrivateTest is reported, never tuned on).
    #[arg(long, default_value = "public-test")]
    val_split: ValidationSplit,
    /// Train on at most this many images (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// Wall-clock budget in seconds: after each epoch but the first (warm-up), the run is
    /// re-planned to the epochs the rest of the budget holds at the last epoch's pace, at most
    /// --epochs; a plan is only ever shortened.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Start from the weights of this model (a folder, or a shipped model's name; same
    /// architecture) instead of a random initialisation; the optimizer and the schedule start
    /// fresh, and the new card keeps the model's training legs.
    #[arg(long, value_name = "NAME|DIR")]
    init: Option<ModelSource>,
    /// Take only the first N conv blocks from --init's model (their channels and convs must be
    /// this architecture's) and start the later blocks, the dense layers and the classifier
    /// fresh: grows a deeper network (`--arch vgg4 --init accurate --init-blocks 3`) from a
    /// trained one.
    #[arg(long, value_name = "N", requires = "init")]
    init_blocks: Option<usize>,
    /// Distil from this model (a shipped model's name or a folder): the network learns the
    /// teacher's softened probabilities on the same augmented faces beside the labels (on
    /// either engine; the teacher runs on the gemm engine). Given more than once, the teacher
    /// is the ensemble of those models (their log-probabilities averaged; each model reads the
    /// window it was trained on). In a recipe stage, `@NAME` is the model the earlier stage
    /// `NAME` made, `@previous` the stage before's (the one this stage starts from).
    #[arg(long, value_name = "NAME|DIR")]
    teacher: Vec<ModelSource>,
    /// Softmax temperature of the teacher's soft targets.
    #[arg(long, default_value_t = 4.0, requires = "teacher")]
    temperature: f32,
    /// Share of the teacher's (soft) loss in the total; the labels' loss has the rest.
    #[arg(long, default_value_t = 0.7, requires = "teacher")]
    distill_weight: f32,
    /// Which faces the teacher's soft targets come from: online (each augmented batch; every
    /// step pays the teacher's forward pass), online-flip (each augmented batch and its mirror,
    /// the logits averaged; twice the teacher's cost), online-zoom (the batch, its mirror and a
    /// closer view of each, as `--tta=zoom` reads a face; four times the teacher's cost) or
    /// clean (computed once on each face and its mirror before the first epoch; steps run at
    /// the student's pace).
    #[arg(long, default_value = "online", requires = "teacher")]
    teacher_targets: TeacherTargets,
}

/// An architecture preset by name, for `--arch`.
pub fn parse_arch(name: &str) -> Result<ArchSpec, String> {
    ArchSpec::preset(name).ok_or_else(|| {
        format!(
            "unknown architecture `{name}` (one of {})",
            ArchSpec::preset_names().join(", ")
        )
    })
}

fn parse_augment(name: &str) -> Result<Augmenter, String> {
    Augmenter::preset(name).ok_or_else(|| {
        format!(
            "unknown augmentation `{name}` (one of {})",
            Augmenter::PRESET_NAMES.join(", ")
        )
    })
}

impl TrainOptions {
    /// The run these options describe, on `device`.
    pub fn to_config(&self, device: TrainDevice) -> TrainConfig {
        let args = self.clone();
        TrainConfig {
            arch: ArchSpec {
                input_size: args.crop.unwrap_or(args.arch.input_size),
                conv_dropout: args.conv_dropout.unwrap_or(args.arch.conv_dropout),
                fc_dropout: args.fc_dropout.unwrap_or(args.arch.fc_dropout),
                ..args.arch
            },
            engine: args.engine,
            device,
            epochs: args.epochs,
            batch_size: args.batch_size,
            lr: args.lr,
            schedule: args.schedule,
            plateau_patience: args.patience,
            label_smoothing: args.label_smoothing,
            class_weighting: args.class_weights,
            augment: Augmenter {
                erase_prob: args.erase,
                ..args.augment
            },
            seed: args.seed,
            val_split: args.val_split,
            limit: args.limit,
            time_limit: args.time_limit,
            init: args.init,
            init_blocks: args.init_blocks,
            distill: (!args.teacher.is_empty()).then_some(Distillation {
                teachers: args.teacher,
                temperature: args.temperature,
                weight: args.distill_weight,
                targets: args.teacher_targets,
            }),
            update: UpdateRule {
                optimizer: args.optimizer,
                momentum: args.momentum,
                weight_decay: args.weight_decay,
                ema: args.ema,
                sam: args.sam,
            },
            mixup: args.mixup,
            cutmix: args.cutmix,
            recipe_stage: None,
        }
    }
}

/// Runs `ferrite train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("setting the thread count")?;
    }
    let stop = stop_on_ctrl_c()?;
    if let Some(name) = &args.recipe {
        let recipe = recipe::load(name, args.device)?;
        let outcome = recipe.run(&args.data, &args.out, args.resume, &stop)?;
        if let Some((index, stage)) = &outcome.last {
            print_outcome(stage, &recipe.stage_dir(&args.out, *index));
        }
        return Ok(if outcome.finished {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(130)
        });
    }
    let config = args.options.to_config(args.device);
    let outcome = ferrite_train::train(&args.data, &args.out, &config, args.resume, &stop)?;
    print_outcome(&outcome, &args.out);
    Ok(if outcome.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// A flag that Ctrl-C sets (the run saves a checkpoint after the current step); a second
/// Ctrl-C quits at once.
fn stop_on_ctrl_c() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after this step and saving a checkpoint (Ctrl-C again to quit now)");
    })
    .map_err(|e| anyhow!("installing the Ctrl-C handler: {e}"))?;
    Ok(stop)
}

fn print_outcome(outcome: &TrainOutcome, out: &Path) {
    match outcome.best {
        Some((acc, epoch)) => println!(
            "best val_acc {acc:.4} at epoch {epoch}; {} epochs in {:.0}s; model in {}",
            outcome.epochs_done,
            outcome.seconds,
            out.display()
        ),
        None => println!("no epoch finished"),
    }
}
