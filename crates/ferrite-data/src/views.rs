//! Which part of a 48x48 face a model reads, and the views test-time augmentation averages.
//!
//! A model's input is a square of `side` pixels (48, or less for a model trained on random
//! crops with `ferrite train --crop`). A view is one such window of the face, optionally
//! mirrored; a single prediction reads the centre window, and [`Tta`] names the sets of views
//! whose probabilities are averaged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FACE_SIZE;

/// One window of a face: `side` x `side` pixels from (`left`, `top`), mirrored left-right when
/// `mirror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceView {
    /// First column of the window.
    pub left: usize,
    /// First row of the window.
    pub top: usize,
    /// Whether the window is mirrored left to right.
    pub mirror: bool,
}

impl FaceView {
    /// The centred `side`-pixel window, not mirrored: what a single prediction reads.
    pub fn centre(side: usize) -> FaceView {
        let margin = margin(side);
        FaceView {
            left: margin / 2,
            top: margin / 2,
            mirror: false,
        }
    }

    /// The same window mirrored.
    fn mirrored(self) -> FaceView {
        FaceView {
            mirror: true,
            ..self
        }
    }

    /// Writes this window of `face` (48x48, 8-bit) into `out` (`side` x `side`), scaled to the
    /// model's input range `[0, 1]` as [`crate::face_to_input`] scales it.
    pub fn write_input(&self, face: &[u8], side: usize, out: &mut [f32]) {
        debug_assert_eq!(face.len(), FACE_SIZE * FACE_SIZE);
        debug_assert_eq!(out.len(), side * side);
        assert!(
            self.left + side <= FACE_SIZE && self.top + side <= FACE_SIZE,
            "a {side}-pixel window at ({}, {}) leaves the face",
            self.left,
            self.top
        );
        for (y, row) in out.chunks_exact_mut(side).enumerate() {
            let start = (self.top + y) * FACE_SIZE + self.left;
            let source = &face[start..start + side];
            crate::face_to_input(source, row);
            if self.mirror {
                row.reverse();
            }
        }
    }
}

/// Pixels of the face outside a `side`-pixel window, along one axis.
fn margin(side: usize) -> usize {
    assert!(
        (1..=FACE_SIZE).contains(&side),
        "a model input of {side} pixels does not fit a 48x48 face"
    );
    FACE_SIZE - side
}

/// Test-time augmentation: which views of each face are classified, their probabilities
/// averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tta {
    /// The centre window alone.
    #[default]
    Off,
    /// The centre window and its mirror image.
    Flip,
    /// Ten crops: the four corner windows and the centre one, each with its mirror image (as
    /// the published FER2013 CNNs trained on random crops are evaluated). For a model that
    /// reads the whole face the five windows are one, and this is [`Tta::Flip`].
    Crops,
}

impl Tta {
    /// The names [`Tta::from_str`] takes, besides `true` (flip) and `false` (off).
    pub const NAMES: [&'static str; 3] = ["off", "flip", "crops"];

    /// The views averaged for a model whose input is `side` pixels, without repeats.
    pub fn views(self, side: usize) -> Vec<FaceView> {
        let centre = FaceView::centre(side);
        let windows = match self {
            Tta::Off => return vec![centre],
            Tta::Flip => vec![centre],
            Tta::Crops => {
                let far = margin(side);
                let mut windows = vec![centre];
                for (left, top) in [(0, 0), (far, 0), (0, far), (far, far)] {
                    let view = FaceView {
                        left,
                        top,
                        mirror: false,
                    };
                    if !windows.contains(&view) {
                        windows.push(view);
                    }
                }
                windows
            }
        };
        windows
            .into_iter()
            .flat_map(|view| [view, view.mirrored()])
            .collect()
    }

    /// Whether any augmentation is done.
    pub fn is_on(self) -> bool {
        self != Tta::Off
    }

    /// The name, as [`Tta::from_str`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Tta::Off => "off",
            Tta::Flip => "flip",
            Tta::Crops => "crops",
        }
    }
}

impl From<bool> for Tta {
    /// `true` is the mirror image's average (what `tta` has always meant), `false` none.
    fn from(on: bool) -> Tta {
        if on {
            Tta::Flip
        } else {
            Tta::Off
        }
    }
}

impl fmt::Display for Tta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tta {
    type Err = String;

    /// `off`, `flip`, `crops`; `true`/`1` (flip) and `false`/`0` (off) as the API has always
    /// taken them.
    fn from_str(s: &str) -> Result<Tta, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "false" | "0" => Ok(Tta::Off),
            "flip" | "true" | "1" => Ok(Tta::Flip),
            "crops" => Ok(Tta::Crops),
            other => Err(format!(
                "unknown test-time augmentation `{other}` (one of {}, or true/false)",
                Tta::NAMES.join(", ")
            )),
        }
    }
}

impl Serialize for Tta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Tta {
    /// A name (`off`, `flip`, `crops`, `true`, `false`) or a JSON boolean.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tta, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Name(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(on) => Ok(Tta::from(on)),
            Raw::Name(name) => name.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Vec<u8> {
        (0..FACE_SIZE * FACE_SIZE)
            .map(|i| ((i % FACE_SIZE) * 5 + i / FACE_SIZE) as u8)
            .collect()
    }

    #[test]
    fn the_whole_face_view_is_face_to_input() {
        let face = face();
        let mut whole = vec![0.0; face.len()];
        crate::face_to_input(&face, &mut whole);
        let mut view = vec![0.0; face.len()];
        FaceView::centre(FACE_SIZE).write_input(&face, FACE_SIZE, &mut view);
        assert_eq!(view, whole);
    }

    #[test]
    fn a_window_reads_its_pixels_and_a_mirror_reverses_its_rows() {
        let face = face();
        let side = 40;
        let view = FaceView {
            left: 8,
            top: 3,
            mirror: false,
        };
        let mut out = vec![0.0; side * side];
        view.write_input(&face, side, &mut out);
        assert_eq!(out[0], face[3 * FACE_SIZE + 8] as f32 / 255.0);
        assert_eq!(
            out[side * side - 1],
            face[(3 + side - 1) * FACE_SIZE + 8 + side - 1] as f32 / 255.0
        );
        let mut mirrored = vec![0.0; side * side];
        FaceView {
            mirror: true,
            ..view
        }
        .write_input(&face, side, &mut mirrored);
        for (a, b) in out.chunks(side).zip(mirrored.chunks(side)) {
            assert!(a.iter().eq(b.iter().rev()));
        }
    }

    #[test]
    fn ten_crops_are_the_corners_and_the_centre_with_their_mirrors() {
        let views = Tta::Crops.views(40);
        assert_eq!(views.len(), 10);
        assert_eq!(views[0], FaceView::centre(40));
        assert_eq!((views[0].left, views[0].top), (4, 4));
        let corners: Vec<_> = views
            .iter()
            .filter(|v| !v.mirror)
            .map(|v| (v.left, v.top))
            .collect();
        assert_eq!(corners, [(4, 4), (0, 0), (8, 0), (0, 8), (8, 8)]);
        assert_eq!(views.iter().filter(|v| v.mirror).count(), 5);
    }

    #[test]
    fn on_a_whole_face_model_crops_are_the_flip() {
        assert_eq!(Tta::Crops.views(FACE_SIZE), Tta::Flip.views(FACE_SIZE));
        assert_eq!(Tta::Flip.views(FACE_SIZE).len(), 2);
        assert_eq!(Tta::Off.views(40), [FaceView::centre(40)]);
    }

    #[test]
    fn names_and_booleans_parse_and_others_are_refused() {
        for tta in [Tta::Off, Tta::Flip, Tta::Crops] {
            assert_eq!(tta.name().parse::<Tta>().unwrap(), tta);
        }
        assert_eq!("true".parse::<Tta>().unwrap(), Tta::Flip);
        assert_eq!("false".parse::<Tta>().unwrap(), Tta::Off);
        let err = "ten".parse::<Tta>().unwrap_err();
        assert!(err.contains("`ten`") && err.contains("crops"), "{err}");
        let from_json: Vec<Tta> = serde_json::from_str(r#"[true, false, "crops"]"#).unwrap();
        assert_eq!(from_json, [Tta::Flip, Tta::Off, Tta::Crops]);
        assert_eq!(serde_json::to_string(&Tta::Crops).unwrap(), r#""crops""#);
    }
}
