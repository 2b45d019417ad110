//! Softmax cross-entropy with class weights and label smoothing, and its gradient.

use ferrite_data::NUM_CLASSES;

/// Loss averaged with the class weights (normalised by their sum, PyTorch's convention), and
/// `dlogits`, the gradient of that loss.
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[usize],
    class_weights: &[f32; NUM_CLASSES],
    smoothing: f32,
) -> (f32, Vec<f32>) {
    let off = smoothing / NUM_CLASSES as f32;
    let on = 1.0 - smoothing + off;
    let weight_sum: f32 = labels
        .iter()
        .map(|&y| class_weights[y])
        .sum::<f32>()
        .max(1e-12);
    let mut grad = vec![0.0; logits.len()];
    let mut loss = 0.0f64;
    for ((row, g), &y) in logits
        .chunks(NUM_CLASSES)
        .zip(grad.chunks_mut(NUM_CLASSES))
        .zip(labels)
    {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let log_sum = sum.ln();
        let w = class_weights[y] / weight_sum;
        for j in 0..NUM_CLASSES {
            let target = if j == y { on } else { off };
            let logp = row[j] - max - log_sum;
            loss -= (w * target * logp) as f64;
            g[j] = w * (exp[j] / sum - target);
        }
    }
    (loss as f32, grad)
}
