//! `ferrite predict` end to end on files made in the test: good images, every kind of bad
//! input, the three output formats and annotated copies.

mod common;

use common::ferrite;
use std::path::Path;

use image::{GrayImage, Luma, RgbImage};

/// A folder with two readable images and one of each kind of bad file.
fn mixed_folder(dir: &Path) {
    GrayImage::from_fn(48, 48, |x, y| Luma([(x * 4 + y) as u8]))
        .save(dir.join("crop.png"))
        .unwrap();
    RgbImage::from_pixel(640, 480, image::Rgb([90, 120, 150]))
        .save(dir.join("empty-room.jpg"))
        .unwrap();
    RgbImage::from_pixel(1200, 1000, image::Rgb([1, 2, 3]))
        .save(dir.join("huge.png"))
        .unwrap();
    let jpeg = std::fs::read(dir.join("empty-room.jpg")).unwrap();
    std::fs::write(dir.join("truncated.jpg"), &jpeg[..jpeg.len() / 3]).unwrap();
    std::fs::write(dir.join("text.jpg"), b"this is not a picture").unwrap();
    std::fs::write(dir.join("zero.png"), b"").unwrap();
}

#[test]
fn bad_files_are_reported_one_by_one_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    mixed_folder(&photos);
    let empty = dir.path().join("nothing-here");
    std::fs::create_dir(&empty).unwrap();
    let annotated = dir.path().join("annotated");
    let out = ferrite(&[
        "predict",
        photos.to_str().unwrap(),
        empty.to_str().unwrap(),
        dir.path().join("missing.jpg").to_str().unwrap(),
        "--format",
        "json",
        "--max-megapixels",
        "1",
        "--annotate",
        annotated.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let reports: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |name: &str| {
        reports
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no report for {name}: {reports:?}"))
    };
    let error = |name: &str| by_name(name)["error"].as_str().unwrap_or("").to_string();
    assert!(
        error("huge.png").contains("over the limit"),
        "{}",
        error("huge.png")
    );
    assert!(
        error("truncated.jpg").contains("corrupt"),
        "{}",
        error("truncated.jpg")
    );
    assert!(
        error("text.jpg").contains("not an image"),
        "{}",
        error("text.jpg")
    );
    assert!(error("zero.png").contains("empty"), "{}", error("zero.png"));
    assert!(error("nothing-here").contains("no images"));
    assert!(error("missing.jpg").contains("no such file"));

    let crop = by_name("crop.png");
    assert_eq!(crop["width"], 48);
    assert_eq!(crop["whole_image"], true);
    let face = &crop["faces"][0];
    assert_eq!(face["box"], serde_json::json!([0, 0, 48, 48]));
    let probs = face["probabilities"].as_object().unwrap();
    assert_eq!(probs.len(), 7);
    let top = probs
        .iter()
        .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
        .unwrap();
    assert_eq!(face["label"], top.0.as_str());
    assert_eq!(face["confidence"].as_f64(), top.1.as_f64());

    let room = by_name("empty-room.jpg");
    assert!(room["faces"].as_array().unwrap().is_empty());
    assert!(room.get("error").is_none());

    let written: Vec<_> = std::fs::read_dir(&annotated)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(written.contains(&"crop.png".to_string()), "{written:?}");
    assert!(
        written.contains(&"empty-room.png".to_string()),
        "{written:?}"
    );
}

#[test]
fn table_and_csv_formats_and_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    GrayImage::from_fn(48, 48, |x, y| Luma([(x * 4 + y) as u8]))
        .save(dir.path().join("a.png"))
        .unwrap();
    RgbImage::from_pixel(320, 240, image::Rgb([200, 200, 200]))
        .save(dir.path().join("b.jpg"))
        .unwrap();
    let pattern = dir.path().join("*.png");
    let out = ferrite(&["predict", pattern.to_str().unwrap(), "--tta"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("a.png") && table.contains("(whole image)"),
        "{table}"
    );
    assert!(
        !table.contains("b.jpg"),
        "the glob matched only .png: {table}"
    );

    let out = ferrite(&["predict", dir.path().to_str().unwrap(), "--format", "csv"]);
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("file,face,x,y,width,height,label,confidence,angry"));
    assert!(lines[2].ends_with("no face found"), "{}", lines[2]);
    assert_eq!(lines[1].split(',').count(), lines[0].split(',').count());
}

#[test]
fn invalid_options_are_refused_with_the_field_named() {
    let out = ferrite(&["predict", "x.jpg", "--min-face", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("min_face"));
}
