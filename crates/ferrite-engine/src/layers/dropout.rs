//! Inverted dropout with a seeded mask.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`, in place.
/// Returns the mask (0 or the scale) for the backward pass.
pub fn forward(x: &mut [f32], p: f32, seed: u64) -> Vec<f32> {
    let scale = 1.0 / (1.0 - p);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mask: Vec<f32> = (0..x.len())
        .map(|_| if rng.gen::<f32>() < p { 0.0 } else { scale })
        .collect();
    for (v, m) in x.iter_mut().zip(&mask) {
        *v *= m;
    }
    mask
}

/// Backward: multiplies the gradient by the mask, in place.
pub fn backward(dy: &mut [f32], mask: &[f32]) {
    for (d, m) in dy.iter_mut().zip(mask) {
        *d *= m;
    }
}
