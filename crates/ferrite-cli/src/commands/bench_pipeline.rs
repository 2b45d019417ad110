//! `ferrite bench --pipeline`: the inference figures users feel, through the same `Predictor`
//! the CLI and the server use, with the shipped model.

use std::path::Path;
use std::time::{Duration, Instant};

use image::{imageops::FilterType, DynamicImage, GrayImage, Luma};

use ferrite_data::{decode_file, Tta, DEFAULT_MAX_PIXELS, FACE_PIXELS};
use ferrite_infer::{detect_faces, EmotionModel, ModelSource, PredictOptions, Predictor};

/// Calls `f` repeatedly for `budget` (after one warm-up call); returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// A 640x480 test photo: `photo` (resized unless it is 640x480), or a drawn textured scene (no faces) without one.
fn test_photo(photo: Option<&Path>) -> anyhow::Result<(DynamicImage, String)> {
    Ok(match photo {
        Some(path) => {
            let img = decode_file(path, DEFAULT_MAX_PIXELS)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if (img.width(), img.height()) == (640, 480) {
                (img, path.display().to_string())
            } else {
                (
                    img.resize_exact(640, 480, FilterType::Triangle),
                    format!("{} resized to 640x480", path.display()),
                )
            }
        }
        None => {
            let scene = GrayImage::from_fn(640, 480, |x, y| {
                let v = 120.0 + 60.0 * ((x as f32 / 23.0).sin() * (y as f32 / 31.0).cos());
                Luma([v as u8])
            });
            (
                DynamicImage::ImageLuma8(scene),
                "a drawn 640x480 scene without faces (give --photo for a real one)".into(),
            )
        }
    })
}

/// What one model measures through the pipeline.
struct ModelFigures {
    origin: String,
    /// Batch-1 classifications per second.
    single: f64,
    /// Decode-free predictions of a 48x48 image per second.
    single_image: f64,
    /// Faces per second in batches.
    batched: f64,
    /// Detect + classify of the photo per second, and the faces found.
    photos: (f64, usize),
}

/// Measures `source` through a `Predictor`.
fn measure(
    source: &ModelSource,
    budget: Duration,
    batch: usize,
    photo: &DynamicImage,
) -> anyhow::Result<ModelFigures> {
    let predictor = Predictor::new(
        EmotionModel::from_source(source)?,
        PredictOptions::default(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let face: Vec<u8> = (0..FACE_PIXELS).map(|i| (i * 7 % 251) as u8).collect();
    let single = rate(budget, || {
        let _ = predictor.model().classify(&[&face], Tta::Off);
    });
    let crop = DynamicImage::ImageLuma8(GrayImage::from_raw(48, 48, face.clone()).unwrap());
    let single_image = rate(budget, || {
        let _ = predictor.predict(&crop);
    });
    let faces: Vec<&[u8]> = vec![face.as_slice(); batch];
    let batched = batch as f64
        * rate(budget, || {
            let _ = predictor.model().classify(&faces, Tta::Off);
        });
    let mut found = 0;
    let photos = rate(budget, || {
        found = predictor.predict(photo).faces.len();
    });
    Ok(ModelFigures {
        origin: predictor.model().origin(),
        single,
        single_image,
        batched,
        photos: (photos, found),
    })
}

/// Prints, for each model, batch-1 face latency, batched faces/s and 640x480 photo latency,
/// and the detector's time on the photo.
pub fn run(
    sources: &[ModelSource],
    budget: Duration,
    batch: usize,
    photo: Option<&Path>,
) -> anyhow::Result<()> {
    let (photo, what) = test_photo(photo)?;
    println!("{} threads; photo: {what}", rayon::current_num_threads());
    let gray = photo.to_luma8();
    let detector = PredictOptions::default().detector;
    let detections = rate(budget, || {
        let _ = detect_faces(&gray, &detector);
    });
    println!(
        "detect faces in the 640x480 photo:      {:>8.2} ms",
        1000.0 / detections
    );
    for source in sources {
        let m = measure(source, budget, batch, &photo)?;
        println!("model: {}", m.origin);
        println!(
            "  classify one 48x48 face (batch 1):    {:>8.2} ms",
            1000.0 / m.single
        );
        println!(
            "  predict one 48x48 image (no decode):  {:>8.2} ms",
            1000.0 / m.single_image
        );
        println!(
            "  classify faces in batches of {batch:<4}:    {:>8.0} faces/s",
            m.batched
        );
        println!(
            "  detect + classify the 640x480 photo:  {:>8.2} ms  ({} faces)",
            1000.0 / m.photos.0,
            m.photos.1
        );
    }
    Ok(())
}
