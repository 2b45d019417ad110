//! Reads the original `fer2013.csv` (`emotion,pixels,Usage`).

use std::path::Path;

use rayon::prelude::*;

use crate::dataset::{Dataset, Sample, SkippedFile, Split};
use crate::{DataError, Emotion, FACE_PIXELS};

pub(crate) fn read_csv(path: &Path, split: Split) -> Result<Dataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, h)| h).unwrap_or_default();
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| columns.iter().position(|c| c == name);
    let (Some(emotion_col), Some(pixels_col)) = (col("emotion"), col("pixels")) else {
        return Err(DataError::CsvRow {
            path: path.to_path_buf(),
            row: 1,
            reason: format!("header must name `emotion` and `pixels` columns, found `{header}`"),
        });
    };
    let usage_col = col("usage");
    if usage_col.is_none() && split != Split::All {
        return Err(DataError::SplitUnavailable {
            path: path.to_path_buf(),
            split: split.to_string(),
            reason: "the CSV has no Usage column".into(),
        });
    }
    let rows: Vec<(usize, &str)> = lines.filter(|(_, l)| !l.trim().is_empty()).collect();
    let parsed: Vec<Option<Result<Sample, SkippedFile>>> = rows
        .par_iter()
        .map(|&(i, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if let Some(u) = usage_col {
                let usage = fields.get(u).copied().unwrap_or("");
                if !usage_in_split(usage, split) {
                    return None;
                }
            }
            let source = format!("{}:{}", path.display(), i + 1);
            Some(
                parse_row(&fields, emotion_col, pixels_col)
                    .map(|(label, pixels)| Sample {
                        pixels,
                        label,
                        source: source.clone(),
                    })
                    .map_err(|reason| SkippedFile { source, reason }),
            )
        })
        .collect();
    let mut dataset = Dataset::default();
    for r in parsed.into_iter().flatten() {
        match r {
            Ok(s) => dataset.samples.push(s),
            Err(s) => dataset.skipped.push(s),
        }
    }
    Ok(dataset)
}

fn usage_in_split(usage: &str, split: Split) -> bool {
    match split {
        Split::All => true,
        Split::Train => usage.eq_ignore_ascii_case("Training"),
        Split::PublicTest => usage.eq_ignore_ascii_case("PublicTest"),
        Split::PrivateTest => usage.eq_ignore_ascii_case("PrivateTest"),
        Split::Test => {
            usage.eq_ignore_ascii_case("PublicTest") || usage.eq_ignore_ascii_case("PrivateTest")
        }
    }
}

fn parse_row(
    fields: &[&str],
    emotion_col: usize,
    pixels_col: usize,
) -> Result<(Emotion, Vec<u8>), String> {
    let code = fields
        .get(emotion_col)
        .ok_or("missing emotion field")?
        .parse::<u8>()
        .map_err(|_| format!("emotion `{}` is not a number", fields[emotion_col]))?;
    let label = Emotion::from_fer_code(code).ok_or(format!("emotion code {code} is not 0-6"))?;
    let pixel_text = fields.get(pixels_col).ok_or("missing pixels field")?;
    let pixels: Vec<u8> = pixel_text
        .split_ascii_whitespace()
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| "pixels must be integers 0-255 separated by spaces".to_string())?;
    if pixels.len() != FACE_PIXELS {
        return Err(format!(
            "expected {FACE_PIXELS} pixels, found {}",
            pixels.len()
        ));
    }
    Ok((label, pixels))
}
