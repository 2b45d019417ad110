//! The teacher of a distilled run: its soft targets for each step, computed on the step's
//! augmented faces (`online`; with `online-flip`, on them and their mirrors; with
//! `online-zoom`, on closer views too) or once before training on each clean face and its
//! mirror (`clean`, [`TeacherTargets::Clean`]).

use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::{face_to_input, Dataset, Tta, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};
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
    /// weights transformed, activation buffers kept), run on every augmented batch through the
    /// views of `views` (each member's logits averaged over them).
    Online {
        /// The members.
        members: Vec<InferenceNet>,
        /// The test-time augmentation each member reads a batch with: off, flip or zoom.
        views: Tta,
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
            members.push(InferenceNet::new(&net).keeping_all_buffers());
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
                views: Tta::Off,
            },
            TeacherTargets::OnlineFlip => Teacher::Online {
                members,
                views: Tta::Flip,
            },
            TeacherTargets::OnlineZoom => Teacher::Online {
                members,
                views: Tta::Zoom,
            },
            TeacherTargets::Clean => Teacher::Clean(clean_targets(&members, train)),
        };
        Ok((teacher, digests))
    }

    /// The teacher's log-probabilities for a step: `faces` holds the augmented faces (48x48)
    /// of the training samples `batch`; a member trained on crops reads their centre windows.
    pub(crate) fn log_probabilities(&self, faces: &[f32], batch: &[usize]) -> Vec<f32> {
        match self {
            Teacher::Online { members, views } => {
                let n = batch.len();
                let per_member: Vec<Vec<f32>> = members
                    .iter()
                    .map(|net| mean_logits(net, faces, n, *views))
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

/// One member's logits for `n` 48x48 faces (scaled floats), averaged over the views of `tta`
/// of its own input (a member trained on crops reads centre windows), all in one call.
fn mean_logits(net: &InferenceNet, faces: &[f32], n: usize, tta: Tta) -> Vec<f32> {
    let side = net.input_size();
    let views = tta.views(side);
    if side == FACE_SIZE && tta == Tta::Off {
        return net.logits(faces, n);
    }
    let inputs: Vec<f32> = views
        .iter()
        .flat_map(|&view| cut_windows(faces, &vec![view; n], side))
        .collect();
    let logits = net.logits(&inputs, views.len() * n);
    let mut mean = logits[..n * NUM_CLASSES].to_vec();
    for more in logits.chunks(n * NUM_CLASSES).skip(1) {
        mean.iter_mut().zip(more).for_each(|(m, x)| *m += x);
    }
    let share = 1.0 / views.len() as f32;
    mean.iter_mut().for_each(|m| *m *= share);
    mean
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
            .map(|net| mean_logits(net, &faces, n, Tta::Flip))
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
    fn teacher(views: Tta) -> Teacher {
        let mut net = Network::new(&ArchSpec::preset("fast").unwrap(), 3);
        for param in net.params_mut() {
            param.iter_mut().for_each(|w| *w *= 1.5);
        }
        Teacher::Online {
            members: vec![InferenceNet::new(&net)],
            views,
        }
    }

    /// The whole of `set` as one batch: its indices and its faces scaled to `[0, 1]`.
    fn whole_batch(set: &Dataset) -> (Vec<usize>, Vec<f32>) {
        let batch: Vec<usize> = (0..set.samples.len()).collect();
        let mut inputs = vec![0.0; batch.len() * FACE_PIXELS];
        for (sample, out) in set.samples.iter().zip(inputs.chunks_exact_mut(FACE_PIXELS)) {
            face_to_input(&sample.pixels, out);
        }
        (batch, inputs)
    }

    /// The largest difference between two sets of log-probabilities.
    fn gap(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    }

    #[test]
    fn online_flip_targets_on_clean_faces_are_the_clean_targets() {
        let set = faces();
        let (batch, inputs) = whole_batch(&set);
        let Teacher::Online { members, .. } = teacher(Tta::Off) else {
            unreachable!()
        };
        let clean = clean_targets(&members, &set);
        let flip = teacher(Tta::Flip).log_probabilities(&inputs, &batch);
        let plain = teacher(Tta::Off).log_probabilities(&inputs, &batch);
        assert!(gap(&flip, &clean) < 1e-4, "{}", gap(&flip, &clean));
        assert!(gap(&plain, &clean) > 1e-3, "{}", gap(&plain, &clean));
    }

    #[test]
    fn online_zoom_targets_average_the_logits_of_the_four_views() {
        let set = faces();
        let (batch, inputs) = whole_batch(&set);
        let Teacher::Online { members, .. } = teacher(Tta::Off) else {
            unreachable!()
        };
        let net = &members[0];
        let n = batch.len();
        let mut expected = vec![0.0f32; n * NUM_CLASSES];
        for view in Tta::Zoom.views(FACE_SIZE) {
            let mut x = vec![0.0; n * FACE_PIXELS];
            for (sample, out) in set.samples.iter().zip(x.chunks_exact_mut(FACE_PIXELS)) {
                view.write_input(&sample.pixels, FACE_SIZE, out);
            }
            let logits = net.logits(&x, n);
            expected
                .iter_mut()
                .zip(&logits)
                .for_each(|(e, l)| *e += l / 4.0);
        }
        let expected = ensemble_log_probabilities(&[expected]);
        let zoom = teacher(Tta::Zoom).log_probabilities(&inputs, &batch);
        let flip = teacher(Tta::Flip).log_probabilities(&inputs, &batch);
        assert!(gap(&zoom, &expected) < 1e-4, "{}", gap(&zoom, &expected));
        assert!(gap(&zoom, &flip) > 1e-3, "{}", gap(&zoom, &flip));
    }
}
