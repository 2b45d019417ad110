//! Writes an MP4 of 640x480 frames at 25 frames/s in which two real FER2013 faces (PublicTest,
//! 120 px) drift across a textured background, for measuring `ferrite video`'s speed and memory
//! (FER2013 images are never committed; this makes the video where the data set is).
//!
//! `cargo run --release -p ferrite-video --example face_video -- FER2013_DIR OUT.mp4 SECONDS`

use std::path::Path;

use ferrite_data::{load_dataset, Split, FACE_SIZE};
use ferrite_video::VideoWriter;
use image::{imageops::FilterType, GrayImage, Luma};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, out, seconds] = args.as_slice() else {
        return Err("usage: face_video FER2013_DIR OUT.mp4 SECONDS".into());
    };
    let frames = (seconds.parse::<f64>()? * 25.0).round() as u32;
    let mut set = load_dataset(Path::new(data), Split::PublicTest)?;
    set.limit(2);
    let faces: Vec<GrayImage> = set
        .samples
        .iter()
        .map(|s| {
            let face = GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, s.pixels.clone())
                .expect("48x48 faces");
            image::imageops::resize(&face, 120, 120, FilterType::Triangle)
        })
        .collect();
    let mut writer = VideoWriter::create(Path::new(out), 640, 480)?;
    for k in 0..frames {
        let mut frame = GrayImage::from_fn(640, 480, |x, y| {
            let v = 110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos();
            Luma([v as u8])
        });
        // Each face swings 100 px back and forth over 8 seconds.
        let swing = (100.0 * (k as f32 * std::f32::consts::PI / 100.0).sin()) as i64;
        image::imageops::overlay(&mut frame, &faces[0], 120 + swing, 150);
        image::imageops::overlay(&mut frame, &faces[1], 400 - swing, 200);
        writer.push_gray(&frame, f64::from(k) / 25.0)?;
    }
    writer.finish(0.04)?;
    println!("{out}: {frames} frames, 640x480, 25 frames/s");
    Ok(())
}
