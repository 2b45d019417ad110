//! What face detection costs and finds under several settings (the face probability needed,
//! the smallest face, the longest side), measured before changing the defaults:
//!
//! - on scenes of real FER2013 faces pasted at known places (PublicTest, 120 px, 6 a scene, as
//!   `tests/faces_in_scenes.rs` builds them): recall, false alarms and time per scene;
//! - on each photo given (a group photo, say): faces found and time, best of 10.
//!
//! `cargo run --release -p ferrite-infer --example detect_costs -- FER2013_DIR [PHOTO...]`
//! `ONLY=NAME` measures one setting alone, for a profile (`perf record -e cpu-clock -g` on the
//! built example).

use std::path::Path;
use std::time::Instant;

use ferrite_data::{load_dataset, Split, FACE_SIZE};
use ferrite_infer::{detect_faces, Detection, DetectorConfig};
use image::{imageops::FilterType, GrayImage, Luma};

const FACE: u32 = 120;
const GAP: u32 = 60;
const COLS: u32 = 3;
const ROWS: u32 = 2;

fn settings() -> Vec<(&'static str, DetectorConfig)> {
    let d = DetectorConfig::default();
    let threshold = |t: f64| DetectorConfig {
        score_threshold: t,
        ..d
    };
    vec![
        ("default", d),
        ("threshold-0.7", threshold(0.7)),
        ("threshold-0.8", threshold(0.8)),
        ("threshold-0.95", threshold(0.95)),
        ("min-face-20", DetectorConfig { min_face: 20, ..d }),
        ("min-face-60", DetectorConfig { min_face: 60, ..d }),
        ("max-side-480", DetectorConfig { max_side: 480, ..d }),
    ]
}

/// A face's true box: `(x, y, side)`.
type Truth = (f32, f32, f32);

/// A scene and its faces' true boxes.
type Scene = (GrayImage, Vec<Truth>);

/// Scenes of six faces each.
fn scenes(data: &Path) -> Result<Vec<Scene>, Box<dyn std::error::Error>> {
    let mut set = load_dataset(data, Split::PublicTest)?;
    set.limit(240);
    let (w, h) = (COLS * (FACE + GAP) + GAP, ROWS * (FACE + GAP) + GAP);
    let per_scene = (COLS * ROWS) as usize;
    let mut out = Vec::new();
    for group in set.samples.chunks_exact(per_scene) {
        let mut scene = GrayImage::from_fn(w, h, |x, y| {
            let v = 110.0
                + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos()
                + 30.0 * (x as f32 / w as f32);
            Luma([v as u8])
        });
        let mut truth = Vec::new();
        for (i, sample) in group.iter().enumerate() {
            let face =
                GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, sample.pixels.clone())
                    .ok_or("a face of the wrong size")?;
            let big = image::imageops::resize(&face, FACE, FACE, FilterType::Triangle);
            let (x, y) = (
                GAP + (i as u32 % COLS) * (FACE + GAP),
                GAP + (i as u32 / COLS) * (FACE + GAP),
            );
            image::imageops::overlay(&mut scene, &big, x as i64, y as i64);
            truth.push((x as f32, y as f32, FACE as f32));
        }
        out.push((scene, truth));
    }
    Ok(out)
}

/// Whether `d` is centred on the face (its centre in the middle half of the true box) at about
/// its size (its longer side 0.4 to 1.5 times the box's): how a detector with tighter boxes
/// than FER2013's crops is judged fairly.
fn centred(d: &Detection, (x, y, side): Truth) -> bool {
    let (cx, cy) = (d.x + d.width / 2.0, d.y + d.height / 2.0);
    let inside = |c: f32, lo: f32| (c - (lo + side / 2.0)).abs() <= side / 4.0;
    let ratio = d.width.max(d.height) / side;
    inside(cx, x) && inside(cy, y) && (0.4..=1.5).contains(&ratio)
}

fn iou(d: &Detection, (x, y, side): Truth) -> f32 {
    let x0 = d.x.max(x);
    let y0 = d.y.max(y);
    let x1 = (d.x + d.width).min(x + side);
    let y1 = (d.y + d.height).min(y + side);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (d.width * d.height + side * side - inter)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = args
        .first()
        .ok_or("usage: detect_costs FER2013_DIR [PHOTO...]")?;
    let scenes = scenes(Path::new(data))?;
    let photos: Vec<(String, GrayImage)> = args[1..]
        .iter()
        .map(|p| Ok((p.clone(), image::open(p)?.to_luma8())))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    println!(
        "{} threads; {} scenes of {} faces ({} px)",
        rayon::current_num_threads(),
        scenes.len(),
        COLS * ROWS,
        FACE
    );
    let only = std::env::var("ONLY").ok();
    for (name, config) in settings() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (mut by_iou, mut by_centre, mut false_alarms, mut total) = (0, 0, 0, 0);
        let start = Instant::now();
        let found: Vec<Vec<Detection>> = scenes
            .iter()
            .map(|(scene, _)| detect_faces(scene, &config))
            .collect();
        let per_scene = start.elapsed().as_secs_f64() * 1e3 / scenes.len() as f64;
        for (faces, (_, truth)) in found.iter().zip(&scenes) {
            for d in faces {
                by_iou += usize::from(truth.iter().any(|&t| iou(d, t) > 0.4));
                match truth.iter().any(|&t| centred(d, t)) {
                    true => by_centre += 1,
                    false => false_alarms += 1,
                }
            }
            total += truth.len();
        }
        print!(
            "{name:<14} scenes: recall {:.3} (IoU > 0.4: {:.3}), false alarms {false_alarms}, \
             {per_scene:.1} ms a scene",
            by_centre as f64 / total as f64,
            by_iou as f64 / total as f64,
        );
        for (photo, gray) in &photos {
            let mut best = f64::INFINITY;
            let mut faces = 0;
            for _ in 0..10 {
                let start = Instant::now();
                faces = detect_faces(gray, &config).len();
                best = best.min(start.elapsed().as_secs_f64());
            }
            let name = Path::new(photo)
                .file_name()
                .map_or(photo.clone(), |n| n.to_string_lossy().into());
            print!(" | {name}: {faces} faces, {:.1} ms", best * 1e3);
        }
        println!();
    }
    Ok(())
}
