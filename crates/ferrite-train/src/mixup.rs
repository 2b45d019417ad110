//! Mixing a batch with a shuffled copy of itself, so that the loss blends two labels per face:
//! mixup (Zhang et al., 2018), each face blended with a partner face over all its pixels in a
//! proportion drawn once per batch from Beta(alpha, alpha); and CutMix (Yun et al., 2019), a box of
//! the partner face pasted into each face, the box's side `sqrt(1 - lambda)` of the face's with
//! lambda from Beta(alpha, alpha), its centre uniform over the face and the box clipped to it, the
//! partner label's share then the clipped box's share of the face. With both asked for, each batch
//! takes one of them, with equal chance (timm's switch).
//!
//! Both work on the whole 48x48 faces, before a crop network's windows are cut; the labels' shares
//! are those of the whole face.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use ferrite_data::{FACE_PIXELS, FACE_SIZE};

/// Mixes the seed of a batch's choice between mixup and CutMix, so that a run with mixup alone
/// draws the same blends as before CutMix existed.
const SWITCH_SALT: u64 = 0x6375_746d_6978_0000;

/// What a batch takes from each face's partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blend {
    /// Every pixel, in the proportion `1 - lambda` (mixup).
    Whole,
    /// The pixels of one box, in place of the face's own (CutMix).
    Patch(Patch),
}

/// A box of the face, in pixels: rows `top..top + height`, columns `left..left + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Patch {
    pub top: usize,
    pub left: usize,
    pub height: usize,
    pub width: usize,
}

/// One batch's mix: which face goes into which, how, and how much of each face stays.
#[derive(Debug, Clone)]
pub(crate) struct Mixup {
    /// The share of each face's own label (and, for mixup, of its pixels).
    pub lambda: f32,
    /// For face `i`, the face mixed into it.
    pub partners: Vec<usize>,
    /// What is taken from the partner.
    pub blend: Blend,
}

impl Mixup {
    /// The mix of one step's batch of `n` faces from `seed`: mixup with Beta(`mixup`, `mixup`),
    /// CutMix with Beta(`cutmix`, `cutmix`), either with equal chance when both are positive,
    /// none when neither is.
    pub(crate) fn for_step(mixup: f32, cutmix: f32, n: usize, seed: u64) -> Option<Mixup> {
        let cut = match (mixup > 0.0, cutmix > 0.0) {
            (false, false) => return None,
            (true, false) => false,
            (false, true) => true,
            (true, true) => ChaCha8Rng::seed_from_u64(seed ^ SWITCH_SALT).gen_bool(0.5),
        };
        Some(if cut {
            Mixup::draw_cutmix(cutmix, n, seed)
        } else {
            Mixup::draw(mixup, n, seed)
        })
    }

    /// Draws a mixup blend of a batch of `n` faces from `seed`, with Beta(`alpha`, `alpha`)
    /// (`alpha` > 0).
    fn draw(alpha: f32, n: usize, seed: u64) -> Mixup {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (lambda, partners) = lambda_and_partners(alpha, n, &mut rng);
        Mixup {
            lambda,
            partners,
            blend: Blend::Whole,
        }
    }

    /// Draws a CutMix box for a batch of `n` faces from `seed`, with Beta(`alpha`, `alpha`)
    /// (`alpha` > 0); `lambda` is what the clipped box leaves of each face.
    fn draw_cutmix(alpha: f32, n: usize, seed: u64) -> Mixup {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (drawn, partners) = lambda_and_partners(alpha, n, &mut rng);
        let side = (1.0 - drawn).max(0.0).sqrt() * FACE_SIZE as f32;
        let half = (side / 2.0).round() as usize;
        let (centre_row, centre_col) = (rng.gen_range(0..FACE_SIZE), rng.gen_range(0..FACE_SIZE));
        let span = |centre: usize| {
            let start = centre.saturating_sub(half);
            (start, (centre + half).min(FACE_SIZE) - start)
        };
        let ((top, height), (left, width)) = (span(centre_row), span(centre_col));
        let lambda = 1.0 - (height * width) as f32 / FACE_PIXELS as f32;
        Mixup {
            lambda,
            partners,
            blend: Blend::Patch(Patch {
                top,
                left,
                height,
                width,
            }),
        }
    }

    /// Mixes the faces of `input` (`n` faces of [`FACE_PIXELS`] each) in place.
    pub(crate) fn blend(&self, input: &mut [f32]) {
        let original = input.to_vec();
        for (i, face) in input.chunks_exact_mut(FACE_PIXELS).enumerate() {
            let j = self.partners[i];
            let other = &original[j * FACE_PIXELS..(j + 1) * FACE_PIXELS];
            match self.blend {
                Blend::Whole => {
                    for (x, &y) in face.iter_mut().zip(other) {
                        *x = self.lambda * *x + (1.0 - self.lambda) * y;
                    }
                }
                Blend::Patch(patch) => {
                    for row in patch.top..patch.top + patch.height {
                        let cols = row * FACE_SIZE + patch.left
                            ..row * FACE_SIZE + patch.left + patch.width;
                        face[cols.clone()].copy_from_slice(&other[cols]);
                    }
                }
            }
        }
    }

    /// The labels of the faces mixed into each face.
    pub(crate) fn partner_labels(&self, labels: &[usize]) -> Vec<usize> {
        self.partners.iter().map(|&j| labels[j]).collect()
    }
}

/// A Beta(`alpha`, `alpha`) share and a shuffled partner for each of `n` faces.
fn lambda_and_partners(alpha: f32, n: usize, rng: &mut ChaCha8Rng) -> (f32, Vec<usize>) {
    let beta = Beta::new(alpha, alpha).expect("alpha is validated positive");
    let lambda: f32 = beta.sample(rng);
    let mut partners: Vec<usize> = (0..n).collect();
    partners.shuffle(rng);
    (lambda, partners)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` faces, face `i` all `i`.
    fn flat_faces(n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| std::iter::repeat_n(i as f32, FACE_PIXELS))
            .collect()
    }

    #[test]
    fn faces_are_blended_with_their_partners_in_the_drawn_proportion() {
        let n = 5;
        let mixup = Mixup::draw(0.4, n, 7);
        assert!((0.0..=1.0).contains(&mixup.lambda));
        assert_eq!(mixup.blend, Blend::Whole);
        let mut sorted = mixup.partners.clone();
        sorted.sort();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
        let mut input = flat_faces(n);
        mixup.blend(&mut input);
        for i in 0..n {
            let expected =
                mixup.lambda * i as f32 + (1.0 - mixup.lambda) * mixup.partners[i] as f32;
            assert!((input[i * FACE_PIXELS + 100] - expected).abs() < 1e-5);
        }
        let labels = [10, 11, 12, 13, 14];
        let partner_labels = mixup.partner_labels(&labels);
        assert_eq!(partner_labels[2], labels[mixup.partners[2]]);
    }

    #[test]
    fn the_same_seed_draws_the_same_blend() {
        let (a, b) = (Mixup::draw(0.2, 64, 3), Mixup::draw(0.2, 64, 3));
        assert_eq!((a.lambda, &a.partners), (b.lambda, &b.partners));
        let lambdas: Vec<f32> = (0..200).map(|s| Mixup::draw(0.2, 8, s).lambda).collect();
        // Beta(0.2, 0.2) puts most of its mass near 0 and 1.
        let extreme = lambdas
            .iter()
            .filter(|&&l| !(0.1..=0.9).contains(&l))
            .count();
        assert!(extreme > 100, "{extreme} of 200");
    }

    #[test]
    fn cutmix_pastes_a_box_of_the_partner_and_labels_by_its_area() {
        let n = 6;
        for seed in 0..50 {
            let mix = Mixup::draw_cutmix(1.0, n, seed);
            let Blend::Patch(patch) = mix.blend else {
                panic!("a box")
            };
            assert!(patch.top + patch.height <= FACE_SIZE && patch.left + patch.width <= FACE_SIZE);
            let mut input = flat_faces(n);
            mix.blend(&mut input);
            for (i, face) in input.chunks_exact(FACE_PIXELS).enumerate() {
                let from_partner = face
                    .iter()
                    .filter(|&&v| v == mix.partners[i] as f32)
                    .count();
                let own = face.iter().filter(|&&v| v == i as f32).count();
                if mix.partners[i] == i {
                    assert_eq!(own, FACE_PIXELS);
                    continue;
                }
                assert_eq!(
                    own + from_partner,
                    FACE_PIXELS,
                    "only the two faces' pixels"
                );
                assert_eq!(from_partner, patch.height * patch.width);
                let own_share = own as f32 / FACE_PIXELS as f32;
                assert!(
                    (own_share - mix.lambda).abs() < 1e-6,
                    "label shares = pixel shares"
                );
                let inside =
                    (patch.top + patch.height / 2) * FACE_SIZE + patch.left + patch.width / 2;
                if patch.height * patch.width > 0 {
                    assert_eq!(
                        face[inside], mix.partners[i] as f32,
                        "the box is the partner's"
                    );
                }
            }
        }
    }

    #[test]
    fn cutmix_boxes_average_the_drawn_share() {
        // Beta(1, 1): the drawn share is uniform; clipping at the edges only shrinks boxes, so
        // the faces keep a little more than half of themselves on average, not less.
        let lambdas: Vec<f32> = (0..2000)
            .map(|s| Mixup::draw_cutmix(1.0, 4, s).lambda)
            .collect();
        let mean = lambdas.iter().sum::<f32>() / lambdas.len() as f32;
        assert!((0.5..0.75).contains(&mean), "mean share kept {mean}");
        assert!(lambdas.iter().all(|l| (0.0..=1.0).contains(l)));
    }

    #[test]
    fn a_step_takes_what_was_asked_for_and_both_alternate() {
        assert!(Mixup::for_step(0.0, 0.0, 8, 1).is_none());
        let mixup_alone = Mixup::for_step(0.4, 0.0, 8, 1).unwrap();
        let drawn = Mixup::draw(0.4, 8, 1);
        assert_eq!(
            (mixup_alone.lambda, mixup_alone.partners),
            (drawn.lambda, drawn.partners),
            "mixup alone draws as it did before CutMix"
        );
        assert!(matches!(
            Mixup::for_step(0.0, 1.0, 8, 1).unwrap().blend,
            Blend::Patch(_)
        ));
        let cut = (0..200)
            .filter(|&s| {
                matches!(
                    Mixup::for_step(0.4, 1.0, 8, s).unwrap().blend,
                    Blend::Patch(_)
                )
            })
            .count();
        assert!((70..130).contains(&cut), "{cut} of 200 steps took CutMix");
    }
}
