//! Inverted dropout with a seeded mask.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`, in place,
/// and writes the mask (0 or the scale) for the backward pass into `mask` (as long as `x`).
pub fn forward(x: &mut [f32], p: f32, seed: u64, mask: &mut [f32]) {
    assert_eq!(x.len(), mask.len(), "dropout mask length");
    let scale = 1.0 / (1.0 - p);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (v, m) in x.iter_mut().zip(mask.iter_mut()) {
        *m = if rng.gen::<f32>() < p { 0.0 } else { scale };
        *v *= *m;
    }
}

/// Backward: multiplies the gradient by the mask, in place.
pub fn backward(dy: &mut [f32], mask: &[f32]) {
    for (d, m) in dy.iter_mut().zip(mask) {
        *d *= m;
    }
}
