//! Detection and classification on photos built from real FER2013 faces: faces are scaled up
//! and pasted at known places onto a textured background; the detector must find them, and the
//! classifier must be as accurate on the detected faces as on the original crops.
//! The test on real faces needs FER2013_DIR and is ignored unless asked for (.ci/run does).

use ferrite_data::{load_dataset, Split, Tta, FACE_SIZE};
use ferrite_infer::{EmotionModel, FaceBox, PredictOptions, Predictor};
use image::{imageops::FilterType, DynamicImage, GrayImage, Luma};

const COLS: u32 = 3;
const ROWS: u32 = 2;
const FACE: u32 = 120;
const GAP: u32 = 60;

/// A smooth, non-uniform background (gradients and soft waves), deterministic.
fn background(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let v = 110.0
            + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos()
            + 30.0 * (x as f32 / w as f32);
        Luma([v as u8])
    })
}

fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let x0 = a.x.max(b.x);
    let y0 = a.y.max(b.y);
    let x1 = (a.x + a.width).min(b.x + b.width);
    let y1 = (a.y + a.height).min(b.y + b.height);
    let inter = x1.saturating_sub(x0) as f32 * y1.saturating_sub(y0) as f32;
    let union = (a.width * a.height + b.width * b.height) as f32 - inter;
    inter / union
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn pasted_fer_faces_are_found_and_classified_like_their_crops() {
    let dir = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    let mut set = load_dataset(std::path::Path::new(&dir), Split::PublicTest).unwrap();
    set.limit(240);
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    let crops: Vec<&[u8]> = set.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let crop_probs = predictor.model().classify(&crops, Tta::Off);

    let per_scene = (COLS * ROWS) as usize;
    let (w, h) = (COLS * (FACE + GAP) + GAP, ROWS * (FACE + GAP) + GAP);
    let mut scenes = Vec::new();
    let mut truth = Vec::new();
    for group in set.samples.chunks_exact(per_scene) {
        let mut scene = background(w, h);
        let mut places = Vec::new();
        for (i, sample) in group.iter().enumerate() {
            let face =
                GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, sample.pixels.clone())
                    .unwrap();
            let big = image::imageops::resize(&face, FACE, FACE, FilterType::Triangle);
            let (x, y) = (
                GAP + (i as u32 % COLS) * (FACE + GAP),
                GAP + (i as u32 / COLS) * (FACE + GAP),
            );
            image::imageops::overlay(&mut scene, &big, x as i64, y as i64);
            places.push(FaceBox {
                x,
                y,
                width: FACE,
                height: FACE,
            });
        }
        scenes.push(DynamicImage::ImageLuma8(scene));
        truth.push(places);
    }
    let predictions = predictor.predict_batch(&scenes);

    let (mut found, mut false_alarms, mut right_detected, mut right_crop) = (0, 0, 0, 0);
    for (s, (prediction, places)) in predictions.iter().zip(&truth).enumerate() {
        for face in &prediction.faces {
            match places.iter().position(|p| iou(p, &face.bbox) > 0.4) {
                Some(i) => {
                    let sample = &set.samples[s * per_scene + i];
                    found += 1;
                    right_detected += usize::from(face.label == sample.label);
                    let p = &crop_probs[s * per_scene + i];
                    let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
                    right_crop += usize::from(best == sample.label.index());
                }
                None => false_alarms += 1,
            }
        }
    }
    let total = scenes.len() * per_scene;
    let recall = found as f32 / total as f32;
    let acc_detected = right_detected as f32 / found as f32;
    let acc_crops = right_crop as f32 / found as f32;
    eprintln!(
        "faces {total}, found {found} (recall {recall:.3}), false alarms {false_alarms}, \
         accuracy on detected faces {acc_detected:.3} vs on the same crops {acc_crops:.3}"
    );
    assert!(recall >= 0.85, "recall {recall}");
    assert!(false_alarms <= total / 20, "{false_alarms} false alarms");
    assert!(
        acc_detected >= acc_crops - 0.06,
        "detected faces {acc_detected} vs crops {acc_crops}"
    );
}

#[test]
fn a_face_crop_is_classified_whole_when_no_face_is_found() {
    let face = GrayImage::from_fn(48, 48, |x, y| Luma([(x * 3 + y * 2) as u8]));
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    let p = predictor.predict(&DynamicImage::ImageLuma8(face));
    assert!(p.whole_image);
    assert_eq!(p.faces.len(), 1);
    let sum: f32 = p.faces[0].probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4);
    // A large image with no face is not guessed at.
    let blank = DynamicImage::ImageLuma8(background(640, 480));
    let p = predictor.predict(&blank);
    assert!(p.faces.is_empty() && !p.whole_image);
}
