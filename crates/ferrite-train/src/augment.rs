//! Random affine augmentation of 48x48 faces, as Keras' ImageDataGenerator does it (rotation,
//! shifts, shear, zoom, horizontal flip, edge-replicating fill), plus optional random erasing.

use rand::Rng;
use serde::{Deserialize, Serialize};

use ferrite_data::{FaceView, FACE_PIXELS, FACE_SIZE};

/// Augmentation ranges. `Augmenter::report()` gives the report's recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augmenter {
    /// Maximum rotation, degrees either way.
    pub rotation_deg: f32,
    /// Maximum shift, as a fraction of the side, either way (width and height alike).
    pub shift: f32,
    /// Maximum shear factor either way (0.2 shears by up to about 11 degrees).
    pub shear: f32,
    /// Zoom range: scales drawn from `[1 - zoom, 1 + zoom]` per axis.
    pub zoom: f32,
    /// Mirror left-right half of the time.
    pub flip: bool,
    /// Probability of erasing a random rectangle (2-25% of the face) with noise.
    pub erase_prob: f32,
}

impl Augmenter {
    /// The seed report's augmentation: rotation 20, shifts 0.2, shear 0.2, zoom 0.2, flip.
    pub fn report() -> Augmenter {
        Augmenter {
            rotation_deg: 20.0,
            shift: 0.2,
            shear: 0.2,
            zoom: 0.2,
            flip: true,
            erase_prob: 0.0,
        }
    }

    /// Half the report's ranges (rotation 10, shifts 0.1, shear 0.1, zoom 0.1) and the flip:
    /// for short runs, where the report's ranges keep a network from fitting the training set.
    pub fn light() -> Augmenter {
        Augmenter {
            rotation_deg: 10.0,
            shift: 0.1,
            shear: 0.1,
            zoom: 0.1,
            ..Augmenter::report()
        }
    }

    /// Names accepted by [`Augmenter::preset`].
    pub const PRESET_NAMES: [&'static str; 3] = ["report", "light", "none"];

    /// The augmentation preset called `name` (one of [`Augmenter::PRESET_NAMES`]).
    pub fn preset(name: &str) -> Option<Augmenter> {
        match name {
            "report" => Some(Augmenter::report()),
            "light" => Some(Augmenter::light()),
            "none" => Some(Augmenter::none()),
            _ => None,
        }
    }

    /// The name of the preset these ranges are (random erasing aside), or `custom`.
    pub fn preset_name(&self) -> &'static str {
        let ranges = Augmenter {
            erase_prob: 0.0,
            ..self.clone()
        };
        Self::PRESET_NAMES
            .into_iter()
            .find(|name| Self::preset(name).as_ref() == Some(&ranges))
            .unwrap_or("custom")
    }

    /// No augmentation at all (inputs pass through unchanged).
    pub fn none() -> Augmenter {
        Augmenter {
            rotation_deg: 0.0,
            shift: 0.0,
            shear: 0.0,
            zoom: 0.0,
            flip: false,
            erase_prob: 0.0,
        }
    }

    /// Writes an augmented copy of `face` (8-bit, 48x48) into `out` scaled to `[0, 1]`.
    pub fn apply(&self, face: &[u8], out: &mut [f32], rng: &mut impl Rng) {
        debug_assert_eq!(face.len(), FACE_PIXELS);
        debug_assert_eq!(out.len(), FACE_PIXELS);
        let side = FACE_SIZE as f32;
        let sym = |rng: &mut dyn rand::RngCore, r: f32| {
            if r > 0.0 {
                rng.gen_range(-r..=r)
            } else {
                0.0
            }
        };
        let theta = sym(rng, self.rotation_deg).to_radians();
        let tx = sym(rng, self.shift) * side;
        let ty = sym(rng, self.shift) * side;
        let shear = sym(rng, self.shear);
        let zx = 1.0 + sym(rng, self.zoom);
        let zy = 1.0 + sym(rng, self.zoom);
        let flip = self.flip && rng.gen_bool(0.5);

        // Output pixel p maps to source c + M (p - c - t), M = R(theta) * Shear * Zoom: the
        // sampling-grid form Keras uses.
        let (s, c) = theta.sin_cos();
        let m00 = c * zx;
        let m01 = (c * shear - s) * zy;
        let m10 = s * zx;
        let m11 = (s * shear + c) * zy;
        let centre = (side - 1.0) / 2.0;
        let max = side - 1.0;
        for y in 0..FACE_SIZE {
            for x in 0..FACE_SIZE {
                let dx = x as f32 - centre - tx;
                let dy = y as f32 - centre - ty;
                let mut sx = centre + m00 * dx + m01 * dy;
                let sy = centre + m10 * dx + m11 * dy;
                if flip {
                    sx = max - sx;
                }
                out[y * FACE_SIZE + x] = bilinear_clamped(face, sx, sy) * (1.0 / 255.0);
            }
        }
        if self.erase_prob > 0.0 && rng.gen_bool(self.erase_prob as f64) {
            erase(out, rng);
        }
    }

    /// The `side`-pixel window of an augmented face that a network trained on crops reads:
    /// anywhere in the face, each offset uniform (random crops, drawn after [`Augmenter::apply`]
    /// from the same stream), or the centre one when nothing is augmented. A network reading
    /// whole faces draws nothing, so its runs repeat those of builds before crops.
    pub fn window(&self, side: usize, rng: &mut impl Rng) -> FaceView {
        let none = Augmenter {
            erase_prob: self.erase_prob,
            ..Augmenter::none()
        };
        if side >= FACE_SIZE || *self == none {
            return FaceView::centre(side);
        }
        let margin = FACE_SIZE - side;
        FaceView {
            left: rng.gen_range(0..=margin),
            top: rng.gen_range(0..=margin),
            window: side,
            mirror: false,
        }
    }
}

/// Bilinear sample with coordinates clamped to the edge (Keras' `fill_mode='nearest'`).
fn bilinear_clamped(face: &[u8], x: f32, y: f32) -> f32 {
    let max = (FACE_SIZE - 1) as f32;
    let x = x.clamp(0.0, max);
    let y = y.clamp(0.0, max);
    let x0 = x.floor() as usize;
    let y0 = y.floor() as usize;
    let x1 = (x0 + 1).min(FACE_SIZE - 1);
    let y1 = (y0 + 1).min(FACE_SIZE - 1);
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let p = |xx: usize, yy: usize| face[yy * FACE_SIZE + xx] as f32;
    let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * fx;
    let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// Random erasing (Zhong et al. 2017): a rectangle of 2-25% of the area, aspect 0.3-3.3,
/// filled with uniform noise.
fn erase(out: &mut [f32], rng: &mut impl Rng) {
    let area = (FACE_PIXELS as f32) * rng.gen_range(0.02..0.25);
    let aspect: f32 = rng.gen_range(0.3f32.ln()..3.3f32.ln()).exp();
    let h = ((area * aspect).sqrt().round() as usize).clamp(1, FACE_SIZE);
    let w = ((area / aspect).sqrt().round() as usize).clamp(1, FACE_SIZE);
    let top = rng.gen_range(0..=FACE_SIZE - h);
    let left = rng.gen_range(0..=FACE_SIZE - w);
    for y in top..top + h {
        for v in &mut out[y * FACE_SIZE + left..y * FACE_SIZE + left + w] {
            *v = rng.gen();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn gradient_face() -> Vec<u8> {
        (0..FACE_PIXELS)
            .map(|i| ((i % FACE_SIZE) * 5) as u8)
            .collect()
    }

    #[test]
    fn no_augmentation_is_identity_scaled() {
        let face = gradient_face();
        let mut out = vec![0.0; FACE_PIXELS];
        Augmenter::none().apply(&face, &mut out, &mut ChaCha8Rng::seed_from_u64(1));
        for (o, &f) in out.iter().zip(&face) {
            assert!((o - f as f32 / 255.0).abs() < 1e-6);
        }
    }

    #[test]
    fn flip_alone_mirrors_rows() {
        let face = gradient_face();
        let aug = Augmenter {
            flip: true,
            ..Augmenter::none()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut saw_flip = false;
        for _ in 0..10 {
            let mut out = vec![0.0; FACE_PIXELS];
            aug.apply(&face, &mut out, &mut rng);
            let first = out[0];
            let last = out[FACE_SIZE - 1];
            if first > last {
                saw_flip = true;
                assert!((first - face[FACE_SIZE - 1] as f32 / 255.0).abs() < 1e-6);
            }
        }
        assert!(saw_flip);
    }

    #[test]
    fn augmentation_is_repeatable_for_a_seed_and_stays_in_range() {
        let face = gradient_face();
        let aug = Augmenter {
            erase_prob: 0.5,
            ..Augmenter::report()
        };
        let run = |seed| {
            let mut out = vec![0.0; FACE_PIXELS];
            aug.apply(&face, &mut out, &mut ChaCha8Rng::seed_from_u64(seed));
            out
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(9).iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn the_light_preset_moves_pixels_less_than_the_report_preset() {
        let face = gradient_face();
        let identity: Vec<f32> = face.iter().map(|&v| v as f32 / 255.0).collect();
        // Mean absolute change per pixel over many draws, flips excluded (they move both alike).
        let mean_change = |aug: Augmenter| {
            let aug = Augmenter { flip: false, ..aug };
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let mut out = vec![0.0; FACE_PIXELS];
            let mut total = 0.0f64;
            for _ in 0..200 {
                aug.apply(&face, &mut out, &mut rng);
                total += out
                    .iter()
                    .zip(&identity)
                    .map(|(a, b)| (a - b).abs() as f64)
                    .sum::<f64>();
            }
            total / (200 * FACE_PIXELS) as f64
        };
        let light = mean_change(Augmenter::preset("light").unwrap());
        let report = mean_change(Augmenter::preset("report").unwrap());
        assert!(light > 0.0 && light < 0.75 * report, "{light} vs {report}");
        assert_eq!(Augmenter::preset("none"), Some(Augmenter::none()));
        assert_eq!(Augmenter::preset("heavy"), None);
    }

    #[test]
    fn crops_fall_anywhere_in_the_face_and_not_at_all_without_augmentation() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let windows: Vec<FaceView> = (0..400)
            .map(|_| Augmenter::report().window(40, &mut rng))
            .collect();
        for axis in [|w: &FaceView| w.left, |w: &FaceView| w.top] {
            let seen: std::collections::BTreeSet<usize> = windows.iter().map(axis).collect();
            assert_eq!(
                seen,
                (0..=8).collect(),
                "every offset of a 40-pixel crop is drawn"
            );
        }
        assert!(
            windows.iter().all(|w| !w.mirror),
            "the augmenter mirrors, not the crop"
        );
        assert_eq!(Augmenter::none().window(40, &mut rng), FaceView::centre(40));
        let before = rng.clone();
        assert_eq!(
            Augmenter::report().window(48, &mut rng),
            FaceView::centre(48)
        );
        assert_eq!(rng, before, "a whole-face network draws nothing");
    }

    #[test]
    fn shift_moves_content() {
        // A bright square in the centre moves when shifted by the full range.
        let mut face = vec![0u8; FACE_PIXELS];
        for y in 20..28 {
            for x in 20..28 {
                face[y * FACE_SIZE + x] = 255;
            }
        }
        let aug = Augmenter {
            shift: 0.2,
            ..Augmenter::none()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut out = vec![0.0; FACE_PIXELS];
        aug.apply(&face, &mut out, &mut rng);
        let centroid = |img: &[f32]| {
            let (mut sx, mut sw) = (0.0, 0.0);
            for (i, v) in img.iter().enumerate() {
                sx += (i % FACE_SIZE) as f32 * v;
                sw += v;
            }
            sx / sw
        };
        let moved = (centroid(&out) - 23.5).abs();
        assert!(moved > 0.5 && moved < 10.0, "moved {moved}");
    }
}
