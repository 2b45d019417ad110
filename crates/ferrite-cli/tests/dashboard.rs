//! The dashboard in a real browser: starts `ferrite serve` on a free port with a drawn dataset
//! and drives Debian's headless Chromium through every page with e2e/dashboard.mjs
//! (Playwright), the Video page with an MP4 made here. Ignored unless asked for, since it needs Chromium and e2e/node_modules;
//! .ci/run installs both and runs it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use image::{GrayImage, Luma, RgbImage};

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tiny Kaggle-layout dataset for the EDA page.
fn drawn_dataset(root: &Path) {
    for (split, prefix) in [
        ("train", "Training_"),
        ("test", "PublicTest_"),
        ("test", "PrivateTest_"),
    ] {
        for (k, class) in ferrite_data::Emotion::names().iter().enumerate() {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..3u32 {
                GrayImage::from_fn(48, 48, |x, y| Luma([(k as u32 * 30 + x * i + y) as u8]))
                    .save(dir.join(format!("{prefix}{i}.png")))
                    .unwrap();
            }
        }
    }
}

/// A photo for the predictor: real FER2013 faces pasted into a scene when FER2013_DIR is set
/// (so boxes are drawn), else a drawn 48x48 face crop (classified whole).
fn test_photo(dir: &Path) -> PathBuf {
    let path = dir.join("photo.png");
    let faces = std::env::var_os("FER2013_DIR").and_then(|d| {
        let mut set =
            ferrite_data::load_dataset(Path::new(&d), ferrite_data::Split::PublicTest).ok()?;
        set.limit(3);
        Some(set)
    });
    match faces {
        Some(set) => {
            let mut scene = RgbImage::from_pixel(660, 300, image::Rgb([120, 130, 140]));
            for (i, s) in set.samples.iter().enumerate() {
                let face = GrayImage::from_raw(48, 48, s.pixels.clone()).unwrap();
                let big =
                    image::imageops::resize(&face, 160, 160, image::imageops::FilterType::Triangle);
                let rgb = image::DynamicImage::ImageLuma8(big).to_rgb8();
                image::imageops::overlay(&mut scene, &rgb, 40 + 210 * i as i64, 70);
            }
            scene.save(&path).unwrap();
        }
        None => GrayImage::from_fn(48, 48, |x, y| Luma([(x * 4 + y) as u8]))
            .save(&path)
            .unwrap(),
    }
    path
}

/// The frames of the test video: with FER2013_DIR, two real faces drifting across a textured
/// background; else the background alone. Also how many faces they hold.
fn test_frames() -> (Vec<GrayImage>, usize) {
    let faces: Vec<GrayImage> = std::env::var_os("FER2013_DIR")
        .and_then(|d| {
            let mut set =
                ferrite_data::load_dataset(Path::new(&d), ferrite_data::Split::PublicTest).ok()?;
            set.limit(2);
            Some(set)
        })
        .map(|set| {
            set.samples
                .iter()
                .map(|s| {
                    let face = GrayImage::from_raw(48, 48, s.pixels.clone()).unwrap();
                    image::imageops::resize(&face, 120, 120, image::imageops::FilterType::Triangle)
                })
                .collect()
        })
        .unwrap_or_default();
    let frames = (0..50u32)
        .map(|k| {
            let mut frame = GrayImage::from_fn(480, 240, |x, y| {
                Luma([(110.0 + 40.0 * (x as f32 / 37.0).sin() * (y as f32 / 53.0).cos()) as u8])
            });
            for (i, face) in faces.iter().enumerate() {
                let x = if i == 0 { 40 + k } else { 320 - k };
                image::imageops::overlay(&mut frame, face, i64::from(x), 60);
            }
            frame
        })
        .collect();
    (frames, faces.len())
}

/// The same frames as a Y4M file (gray: chroma planes at 128), which Chromium's fake camera
/// plays in a loop: the webcam page then sees real faces.
fn fake_camera(dir: &Path, frames: &[GrayImage]) -> PathBuf {
    let path = dir.join("camera.y4m");
    let (w, h) = frames[0].dimensions();
    let mut out = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n").into_bytes();
    for frame in frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(frame.as_raw());
        out.extend(std::iter::repeat_n(128u8, (w * h / 2) as usize));
    }
    std::fs::write(&path, out).unwrap();
    path
}

/// The test frames as a 2-second MP4 (25 frames/s) for the Video page.
fn test_video(dir: &Path, frames: &[GrayImage]) -> PathBuf {
    let path = dir.join("clip.mp4");
    let (w, h) = frames[0].dimensions();
    let mut writer = ferrite_video::VideoWriter::create(&path, w, h).unwrap();
    for (k, frame) in frames.iter().enumerate() {
        writer.push_gray(frame, k as f64 * 0.04).unwrap();
    }
    writer.finish(0.04).unwrap();
    path
}

/// The browser tests one at a time: two servers and two Chromiums at once would share this
/// machine's two cores and meet their time limits by chance.
static BROWSER: Mutex<()> = Mutex::new(());

/// Chromium and Playwright, or a panic that says how to get them; the e2e folder.
fn browser_needs() -> (String, PathBuf) {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let e2e = repo_root().join("e2e");
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium, or set CHROMIUM"
    );
    assert!(
        e2e.join("node_modules/playwright-core").exists(),
        "e2e/node_modules is missing: run `npm ci` in e2e/"
    );
    (chromium, e2e)
}

/// Starts `ferrite serve` on a free port with `args`; the server and its base URL.
fn start_server(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("ferrite serve starts");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (server, url)
}

/// Runs an e2e script with `args` and the fake camera; fails the test with its log.
fn run_e2e(script: &Path, args: &[&str], chromium: &str, camera: &Path) {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .env("CHROMIUM", chromium)
        .env("FAKE_CAMERA", camera)
        .output()
        .expect("node runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{log}");
    assert!(out.status.success(), "browser test failed:\n{log}");
}

#[test]
#[ignore = "needs Chromium and `npm ci` in e2e/ (.ci/run installs both and runs ignored tests)"]
fn dashboard_pages_work_in_headless_chromium() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (chromium, e2e) = browser_needs();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    drawn_dataset(&data);
    let photo = test_photo(tmp.path());
    let (frames, video_faces) = test_frames();
    let video = test_video(tmp.path(), &frames);
    let camera = fake_camera(tmp.path(), &frames);
    let (server, url) = start_server(&["--data", data.to_str().unwrap()]);
    let shots = repo_root().join("target/e2e-screenshots");
    run_e2e(
        &e2e.join("dashboard.mjs"),
        &[
            url.as_str(),
            photo.to_str().unwrap(),
            shots.to_str().unwrap(),
            video.to_str().unwrap(),
            &video_faces.to_string(),
        ],
        &chromium,
        &camera,
    );
    drop(server);
    assert!(shots.join("phone-model.png").exists());
}

/// The private mode (issue 21): the Predictor, Batch and Live webcam pages read photos and
/// frames in the browser, with the server's results and no upload, and `ferrite export
/// --format web` makes a static site that does the same with no server (e2e/private_mode.mjs).
#[test]
#[ignore = "needs Chromium and `npm ci` in e2e/ (.ci/run installs both and runs ignored tests)"]
fn private_mode_reads_photos_and_frames_in_the_browser() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (chromium, e2e) = browser_needs();
    let tmp = tempfile::tempdir().unwrap();
    let photo = test_photo(tmp.path());
    // A format the module leaves to the browser's decoder (lossless, so the same pixels).
    let webp = tmp.path().join("photo.webp");
    image::open(&photo).unwrap().to_rgb8().save(&webp).unwrap();
    let (frames, camera_faces) = test_frames();
    let camera = fake_camera(tmp.path(), &frames);
    let site = tmp.path().join("site");
    let export = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(["export", "--format", "web", "--out", site.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let (server, url) = start_server(&[]);
    let shots = repo_root().join("target/e2e-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    run_e2e(
        &e2e.join("private_mode.mjs"),
        &[
            url.as_str(),
            site.to_str().unwrap(),
            photo.to_str().unwrap(),
            webp.to_str().unwrap(),
            shots.to_str().unwrap(),
            &camera_faces.to_string(),
        ],
        &chromium,
        &camera,
    );
    drop(server);
}
