//! Short real training runs on synthetic faces drawn in code: learning, checkpoints, resume,
//! interruption.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use ferrite_model::{
    ArchSpec, Engine, ModelBundle, ModelSource, Optimizer, TeacherTargets, TrainingRecord,
    UpdateRule,
};
use ferrite_train::{
    train, Augmenter, ClassWeighting, LrSchedule, Stage, StagedRecipe, TrainConfig, TrainDevice,
    TrainError, TrainOutcome,
};
use image::{GrayImage, Luma};

/// burn seeds one global RNG per device: runs in this file take turns so each stays repeatable.
static SERIAL: Mutex<()> = Mutex::new(());

/// Three classes with distinct patterns: happy = horizontal stripes, sad = vertical stripes,
/// neutral = flat, with per-image noise.
fn synthetic_dataset(root: &Path, per_class: usize) {
    for split in ["train", "test"] {
        for (class, kind) in [("happy", 0), ("sad", 1), ("neutral", 2)] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                let img = GrayImage::from_fn(48, 48, |x, y| {
                    let noise = ((x * 7 + y * 13 + i as u32 * 31) % 40) as u8;
                    let base = match kind {
                        0 => {
                            if (y / 4) % 2 == 0 {
                                200
                            } else {
                                40
                            }
                        }
                        1 => {
                            if (x / 4) % 2 == 0 {
                                200
                            } else {
                                40
                            }
                        }
                        _ => 120,
                    };
                    Luma([base + noise / 2])
                });
                let prefix = if split == "test" {
                    if i % 2 == 0 {
                        "PublicTest_"
                    } else {
                        "PrivateTest_"
                    }
                } else {
                    "Training_"
                };
                img.save(dir.join(format!("{prefix}{i}.png"))).unwrap();
            }
        }
    }
}

/// `train` with no stop request.
fn run_to_end(
    data: &Path,
    out: &Path,
    config: &TrainConfig,
    resume: bool,
) -> Result<TrainOutcome, TrainError> {
    train(data, out, config, resume, &AtomicBool::new(false))
}

fn tiny_config(epochs: usize) -> TrainConfig {
    let mut arch = ArchSpec::reference();
    arch.name = "tiny".into();
    arch.blocks.truncate(2);
    arch.blocks[0].channels = 4;
    arch.blocks[1].channels = 8;
    arch.hidden = vec![16];
    arch.conv_dropout = 0.1;
    arch.fc_dropout = 0.1;
    TrainConfig {
        arch,
        epochs,
        batch_size: 16,
        lr: 3e-3,
        schedule: LrSchedule::Cosine,
        class_weighting: ClassWeighting::Balanced,
        augment: Augmenter {
            rotation_deg: 5.0,
            ..Augmenter::none()
        },
        ..TrainConfig::default()
    }
}

/// Six epochs on `engine` that learn the synthetic classes: a constant rate and small batches give
/// enough steps to learn in a few epochs.
fn learning_config(engine: Engine) -> TrainConfig {
    TrainConfig {
        engine,
        batch_size: 8,
        schedule: LrSchedule::Plateau,
        ..tiny_config(6)
    }
}

#[cfg(feature = "burn")]
#[test]
fn learns_separable_classes_and_writes_all_outputs() {
    learns_on(Engine::Burn);
}

#[test]
fn the_gemm_engine_learns_separable_classes_too() {
    learns_on(Engine::Ferrite);
}

fn learns_on(engine: Engine) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let out = tempfile::tempdir().unwrap();
    let config = learning_config(engine);
    let outcome = run_to_end(data.path(), out.path(), &config, false).unwrap();
    let (best, _) = outcome.best.unwrap();
    assert!(
        best > 0.8,
        "validation accuracy {best} on trivially separable classes"
    );
    assert_eq!(outcome.epochs_done, 6);
    for file in [
        "model.safetensors",
        "card.json",
        "history.csv",
        "history.json",
        "curves.png",
    ] {
        assert!(out.path().join(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(out.path().join("history.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("card.json")).unwrap()).unwrap();
    assert!(
        card["evaluation"]["public-test"]["accuracy"]
            .as_f64()
            .unwrap()
            > 0.8
    );
    let record = ModelBundle::read_card(out.path()).unwrap().training;
    assert_eq!(record.legs.len(), 1);
    let leg = &record.legs[0];
    // The card is written with the best epoch's weights, when that epoch had just finished.
    assert_eq!(leg.engine, engine);
    assert_eq!(leg.epochs, leg.best_epoch);
    assert_eq!(leg.history.len(), leg.epochs);
    assert_eq!(leg.data.train_images, 72);
    assert!(leg.data.teachers_weights_sha256.is_empty(), "no teacher");
    assert!(leg
        .history
        .iter()
        .all(|e| e.seconds.is_some_and(|s| s > 0.0)));
    assert_eq!(leg.recipe.seed, config.seed);
}

#[test]
fn resume_continues_from_the_checkpoint_and_repeats_exactly() {
    #[cfg(feature = "burn")]
    resume_repeats_on(Engine::Burn);
    resume_repeats_on(Engine::Ferrite);
}

fn resume_repeats_on(engine: Engine) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tiny_config = |epochs| TrainConfig {
        engine,
        ..tiny_config(epochs)
    };
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 8);

    let straight = tempfile::tempdir().unwrap();
    run_to_end(data.path(), straight.path(), &tiny_config(2), false).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    run_to_end(data.path(), resumed.path(), &tiny_config(1), false).unwrap();
    let outcome = run_to_end(data.path(), resumed.path(), &tiny_config(2), true).unwrap();
    assert_eq!(outcome.epochs_done, 2);

    // Same seed, same data: the resumed run's history equals the uninterrupted one's, except
    // that the cosine schedule of the 1-epoch first leg differs, so compare epoch 1 only.
    let history = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("history.json")).unwrap()).unwrap()
    };
    assert_eq!(history(straight.path())[0], history(resumed.path())[0]);
}

/// SGD with Nesterov momentum, weight decay, a weight average and SAM (the gemm engine's), and
/// mixup and CutMix (a batch takes one or the other).
fn modern_rule(engine: Engine, epochs: usize) -> TrainConfig {
    TrainConfig {
        engine,
        lr: 0.02,
        schedule: LrSchedule::Plateau,
        update: UpdateRule {
            optimizer: Optimizer::Nesterov,
            momentum: 0.9,
            weight_decay: 5e-4,
            ema: (engine == Engine::Ferrite).then_some(0.9),
            sam: (engine == Engine::Ferrite).then_some(0.05),
        },
        mixup: 0.3,
        cutmix: 1.0,
        batch_size: 8,
        ..tiny_config(epochs)
    }
}

#[test]
fn nesterov_with_a_weight_average_sam_mixup_and_cutmix_learns_and_is_recorded() {
    modern_rule_learns_on(Engine::Ferrite);
    // burn: Nesterov, weight decay, mixup and CutMix (it keeps no weight average, nor SAM).
    #[cfg(feature = "burn")]
    modern_rule_learns_on(Engine::Burn);
}

fn modern_rule_learns_on(engine: Engine) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let out = tempfile::tempdir().unwrap();
    let config = modern_rule(engine, 6);
    let outcome = run_to_end(data.path(), out.path(), &config, false).unwrap();
    let (best, _) = outcome.best.unwrap();
    assert!(best > 0.8, "validation accuracy {best} on {engine}");
    let leg = &ModelBundle::read_card(out.path()).unwrap().training.legs[0];
    assert_eq!(leg.recipe.update, config.update);
    assert_eq!((leg.recipe.mixup, leg.recipe.cutmix), (0.3, 1.0));
    let line = leg.recipe.command_line(leg.engine, leg.device);
    if engine == Engine::Ferrite {
        assert!(out.path().join("checkpoint/average.safetensors").is_file());
        assert!(out.path().join("checkpoint/sgd.safetensors").is_file());
        assert!(
            line.contains(
                "--optimizer nesterov --weight-decay 0.0005 --ema 0.9 --sam 0.05 --mixup 0.3 \
                 --cutmix 1"
            ),
            "{line}"
        );
    } else {
        assert!(
            line.contains("--optimizer nesterov --weight-decay 0.0005 --mixup 0.3 --cutmix 1"),
            "{line}"
        );
    }
}

/// With a constant rate (plateau, no drop in two epochs), two epochs in one go and one epoch
/// then a resumed second give the same history, so momentum, the average and the mixup draws
/// all survive the checkpoint. On the gemm engine only: burn draws dropout from one RNG per
/// device that a checkpoint does not hold, so a resumed burn run draws other masks.
#[test]
fn a_resumed_run_with_momentum_and_an_average_repeats_exactly() {
    let engine = Engine::Ferrite;
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 8);
    let straight = tempfile::tempdir().unwrap();
    run_to_end(data.path(), straight.path(), &modern_rule(engine, 2), false).unwrap();
    let resumed = tempfile::tempdir().unwrap();
    run_to_end(data.path(), resumed.path(), &modern_rule(engine, 1), false).unwrap();
    // The resumed run keeps the checkpoint's update rule whatever it is given now.
    let mut later = modern_rule(engine, 2);
    later.update.optimizer = Optimizer::Adam;
    run_to_end(data.path(), resumed.path(), &later, true).unwrap();
    let history = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("history.json")).unwrap()).unwrap()
    };
    assert_eq!(history(straight.path()), history(resumed.path()));
}

#[test]
fn a_recipe_runs_its_stages_in_order_and_continues_after_a_stop() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 4);
    let out = tempfile::tempdir().unwrap();
    let recipe = StagedRecipe {
        name: "two".into(),
        stages: vec![
            Stage {
                name: "first".into(),
                config: tiny_config(1),
            },
            Stage {
                name: "second".into(),
                config: TrainConfig {
                    lr: 1e-3,
                    distill: Some(ferrite_model::Distillation {
                        teachers: vec!["@previous".parse().unwrap()],
                        temperature: 4.0,
                        weight: 0.5,
                        targets: TeacherTargets::Online,
                    }),
                    ..tiny_config(1)
                },
            },
        ],
    };
    let mut no_stage_before = recipe.clone();
    no_stage_before.stages.swap(0, 1);
    let err = no_stage_before.validate().unwrap_err();
    assert!(
        err.contains("stage 1 (second)") && err.contains("@previous"),
        "{err}"
    );
    let mut named_later = recipe.clone();
    named_later.stages[1]
        .config
        .distill
        .as_mut()
        .unwrap()
        .teachers = vec!["@third".parse().unwrap()];
    let err = named_later.validate().unwrap_err();
    assert!(
        err.contains("@third names no stage before this one (before it: first)"),
        "{err}"
    );
    let mut twice = recipe.clone();
    twice.stages[1].name = "first".into();
    assert!(
        twice.validate().unwrap_err().contains("taken"),
        "one name a stage"
    );
    let stopped = recipe
        .run(data.path(), out.path(), false, &AtomicBool::new(true))
        .unwrap();
    assert!(!stopped.finished);
    assert_eq!(
        stopped.last.as_ref().unwrap().0,
        0,
        "stopped in the first stage"
    );
    let go = AtomicBool::new(false);
    let err = recipe.run(data.path(), out.path(), false, &go).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    let done = recipe.run(data.path(), out.path(), true, &go).unwrap();
    assert!(done.finished);
    assert_eq!(done.last.unwrap().0, 1);
    let legs = ModelBundle::read_card(out.path()).unwrap().training.legs;
    assert_eq!(legs.len(), 2, "the final model's card holds both stages");
    assert_eq!(legs[0].recipe.stage.as_deref(), Some("two 1/2 (first)"));
    assert_eq!(legs[1].recipe.stage.as_deref(), Some("two 2/2 (second)"));
    let first_dir = recipe.stage_dir(out.path(), 0);
    assert_eq!(
        legs[1].recipe.init.as_deref(),
        Some(first_dir.to_str().unwrap()),
        "the second stage starts from the first's model"
    );
    assert_eq!(
        legs[1].recipe.distill.as_ref().unwrap().teachers,
        [ModelSource::Dir(first_dir.clone())],
        "and learns from it: @previous is the first stage's folder"
    );
    let sittings: Vec<usize> = legs[0].sittings.iter().map(|s| s.epochs).collect();
    assert_eq!(sittings, [0, 1], "stopped once, then resumed");
    assert!(out.path().join("model.safetensors").is_file());
    // Run again: every stage is done.
    let again = recipe.run(data.path(), out.path(), true, &go).unwrap();
    assert!(again.finished && again.last.is_none());
}

#[test]
fn a_stop_request_saves_a_checkpoint_and_reports_interruption() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 4);
    let out = tempfile::tempdir().unwrap();
    let outcome = train(
        data.path(),
        out.path(),
        &tiny_config(3),
        false,
        &AtomicBool::new(true),
    )
    .unwrap();
    assert!(outcome.interrupted);
    assert_eq!(outcome.epochs_done, 0);
    assert!(out.path().join("checkpoint/state.json").is_file());
    // Resuming picks up at epoch 1 and finishes.
    let outcome = run_to_end(data.path(), out.path(), &tiny_config(1), true).unwrap();
    assert_eq!(outcome.epochs_done, 1);
}

#[test]
fn invalid_configs_are_refused() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 2);
    let out = tempfile::tempdir().unwrap();
    let mut config = tiny_config(1);
    config.batch_size = 0;
    assert!(run_to_end(data.path(), out.path(), &config, false).is_err());
    let err = run_to_end(
        &data.path().join("missing"),
        out.path(),
        &tiny_config(1),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_time_limit_ends_the_run_early_with_a_saved_model() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 8);
    let out = tempfile::tempdir().unwrap();
    // Any epoch outlasts a budget of a millisecond. The first epoch of a run carries warm-up and
    // does not re-plan it, so the run stops after its second.
    let config = TrainConfig {
        engine: Engine::Ferrite,
        time_limit: Some(0.001),
        ..tiny_config(5)
    };
    let outcome = run_to_end(data.path(), out.path(), &config, false).unwrap();
    assert_eq!(outcome.epochs_done, 2);
    assert!(out.path().join("model.safetensors").exists());
}

#[cfg(all(feature = "burn", not(feature = "vulkan")))]
#[test]
fn training_on_vulkan_without_the_feature_says_how_to_build_it() {
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 2);
    let out = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        engine: Engine::Burn,
        device: TrainDevice::Vulkan,
        ..tiny_config(1)
    };
    let err = run_to_end(data.path(), out.path(), &config, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--features vulkan"), "{err}");
}

#[cfg(not(feature = "burn"))]
#[test]
fn a_lean_build_refuses_burn_and_says_how_to_get_it() {
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 2);
    let out = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        engine: Engine::Burn,
        ..tiny_config(1)
    };
    let err = run_to_end(data.path(), out.path(), &config, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no burn engine"), "{err}");
}

#[test]
fn a_run_can_start_from_a_trained_model() {
    #[cfg(feature = "burn")]
    starts_from_a_trained_model_on(Engine::Burn);
    starts_from_a_trained_model_on(Engine::Ferrite);
}

fn starts_from_a_trained_model_on(engine: Engine) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let trained = tempfile::tempdir().unwrap();
    let config = learning_config(engine);
    let (trained_acc, _) = run_to_end(data.path(), trained.path(), &config, false)
        .unwrap()
        .best
        .unwrap();
    assert!(trained_acc > 0.8, "{trained_acc}");

    // With a rate too small to learn anything in one epoch, a run started from the trained
    // model keeps its accuracy and a run from random weights does not have it.
    let frozen = |init: Option<&Path>| {
        let out = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            lr: 1e-9,
            init: init.map(|dir| ModelSource::Dir(dir.to_path_buf())),
            ..config.clone()
        };
        let (acc, _) = run_to_end(data.path(), out.path(), &config, false)
            .unwrap()
            .best
            .unwrap();
        (acc, ModelBundle::read_card(out.path()).unwrap().training)
    };
    let (started_acc, training) = frozen(Some(trained.path()));
    assert!(started_acc > 0.8, "{engine:?}: {started_acc}");
    // The card keeps the legs of the model it started from, then its own.
    let trained_record: TrainingRecord = ModelBundle::read_card(trained.path()).unwrap().training;
    assert_eq!(training.legs.len(), 2);
    assert_eq!(training.legs[0], trained_record.legs[0]);
    assert_eq!(
        training.legs[1].recipe.init.as_deref(),
        trained.path().to_str()
    );
    let (fresh_acc, training) = frozen(None);
    assert!(fresh_acc < 0.7, "{engine:?}: {fresh_acc}");
    assert_eq!(training.legs.len(), 1);
    assert!(training.legs[0].recipe.init.is_none());

    // Another architecture is refused with the folder's name.
    let mut other = TrainConfig {
        init: Some(ModelSource::Dir(trained.path().to_path_buf())),
        ..config.clone()
    };
    other.arch.blocks[1].channels = 12;
    let out = tempfile::tempdir().unwrap();
    let err = run_to_end(data.path(), out.path(), &other, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot start from") && err.contains(&*trained.path().to_string_lossy()),
        "{err}"
    );

    // A deeper network grown from the model's two conv blocks learns, and its card says how
    // it started.
    let mut grown = TrainConfig {
        init: Some(ModelSource::Dir(trained.path().to_path_buf())),
        init_blocks: Some(2),
        ..config.clone()
    };
    grown.arch.blocks.push(ferrite_model::BlockSpec {
        channels: 16,
        convs: 1,
    });
    let out = tempfile::tempdir().unwrap();
    let (acc, _) = run_to_end(data.path(), out.path(), &grown, false)
        .unwrap()
        .best
        .unwrap();
    assert!(acc > 0.8, "{engine:?}: grown {acc}");
    let leg = ModelBundle::read_card(out.path()).unwrap().training.legs[1].clone();
    assert_eq!(leg.recipe.init_blocks, Some(2));
    let command = leg.recipe.command_line(engine, TrainDevice::Cpu);
    assert!(command.contains("--init-blocks 2"), "{command}");

    // Dropout is a training choice, not a weight: a run with less of it starts from the model.
    let mut less_dropout = TrainConfig {
        lr: 1e-9,
        init: Some(ModelSource::Dir(trained.path().to_path_buf())),
        ..config.clone()
    };
    less_dropout.arch.conv_dropout = 0.0;
    less_dropout.arch.fc_dropout = 0.1;
    let out = tempfile::tempdir().unwrap();
    let (acc, _) = run_to_end(data.path(), out.path(), &less_dropout, false)
        .unwrap()
        .best
        .unwrap();
    assert!(acc > 0.8, "{engine:?}: {acc}");
}

/// A student trained on the teacher's soft targets alone (no weight on the labels) learns the
/// classes: the teacher's knowledge is what moves it. The card records the teacher.
#[test]
fn a_network_on_random_crops_learns_and_its_card_says_so() {
    #[cfg(feature = "burn")]
    learns_on_crops(Engine::Burn);
    learns_on_crops(Engine::Ferrite);
}

fn learns_on_crops(engine: Engine) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let out = tempfile::tempdir().unwrap();
    let mut config = learning_config(engine);
    config.arch = config.arch.with_input_size(40);
    let (best, _) = run_to_end(data.path(), out.path(), &config, false)
        .unwrap()
        .best
        .unwrap();
    assert!(
        best > 0.8,
        "validation accuracy {best} on 40-pixel crops ({engine})"
    );
    let bundle = ModelBundle::read(out.path()).unwrap();
    assert_eq!(bundle.card.arch.input_size, 40);
    let leg = &bundle.card.training.legs[0];
    assert_eq!(leg.recipe.crop, Some(40));
    let line = leg.recipe.command_line(leg.engine, leg.device);
    assert!(line.contains("--crop 40"), "{line}");
    // The saved network reads a face's windows: ten crops of a striped face find its class.
    let net =
        ferrite_engine::Network::from_safetensors(&bundle.card.arch, &bundle.weights).unwrap();
    let stripes: Vec<u8> = (0..48 * 48)
        .map(|i| if (i / 48 / 4) % 2 == 0 { 210 } else { 50 })
        .collect();
    let p = net.predict(&[stripes.as_slice()], ferrite_data::Tta::Crops)[0];
    let top = (0..7).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    assert_eq!(ferrite_data::Emotion::ALL[top].name(), "happy", "{p:?}");
}

#[test]
fn a_whole_face_student_learns_from_an_ensemble_with_a_member_trained_on_crops() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let on_crops = tempfile::tempdir().unwrap();
    let mut config = learning_config(Engine::Ferrite);
    config.arch = config.arch.with_input_size(40);
    run_to_end(data.path(), on_crops.path(), &config, false).unwrap();
    let whole = tempfile::tempdir().unwrap();
    run_to_end(
        data.path(),
        whole.path(),
        &learning_config(Engine::Ferrite),
        false,
    )
    .unwrap();
    // The crop teacher alone, and the ensemble of it and the whole-face teacher (each member
    // reading its own window of the augmented faces), on both kinds of soft target.
    let crop_teacher = ModelSource::Dir(on_crops.path().to_path_buf());
    let ensemble = vec![
        crop_teacher.clone(),
        ModelSource::Dir(whole.path().to_path_buf()),
    ];
    for teachers in [vec![crop_teacher], ensemble] {
        for targets in [TeacherTargets::Online, TeacherTargets::Clean] {
            let student = tempfile::tempdir().unwrap();
            let distill = ferrite_model::Distillation {
                teachers: teachers.clone(),
                temperature: 1.0,
                weight: 1.0,
                targets,
            };
            let student_config = TrainConfig {
                distill: Some(distill.clone()),
                epochs: 12,
                ..learning_config(Engine::Ferrite)
            };
            let (acc, _) = run_to_end(data.path(), student.path(), &student_config, false)
                .unwrap()
                .best
                .unwrap();
            let members = teachers.len();
            assert!(acc > 0.8, "{members} teachers, {targets:?}: student {acc}");
            let card = ModelBundle::read_card(student.path()).unwrap();
            assert_eq!(card.training.legs[0].recipe.distill, Some(distill));
        }
    }
}

#[test]
fn a_student_learns_from_its_teacher_alone() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    synthetic_dataset(data.path(), 24);
    let teacher = tempfile::tempdir().unwrap();
    // Mirrored, these vertical stripes are their negative: a teacher averaged with its mirror
    // (online-flip and clean targets) is only a teacher if it learnt from mirrored faces too,
    // as every real teacher does.
    let mut config = learning_config(Engine::Ferrite);
    config.augment.flip = true;
    let (teacher_acc, _) = run_to_end(data.path(), teacher.path(), &config, false)
        .unwrap()
        .best
        .unwrap();
    assert!(teacher_acc > 0.8, "{teacher_acc}");

    // Every kind of soft target: the teacher on each augmented batch (alone, and averaged with
    // its mirror), and computed once on the clean faces and their mirrors.
    let mut student_config = config.clone();
    for targets in [
        TeacherTargets::Online,
        TeacherTargets::OnlineFlip,
        TeacherTargets::Clean,
    ] {
        let student = tempfile::tempdir().unwrap();
        let distill = ferrite_model::Distillation {
            teachers: vec![ModelSource::Dir(teacher.path().to_path_buf())],
            temperature: 1.0,
            weight: 1.0,
            targets,
        };
        // Soft targets of a teacher trained for six epochs are far from one-hot: the student
        // gets twice the epochs to reach them.
        student_config = TrainConfig {
            distill: Some(distill.clone()),
            seed: 7,
            epochs: 12,
            ..config.clone()
        };
        let (student_acc, _) = run_to_end(data.path(), student.path(), &student_config, false)
            .unwrap()
            .best
            .unwrap();
        assert!(
            student_acc > 0.8,
            "{targets:?}: student {student_acc}, teacher {teacher_acc}"
        );
        let record = ModelBundle::read_card(student.path()).unwrap().training;
        assert_eq!(record.legs[0].recipe.distill, Some(distill));
        assert_eq!(
            record.legs[0].data.teachers_weights_sha256,
            [ModelBundle::read(teacher.path()).unwrap().weights_sha256()],
            "the card says which weights the teacher had"
        );
        let command = record.legs[0]
            .recipe
            .command_line(Engine::Ferrite, TrainDevice::Cpu);
        assert!(command.contains("--teacher"), "{command}");
        assert_eq!(
            command.contains("--teacher-targets clean"),
            targets == TeacherTargets::Clean,
            "{command}"
        );
    }

    // burn learns from the same teacher (the GPU path of a function-matching leg: the teacher
    // runs on the gemm engine, the student on burn), with mixup and online-flip targets.
    #[cfg(feature = "burn")]
    {
        let student = tempfile::tempdir().unwrap();
        let on_burn = TrainConfig {
            engine: Engine::Burn,
            mixup: 0.4,
            distill: Some(ferrite_model::Distillation {
                targets: TeacherTargets::OnlineFlip,
                ..student_config.distill.clone().unwrap()
            }),
            ..student_config.clone()
        };
        let (student_acc, _) = run_to_end(data.path(), student.path(), &on_burn, false)
            .unwrap()
            .best
            .unwrap();
        assert!(student_acc > 0.8, "burn student {student_acc}");
        let leg = &ModelBundle::read_card(student.path())
            .unwrap()
            .training
            .legs[0];
        assert_eq!(leg.engine, Engine::Burn);
        assert_eq!(leg.recipe.distill, on_burn.distill);
    }

    // A bad temperature is refused.
    let bad = TrainConfig {
        distill: Some(ferrite_model::Distillation {
            temperature: 0.0,
            ..student_config.distill.clone().unwrap()
        }),
        ..student_config.clone()
    };
    let out = tempfile::tempdir().unwrap();
    assert!(run_to_end(data.path(), out.path(), &bad, false).is_err());
}
