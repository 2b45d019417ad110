//! What a step and a validation pass read: augmented batches (with the window of each face a
//! network trained on crops reads), accuracy counts, and the validation report.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use ferrite_data::{Dataset, Emotion, FaceView, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};
use ferrite_eval::{ConfusionMatrix, EvalReport};

use crate::learner::Learner;
use crate::Augmenter;

/// One step's augmented faces: whole (48x48, what mixup blends and a teacher reads) and the
/// window of each that the network reads.
pub(crate) struct AugmentedBatch {
    faces: Vec<f32>,
    windows: Vec<FaceView>,
    side: usize,
}

impl AugmentedBatch {
    /// The whole augmented faces, 48x48 each.
    pub(crate) fn faces(&self) -> &[f32] {
        &self.faces
    }

    /// The whole augmented faces, to blend (mixup) before the windows are cut.
    pub(crate) fn faces_mut(&mut self) -> &mut [f32] {
        &mut self.faces
    }

    /// The network's input: each face's window (`side` x `side`), or the faces themselves
    /// when the network reads whole faces.
    pub(crate) fn into_network_input(self) -> Vec<f32> {
        if self.side == FACE_SIZE {
            return self.faces;
        }
        cut_windows(&self.faces, &self.windows, self.side)
    }
}

/// The window `windows[i]` of each 48x48 face `i` of `faces` (scaled floats), as the
/// network's `side`-pixel input.
pub(crate) fn cut_windows(faces: &[f32], windows: &[FaceView], side: usize) -> Vec<f32> {
    let pixels = side * side;
    let mut out = vec![0.0; windows.len() * pixels];
    out.par_chunks_mut(pixels)
        .zip(faces.par_chunks(FACE_PIXELS))
        .zip(windows.par_iter())
        .for_each(|((out, face), window)| window.read(face, side, out));
    out
}

/// Builds one augmented batch in parallel, with the `side`-pixel window of each face the
/// network reads. Each image's random stream depends only on the seed, epoch and image
/// index, so runs repeat exactly whatever the thread count.
pub(crate) fn augmented_batch(
    set: &Dataset,
    batch: &[usize],
    augment: &Augmenter,
    side: usize,
    seed: u64,
    epoch: usize,
) -> AugmentedBatch {
    let mut faces = vec![0.0f32; batch.len() * FACE_PIXELS];
    let windows = faces
        .par_chunks_mut(FACE_PIXELS)
        .zip(batch.par_iter())
        .map(|(out, &i)| {
            let stream =
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ i as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            augment.apply(&set.samples[i].pixels, out, &mut rng);
            augment.window(side, &mut rng)
        })
        .collect();
    AugmentedBatch {
        faces,
        windows,
        side,
    }
}

/// The class a row of logits picks.
fn picked(row: &[f32]) -> Emotion {
    Emotion::most_likely(row.try_into().expect("rows of NUM_CLASSES logits"))
}

/// How many rows of `logits` pick their label.
pub(crate) fn count_correct(logits: &[f32], labels: &[usize]) -> usize {
    logits
        .chunks_exact(NUM_CLASSES)
        .zip(labels)
        .filter(|(row, &label)| picked(row).index() == label)
        .count()
}

/// Unweighted cross-entropy and the full report on the validation set (inference mode, the
/// centre `side`-pixel window of each face).
pub(crate) fn validate(learner: &dyn Learner, set: &Dataset, side: usize) -> (f64, EvalReport) {
    validate_with(set, side, |input, n| Some(learner.logits(input, n)))
        .expect("the saved weights always answer")
}

/// The report of the last step's weights when the learner keeps a weight average.
pub(crate) fn validate_unaveraged(
    learner: &dyn Learner,
    set: &Dataset,
    side: usize,
) -> Option<EvalReport> {
    validate_with(set, side, |input, n| learner.unaveraged_logits(input, n))
        .map(|(_, report)| report)
}

/// Loss and report of the logits `logits_of` gives for the validation faces' centre windows,
/// or `None` if it gives none.
fn validate_with(
    set: &Dataset,
    side: usize,
    logits_of: impl Fn(Vec<f32>, usize) -> Option<Vec<f32>>,
) -> Option<(f64, EvalReport)> {
    let mut loss_sum = 0.0f64;
    let mut pairs = Vec::with_capacity(set.samples.len());
    let (centre, pixels) = (FaceView::centre(side), side * side);
    for chunk in set.samples.chunks(256) {
        let mut input = vec![0.0f32; chunk.len() * pixels];
        for (sample, out) in chunk.iter().zip(input.chunks_exact_mut(pixels)) {
            centre.write_input(&sample.pixels, side, out);
        }
        let logits = logits_of(input, chunk.len())?;
        for (sample, row) in chunk.iter().zip(logits.chunks_exact(NUM_CLASSES)) {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
            loss_sum += (log_sum - row[sample.label.index()]) as f64;
            pairs.push((sample.label, picked(row)));
        }
    }
    let report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
    Some((loss_sum / set.samples.len().max(1) as f64, report))
}
