//! Face classification with the engine: probabilities for 48x48 faces, optionally averaged
//! with the mirrored face (test-time augmentation).

use rayon::prelude::*;

use ferrite_data::{face_to_input, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};

use crate::{InferenceNet, Network};

/// Faces per forward pass.
const BATCH: usize = 256;

/// Softmax of one row of logits, in place.
fn softmax(row: &mut [f32]) {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// Scales faces to the model's input, mirrored left-right when `mirror`.
fn inputs(faces: &[&[u8]], mirror: bool) -> Vec<f32> {
    let mut x = vec![0.0; faces.len() * FACE_PIXELS];
    x.par_chunks_mut(FACE_PIXELS)
        .zip(faces.par_iter())
        .for_each(|(out, face)| {
            face_to_input(face, out);
            if mirror {
                for row in out.chunks_mut(FACE_SIZE) {
                    row.reverse();
                }
            }
        });
    x
}

impl InferenceNet {
    /// Class probabilities (label order) for each face (`FACE_PIXELS` bytes).
    pub fn predict(&self, faces: &[&[u8]], tta: bool) -> Vec<[f32; NUM_CLASSES]> {
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(BATCH) {
            let mut probs = self.logits(&inputs(chunk, false), chunk.len());
            probs.chunks_mut(NUM_CLASSES).for_each(softmax);
            if tta {
                let mut mirrored = self.logits(&inputs(chunk, true), chunk.len());
                mirrored.chunks_mut(NUM_CLASSES).for_each(softmax);
                for (p, m) in probs.iter_mut().zip(mirrored) {
                    *p = 0.5 * (*p + m);
                }
            }
            out.extend(probs.chunks_exact(NUM_CLASSES).map(|row| {
                let mut p = [0.0; NUM_CLASSES];
                p.copy_from_slice(row);
                p
            }));
        }
        out
    }
}

impl Network {
    /// Class probabilities (label order) for each face (`FACE_PIXELS` bytes), inference mode
    /// (through an [`InferenceNet`] prepared for this call; keep one to classify often).
    pub fn predict(&self, faces: &[&[u8]], tta: bool) -> Vec<[f32; NUM_CLASSES]> {
        InferenceNet::new(self).predict(faces, tta)
    }
}
