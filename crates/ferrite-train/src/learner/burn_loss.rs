//! burn's class-weighted, label-smoothed cross-entropy (the gemm engine has its own in
//! `ferrite_engine::softmax_cross_entropy`; the parity tests keep the two equal).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};

use ferrite_data::NUM_CLASSES;

/// Class-weighted softmax cross-entropy with label smoothing, normalised by the sum of the
/// weights (PyTorch's convention). Returns a scalar tensor.
pub(crate) fn weighted_cross_entropy(
    logits: Tensor<2>,
    labels: &[usize],
    class_weights: &[f32; NUM_CLASSES],
    smoothing: f32,
    device: &Device,
) -> Tensor<1> {
    let n = labels.len();
    let off = smoothing / NUM_CLASSES as f32;
    let on = 1.0 - smoothing + off;
    let mut targets = vec![off; n * NUM_CLASSES];
    let mut weights = vec![0.0f32; n];
    for (i, &y) in labels.iter().enumerate() {
        targets[i * NUM_CLASSES + y] = on;
        weights[i] = class_weights[y];
    }
    let weight_sum: f32 = weights.iter().sum::<f32>().max(1e-12);
    let targets = Tensor::<2>::from_data(TensorData::new(targets, [n, NUM_CLASSES]), device);
    let weights = Tensor::<1>::from_data(TensorData::new(weights, [n]), device);
    let per_sample: Tensor<1> = (log_softmax(logits, 1) * targets)
        .sum_dim(1)
        .reshape([n])
        .neg();
    (per_sample * weights).sum().div_scalar(weight_sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_cross_entropy() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![2.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1, 7]),
            &device,
        );
        let loss: f32 = weighted_cross_entropy(logits, &[0], &[1.0; 7], 0.0, &device).into_scalar();
        let expected = -(2.0f32.exp() / (2.0f32.exp() + 6.0)).ln();
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }

    #[test]
    fn weights_shift_the_average_towards_heavy_classes() {
        let device = Device::flex();
        let row = |hot: usize| {
            let mut r = vec![0.0f32; 7];
            r[hot] = 3.0;
            r
        };
        // Sample 0 is right (low loss), sample 1 wrong (high loss).
        let data: Vec<f32> = [row(0), row(0)].concat();
        let logits = || Tensor::<2>::from_data(TensorData::new(data.clone(), [2, 7]), &device);
        let mut w = [1.0f32; 7];
        let even: f32 = weighted_cross_entropy(logits(), &[0, 1], &w, 0.0, &device).into_scalar();
        w[1] = 9.0;
        let heavy: f32 = weighted_cross_entropy(logits(), &[0, 1], &w, 0.0, &device).into_scalar();
        assert!(heavy > even);
    }
}
