//! Dataset EDA, computed once in the background and cached: class counts per split, per-class
//! image statistics, sample faces and mean faces, and data-quality findings.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use ferrite_data::{load_dataset, Dataset, Emotion, Sample, Split, FACE_PIXELS, FACE_SIZE};
use image::{imageops::FilterType, GrayImage};
use serde::Serialize;

/// Faces shown per class in the sample grid.
const SAMPLES_PER_CLASS: usize = 8;
/// Pixel standard deviation under which an image counts as blank.
const BLANK_STD: f64 = 2.0;
/// File names listed per data-quality finding.
const EXAMPLES: usize = 10;

/// Class counts of one split, in label order.
#[derive(Debug, Clone, Serialize)]
pub struct SplitCounts {
    /// Split name (train, public-test, private-test, or all).
    pub name: String,
    /// Images per class, in label order.
    pub counts: Vec<usize>,
    /// Images in the split.
    pub total: usize,
}

/// Pixel statistics of one class over every split.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStats {
    /// Class label.
    pub label: String,
    /// Images.
    pub count: usize,
    /// Mean pixel value (0-255).
    pub mean_brightness: f64,
    /// Mean of the per-image pixel standard deviation (contrast).
    pub mean_contrast: f64,
}

/// Data-quality findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Quality {
    /// Files that could not be read.
    pub unreadable: usize,
    /// Some of them, with the reason.
    pub unreadable_examples: Vec<String>,
    /// Images with (almost) no variation: blank frames.
    pub blank: usize,
    /// Some of them.
    pub blank_examples: Vec<String>,
    /// Images that have at least one pixel-identical twin.
    pub duplicate_images: usize,
    /// Groups of identical images.
    pub duplicate_groups: usize,
    /// Groups that span more than one split (test images also in train).
    pub cross_split_groups: usize,
    /// Groups whose copies carry different labels.
    pub conflicting_label_groups: usize,
}

/// The EDA of a dataset.
#[derive(Debug, Clone, Serialize)]
pub struct EdaReport {
    /// The dataset path.
    pub source: String,
    /// Class labels, in order.
    pub labels: Vec<String>,
    /// Counts per split.
    pub splits: Vec<SplitCounts>,
    /// Statistics per class.
    pub classes: Vec<ClassStats>,
    /// Data-quality findings.
    pub quality: Quality,
    /// Seconds the analysis took.
    pub seconds: f64,
}

/// The EDA with its pictures (PNG bytes per class).
pub struct Eda {
    /// Numbers.
    pub report: EdaReport,
    /// A row of sample faces per class, PNG.
    pub samples: HashMap<Emotion, Vec<u8>>,
    /// The mean face per class, PNG.
    pub mean_faces: HashMap<Emotion, Vec<u8>>,
}

/// Where the EDA stands.
pub enum EdaState {
    /// No dataset was given.
    NoData,
    /// Being computed.
    Computing(PathBuf),
    /// Done.
    Ready(Arc<Eda>),
    /// The dataset could not be read.
    Failed(String),
}

/// The shared, cached EDA.
pub type EdaCache = Arc<RwLock<EdaState>>;

/// Starts computing the EDA of `data` on a background thread; the cache says when it is ready.
pub fn start(data: Option<&Path>) -> EdaCache {
    let Some(dir) = data else {
        return Arc::new(RwLock::new(EdaState::NoData));
    };
    let cache = Arc::new(RwLock::new(EdaState::Computing(dir.to_path_buf())));
    let (cache2, dir) = (cache.clone(), dir.to_path_buf());
    std::thread::spawn(move || {
        let state = match analyse(&dir) {
            Ok(eda) => {
                tracing::info!(
                    "EDA of {} ready in {:.1}s",
                    dir.display(),
                    eda.report.seconds
                );
                EdaState::Ready(Arc::new(eda))
            }
            Err(e) => EdaState::Failed(e),
        };
        *cache2.write().expect("EDA lock") = state;
    });
    cache
}

/// Reads the dataset's splits (train, public-test, private-test; or `all` for a plain folder).
fn read_splits(dir: &Path) -> Result<Vec<(String, Dataset)>, String> {
    let named = [Split::Train, Split::PublicTest, Split::PrivateTest];
    let mut out = Vec::new();
    for split in named {
        match load_dataset(dir, split) {
            Ok(set) => out.push((split.to_string(), set)),
            Err(_) if out.is_empty() => {
                let all = load_dataset(dir, Split::All).map_err(|e| e.to_string())?;
                return Ok(vec![("all".into(), all)]);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

fn mean_std(pixels: &[u8]) -> (f64, f64) {
    let n = pixels.len() as f64;
    let mean = pixels.iter().map(|&p| p as f64).sum::<f64>() / n;
    let var = pixels
        .iter()
        .map(|&p| (p as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encoding to memory");
    out.into_inner()
}

/// Computes the EDA of the dataset at `dir`.
pub fn analyse(dir: &Path) -> Result<Eda, String> {
    let start = Instant::now();
    let splits = read_splits(dir)?;
    let samples: Vec<(usize, &Sample)> = splits
        .iter()
        .enumerate()
        .flat_map(|(i, (_, set))| set.samples.iter().map(move |s| (i, s)))
        .collect();
    let split_counts = splits
        .iter()
        .map(|(name, set)| {
            let mut counts = vec![0; Emotion::ALL.len()];
            for s in &set.samples {
                counts[s.label.index()] += 1;
            }
            SplitCounts {
                name: name.clone(),
                total: set.samples.len(),
                counts,
            }
        })
        .collect();
    let quality = quality(&splits, &samples);
    let mut classes = Vec::new();
    let (mut sample_pngs, mut mean_pngs) = (HashMap::new(), HashMap::new());
    for emotion in Emotion::ALL {
        let of_class: Vec<&Sample> = samples
            .iter()
            .filter(|(_, s)| s.label == emotion)
            .map(|(_, s)| *s)
            .collect();
        let stats: Vec<(f64, f64)> = of_class.iter().map(|s| mean_std(&s.pixels)).collect();
        let n = stats.len().max(1) as f64;
        classes.push(ClassStats {
            label: emotion.name().into(),
            count: of_class.len(),
            mean_brightness: stats.iter().map(|s| s.0).sum::<f64>() / n,
            mean_contrast: stats.iter().map(|s| s.1).sum::<f64>() / n,
        });
        sample_pngs.insert(emotion, png(&sample_row(&of_class)));
        mean_pngs.insert(emotion, png(&mean_face(&of_class)));
    }
    Ok(Eda {
        report: EdaReport {
            source: dir.display().to_string(),
            labels: Emotion::names().iter().map(|s| s.to_string()).collect(),
            splits: split_counts,
            classes,
            quality,
            seconds: start.elapsed().as_secs_f64(),
        },
        samples: sample_pngs,
        mean_faces: mean_pngs,
    })
}

/// Up to 8 faces spread evenly through the class, side by side at 2x.
fn sample_row(of_class: &[&Sample]) -> GrayImage {
    let side = FACE_SIZE as u32;
    let mut row = GrayImage::from_pixel(side * SAMPLES_PER_CLASS as u32, side, image::Luma([255]));
    let picks = of_class.len().min(SAMPLES_PER_CLASS);
    for k in 0..picks {
        let s = of_class[k * of_class.len() / picks];
        let face = GrayImage::from_raw(side, side, s.pixels.clone()).expect("48x48 face");
        image::imageops::overlay(&mut row, &face, (k as u32 * side) as i64, 0);
    }
    image::imageops::resize(&row, row.width() * 2, side * 2, FilterType::Nearest)
}

/// The pixel-wise mean of the class's faces, at 2x.
fn mean_face(of_class: &[&Sample]) -> GrayImage {
    let mut sum = vec![0u64; FACE_PIXELS];
    for s in of_class {
        for (a, &p) in sum.iter_mut().zip(&s.pixels) {
            *a += p as u64;
        }
    }
    let n = of_class.len().max(1) as u64;
    let mean: Vec<u8> = sum.iter().map(|&a| (a / n) as u8).collect();
    let side = FACE_SIZE as u32;
    let img = GrayImage::from_raw(side, side, mean).expect("48x48 face");
    image::imageops::resize(&img, side * 2, side * 2, FilterType::Triangle)
}

fn quality(splits: &[(String, Dataset)], samples: &[(usize, &Sample)]) -> Quality {
    let mut q = Quality::default();
    for (_, set) in splits {
        q.unreadable += set.skipped.len();
        for s in set.skipped.iter() {
            if q.unreadable_examples.len() < EXAMPLES {
                q.unreadable_examples
                    .push(format!("{}: {}", s.source, s.reason));
            }
        }
    }
    let mut groups: HashMap<u64, Vec<(usize, Emotion)>> = HashMap::new();
    for (split, s) in samples {
        if mean_std(&s.pixels).1 < BLANK_STD {
            q.blank += 1;
            if q.blank_examples.len() < EXAMPLES {
                q.blank_examples.push(s.source.clone());
            }
            continue; // blank frames are counted once, not again as duplicates
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.pixels.hash(&mut h);
        groups
            .entry(h.finish())
            .or_default()
            .push((*split, s.label));
    }
    for members in groups.values().filter(|m| m.len() > 1) {
        q.duplicate_groups += 1;
        q.duplicate_images += members.len();
        if members.iter().any(|m| m.0 != members[0].0) {
            q.cross_split_groups += 1;
        }
        if members.iter().any(|m| m.1 != members[0].1) {
            q.conflicting_label_groups += 1;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn write_face(dir: &Path, name: &str, value: impl Fn(u32, u32) -> u8) {
        std::fs::create_dir_all(dir).unwrap();
        GrayImage::from_fn(48, 48, |x, y| Luma([value(x, y)]))
            .save(dir.join(name))
            .unwrap();
    }

    #[test]
    fn counts_blank_duplicate_and_unreadable_images() {
        let root = tempfile::tempdir().unwrap();
        let train = root.path().join("train");
        let test = root.path().join("test");
        write_face(&train.join("happy"), "a.png", |x, y| (x * 5 + y) as u8);
        write_face(&train.join("happy"), "b.png", |x, _| (x * 3) as u8);
        write_face(&train.join("sad"), "c.png", |_, _| 0);
        // The same picture as train/happy/a.png, in test and with another label.
        write_face(&test.join("angry"), "PublicTest_1.png", |x, y| {
            (x * 5 + y) as u8
        });
        write_face(&test.join("sad"), "PrivateTest_2.png", |x, y| (x * y) as u8);
        std::fs::write(test.join("sad").join("PrivateTest_3.png"), b"broken").unwrap();

        let eda = analyse(root.path()).unwrap();
        let r = &eda.report;
        assert_eq!(r.splits.len(), 3);
        assert_eq!(r.splits[0].name, "train");
        assert_eq!(r.splits[0].counts[Emotion::Happy.index()], 2);
        assert_eq!(r.splits[0].total, 3);
        assert_eq!(r.quality.unreadable, 1);
        assert_eq!(r.quality.blank, 1);
        assert_eq!(r.quality.duplicate_groups, 1);
        assert_eq!(r.quality.duplicate_images, 2);
        assert_eq!(r.quality.cross_split_groups, 1);
        assert_eq!(r.quality.conflicting_label_groups, 1);
        let sad = &r.classes[Emotion::Sad.index()];
        assert_eq!(sad.count, 2);
        assert!(eda.samples[&Emotion::Happy].starts_with(b"\x89PNG"));
        assert!(eda.mean_faces[&Emotion::Fear].starts_with(b"\x89PNG"));
    }
}
