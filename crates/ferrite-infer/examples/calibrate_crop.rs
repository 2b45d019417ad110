//! Measures how the detector's (MTCNN's) boxes sit on FER2013 faces, to calibrate `FER_FRAMING`.
//!
//! Each FER2013 face (48x48) is scaled up 4x and pasted into the middle of a larger gray scene;
//! the detector runs, and the known frame is compared with the box found.
//! `cargo run --release -p ferrite-infer --example calibrate_crop -- DATA_DIR [SPLIT] [N] [THRESHOLD]`

use ferrite_data::{load_dataset, Split, FACE_SIZE};
use ferrite_infer::{detect_faces, DetectorConfig};
use image::{imageops::FilterType, GrayImage, Luma};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = args
        .get(1)
        .ok_or("usage: calibrate_crop DATA_DIR [SPLIT] [N] [THRESHOLD]")?;
    let split: Split = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(Split::PublicTest);
    let n: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let mut set = load_dataset(std::path::Path::new(data), split)?;
    set.limit(n);
    let (up, margin) = (4 * FACE_SIZE as u32, 2 * FACE_SIZE as u32);
    let mut config = DetectorConfig::default();
    if let Some(t) = args.get(4) {
        config.score_threshold = t.parse()?;
    }
    let (mut found, mut ratios, mut dx, mut dy) = (0usize, Vec::new(), Vec::new(), Vec::new());
    for sample in &set.samples {
        let face = GrayImage::from_raw(48, 48, sample.pixels.clone()).ok_or("bad face")?;
        let big = image::imageops::resize(&face, up, up, FilterType::Triangle);
        let mut scene = GrayImage::from_pixel(up + 2 * margin, up + 2 * margin, Luma([128]));
        image::imageops::overlay(&mut scene, &big, margin as i64, margin as i64);
        let centre = (margin + up / 2) as f32;
        let best = detect_faces(&scene, &config).into_iter().min_by(|a, b| {
            let da = (a.x + a.width / 2.0 - centre).abs() + (a.y + a.height / 2.0 - centre).abs();
            let db = (b.x + b.width / 2.0 - centre).abs() + (b.y + b.height / 2.0 - centre).abs();
            da.total_cmp(&db)
        });
        if let Some(d) = best {
            if (d.x + d.width / 2.0 - centre).abs() < up as f32 / 4.0 {
                found += 1;
                ratios.push(up as f32 / d.width.max(d.height));
                dx.push((centre - (d.x + d.width / 2.0)) / d.width);
                dy.push((centre - (d.y + d.height / 2.0)) / d.height);
            }
        }
    }
    let median = |v: &mut Vec<f32>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
    };
    println!(
        "faces: {}  found: {} ({:.1}%)",
        set.samples.len(),
        found,
        100.0 * found as f32 / set.samples.len() as f32
    );
    println!(
        "median frame/box scale {:.3}, shift_x {:.3}, shift_y {:.3}",
        median(&mut ratios),
        median(&mut dx),
        median(&mut dy)
    );
    Ok(())
}
