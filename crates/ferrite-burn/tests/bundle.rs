//! burn networks through model directories: save/load round trips, flip TTA, and weights that
//! do not fit their card.

use burn::tensor::Device;
use ferrite_burn::{load_net, net_to_safetensors, Classifier, FerNet};
use ferrite_data::Tta;
use ferrite_model::{ArchSpec, ModelBundle, ModelCard};

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

fn predict(net: FerNet, tta: Tta) -> Vec<[f32; 7]> {
    let faces = faces();
    let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
    Classifier::new(net, 48, Device::flex()).predict(&refs, tta)
}

/// A freshly initialised tiny network, saved to `dir`.
fn saved_net(dir: &std::path::Path) -> FerNet {
    let device = Device::flex();
    device.seed(7);
    let arch = tiny_arch();
    let net = FerNet::new(&arch, &device);
    ModelBundle {
        card: ModelCard::new(arch),
        weights: net_to_safetensors(&net).unwrap().into(),
    }
    .save(dir)
    .unwrap();
    net
}

fn reload(dir: &std::path::Path) -> FerNet {
    let bundle = ModelBundle::read(dir).unwrap();
    load_net(&bundle.card.arch, &bundle.weights, &Device::flex()).unwrap()
}

#[test]
fn saved_model_reloads_with_identical_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let before = predict(saved_net(dir.path()), Tta::Off);
    let after = predict(reload(dir.path()), Tta::Off);
    assert_eq!(before, after);
    for p in &after {
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert!(!dir.path().join("model.safetensors.tmp").exists());
}

#[test]
fn flip_tta_changes_predictions_but_keeps_distributions() {
    let dir = tempfile::tempdir().unwrap();
    saved_net(dir.path());
    let plain = predict(reload(dir.path()), Tta::Off);
    let tta = predict(reload(dir.path()), Tta::Flip);
    assert_ne!(plain, tta);
    for p in &tta {
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn weights_of_another_architecture_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved_net(dir.path());
    let bundle = ModelBundle::read(dir.path()).unwrap();
    let mut other = bundle.card.arch.clone();
    other.hidden = vec![32];
    let err = load_net(&other, &bundle.weights, &Device::flex())
        .err()
        .unwrap();
    assert!(err.contains("does not match architecture"), "{err}");
}
