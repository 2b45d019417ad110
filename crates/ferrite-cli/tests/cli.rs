//! The `ferrite` binary end to end: a quick train + eval on drawn data, bad input, and the
//! shipped model on the real FER2013 when FER2013_DIR is set.

use std::path::Path;
use std::process::{Command, Output};

use image::{GrayImage, Luma};

fn ferrite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .expect("ferrite runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Kaggle-layout dataset of all 7 classes, each a different brightness band.
fn drawn_dataset(root: &Path) {
    for split in ["train", "test"] {
        for (k, class) in ferrite_data::Emotion::names().iter().enumerate() {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..4u32 {
                let img = GrayImage::from_fn(48, 48, |x, y| {
                    Luma([(k as u32 * 35 + (x * y + i) % 20) as u8])
                });
                let prefix = if split == "train" {
                    "Training_"
                } else if i % 2 == 0 {
                    "PublicTest_"
                } else {
                    "PrivateTest_"
                };
                img.save(dir.join(format!("{prefix}{i}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn quick_train_then_eval_json_has_the_documented_fields() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let model = tempfile::tempdir().unwrap();
    let out = ferrite(&[
        "train",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        model.path().to_str().unwrap(),
        "--epochs",
        "1",
        "--limit",
        "20",
        "--batch-size",
        "8",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("class weights"), "{stdout}");
    assert!(stdout.contains("Epoch 1/1"), "{stdout}");

    let out = ferrite(&[
        "eval",
        "--model",
        model.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--split",
        "private-test",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "n",
        "labels",
        "per_class",
        "confusion",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["n"], 14);
    assert_eq!(report["labels"][6], "surprise");
    assert_eq!(report["confusion"].as_array().unwrap().len(), 7);
    assert!(report["per_class"]["happy"]["support"].as_u64().unwrap() == 2);

    let plot = model.path().join("cm.png");
    let out = ferrite(&[
        "eval",
        "--model",
        model.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--split",
        "test",
        "--tta",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("macro avg") && stdout.contains("Row-normalised"),
        "{stdout}"
    );
    let png = image::open(&plot).unwrap();
    assert!(png.width() > 400);
}

#[test]
fn bad_input_gives_one_clear_error_and_a_failure_code() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let missing = data.path().join("no-such-dir");

    let missing = missing.to_str().unwrap();
    let data = data.path().to_str().unwrap();
    fails_naming(&["eval", "--data", missing], "no-such-dir");
    fails_naming(
        &["eval", "--model", missing, "--data", data],
        "model directory not found",
    );
    fails_naming(
        &["train", "--data", missing, "--out", "/tmp/x"],
        "does not exist",
    );
    fails_naming(
        &["eval", "--data", ".", "--split", "nonsense"],
        "unknown split",
    );
}

/// Runs ferrite, expecting a failure whose message contains `needle`.
fn fails_naming(args: &[&str], needle: &str) {
    let out = ferrite(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn shipped_model_meets_its_card_on_real_private_test() {
    let Some(dir) = std::env::var_os("FER2013_DIR") else {
        eprintln!(
            "SKIPPED shipped_model_meets_its_card_on_real_private_test: FER2013_DIR is not set"
        );
        return;
    };
    let out = ferrite(&[
        "eval",
        "--data",
        dir.to_str().unwrap(),
        "--split",
        "private-test",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["n"], 3589);
    // The figures recorded in the shipped card must be what the model really gives.
    let card_path = ferrite_model::default_model_dir().join("card.json");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(card_path).unwrap()).unwrap();
    let recorded = card["evaluation"]["private-test"]["accuracy"]
        .as_f64()
        .unwrap();
    let measured = report["accuracy"].as_f64().unwrap();
    assert!(
        (recorded - measured).abs() < 1e-9,
        "card {recorded} vs measured {measured}"
    );
    // And the model must beat the seed report's 51% by a wide margin.
    assert!(measured > 0.55, "private-test accuracy {measured}");
}
