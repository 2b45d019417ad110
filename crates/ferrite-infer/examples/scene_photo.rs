//! Writes a 640x480 photo with three real FER2013 faces (PublicTest, scaled to 120 px) on a
//! textured background, for the load and pipeline benchmarks (`bench/load.sh`). FER2013 images
//! are never committed; this makes the photo where the data set is.
//!
//! `cargo run --release -p ferrite-infer --example scene_photo -- FER2013_DIR OUT.jpg`

use std::path::Path;

use ferrite_data::{load_dataset, Split, FACE_SIZE};
use image::{imageops::FilterType, GrayImage, Luma};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, out] = args.as_slice() else {
        return Err("usage: scene_photo FER2013_DIR OUT.jpg".into());
    };
    let mut set = load_dataset(Path::new(data), Split::PublicTest)?;
    set.limit(3);
    let mut scene = GrayImage::from_fn(640, 480, |x, y| {
        let v = 110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos() + x as f32 / 16.0;
        Luma([v as u8])
    });
    for (i, sample) in set.samples.iter().enumerate() {
        let face = GrayImage::from_raw(FACE_SIZE as u32, FACE_SIZE as u32, sample.pixels.clone())
            .ok_or("a face of the wrong size")?;
        let big = image::imageops::resize(&face, 120, 120, FilterType::Triangle);
        image::imageops::overlay(&mut scene, &big, 60 + 190 * i as i64, 150 + 40 * i as i64);
    }
    scene.save(out)?;
    println!("{out}: 640x480, {} faces", set.samples.len());
    Ok(())
}
