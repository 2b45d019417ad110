//! The teacher of a distilled run: its soft targets for each step, computed on the step's
//! augmented faces (`online`; with `online-flip`, on them and their mirrors) or once before
//! training on each clean face and its mirror (`clean`, [`TeacherTargets::Clean`]).

use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::{face_to_input, Dataset, FaceView, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};
use ferrite_engine::{ensemble_log_probabilities, InferenceNet, Network};
use ferrite_model::{Distillation, TeacherTargets};

use crate::batches::cut_windows;
use crate::progress::tenth_crossed;
use crate::TrainError;

/// Faces per teacher call when precomputing clean targets.
const CLEAN_CHUNK: usize = 256;

/// Where a distilled run's soft targets come from.
pub(crate) enum Teacher {
    /// The teacher's members, each prepared for inference once (batch norm folded, Winograd
    /// weights transformed, activation buffers kept), run on every augmented batch, and on its
    /// mirror image too when `mirrored` (each member's logits averaged over the two).
    Online {
        /// The members.
        members: Vec<InferenceNet>,
        /// Whether each batch's mirror image is read too.
        mirrored: bool,
    },
    /// The teacher's log-probabilities for every training face (a row of 7 per face, in sample
    /// order).
    Clean(Vec<f32>),
}

impl Teacher {
    /// Loads the teacher of `distill` (each member of an ensemble); for clean targets, runs it
    /// once over `train`. Returns it with the digest of each member's weights
    /// ([`ferrite_model::ModelBundle::weights_sha256`]), for the card.
    pub(crate) fn load(
        distill: &Distillation,
        train: &Dataset,
    ) -> Result<(Teacher, Vec<String>), TrainError> {
        let mut members = Vec::with_capacity(distill.teachers.len());
        let mut names = Vec::with_capacity(distill.teachers.len());
        let mut digests = Vec::with_capacity(distill.teachers.len());
        for source in &distill.teachers {
            let bundle = source
                .load()
                .map_err(|e| TrainError::Config(format!("teacher: {e}")))?;
            digests.push(bundle.weights_sha256());
            let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights)
                .map_err(|e| TrainError::Config(format!("teacher {source}: {e}")))?;
            names.push(format!("{source} ({})", bundle.card.arch.name));
            members.push(InferenceNet::new(&net));
        }
        let teacher = match names.as_slice() {
            [one] => one.clone(),
            more => format!("the ensemble of {}", more.join(", ")),
        };
        println!(
            "distilling from {teacher} (temperature {}, soft-loss weight {}, {} targets)",
            distill.temperature,
            distill.weight,
            distill.targets.name()
        );
        let teacher = match distill.targets {
            TeacherTargets::Online => Teacher::Online {
                members,
                mirrored: false,
            },
            TeacherTargets::OnlineFlip => Teacher::Online {
                members,
                mirrored: true,
            },
            TeacherTargets::Clean => Teacher::Clean(clean_targets(&members, train)),
        };
        Ok((teacher, digests))
    }

    /// The teacher's log-probabilities for a step: `faces` holds the augmented faces (48x48)
    /// of the training samples `batch`; a member trained on crops reads their centre windows.
    pub(crate) fn log_probabilities(&self, faces: &[f32], batch: &[usize]) -> Vec<f32> {
        match self {
            Teacher::Online { members, mirrored } => {
                let n = batch.len();
                let per_member: Vec<Vec<f32>> = members
                    .iter()
                    .map(|net| match mirrored {
                        false => member_logits(net, faces, n),
                        true => mirrored_mean_logits(net, faces, n),
                    })
                    .collect();
                ensemble_log_probabilities(&per_member)
            }
            Teacher::Clean(all) => batch
                .iter()
                .flat_map(|&i| &all[i * NUM_CLASSES..(i + 1) * NUM_CLASSES])
                .copied()
                .collect(),
        }
    }
}

/// One member's logits for `n` augmented 48x48 faces, read through its own window.
fn member_logits(net: &InferenceNet, faces: &[f32], n: usize) -> Vec<f32> {
    let side = net.input_size();
    if side == FACE_SIZE {
        net.logits(faces, n)
    } else {
        let windows = vec![FaceView::centre(side); n];
        net.logits(&cut_windows(faces, &windows, side), n)
    }
}

/// The 48x48 `faces` mirrored left to right.
fn mirror_faces(faces: &[f32]) -> Vec<f32> {
    let mut out = faces.to_vec();
    for row in out.chunks_exact_mut(FACE_SIZE) {
        row.reverse();
    }
    out
}

/// One member's logits for `n` 48x48 faces averaged with those of their mirror images, in one
/// call over both (a member trained on crops reads the mirror of its centre window, which is
/// centred too).
fn mirrored_mean_logits(net: &InferenceNet, faces: &[f32], n: usize) -> Vec<f32> {
    let mut both = faces.to_vec();
    both.extend(mirror_faces(faces));
    let logits = member_logits(net, &both, 2 * n);
    let (a, b) = logits.split_at(n * NUM_CLASSES);
    a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
}

/// The teacher's log-probabilities for every face of `set`: each member's logits averaged
/// over the face and its mirror image, then the members' log-probabilities averaged.
fn clean_targets(members: &[InferenceNet], set: &Dataset) -> Vec<f32> {
    let bar = ProgressBar::new(set.samples.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "teacher targets [{bar:30}] {pos}/{len} faces [{elapsed_precise}<{eta_precise}, {per_sec}]",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let mut out = Vec::with_capacity(set.samples.len() * NUM_CLASSES);
    let mut faces = Vec::with_capacity(CLEAN_CHUNK * FACE_PIXELS);
    for chunk in set.samples.chunks(CLEAN_CHUNK) {
        let n = chunk.len();
        faces.resize(n * FACE_PIXELS, 0.0);
        for (sample, face) in chunk.iter().zip(faces.chunks_exact_mut(FACE_PIXELS)) {
            face_to_input(&sample.pixels, face);
        }
        let per_member: Vec<Vec<f32>> = members
            .iter()
            .map(|net| mirrored_mean_logits(net, &faces, n))
            .collect();
        out.extend(ensemble_log_probabilities(&per_member));
        bar.inc(n as u64);
        if let Some((done, len, elapsed, left)) = tenth_crossed(&bar, n as u64) {
            println!(
                "teacher targets: {done}/{len} faces, {:.0} faces/s, {left:.0}s left",
                done as f64 / elapsed.max(1e-9)
            );
        }
    }
    bar.finish_and_clear();
    println!(
        "teacher targets for {} faces and their mirrors in {:.0}s",
        set.samples.len(),
        started.elapsed().as_secs_f64()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_data::{Emotion, Sample};
    use ferrite_model::ArchSpec;

    /// Five faces of varied pixels, none of them symmetric.
    fn faces() -> Dataset {
        let samples = (0..5u32)
            .map(|i| Sample {
                pixels: (0..FACE_PIXELS as u32)
                    .map(|p| ((p * 7 + i * 31 + (p % 48) * p / 48) % 256) as u8)
                    .collect(),
                label: Emotion::ALL[i as usize],
                source: format!("face{i}"),
            })
            .collect();
        Dataset {
            samples,
            ..Dataset::default()
        }
    }

    /// A teacher of random weights, scaled up so that its logits tell a face from its mirror
    /// (at their initial scale, batch norm at its initial statistics keeps them within 1e-4).
    fn teacher(mirrored: bool) -> Teacher {
        let mut net = Network::new(&ArchSpec::preset("fast").unwrap(), 3);
        for param in net.params_mut() {
            param.iter_mut().for_each(|w| *w *= 1.5);
        }
        Teacher::Online {
            members: vec![InferenceNet::new(&net)],
            mirrored,
        }
    }

    #[test]
    fn online_flip_targets_on_clean_faces_are_the_clean_targets() {
        let set = faces();
        let batch: Vec<usize> = (0..set.samples.len()).collect();
        let mut inputs = vec![0.0; batch.len() * FACE_PIXELS];
        for (sample, out) in set.samples.iter().zip(inputs.chunks_exact_mut(FACE_PIXELS)) {
            face_to_input(&sample.pixels, out);
        }
        let Teacher::Online { members, .. } = teacher(false) else {
            unreachable!()
        };
        let clean = clean_targets(&members, &set);
        let flip = teacher(true).log_probabilities(&inputs, &batch);
        let plain = teacher(false).log_probabilities(&inputs, &batch);
        let gap = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(gap(&flip, &clean) < 1e-4, "{}", gap(&flip, &clean));
        assert!(gap(&plain, &clean) > 1e-3, "{}", gap(&plain, &clean));
    }

    #[test]
    fn mirroring_reverses_each_row_and_twice_is_the_identity() {
        let faces: Vec<f32> = (0..2 * FACE_PIXELS).map(|i| i as f32).collect();
        let once = mirror_faces(&faces);
        assert_eq!(once[0], (FACE_SIZE - 1) as f32);
        assert_eq!(
            once[FACE_PIXELS + FACE_SIZE],
            (FACE_PIXELS + 2 * FACE_SIZE - 1) as f32
        );
        assert_eq!(mirror_faces(&once), faces);
    }
}
