use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::{csv_reader, folder_reader, DataError, Emotion, NUM_CLASSES};

/// Which part of a dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (`train/` or `Usage=Training`).
    Train,
    /// FER2013's PublicTest: used to choose models.
    PublicTest,
    /// FER2013's PrivateTest: reported, never tuned on.
    PrivateTest,
    /// PublicTest and PrivateTest together (the whole `test/` folder).
    Test,
    /// Everything.
    All,
}

impl Split {
    /// The command-line name of the split.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::PublicTest => "public-test",
            Split::PrivateTest => "private-test",
            Split::Test => "test",
            Split::All => "all",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "train" | "training" => Ok(Split::Train),
            "public-test" | "publictest" | "public" | "val" | "validation" => Ok(Split::PublicTest),
            "private-test" | "privatetest" | "private" => Ok(Split::PrivateTest),
            "test" => Ok(Split::Test),
            "all" => Ok(Split::All),
            other => Err(format!(
                "unknown split `{other}` (expected train, public-test, private-test, test or all)"
            )),
        }
    }
}

/// The split that picks a training run's best epoch. It can only be a split that is meant for
/// choosing models: parsing refuses PrivateTest, the whole test folder and everything else that
/// holds PrivateTest faces (under any of their spellings) before any data is read, so the rule
/// that PrivateTest is reported and never tuned on holds wherever a run is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ValidationSplit {
    /// FER2013's PublicTest.
    #[default]
    PublicTest,
}

impl ValidationSplit {
    /// The split to read.
    pub fn split(self) -> Split {
        match self {
            ValidationSplit::PublicTest => Split::PublicTest,
        }
    }
}

impl fmt::Display for ValidationSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.split().name())
    }
}

impl FromStr for ValidationSplit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<Split>()? {
            Split::PublicTest => Ok(ValidationSplit::PublicTest),
            held_out @ (Split::PrivateTest | Split::Test | Split::All) => Err(format!(
                "`{s}` cannot be a validation split: {held_out} holds PrivateTest faces, which \
                 are held out for reporting and never used to choose a model; use public-test"
            )),
            Split::Train => Err(format!(
                "`{s}` cannot be a validation split: choosing epochs on the faces a model \
                 trains on measures memory, not accuracy; use public-test"
            )),
        }
    }
}

impl serde::Serialize for ValidationSplit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.split().name())
    }
}

impl<'de> serde::Deserialize<'de> for ValidationSplit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One labelled 48x48 grayscale face.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Row-major 8-bit pixels, `FACE_PIXELS` long.
    pub pixels: Vec<u8>,
    /// The true emotion.
    pub label: Emotion,
    /// Where it came from: a file path, or `file.csv:row`.
    pub source: String,
}

/// An input that was skipped, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFile {
    /// The file (or `file.csv:row`) that was skipped.
    pub source: String,
    /// What was wrong with it.
    pub reason: String,
}

/// A loaded dataset split.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The faces, in a deterministic order (sorted by source).
    pub samples: Vec<Sample>,
    /// Inputs that could not be read.
    pub skipped: Vec<SkippedFile>,
    /// Non-fatal findings (empty class folders, folders that name no known class).
    pub warnings: Vec<String>,
}

impl Dataset {
    /// Number of faces per class, in label order.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for s in &self.samples {
            counts[s.label.index()] += 1;
        }
        counts
    }

    /// A SHA-256 over labels and pixels in sample order: identifies the exact data a model saw.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for s in &self.samples {
            hasher.update([s.label.index() as u8]);
            hasher.update(&s.pixels);
        }
        lowercase_hex(&hasher.finalize())
    }

    /// Keeps at most `limit` samples, taking every k-th so that all classes stay represented.
    pub fn limit(&mut self, limit: usize) {
        if limit >= self.samples.len() || limit == 0 {
            return;
        }
        let step = self.samples.len() as f64 / limit as f64;
        let samples = std::mem::take(&mut self.samples);
        self.samples = (0..limit)
            .map(|i| samples[(i as f64 * step) as usize].clone())
            .collect();
    }

    /// A one-paragraph human summary: counts per class and what was skipped.
    pub fn summary(&self, name: &str) -> String {
        let counts = self.class_counts();
        let per_class: Vec<String> = Emotion::ALL
            .iter()
            .map(|e| format!("{} {}", e.name(), counts[e.index()]))
            .collect();
        let mut text = format!(
            "{name}: {} images ({})",
            self.samples.len(),
            per_class.join(", ")
        );
        if !self.skipped.is_empty() {
            text.push_str(&format!("; skipped {} unreadable:", self.skipped.len()));
            for s in self.skipped.iter().take(20) {
                text.push_str(&format!("\n  skipped {}: {}", s.source, s.reason));
            }
            if self.skipped.len() > 20 {
                text.push_str(&format!("\n  ... and {} more", self.skipped.len() - 20));
            }
        }
        for w in &self.warnings {
            text.push_str(&format!("\n  warning: {w}"));
        }
        text
    }
}

/// Loads `split` from `path`, which may be a Kaggle-layout folder (`train/`, `test/`), a folder
/// holding `fer2013.csv`, the CSV file itself, or any folder of class subfolders.
pub fn load_dataset(path: &Path, split: Split) -> Result<Dataset, DataError> {
    if !path.exists() {
        return Err(DataError::Missing(path.to_path_buf()));
    }
    let dataset = if let Some(csv) = csv_path(path) {
        csv_reader::read_csv(&csv, split)?
    } else if path.is_dir() {
        folder_reader::read_folder(path, split)?
    } else {
        return Err(DataError::Layout {
            path: path.to_path_buf(),
            reason: "not a folder of class subfolders nor a fer2013 CSV file".into(),
        });
    };
    if dataset.samples.is_empty() {
        return Err(DataError::Layout {
            path: path.to_path_buf(),
            reason: format!(
                "no readable images in split `{split}`{}",
                if dataset.skipped.is_empty() {
                    String::new()
                } else {
                    format!(" ({} files could not be read)", dataset.skipped.len())
                }
            ),
        });
    }
    Ok(dataset)
}

fn csv_path(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        return is_csv.then(|| path.to_path_buf());
    }
    let inside = path.join("fer2013.csv");
    let has_folders = path.join("train").is_dir() || path.join("test").is_dir();
    (inside.is_file() && !has_folders).then_some(inside)
}

/// `bytes` as lowercase hexadecimal (how Ferrite writes a SHA-256 digest).
pub fn lowercase_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{Split, ValidationSplit};

    #[test]
    fn every_spelling_of_a_held_out_split_is_refused_for_validation() {
        for name in [
            "private-test",
            "PrivateTest",
            "private_test",
            "PRIVATE",
            "privatetest",
            "test",
            "Test",
            "all",
        ] {
            // Each is a real split name for evaluation...
            assert!(name.parse::<Split>().is_ok(), "{name}");
            // ...and none of them can choose a model.
            let err = name.parse::<ValidationSplit>().unwrap_err();
            assert!(err.contains("PrivateTest"), "{name}: {err}");
        }
        let err = "training".parse::<ValidationSplit>().unwrap_err();
        assert!(err.contains("trains on"), "{err}");
        assert!("nonsense".parse::<ValidationSplit>().is_err());
    }

    #[test]
    fn public_test_is_the_validation_split_under_its_aliases() {
        for name in ["public-test", "PublicTest", "public_test", "public", "val"] {
            assert_eq!(
                name.parse::<ValidationSplit>(),
                Ok(ValidationSplit::PublicTest)
            );
        }
        assert_eq!(ValidationSplit::PublicTest.split(), Split::PublicTest);
    }

    #[test]
    fn a_saved_validation_split_is_checked_again_when_read() {
        let json = serde_json::to_string(&ValidationSplit::PublicTest).unwrap();
        assert_eq!(json, "\"public-test\"");
        assert!(serde_json::from_str::<ValidationSplit>("\"private-test\"").is_err());
    }
}
