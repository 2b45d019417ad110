//! burn's class-weighted, label-smoothed cross-entropy and its distillation loss (the gemm
//! engine has its own in `ferrite_engine::softmax_cross_entropy` and
//! `ferrite_engine::distillation_loss`; the tests here and the parity tests keep them equal).

use burn::tensor::activation::{log_softmax, softmax};
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

/// Knowledge distillation against a teacher's `teacher` logits (a row of 7 per student row,
/// constants): `T^2 * KL(softmax(teacher / T) || softmax(student / T))` averaged over the
/// batch, as `ferrite_engine::distillation_loss` defines it. Returns a scalar tensor.
pub(crate) fn distillation(
    student: Tensor<2>,
    teacher: &[f32],
    temperature: f32,
    device: &Device,
) -> Tensor<1> {
    let [n, classes] = student.dims();
    assert_eq!(
        teacher.len(),
        n * classes,
        "one teacher row per student row"
    );
    let teacher = Tensor::<2>::from_data(TensorData::new(teacher.to_vec(), [n, classes]), device)
        .div_scalar(temperature);
    let log_p = log_softmax(teacher.clone(), 1);
    let p = softmax(teacher, 1);
    let log_q = log_softmax(student.div_scalar(temperature), 1);
    (p * (log_p - log_q))
        .sum()
        .mul_scalar(temperature * temperature / n.max(1) as f32)
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

    /// The loss and its gradient equal the gemm engine's on the same logits.
    #[test]
    fn distillation_matches_the_gemm_engine() {
        let student: Vec<f32> = (0..21)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let teacher: Vec<f32> = (0..21).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.7).collect();
        let (expected, expected_grad) = ferrite_engine::distillation_loss(&student, &teacher, 4.0);
        let device = Device::flex().autodiff();
        let logits =
            Tensor::<2>::from_data(TensorData::new(student, [3, 7]), &device).require_grad();
        let loss = distillation(logits.clone(), &teacher, 4.0, &device);
        let value: f32 = loss.clone().into_scalar();
        assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
        let grads = loss.backward();
        let grad = logits.grad(&grads).expect("logits take part in the loss");
        let grad: Vec<f32> = grad.into_data().try_to_vec().expect("f32 gradient");
        for (i, (g, e)) in grad.iter().zip(&expected_grad).enumerate() {
            assert!((g - e).abs() < 1e-6, "logit {i}: {g} vs {e}");
        }
    }

    #[test]
    fn distillation_is_zero_when_the_student_is_its_teacher() {
        let logits = vec![1.0f32, -0.5, 0.3, 2.0, 0.0, -1.0, 0.7];
        let device = Device::flex();
        let student = Tensor::<2>::from_data(TensorData::new(logits.clone(), [1, 7]), &device);
        let loss: f32 = distillation(student, &logits, 2.0, &device).into_scalar();
        assert!(loss.abs() < 1e-6, "{loss}");
    }
}
