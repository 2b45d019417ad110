//! Where face detection spends its time: `detect_faces` on one photo under several settings
//! (the pyramid's scale factor, the window step, the smallest face, the longest side), each
//! timed as the best of a few rounds, with the faces it finds. A starting point for making
//! detection faster without losing faces; profile a setting with
//! `perf record -e cpu-clock -g target/release/examples/detect_costs PHOTO SETTING`.
//!
//! `cargo run --release -p ferrite-infer --example detect_costs -- PHOTO [SETTING]`

use std::time::Instant;

use ferrite_infer::{detect_faces, DetectorConfig};

fn settings() -> Vec<(&'static str, DetectorConfig)> {
    let default = DetectorConfig::default();
    vec![
        ("default", default),
        (
            "pyramid-0.7",
            DetectorConfig {
                pyramid_scale: 0.7,
                ..default
            },
        ),
        (
            "step-6",
            DetectorConfig {
                step: 6,
                ..default
            },
        ),
        (
            "min-face-60",
            DetectorConfig {
                min_face: 60,
                ..default
            },
        ),
        (
            "max-side-480",
            DetectorConfig {
                max_side: 480,
                ..default
            },
        ),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let photo = args.first().ok_or("usage: detect_costs PHOTO [SETTING]")?;
    let only = args.get(1);
    let gray = image::open(photo)?.to_luma8();
    println!(
        "{photo}: {}x{}, {} threads",
        gray.width(),
        gray.height(),
        rayon::current_num_threads()
    );
    for (name, config) in settings() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut best = f64::INFINITY;
        let mut faces = 0;
        let rounds = if only.is_some() { 200 } else { 10 };
        for _ in 0..rounds {
            let start = Instant::now();
            faces = detect_faces(&gray, &config).len();
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name:<14} {:>7.1} ms  {faces} faces", best * 1e3);
    }
    Ok(())
}
