//! Which part of a 48x48 face a model reads, and the views test-time augmentation averages.
//!
//! A model's input is a square of `side` pixels (48, or less for a model trained on random
//! crops with `ferrite train --crop`). A view is a square window of the face, optionally
//! mirrored, and resized to `side` where it is smaller (a closer view); a single prediction
//! reads the centre window, and [`Tta`] names the sets of views whose probabilities are
//! averaged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FACE_SIZE;

/// One window of a face: `window` x `window` pixels from (`left`, `top`), mirrored left-right
/// when `mirror`; a window smaller than the model's input is resized to it (bilinear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceView {
    /// First column of the window.
    pub left: usize,
    /// First row of the window.
    pub top: usize,
    /// Side of the window in the face's pixels: the model's input side, or less for a closer
    /// view of the face's centre.
    pub window: usize,
    /// Whether the window is mirrored left to right.
    pub mirror: bool,
}

impl FaceView {
    /// The centred window of `window` pixels, not mirrored: with the model's input side, what
    /// a single prediction reads.
    pub fn centre(window: usize) -> FaceView {
        let margin = margin(window);
        FaceView {
            left: margin / 2,
            top: margin / 2,
            window,
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
        let mut scaled = [0.0; FACE_SIZE * FACE_SIZE];
        crate::face_to_input(face, &mut scaled);
        self.read(&scaled, side, out);
    }

    /// Writes this window of `face`, a 48x48 face already scaled to `[0, 1]` (an augmented one,
    /// in training), into `out` (`side` x `side`).
    pub fn read(&self, face: &[f32], side: usize, out: &mut [f32]) {
        debug_assert_eq!(face.len(), FACE_SIZE * FACE_SIZE);
        debug_assert_eq!(out.len(), side * side);
        let window = self.window;
        assert!(
            self.left + window <= FACE_SIZE && self.top + window <= FACE_SIZE,
            "a {window}-pixel window at ({}, {}) leaves the face",
            self.left,
            self.top
        );
        assert!(
            (1..=side).contains(&window),
            "a {window}-pixel window does not make a {side}-pixel input"
        );
        let rows = face[self.top * FACE_SIZE..]
            .chunks(FACE_SIZE)
            .map(|row| &row[self.left..self.left + window]);
        if window == side {
            for (out, row) in out.chunks_exact_mut(side).zip(rows) {
                out.copy_from_slice(row);
            }
        } else {
            let pixels: Vec<f32> = rows.take(window).flatten().copied().collect();
            enlarge(&pixels, window, side, out);
        }
        if self.mirror {
            out.chunks_exact_mut(side).for_each(<[f32]>::reverse);
        }
    }
}

/// Resizes the `from` x `from` image `pixels` to `to` x `to` (`to >= from`) into `out`:
/// bilinear, pixel centres aligned (`(x + 0.5) * from / to - 0.5`), coordinates clamped to the
/// edge, as Pillow's and OpenCV's bilinear resize enlarge an image.
fn enlarge(pixels: &[f32], from: usize, to: usize, out: &mut [f32]) {
    let scale = from as f32 / to as f32;
    let taps: Vec<(usize, usize, f32)> = (0..to)
        .map(|i| {
            let u = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (from - 1) as f32);
            let lo = u.floor() as usize;
            (lo, (lo + 1).min(from - 1), u - lo as f32)
        })
        .collect();
    for (row, &(y0, y1, fy)) in out.chunks_exact_mut(to).zip(&taps) {
        let (above, below) = (&pixels[y0 * from..][..from], &pixels[y1 * from..][..from]);
        for (o, &(x0, x1, fx)) in row.iter_mut().zip(&taps) {
            let top = above[x0] + (above[x1] - above[x0]) * fx;
            let bottom = below[x0] + (below[x1] - below[x0]) * fx;
            *o = top + (bottom - top) * fy;
        }
    }
}

/// How many pixels narrower than the model's input [`Tta::Zoom`]'s closer view is: one off each
/// side. Beside the whole face (all with mirrors), the 46-pixel window added as much on
/// PublicTest as the 46, 44 and 42 together (0.7 points on average over three models) at half
/// the cost, and more than 44 alone or 46 and 44.
const ZOOM_MARGIN: usize = 2;

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
    /// The centre window and a closer view of it (its central `side - 2` pixels, resized to
    /// `side`: 46 of a whole face's 48), each with its mirror image: four views. On PublicTest
    /// it added 0.4-0.8 points over the flip to each of three models (README, "Evaluate").
    Zoom,
}

impl Tta {
    /// The names [`Tta::from_str`] takes, besides `true` (flip) and `false` (off).
    pub const NAMES: [&'static str; 4] = ["off", "flip", "crops", "zoom"];

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
                        window: side,
                        mirror: false,
                    };
                    if !windows.contains(&view) {
                        windows.push(view);
                    }
                }
                windows
            }
            Tta::Zoom if side > ZOOM_MARGIN => vec![centre, FaceView::centre(side - ZOOM_MARGIN)],
            Tta::Zoom => vec![centre],
        };
        windows
            .into_iter()
            .flat_map(|view| [view, view.mirrored()])
            .collect()
    }

    /// The kind whose views these are for a model whose input is `side` pixels: on a model that
    /// reads the whole face, ten crops are the flip. What a temperature fitted for one kind is
    /// looked up by.
    pub fn for_side(self, side: usize) -> Tta {
        match self {
            Tta::Crops if side >= FACE_SIZE => Tta::Flip,
            Tta::Zoom if side <= ZOOM_MARGIN => Tta::Flip,
            kind => kind,
        }
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
            Tta::Zoom => "zoom",
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

    /// `off`, `flip`, `crops`, `zoom`; `true`/`1` (flip) and `false`/`0` (off) as the API has always
    /// taken them.
    fn from_str(s: &str) -> Result<Tta, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "false" | "0" => Ok(Tta::Off),
            "flip" | "true" | "1" => Ok(Tta::Flip),
            "crops" => Ok(Tta::Crops),
            "zoom" => Ok(Tta::Zoom),
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
    /// A name (`off`, `flip`, `crops`, `zoom`, `true`, `false`) or a JSON boolean.
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
            window: side,
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
    fn enlarging_keeps_flat_images_flat_and_ramps_straight() {
        let (from, to) = (46, 48);
        let mut out = vec![0.0; to * to];
        enlarge(&vec![0.25; from * from], from, to, &mut out);
        assert!(out.iter().all(|&v| (v - 0.25).abs() < 1e-6));
        let ramp: Vec<f32> = (0..from * from).map(|i| (i % from) as f32).collect();
        enlarge(&ramp, from, to, &mut out);
        for row in out.chunks(to) {
            // Inside the edges, bilinear reproduces a ramp exactly: x maps to (x + 0.5) * 46 / 48 - 0.5.
            for (x, &v) in row.iter().enumerate().take(to - 1).skip(1) {
                let u = (x as f32 + 0.5) * from as f32 / to as f32 - 0.5;
                assert!((v - u).abs() < 1e-4, "{x}: {v} vs {u}");
            }
            assert_eq!(row[0], 0.0);
            assert_eq!(row[to - 1], (from - 1) as f32);
        }
    }

    #[test]
    fn zoom_adds_a_closer_centred_view_and_mirrors_both() {
        let views = Tta::Zoom.views(FACE_SIZE);
        assert_eq!(views.len(), 4);
        assert_eq!(&views[..2], Tta::Flip.views(FACE_SIZE).as_slice());
        let closer = views[2];
        assert_eq!((closer.left, closer.top, closer.window), (1, 1, 46));
        assert!(!closer.mirror && views[3].mirror);
        let on_crops = Tta::Zoom.views(40);
        assert_eq!((on_crops[2].left, on_crops[2].window), (5, 38));

        let face = face();
        let mut near = vec![0.0; FACE_SIZE * FACE_SIZE];
        closer.write_input(&face, FACE_SIZE, &mut near);
        let mut mirrored = vec![0.0; near.len()];
        views[3].write_input(&face, FACE_SIZE, &mut mirrored);
        for (a, b) in near.chunks(FACE_SIZE).zip(mirrored.chunks(FACE_SIZE)) {
            assert!(a.iter().eq(b.iter().rev()));
        }
        // The closer view's corner pixels are the window's corners.
        let corner = |v: f32, face_pixel: u8| (v - face_pixel as f32 / 255.0).abs() < 1e-6;
        assert!(corner(near[0], face[FACE_SIZE + 1]));
        assert!(corner(near[near.len() - 1], face[46 * FACE_SIZE + 46]));
    }

    #[test]
    fn a_kind_is_the_one_whose_views_it_reads() {
        for side in [FACE_SIZE, 40, 2] {
            for tta in [Tta::Off, Tta::Flip, Tta::Crops, Tta::Zoom] {
                assert_eq!(
                    tta.views(side),
                    tta.for_side(side).views(side),
                    "{tta} at {side}"
                );
            }
        }
        assert_eq!(Tta::Crops.for_side(FACE_SIZE), Tta::Flip);
        assert_eq!(Tta::Crops.for_side(40), Tta::Crops);
        assert_eq!(Tta::Zoom.for_side(FACE_SIZE), Tta::Zoom);
    }

    #[test]
    fn names_and_booleans_parse_and_others_are_refused() {
        for tta in [Tta::Off, Tta::Flip, Tta::Crops, Tta::Zoom] {
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
