//! The model card's training record: how a model came to be, as a list of training legs (one
//! per `ferrite train` run), oldest first. A run started from another model's weights
//! (`--init`) carries that model's legs before its own, so the record is the model's whole
//! history however many runs, machines and engines it took.

use serde::{Deserialize, Serialize};

use ferrite_data::{ValidationSplit, NUM_CLASSES};

use crate::{Engine, ModelSource, TrainDevice, UpdateRule};

/// How a model was trained: its legs, oldest first. Empty for an untrained model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// One entry per training run that shaped the weights.
    pub legs: Vec<TrainingLeg>,
}

impl TrainingRecord {
    /// The leg that produced the weights (the last one).
    pub fn last(&self) -> Option<&TrainingLeg> {
        self.legs.last()
    }

    /// Epochs over all legs.
    pub fn total_epochs(&self) -> usize {
        self.legs.iter().map(|leg| leg.epochs).sum()
    }

    /// Training time over all legs, in seconds.
    pub fn total_seconds(&self) -> f64 {
        self.legs.iter().map(|leg| leg.seconds).sum()
    }
}

/// One training run: where it ran, for how long, with which recipe, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingLeg {
    /// The engine that trained.
    pub engine: Engine,
    /// The processor it trained on.
    pub device: TrainDevice,
    /// The machine: CPU model, threads, GPU.
    pub hardware: String,
    /// Epochs completed when the saved weights were written (the best epoch's run so far).
    pub epochs: usize,
    /// The epoch whose weights were kept, chosen on the validation split.
    pub best_epoch: usize,
    /// Validation accuracy of the kept epoch.
    pub best_val_accuracy: f64,
    /// Seconds spent training, across resumes.
    pub seconds: f64,
    /// The options the run was given.
    pub recipe: Recipe,
    /// What it trained and validated on.
    pub data: DataRecord,
    /// One entry per completed epoch.
    pub history: Vec<EpochRecord>,
    /// The invocations (`ferrite train`, then each `--resume`) that trained it, oldest first;
    /// empty in cards written before sittings were recorded.
    #[serde(default)]
    pub sittings: Vec<Sitting>,
}

/// One invocation of `ferrite train` on a run: where it ran and how far it took the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sitting {
    /// The machine: CPU model, threads, GPU.
    pub hardware: String,
    /// The first epoch it ran.
    pub first_epoch: usize,
    /// Epochs it completed.
    pub epochs: usize,
    /// Seconds of those epochs.
    pub seconds: f64,
}

/// The options of a training run, as `ferrite train` takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Planned epochs (after any `--time-limit` re-planning, at the time of the saved epoch).
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// The optimizer's base learning rate.
    pub lr: f64,
    /// Learning-rate schedule (`--schedule`).
    pub schedule: String,
    /// Augmentation preset (`--augment`), or `custom`.
    pub augment: String,
    /// Random-erasing probability (`--erase`).
    pub erase: f32,
    /// Class weighting in the loss (`--class-weights`).
    pub class_weights: String,
    /// Label smoothing.
    pub label_smoothing: f32,
    /// The run's seed.
    pub seed: u64,
    /// The split that chose the best epoch.
    pub val_split: ValidationSplit,
    /// At most this many training images, when limited.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The wall-clock budget, in seconds, when one was given.
    #[serde(default)]
    pub time_limit: Option<f64>,
    /// The model whose weights the run started from (`--init`), as given.
    #[serde(default)]
    pub init: Option<String>,
    /// How many of `init`'s conv blocks the run took (`--init-blocks`), when it took only
    /// those and started the rest fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_blocks: Option<usize>,
    /// The teacher the run learned from, if it was distilled.
    #[serde(default)]
    pub distill: Option<Distillation>,
    /// The optimizer, its momentum and decay, and the weight average.
    #[serde(flatten)]
    pub update: UpdateRule,
    /// Mixup's Beta(alpha, alpha) parameter (0: no mixup).
    #[serde(default)]
    pub mixup: f32,
    /// CutMix's Beta(alpha, alpha) parameter (0: no CutMix).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cutmix: f32,
    /// The recipe and stage the run was, when a recipe ran it (`fast 2/2 (fine-tune)`).
    #[serde(default)]
    pub stage: Option<String>,
    /// The side of the random crops the network trained on (`--crop`), when it read crops
    /// rather than whole faces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<usize>,
}

impl Recipe {
    /// The `ferrite train` options that repeat this recipe (data and output folders aside).
    pub fn command_line(&self, engine: Engine, device: TrainDevice) -> String {
        let mut args = vec![format!("--engine {engine}")];
        if device != TrainDevice::Cpu {
            args.push(format!("--device {device}"));
        }
        args.push(format!("--epochs {}", self.epochs));
        args.push(format!("--lr {}", self.lr));
        args.push(format!("--schedule {}", self.schedule));
        args.push(format!("--augment {}", self.augment));
        if self.erase > 0.0 {
            args.push(format!("--erase {}", self.erase));
        }
        args.push(format!("--class-weights {}", self.class_weights));
        args.push(format!(
            "--label-smoothing {}",
            short_float(self.label_smoothing)
        ));
        args.push(format!("--batch-size {}", self.batch_size));
        if let Some(side) = self.crop {
            args.push(format!("--crop {side}"));
        }
        args.push(format!("--seed {}", self.seed));
        if let Some(init) = &self.init {
            args.push(format!("--init {init}"));
        }
        if let Some(blocks) = self.init_blocks {
            args.push(format!("--init-blocks {blocks}"));
        }
        if let Some(d) = &self.distill {
            args.extend(
                d.teachers
                    .iter()
                    .map(|t| format!("--teacher {}", t.to_arg())),
            );
            args.push(format!(
                "--temperature {} --distill-weight {}",
                short_float(d.temperature),
                short_float(d.weight)
            ));
            if d.targets != TeacherTargets::Online {
                args.push(format!("--teacher-targets {}", d.targets.name()));
            }
        }
        args.extend(self.update.args());
        if self.mixup > 0.0 {
            args.push(format!("--mixup {}", short_float(self.mixup)));
        }
        if self.cutmix > 0.0 {
            args.push(format!("--cutmix {}", short_float(self.cutmix)));
        }
        if let Some(limit) = self.limit {
            args.push(format!("--limit {limit}"));
        }
        args.join(" ")
    }
}

/// Knowledge distillation: the student learns the teacher's softened probabilities (on the same
/// augmented faces) beside the labels: loss = (1 - weight) x hard + weight x soft, where soft is
/// `T^2 KL(softmax(teacher / T) || softmax(student / T))`. The teacher may be an ensemble: its
/// log-probabilities are then the mean of its members'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distillation {
    /// The teacher's members (one, or an ensemble): shipped models' names or model folders.
    /// Cards before ensembles hold one, as `teacher`.
    #[serde(alias = "teacher", deserialize_with = "one_or_more")]
    pub teachers: Vec<ModelSource>,
    /// The softmax temperature `T` of the soft targets.
    pub temperature: f32,
    /// The soft loss's share of the total, in [0, 1].
    pub weight: f32,
    /// Which faces the soft targets come from (cards before this option: `online`).
    #[serde(default)]
    pub targets: TeacherTargets,
}

/// Which faces the teacher's soft targets are computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherTargets {
    /// On each augmented batch, beside the student: exact, but every step pays the teacher's
    /// forward pass (for `fast` from `accurate`: 14x the student's cost, 2.8x the step).
    #[default]
    Online,
    /// On each augmented batch and on its mirror image, each member's logits averaged over the
    /// two (as `clean` averages them): the teacher with flip test-time augmentation, at twice
    /// the teacher's cost a step.
    OnlineFlip,
    /// On each augmented batch, its mirror image and a closer view of each (the teacher with
    /// zoom test-time augmentation, [`ferrite_data::Tta::Zoom`]), each member's logits averaged
    /// over the four: the more accurate teacher, at four times its cost a step.
    OnlineZoom,
    /// Once, before the first epoch, on each training face and its mirror image (their logits
    /// averaged); every augmented view of a face then learns that one target. With light
    /// augmentation the views stay close to the face, and the steps run at the student's pace.
    Clean,
}

impl TeacherTargets {
    /// The name `--teacher-targets` takes.
    pub fn name(self) -> &'static str {
        match self {
            TeacherTargets::Online => "online",
            TeacherTargets::OnlineFlip => "online-flip",
            TeacherTargets::OnlineZoom => "online-zoom",
            TeacherTargets::Clean => "clean",
        }
    }
}

impl std::str::FromStr for TeacherTargets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "online" => Ok(TeacherTargets::Online),
            "online-flip" => Ok(TeacherTargets::OnlineFlip),
            "online-zoom" => Ok(TeacherTargets::OnlineZoom),
            "clean" => Ok(TeacherTargets::Clean),
            other => Err(format!(
                "unknown teacher targets `{other}` (online, online-flip, online-zoom, clean)"
            )),
        }
    }
}

/// A list of teachers, or the one teacher of cards before ensembles.
fn one_or_more<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ModelSource>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMore {
        One(ModelSource),
        More(Vec<ModelSource>),
    }
    Ok(match OneOrMore::deserialize(deserializer)? {
        OneOrMore::One(teacher) => vec![teacher],
        OneOrMore::More(teachers) => teachers,
    })
}

impl Distillation {
    /// Checks that there is a teacher, the temperature and the weight.
    pub fn validate(&self) -> Result<(), String> {
        if self.teachers.is_empty() {
            return Err("distillation needs a --teacher".to_string());
        }
        if !(self.temperature > 0.0 && self.temperature <= 100.0) {
            return Err(format!(
                "--temperature {} is out of range (0, 100]",
                self.temperature
            ));
        }
        if !(0.0..=1.0).contains(&self.weight) {
            return Err(format!(
                "--distill-weight {} is out of range [0, 1]",
                self.weight
            ));
        }
        Ok(())
    }
}

/// Whether a rate is zero: an option that was off, left out of the card.
fn is_zero(value: &f32) -> bool {
    *value == 0.0
}

/// `f32` values such as 0.1 print as 0.1, not 0.10000000149011612.
fn short_float(value: f32) -> String {
    format!("{}", (value as f64 * 1e6).round() / 1e6)
}

/// The data a leg trained and validated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Training images used.
    pub train_images: usize,
    /// Training images per class, in label order.
    pub train_class_counts: [usize; NUM_CLASSES],
    /// Validation images.
    pub val_images: usize,
    /// SHA-256 of the training split's content (labels and pixels).
    pub train_data_sha256: String,
    /// For a distilled leg, [`crate::ModelBundle::weights_sha256`] of each teacher member, in
    /// `--teacher` order: which model a teacher's name (`accurate`) stood for when the leg ran.
    /// Empty without a teacher and in cards before this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teachers_weights_sha256: Vec<String>,
}

/// One epoch of a leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number within the leg (1-based).
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (training mode: augmentation and dropout on).
    pub acc: f64,
    /// Validation loss (unweighted cross-entropy).
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_acc: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Seconds the epoch took (unknown for models trained before version 2 of the card).
    #[serde(default)]
    pub seconds: Option<f64>,
}

impl TrainingRecord {
    /// Reads the free-form `training` section of a version-1 card, whose earlier legs nest
    /// under `started_from`, into a record. Fields a leg lacks read as zero or empty: a
    /// version-1 card never fails to load over its training section.
    pub fn from_version_1(training: &serde_json::Value) -> TrainingRecord {
        from_version_1(training)
    }
}

fn from_version_1(training: &serde_json::Value) -> TrainingRecord {
    let mut legs = Vec::new();
    let mut next = Some(training);
    while let Some(value) = next.filter(|v| v.is_object()) {
        legs.push(version_1_leg(value));
        next = value.get("started_from");
    }
    legs.reverse();
    TrainingRecord { legs }
}

fn version_1_leg(t: &serde_json::Value) -> TrainingLeg {
    let config = &t["config"];
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let count = |v: &serde_json::Value| v.as_u64().unwrap_or(0) as usize;
    let text = |v: &serde_json::Value, default: &str| v.as_str().unwrap_or(default).to_string();
    let lr_history: Vec<f64> = t["lr_history"]
        .as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default();
    let history = t["history"]
        .as_array()
        .map(|points| {
            points
                .iter()
                .enumerate()
                .map(|(i, p)| EpochRecord {
                    epoch: count(&p["epoch"]),
                    loss: num(&p["loss"]),
                    acc: num(&p["acc"]),
                    val_loss: num(&p["val_loss"]),
                    val_acc: num(&p["val_acc"]),
                    lr: lr_history.get(i).copied().unwrap_or(0.0),
                    seconds: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut class_counts = [0; NUM_CLASSES];
    if let Some(counts) = t["train_class_counts"].as_array() {
        for (slot, v) in class_counts.iter_mut().zip(counts) {
            *slot = count(v);
        }
    }
    let augment = &config["augment"];
    TrainingLeg {
        engine: serde_json::from_value(config["engine"].clone()).unwrap_or_default(),
        device: serde_json::from_value(config["device"].clone()).unwrap_or_default(),
        hardware: text(&t["hardware"], "unknown"),
        epochs: count(&t["epochs_completed"]),
        best_epoch: count(&t["best_epoch"]),
        best_val_accuracy: num(&t["best_val_accuracy"]),
        seconds: num(&t["training_seconds"]),
        recipe: Recipe {
            epochs: count(&config["epochs"]),
            batch_size: count(&config["batch_size"]),
            lr: num(&config["lr"]),
            schedule: text(&config["schedule"], "unknown"),
            augment: version_1_augment_preset(augment).into(),
            erase: num(&augment["erase_prob"]) as f32,
            class_weights: text(&config["class_weighting"], "unknown"),
            label_smoothing: num(&config["label_smoothing"]) as f32,
            seed: config["seed"].as_u64().unwrap_or(0),
            val_split: ValidationSplit::PublicTest,
            limit: config["limit"].as_u64().map(|v| v as usize),
            time_limit: config["time_limit"].as_f64(),
            init: config["init"].as_str().map(str::to_string),
            init_blocks: None,
            distill: None,
            update: UpdateRule::default(),
            mixup: 0.0,
            cutmix: 0.0,
            stage: None,
            crop: None,
        },
        sittings: Vec::new(),
        data: DataRecord {
            train_images: count(&t["train_images"]),
            train_class_counts: class_counts,
            val_images: count(&t["val_images"]),
            train_data_sha256: text(&t["train_data_sha256"], ""),
            teachers_weights_sha256: Vec::new(),
        },
        history,
    }
}

/// The preset a version-1 card's augmentation ranges belong to.
fn version_1_augment_preset(augment: &serde_json::Value) -> &'static str {
    let rotation = augment["rotation_deg"].as_f64().unwrap_or(-1.0);
    let flip = augment["flip"].as_bool().unwrap_or(false);
    match (rotation, flip) {
        (20.0, true) => "report",
        (10.0, true) => "light",
        (0.0, false) => "none",
        _ => "custom",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShippedModel;

    fn version_1_leg_json(seed: u64, started_from: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "engine": "ferrite-engine (gemm CPU engine)",
            "config": {
                "engine": "ferrite", "device": "cpu", "epochs": 9, "batch_size": 64,
                "lr": 0.0005, "schedule": "cosine", "class_weighting": "sqrt",
                "label_smoothing": 0.10000000149011612, "seed": seed,
                "augment": {"rotation_deg": 10.0, "shift": 0.1, "shear": 0.1, "zoom": 0.1,
                            "flip": true, "erase_prob": 0.0},
                "val_split": "public-test", "limit": null, "init": "runs/a"
            },
            "epochs_completed": 2, "best_epoch": 2, "best_val_accuracy": 0.6,
            "train_images": 100, "train_class_counts": [1, 2, 3, 4, 5, 6, 79],
            "val_images": 50, "train_data_sha256": "ab", "training_seconds": 30.0,
            "hardware": "AMD EPYC, 2 threads, no GPU",
            "history": [
                {"epoch": 1, "loss": 1.5, "acc": 0.4, "val_loss": 1.4, "val_acc": 0.5},
                {"epoch": 2, "loss": 1.2, "acc": 0.5, "val_loss": 1.3, "val_acc": 0.6}
            ],
            "lr_history": [0.0005, 0.00001],
            "started_from": started_from
        })
    }

    #[test]
    fn a_version_1_chain_becomes_legs_oldest_first() {
        let first = version_1_leg_json(42, serde_json::Value::Null);
        let second = version_1_leg_json(43, first);
        let record = from_version_1(&second);
        assert_eq!(record.legs.len(), 2);
        assert_eq!(record.legs[0].recipe.seed, 42);
        assert_eq!(record.legs[1].recipe.seed, 43);
        let leg = &record.legs[1];
        assert_eq!(leg.engine, Engine::Ferrite);
        assert_eq!(leg.recipe.augment, "light");
        assert_eq!(leg.history[1].lr, 0.00001);
        assert_eq!(leg.data.train_class_counts[6], 79);
        assert_eq!(record.total_epochs(), 4);
        assert_eq!(record.total_seconds(), 60.0);
        assert_eq!(
            leg.recipe.command_line(leg.engine, leg.device),
            "--engine ferrite --epochs 9 --lr 0.0005 --schedule cosine --augment light \
             --class-weights sqrt --label-smoothing 0.1 --batch-size 64 --seed 43 --init runs/a"
        );
    }

    #[test]
    fn an_untrained_version_1_card_has_no_legs() {
        assert!(from_version_1(&serde_json::Value::Null).legs.is_empty());
    }

    #[test]
    fn a_card_with_one_teacher_reads_as_an_ensemble_of_one() {
        let before_ensembles = serde_json::json!({
            "teacher": "accurate", "temperature": 4.0, "weight": 0.7, "targets": "clean"
        });
        let distill: Distillation = serde_json::from_value(before_ensembles).unwrap();
        assert_eq!(
            distill.teachers,
            vec![ModelSource::Shipped(ShippedModel::Accurate)]
        );
        let ensemble = Distillation {
            teachers: vec![
                ModelSource::Shipped(ShippedModel::Accurate),
                ModelSource::Dir("runs/wide".into()),
            ],
            ..distill
        };
        let json = serde_json::to_value(&ensemble).unwrap();
        assert_eq!(
            json["teachers"],
            serde_json::json!(["accurate", "runs/wide"])
        );
        assert_eq!(
            serde_json::from_value::<Distillation>(json).unwrap(),
            ensemble
        );
    }

    #[test]
    fn an_ensemble_teacher_is_one_teacher_option_per_member() {
        let leg_json = version_1_leg_json(43, serde_json::Value::Null);
        let recipe = Recipe {
            distill: Some(Distillation {
                teachers: vec![
                    ModelSource::Shipped(ShippedModel::Accurate),
                    ModelSource::Dir("runs/wide".into()),
                ],
                temperature: 4.0,
                weight: 0.7,
                targets: TeacherTargets::Online,
            }),
            ..from_version_1(&leg_json).legs[0].recipe.clone()
        };
        assert!(recipe
            .command_line(Engine::Ferrite, TrainDevice::Cpu)
            .contains("--teacher accurate --teacher runs/wide --temperature 4"));
        let none = Distillation {
            teachers: Vec::new(),
            ..recipe.distill.unwrap()
        };
        assert!(none.validate().unwrap_err().contains("--teacher"));
    }
}
