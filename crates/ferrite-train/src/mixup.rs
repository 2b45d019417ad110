//! Mixup (Zhang et al., 2018): each face of a batch is blended with another face of the same
//! batch, in a proportion drawn once per batch from Beta(alpha, alpha), and its loss blends the
//! two faces' labels in the same proportion.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use ferrite_data::FACE_PIXELS;

/// One batch's blend: which face goes into which, and how much of each face stays.
#[derive(Debug, Clone)]
pub(crate) struct Mixup {
    /// The share of each face's own image and label.
    pub lambda: f32,
    /// For face `i`, the face blended into it.
    pub partners: Vec<usize>,
}

impl Mixup {
    /// Draws the blend of a batch of `n` faces from `seed`, with Beta(`alpha`, `alpha`)
    /// (`alpha` > 0).
    pub(crate) fn draw(alpha: f32, n: usize, seed: u64) -> Mixup {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let beta = Beta::new(alpha, alpha).expect("alpha is validated positive");
        let lambda: f32 = beta.sample(&mut rng);
        let mut partners: Vec<usize> = (0..n).collect();
        partners.shuffle(&mut rng);
        Mixup { lambda, partners }
    }

    /// Blends the faces of `input` (`n` faces of [`FACE_PIXELS`] each) in place.
    pub(crate) fn blend(&self, input: &mut [f32]) {
        let original = input.to_vec();
        for (i, face) in input.chunks_exact_mut(FACE_PIXELS).enumerate() {
            let j = self.partners[i];
            let other = &original[j * FACE_PIXELS..(j + 1) * FACE_PIXELS];
            for (x, &y) in face.iter_mut().zip(other) {
                *x = self.lambda * *x + (1.0 - self.lambda) * y;
            }
        }
    }

    /// The labels of the faces blended into each face.
    pub(crate) fn partner_labels(&self, labels: &[usize]) -> Vec<usize> {
        self.partners.iter().map(|&j| labels[j]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_are_blended_with_their_partners_in_the_drawn_proportion() {
        let n = 5;
        let mixup = Mixup::draw(0.4, n, 7);
        assert!((0.0..=1.0).contains(&mixup.lambda));
        let mut sorted = mixup.partners.clone();
        sorted.sort();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
        let mut input: Vec<f32> = (0..n)
            .flat_map(|i| std::iter::repeat_n(i as f32, FACE_PIXELS))
            .collect();
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
}
