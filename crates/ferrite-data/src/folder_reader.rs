//! Reads folders of class subfolders: the Kaggle FER2013 layout (`train/<class>/*`,
//! `test/<class>/*` with `PublicTest_*` and `PrivateTest_*` files) and users' own folders.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::{Dataset, Sample, SkippedFile, Split};
use crate::{
    decode_file, face_from_image, has_image_extension, DataError, Emotion, DEFAULT_MAX_PIXELS,
};

/// A file with its label and the test subset its name says it belongs to.
struct Entry {
    path: PathBuf,
    label: Emotion,
}

pub(crate) fn read_folder(root: &Path, split: Split) -> Result<Dataset, DataError> {
    let kaggle = root.join("train").is_dir() || root.join("test").is_dir();
    let mut warnings = Vec::new();
    let entries = if kaggle {
        kaggle_entries(root, split, &mut warnings)?
    } else {
        if split != Split::All {
            return Err(DataError::SplitUnavailable {
                path: root.to_path_buf(),
                split: split.to_string(),
                reason: "a plain folder of class subfolders has only the split `all`".into(),
            });
        }
        class_folder_entries(root, &mut warnings)?
    };
    Ok(decode_entries(entries, warnings))
}

fn kaggle_entries(
    root: &Path,
    split: Split,
    warnings: &mut Vec<String>,
) -> Result<Vec<Entry>, DataError> {
    let folder = |name: &str, warnings: &mut Vec<String>| -> Result<Vec<Entry>, DataError> {
        let dir = root.join(name);
        if !dir.is_dir() {
            return Err(DataError::SplitUnavailable {
                path: root.to_path_buf(),
                split: split.to_string(),
                reason: format!("{} is missing", dir.display()),
            });
        }
        class_folder_entries(&dir, warnings)
    };
    let test_subset = |prefix: &str, warnings: &mut Vec<String>| -> Result<Vec<Entry>, DataError> {
        let entries: Vec<Entry> = folder("test", warnings)?
            .into_iter()
            .filter(|e| file_name_starts_with(&e.path, prefix))
            .collect();
        if entries.is_empty() {
            return Err(DataError::SplitUnavailable {
                path: root.to_path_buf(),
                split: split.to_string(),
                reason: format!("no `{prefix}*` files in the test folder"),
            });
        }
        Ok(entries)
    };
    Ok(match split {
        Split::Train => folder("train", warnings)?,
        Split::Test => folder("test", warnings)?,
        Split::PublicTest => test_subset("PublicTest_", warnings)?,
        Split::PrivateTest => test_subset("PrivateTest_", warnings)?,
        Split::All => {
            let mut all = Vec::new();
            for name in ["train", "test"] {
                if root.join(name).is_dir() {
                    all.extend(folder(name, warnings)?);
                }
            }
            all
        }
    })
}

fn file_name_starts_with(path: &Path, prefix: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix))
}

/// Lists image files under each class subfolder of `dir` (recursively), sorted by path.
fn class_folder_entries(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<Entry>, DataError> {
    let read = std::fs::read_dir(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut class_dirs: Vec<(PathBuf, Emotion)> = Vec::new();
    for item in read.flatten() {
        let path = item.path();
        if !path.is_dir() {
            continue;
        }
        let name = item.file_name().to_string_lossy().into_owned();
        match Emotion::from_name(&name) {
            Some(label) => class_dirs.push((path, label)),
            None => warnings.push(format!(
                "{}: folder name is not an emotion class; ignored",
                path.display()
            )),
        }
    }
    if class_dirs.is_empty() {
        return Err(DataError::Layout {
            path: dir.to_path_buf(),
            reason: format!(
                "no class subfolders found (expected folders named {})",
                Emotion::names().join(", ")
            ),
        });
    }
    class_dirs.sort();
    let mut entries = Vec::new();
    for (class_dir, label) in class_dirs {
        let before = entries.len();
        // Links are followed (a data set is often a tree of links into another), and what
        // cannot be walked (a broken link, a loop, a folder without permission) is reported
        // by name while the rest is read, as a corrupt image is.
        for item in walkdir::WalkDir::new(&class_dir)
            .follow_links(true)
            .sort_by_file_name()
        {
            match item {
                Ok(item) if item.file_type().is_file() && has_image_extension(item.path()) => {
                    entries.push(Entry {
                        path: item.into_path(),
                        label,
                    })
                }
                Ok(_) => {}
                Err(e) => warnings.push(format!(
                    "{}: cannot be read ({e}); skipped",
                    e.path().unwrap_or(&class_dir).display()
                )),
            }
        }
        if entries.len() == before {
            warnings.push(format!(
                "{}: class folder has no images",
                class_dir.display()
            ));
        }
    }
    Ok(entries)
}

fn decode_entries(entries: Vec<Entry>, warnings: Vec<String>) -> Dataset {
    let results: Vec<Result<Sample, SkippedFile>> = entries
        .par_iter()
        .map(|entry| {
            let source = entry.path.display().to_string();
            match decode_file(&entry.path, DEFAULT_MAX_PIXELS) {
                Ok(img) => Ok(Sample {
                    pixels: face_from_image(&img),
                    label: entry.label,
                    source,
                }),
                Err(e) => Err(SkippedFile {
                    source,
                    reason: e.to_string(),
                }),
            }
        })
        .collect();
    let mut dataset = Dataset {
        warnings,
        ..Dataset::default()
    };
    for r in results {
        match r {
            Ok(s) => dataset.samples.push(s),
            Err(s) => dataset.skipped.push(s),
        }
    }
    dataset
}
