//! What a step and a validation pass read: augmented batches, accuracy counts, and the
//! validation report.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use ferrite_data::{face_to_input, Dataset, Emotion, FACE_PIXELS, NUM_CLASSES};
use ferrite_eval::{ConfusionMatrix, EvalReport};

use crate::learner::Learner;
use crate::Augmenter;

/// Builds one augmented input batch in parallel. Each image's random stream depends only on
/// the seed, epoch and image index, so runs repeat exactly whatever the thread count.
pub(crate) fn augmented_batch(
    set: &Dataset,
    batch: &[usize],
    augment: &Augmenter,
    seed: u64,
    epoch: usize,
) -> Vec<f32> {
    let mut data = vec![0.0f32; batch.len() * FACE_PIXELS];
    data.par_chunks_mut(FACE_PIXELS)
        .zip(batch.par_iter())
        .for_each(|(out, &i)| {
            let stream =
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ i as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            augment.apply(&set.samples[i].pixels, out, &mut rng);
        });
    data
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or(0)
}

/// How many rows of `logits` pick their label.
pub(crate) fn count_correct(logits: &[f32], labels: &[usize]) -> usize {
    logits
        .chunks_exact(NUM_CLASSES)
        .zip(labels)
        .filter(|(row, &label)| argmax(row) == label)
        .count()
}

/// Unweighted cross-entropy and the full report on the validation set (inference mode).
pub(crate) fn validate(learner: &dyn Learner, set: &Dataset) -> (f64, EvalReport) {
    validate_with(set, |input, n| Some(learner.logits(input, n)))
        .expect("the saved weights always answer")
}

/// The report of the last step's weights when the learner keeps a weight average.
pub(crate) fn validate_unaveraged(learner: &dyn Learner, set: &Dataset) -> Option<EvalReport> {
    validate_with(set, |input, n| learner.unaveraged_logits(input, n)).map(|(_, report)| report)
}

/// Loss and report of the logits `logits_of` gives for the validation faces, or `None` if it
/// gives none.
fn validate_with(
    set: &Dataset,
    logits_of: impl Fn(Vec<f32>, usize) -> Option<Vec<f32>>,
) -> Option<(f64, EvalReport)> {
    let mut loss_sum = 0.0f64;
    let mut pairs = Vec::with_capacity(set.samples.len());
    for chunk in set.samples.chunks(256) {
        let mut input = vec![0.0f32; chunk.len() * FACE_PIXELS];
        for (sample, out) in chunk.iter().zip(input.chunks_exact_mut(FACE_PIXELS)) {
            face_to_input(&sample.pixels, out);
        }
        let logits = logits_of(input, chunk.len())?;
        for (sample, row) in chunk.iter().zip(logits.chunks_exact(NUM_CLASSES)) {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
            loss_sum += (log_sum - row[sample.label.index()]) as f64;
            pairs.push((sample.label, Emotion::ALL[argmax(row)]));
        }
    }
    let report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
    Some((loss_sum / set.samples.len().max(1) as f64, report))
}
