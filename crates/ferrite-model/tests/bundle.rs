//! Model directories: save/load round trips and the errors for bad ones.

use burn::tensor::Device;
use ferrite_model::{
    ArchSpec, Classifier, FerNet, ModelBundle, ModelCard, CARD_FILE, WEIGHTS_FILE,
};

fn tiny_arch() -> ArchSpec {
    let mut arch = ArchSpec::reference();
    arch.name = "tiny".into();
    for (b, c) in arch.blocks.iter_mut().zip([4, 8, 8]) {
        b.channels = c;
    }
    arch.hidden = vec![16];
    arch
}

fn faces() -> Vec<Vec<u8>> {
    (0..5u8)
        .map(|k| {
            (0..48 * 48)
                .map(|i| ((i * (k as usize + 3)) % 251) as u8)
                .collect()
        })
        .collect()
}

fn predict(bundle: ModelBundle, tta: bool) -> Vec<[f32; 7]> {
    let faces = faces();
    let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
    Classifier::new(bundle.net, Device::flex()).predict(&refs, tta)
}

fn saved_bundle(dir: &std::path::Path) -> ModelBundle {
    let device = Device::flex();
    device.seed(7);
    let arch = tiny_arch();
    let bundle = ModelBundle {
        card: ModelCard::new(arch.clone()),
        net: FerNet::new(&arch, &device),
    };
    bundle.save(dir).unwrap();
    bundle
}

#[test]
fn saved_model_reloads_with_identical_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let original = saved_bundle(dir.path());
    let before = predict(original, false);
    let loaded = ModelBundle::load(dir.path(), &Device::flex()).unwrap();
    assert_eq!(loaded.card.arch, tiny_arch());
    let after = predict(loaded, false);
    assert_eq!(before, after);
    for p in &after {
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert!(!dir.path().join("model.safetensors.tmp").exists());
}

#[test]
fn flip_tta_changes_predictions_but_keeps_distributions() {
    let dir = tempfile::tempdir().unwrap();
    saved_bundle(dir.path());
    let plain = predict(
        ModelBundle::load(dir.path(), &Device::flex()).unwrap(),
        false,
    );
    let tta = predict(
        ModelBundle::load(dir.path(), &Device::flex()).unwrap(),
        true,
    );
    assert_ne!(plain, tta);
    for p in &tta {
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn missing_directory_and_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let err = ModelBundle::load(&missing, &Device::flex()).err().unwrap();
    assert!(err.to_string().contains("nowhere"), "{err}");

    saved_bundle(dir.path());
    std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).unwrap();
    let err = ModelBundle::load(dir.path(), &Device::flex())
        .err()
        .unwrap();
    assert!(err.to_string().contains("weights file not found"), "{err}");
}

#[test]
fn incompatible_versions_and_architectures_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved_bundle(dir.path());
    let card_path = dir.path().join(CARD_FILE);
    let text = std::fs::read_to_string(&card_path).unwrap();

    let future = text.replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(&card_path, future).unwrap();
    let err = ModelBundle::load(dir.path(), &Device::flex())
        .err()
        .unwrap();
    assert!(err.to_string().contains("format version 99"), "{err}");

    let mut card: ModelCard = serde_json::from_str(&text).unwrap();
    card.arch.hidden = vec![32];
    std::fs::write(&card_path, serde_json::to_string(&card).unwrap()).unwrap();
    let err = ModelBundle::load(dir.path(), &Device::flex())
        .err()
        .unwrap();
    assert!(err.to_string().contains("model weights"), "{err}");

    std::fs::write(&card_path, "{ not json").unwrap();
    let err = ModelBundle::load(dir.path(), &Device::flex())
        .err()
        .unwrap();
    assert!(err.to_string().contains("model card"), "{err}");
}
