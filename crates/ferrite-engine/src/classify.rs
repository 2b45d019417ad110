//! Face classification with the engine: probabilities for 48x48 faces, read through the
//! network's input window, optionally averaged over several views of each face (test-time
//! augmentation, [`Tta`]); and how an ensemble of networks combines its members' outputs.

use rayon::prelude::*;

use ferrite_data::{FaceView, Tta, NUM_CLASSES};

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

/// The `view` of each face, scaled to the model's input (`side` pixels square).
fn inputs(faces: &[&[u8]], view: FaceView, side: usize) -> Vec<f32> {
    let pixels = side * side;
    let mut x = vec![0.0; faces.len() * pixels];
    x.par_chunks_mut(pixels)
        .zip(faces.par_iter())
        .for_each(|(out, face)| view.write_input(face, side, out));
    x
}

impl InferenceNet {
    /// Class probabilities (label order) for each face (`FACE_PIXELS` bytes): the softmax of
    /// the centre window, or its average over the views of `tta`.
    pub fn predict(&self, faces: &[&[u8]], tta: Tta) -> Vec<[f32; NUM_CLASSES]> {
        let side = self.input_size();
        let views = tta.views(side);
        let share = 1.0 / views.len() as f32;
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(BATCH) {
            let mut sum = vec![0.0f32; chunk.len() * NUM_CLASSES];
            for &view in &views {
                let mut probs = self.logits(&inputs(chunk, view, side), chunk.len());
                probs.chunks_mut(NUM_CLASSES).for_each(softmax);
                if views.len() == 1 {
                    sum = probs;
                } else {
                    sum.iter_mut().zip(probs).for_each(|(s, p)| *s += share * p);
                }
            }
            out.extend(sum.chunks_exact(NUM_CLASSES).map(|row| {
                let mut p = [0.0; NUM_CLASSES];
                p.copy_from_slice(row);
                p
            }));
        }
        out
    }
}

/// The log-probabilities of an ensemble: for each row of 7 logits (one row per face, rows in
/// the same order for every member), the mean over members of `log_softmax(row)`. Its
/// softmax is the members' geometric mean, renormalised (at a temperature `T`, the softmax of
/// it divided by `T` is the geometric mean of the members' probabilities at `T`); for one
/// member it is that member's log-probabilities. Log-probabilities are logits too, so members
/// may be given either.
pub fn ensemble_log_probabilities(per_member: &[Vec<f32>]) -> Vec<f32> {
    let mut mean = vec![0.0f32; per_member.first().map_or(0, Vec::len)];
    let share = 1.0 / per_member.len() as f32;
    for logits in per_member {
        assert_eq!(
            logits.len(),
            mean.len(),
            "one row per face from every member"
        );
        for (sum, row) in mean
            .chunks_exact_mut(NUM_CLASSES)
            .zip(logits.chunks_exact(NUM_CLASSES))
        {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_total = row.iter().map(|z| (z - max).exp()).sum::<f32>().ln() + max;
            for (s, z) in sum.iter_mut().zip(row) {
                *s += share * (z - log_total);
            }
        }
    }
    mean
}

/// The probabilities of an ensemble from each member's probabilities for the same faces: their
/// geometric mean, renormalised ([`ensemble_log_probabilities`]).
pub fn ensemble_probabilities(per_member: &[Vec<[f32; NUM_CLASSES]>]) -> Vec<[f32; NUM_CLASSES]> {
    let logs: Vec<Vec<f32>> = per_member
        .iter()
        .map(|member| member.iter().flatten().map(|p| p.max(1e-30).ln()).collect())
        .collect();
    let mut mean = ensemble_log_probabilities(&logs);
    mean.chunks_mut(NUM_CLASSES).for_each(softmax);
    mean.chunks_exact(NUM_CLASSES)
        .map(|row| {
            let mut p = [0.0; NUM_CLASSES];
            p.copy_from_slice(row);
            p
        })
        .collect()
}

impl Network {
    /// Class probabilities (label order) for each face (`FACE_PIXELS` bytes), inference mode
    /// (through an [`InferenceNet`] prepared for this call; keep one to classify often).
    pub fn predict(&self, faces: &[&[u8]], tta: Tta) -> Vec<[f32; NUM_CLASSES]> {
        InferenceNet::new(self).predict(faces, tta)
    }
}

#[cfg(test)]
mod tests {
    use ferrite_data::{FACE_PIXELS, FACE_SIZE};
    use ferrite_model::ArchSpec;

    use super::*;

    fn faces(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|f| {
                (0..FACE_PIXELS)
                    .map(|i| ((i % FACE_SIZE) * (f + 2) + (i / FACE_SIZE) * 3) as u8)
                    .collect()
            })
            .collect()
    }

    fn softened(logits: &[f32], temperature: f32) -> Vec<f32> {
        let mut row: Vec<f32> = logits.iter().map(|z| z / temperature).collect();
        softmax(&mut row);
        row
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} against {b:?}");
        }
    }

    #[test]
    fn one_member_or_two_copies_of_it_soften_to_its_own_probabilities() {
        let logits = vec![2.0, -1.0, 0.5, 7.0, 0.0, -3.0, 1.5];
        for members in [vec![logits.clone()], vec![logits.clone(), logits.clone()]] {
            let mean = ensemble_log_probabilities(&members);
            for temperature in [1.0, 4.0] {
                assert_close(
                    &softened(&mean, temperature),
                    &softened(&logits, temperature),
                );
            }
        }
    }

    #[test]
    fn an_ensemble_is_the_geometric_mean_of_its_members_probabilities() {
        let a = vec![3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let b = vec![0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0];
        let (pa, pb) = (softened(&a, 1.0), softened(&b, 1.0));
        let geometric: Vec<f32> = pa.iter().zip(&pb).map(|(x, y)| (x * y).sqrt()).collect();
        let total: f32 = geometric.iter().sum();
        let expected: Vec<f32> = geometric.iter().map(|g| g / total).collect();
        let mean = ensemble_log_probabilities(&[a, b]);
        assert_close(&softened(&mean, 1.0), &expected);
        // The two members' favourites tie, above every other class.
        assert!((mean[0] - mean[3]).abs() < 1e-6 && mean[0] > mean[1]);
        // From the members' probabilities, the same.
        let rows = |p: &[f32]| vec![<[f32; NUM_CLASSES]>::try_from(p).unwrap()];
        let from_probabilities = ensemble_probabilities(&[rows(&pa), rows(&pb)]);
        assert_close(&from_probabilities[0], &expected);
    }

    #[test]
    fn flip_averages_the_face_and_its_mirror() {
        let net = Network::new(&ArchSpec::reference(), 3);
        let faces = faces(2);
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        let mirrored: Vec<Vec<u8>> = faces
            .iter()
            .map(|f| {
                f.chunks(FACE_SIZE)
                    .flat_map(|r| r.iter().rev())
                    .copied()
                    .collect()
            })
            .collect();
        let mirrored: Vec<&[u8]> = mirrored.iter().map(|f| f.as_slice()).collect();
        let (plain, flipped) = (
            net.predict(&refs, Tta::Off),
            net.predict(&mirrored, Tta::Off),
        );
        let averaged = net.predict(&refs, Tta::Flip);
        for ((a, b), t) in plain.iter().zip(&flipped).zip(&averaged) {
            for k in 0..NUM_CLASSES {
                assert!((0.5 * (a[k] + b[k]) - t[k]).abs() < 1e-6);
            }
        }
        assert_eq!(
            net.predict(&refs, Tta::Crops),
            averaged,
            "one window on a whole face"
        );
    }

    #[test]
    fn a_cropped_model_reads_its_window_and_ten_crops_average_ten_views() {
        let side = 40;
        let net = Network::new(&ArchSpec::reference().with_input_size(side), 5);
        let infer = InferenceNet::new(&net);
        let faces = faces(3);
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        let views = Tta::Crops.views(side);
        let mut want = vec![[0.0f32; NUM_CLASSES]; refs.len()];
        for &view in &views {
            let mut logits = infer.logits(&inputs(&refs, view, side), refs.len());
            logits.chunks_mut(NUM_CLASSES).for_each(softmax);
            for (w, row) in want.iter_mut().zip(logits.chunks(NUM_CLASSES)) {
                for (wk, p) in w.iter_mut().zip(row) {
                    *wk += p / views.len() as f32;
                }
            }
        }
        let got = infer.predict(&refs, Tta::Crops);
        for (g, w) in got.iter().zip(&want) {
            for k in 0..NUM_CLASSES {
                assert!((g[k] - w[k]).abs() < 1e-6, "{g:?} vs {w:?}");
            }
            assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let centre = infer.predict(&refs, Tta::Off);
        let mut logits = infer.logits(&inputs(&refs, FaceView::centre(side), side), 3);
        logits.chunks_mut(NUM_CLASSES).for_each(softmax);
        assert_eq!(centre[0][..], logits[..NUM_CLASSES]);
    }
}
