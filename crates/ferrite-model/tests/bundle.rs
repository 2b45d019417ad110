//! Model directories without any engine: round trips, the errors for bad ones, and cards
//! written by earlier versions.

use ferrite_model::{
    is_half_precision, narrow_to_f16, ArchSpec, ModelBundle, ModelCard, ModelSource, ShippedModel,
    CARD_FILE, FORMAT_VERSION, WEIGHTS_FILE,
};
use safetensors::tensor::{Dtype, TensorView};

/// A small float32 weights file (values float16 holds exactly).
fn weights() -> Vec<u8> {
    let data: Vec<u8> = [1.0f32, -2.5, 0.125, 3.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let view = TensorView::new(Dtype::F32, vec![2, 2], &data).unwrap();
    safetensors::serialize([("w", view)], &None).unwrap()
}

fn saved(dir: &std::path::Path) -> ModelBundle {
    let bundle = ModelBundle {
        card: ModelCard::new(ArchSpec::reference()),
        weights: weights().into(),
    };
    bundle.save(dir).unwrap();
    bundle
}

#[test]
fn a_saved_bundle_reads_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let original = saved(dir.path());
    let read = ModelBundle::read(dir.path()).unwrap();
    assert_eq!(read.weights, original.weights);
    assert_eq!(read.card.arch, original.card.arch);
    assert_eq!(read.card.format_version, FORMAT_VERSION);
    assert!(!dir.path().join("model.safetensors.tmp").exists());
    let source = ModelSource::Dir(dir.path().to_path_buf());
    assert_eq!(source.load().unwrap().weights, original.weights);
}

#[test]
fn a_float16_folder_reads_as_float32() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let half = narrow_to_f16(&weights()).unwrap();
    assert!(is_half_precision(&half).unwrap());
    std::fs::write(dir.path().join(WEIGHTS_FILE), &half).unwrap();
    let read = ModelBundle::read(dir.path()).unwrap();
    assert_eq!(
        read.weights,
        weights(),
        "widened, and these values are exact"
    );
}

#[test]
fn a_weights_file_that_is_not_safetensors_is_named() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"not a weights file").unwrap();
    let err = ModelBundle::read(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("not a safetensors file"),
        "{err}"
    );
}

#[test]
fn missing_directory_and_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = ModelBundle::read(&dir.path().join("nowhere")).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");

    saved(dir.path());
    std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).unwrap();
    let err = ModelBundle::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("weights file not found"), "{err}");
}

#[test]
fn unknown_versions_and_broken_cards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let card_path = dir.path().join(CARD_FILE);
    let text = std::fs::read_to_string(&card_path).unwrap();

    let future = text.replace("\"format_version\": 2", "\"format_version\": 99");
    std::fs::write(&card_path, future).unwrap();
    let err = ModelBundle::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("format version 99"), "{err}");

    std::fs::write(&card_path, "{ not json").unwrap();
    let err = ModelBundle::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("model card"), "{err}");

    let mut card: ModelCard = serde_json::from_str(&text).unwrap();
    card.arch.blocks.clear();
    std::fs::write(&card_path, serde_json::to_string(&card).unwrap()).unwrap();
    let err = ModelBundle::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("invalid architecture"), "{err}");
}

#[test]
fn a_version_1_card_is_read_with_its_legs() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let v1 = serde_json::json!({
        "format_version": 1,
        "arch": ArchSpec::reference(),
        "labels": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
        "input": {"size": 48},
        "training": {
            "config": {"engine": "burn", "device": "vulkan", "epochs": 3, "seed": 1},
            "epochs_completed": 3, "best_epoch": 3, "hardware": "a GPU",
            "started_from": {"config": {"engine": "ferrite", "seed": 0}, "epochs_completed": 5}
        },
        "evaluation": {},
        "notes": "old"
    });
    std::fs::write(dir.path().join(CARD_FILE), v1.to_string()).unwrap();
    let card = ModelBundle::read_card(dir.path()).unwrap();
    assert_eq!(card.format_version, FORMAT_VERSION);
    let legs = &card.training.legs;
    assert_eq!(legs.len(), 2);
    assert_eq!((legs[0].recipe.seed, legs[0].epochs), (0, 5));
    assert_eq!((legs[1].recipe.seed, legs[1].epochs), (1, 3));
    assert_eq!(legs[1].hardware, "a GPU");
}

#[test]
fn the_shipped_model_reads_as_the_current_version() {
    let card = ShippedModel::Accurate.card();
    assert_eq!(card.format_version, FORMAT_VERSION);
    // The `wide` layers; its last leg trained with less dropout than the preset's, which the
    // card records (dropout does not change the weights' shapes).
    assert_eq!(card.arch.name, "wide");
    assert!(card.arch.has_the_weights_of(&ArchSpec::wide()));
    assert_eq!((card.arch.conv_dropout, card.arch.fc_dropout), (0.1, 0.3));
    assert!(card.training.legs.len() >= 2);
    assert!(card.evaluation.contains_key("private-test"));
}
