//! Writes an MP4 in which real FER2013 faces (PublicTest, a quarter of the frame's height) swing
//! across a textured background, for measuring `ferrite video`'s speed and memory (FER2013
//! images are never committed; this makes the video where the data set is). Defaults: 640x480,
//! 25 frames/s, two faces.
//!
//! `cargo run --release -p ferrite-video --example face_video -- FER2013_DIR OUT.mp4 SECONDS
//! [WIDTHxHEIGHT] [FPS] [FACES]`

use std::path::Path;

use ferrite_data::{load_dataset, Split, FACE_SIZE};
use ferrite_video::VideoWriter;
use image::{imageops::FilterType, GrayImage, Luma};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, out, seconds) = match args.as_slice() {
        [data, out, seconds, ..] => (data, out, seconds.parse::<f64>()?),
        _ => {
            return Err("usage: face_video FER2013_DIR OUT.mp4 SECONDS [WxH] [FPS] [FACES]".into())
        }
    };
    let (width, height) = match args.get(3) {
        Some(size) => {
            let (w, h) = size.split_once('x').ok_or("the size is WIDTHxHEIGHT")?;
            (w.parse::<u32>()?, h.parse::<u32>()?)
        }
        None => (640, 480),
    };
    let fps: f64 = args.get(4).map_or(Ok(25.0), |f| f.parse())?;
    let count: usize = args.get(5).map_or(Ok(2), |n| n.parse())?;
    let frames = (seconds * fps).round() as u32;
    let side = height / 4;
    let mut set = load_dataset(Path::new(data), Split::PublicTest)?;
    set.limit(count);
    let faces: Vec<GrayImage> = set
        .samples
        .iter()
        .map(|s| {
            let face = GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, s.pixels.clone())
                .expect("48x48 faces");
            image::imageops::resize(&face, side, side, FilterType::Triangle)
        })
        .collect();
    let mut writer = VideoWriter::create(Path::new(out), width, height)?;
    let column = width as f32 / faces.len().max(1) as f32;
    for k in 0..frames {
        let mut frame = GrayImage::from_fn(width, height, |x, y| {
            let v = 110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos();
            Luma([v as u8])
        });
        // Each face swings back and forth over 8 seconds, across a fifth of its column, and
        // every other one up and down a little.
        let phase = k as f32 / fps as f32 * std::f32::consts::PI / 4.0;
        for (i, face) in faces.iter().enumerate() {
            let sway = if i % 2 == 0 {
                phase.sin()
            } else {
                -phase.sin()
            };
            let x = column * (i as f32 + 0.5) - side as f32 / 2.0 + 0.2 * column * sway;
            let y =
                (height - side) as f32 / 2.0 + 0.1 * height as f32 * (phase * 0.5 + i as f32).cos();
            image::imageops::overlay(&mut frame, face, x as i64, y as i64);
        }
        writer.push_gray(&frame, f64::from(k) / fps)?;
    }
    writer.finish(1.0 / fps)?;
    println!(
        "{out}: {frames} frames, {width}x{height}, {fps} frames/s, {} faces",
        faces.len()
    );
    Ok(())
}
