//! Softmax cross-entropy with class weights and label smoothing, the knowledge-distillation
//! loss against a teacher's logits, and their gradients.

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

/// Knowledge distillation (Hinton et al. 2015): `T^2 * KL(softmax(teacher / T) ||
/// softmax(student / T))`, averaged over the batch, and its gradient with respect to the
/// student's logits, `T * (softmax(student / T) - softmax(teacher / T)) / n`. The `T^2` keeps
/// the gradient's scale independent of the temperature, so the soft and the hard loss can be
/// mixed with one weight.
pub fn distillation_loss(student: &[f32], teacher: &[f32], temperature: f32) -> (f32, Vec<f32>) {
    assert_eq!(
        student.len(),
        teacher.len(),
        "one teacher row per student row"
    );
    let n = (student.len() / NUM_CLASSES).max(1) as f32;
    let mut grad = vec![0.0; student.len()];
    let mut loss = 0.0f64;
    for ((s, t), g) in student
        .chunks(NUM_CLASSES)
        .zip(teacher.chunks(NUM_CLASSES))
        .zip(grad.chunks_mut(NUM_CLASSES))
    {
        let (log_q, q) = log_softmax_at(s, temperature);
        let (log_p, p) = log_softmax_at(t, temperature);
        for j in 0..NUM_CLASSES {
            loss += (p[j] * (log_p[j] - log_q[j])) as f64;
            g[j] = temperature * (q[j] - p[j]) / n;
        }
    }
    (
        (loss * (temperature * temperature) as f64 / n as f64) as f32,
        grad,
    )
}

/// `log softmax(row / t)` and `softmax(row / t)`.
fn log_softmax_at(row: &[f32], t: f32) -> ([f32; NUM_CLASSES], [f32; NUM_CLASSES]) {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut log = [0.0; NUM_CLASSES];
    for (l, v) in log.iter_mut().zip(row) {
        *l = (v - max) / t;
    }
    let log_sum = log.iter().map(|v| v.exp()).sum::<f32>().ln();
    let mut p = [0.0; NUM_CLASSES];
    for (l, p) in log.iter_mut().zip(p.iter_mut()) {
        *l -= log_sum;
        *p = l.exp();
    }
    (log, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distillation_is_zero_when_the_student_matches_the_teacher() {
        let logits = [1.0, -0.5, 0.3, 2.0, 0.0, -1.0, 0.7];
        let (loss, grad) = distillation_loss(&logits, &logits, 4.0);
        assert!(loss.abs() < 1e-6, "{loss}");
        assert!(grad.iter().all(|g| g.abs() < 1e-6));
    }

    #[test]
    fn distillation_gradient_matches_finite_differences() {
        let student = [
            0.2f32, -0.4, 1.1, 0.5, -0.9, 0.3, 0.0, 1.0, 0.1, -0.2, 0.4, 0.8, -1.2, 0.6,
        ];
        let teacher = [
            1.5f32, 0.2, -0.3, 2.2, 0.1, -0.7, 0.4, -0.5, 0.9, 0.3, 1.7, -0.1, 0.2, 0.0,
        ];
        let t = 3.0;
        let (_, grad) = distillation_loss(&student, &teacher, t);
        for i in 0..student.len() {
            let h = 1e-2;
            let mut up = student;
            up[i] += h;
            let mut down = student;
            down[i] -= h;
            let numeric = (distillation_loss(&up, &teacher, t).0
                - distillation_loss(&down, &teacher, t).0)
                / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 2e-3,
                "logit {i}: numeric {numeric} vs analytic {}",
                grad[i]
            );
        }
    }
}
