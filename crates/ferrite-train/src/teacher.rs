//! The teacher of a distilled run: its soft targets for each step, computed on the step's
//! augmented faces (`online`) or once before training on each clean face and its mirror
//! (`clean`, [`TeacherTargets::Clean`]).

use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::{Dataset, FaceView, Sample, Tta, FACE_SIZE, NUM_CLASSES};
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
    /// weights transformed, activation buffers kept), run on every augmented batch.
    Online(Vec<InferenceNet>),
    /// The teacher's log-probabilities for every training face (a row of 7 per face, in sample
    /// order).
    Clean(Vec<f32>),
}

impl Teacher {
    /// Loads the teacher of `distill` (each member of an ensemble); for clean targets, runs it
    /// once over `train`.
    pub(crate) fn load(distill: &Distillation, train: &Dataset) -> Result<Teacher, TrainError> {
        let mut members = Vec::with_capacity(distill.teachers.len());
        let mut names = Vec::with_capacity(distill.teachers.len());
        for source in &distill.teachers {
            let bundle = source
                .load()
                .map_err(|e| TrainError::Config(format!("teacher: {e}")))?;
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
        Ok(match distill.targets {
            TeacherTargets::Online => Teacher::Online(members),
            TeacherTargets::Clean => Teacher::Clean(clean_targets(&members, train)),
        })
    }

    /// The teacher's log-probabilities for a step: `faces` holds the augmented faces (48x48)
    /// of the training samples `batch`; a member trained on crops reads their centre windows.
    pub(crate) fn log_probabilities(&self, faces: &[f32], batch: &[usize]) -> Vec<f32> {
        match self {
            Teacher::Online(members) => {
                let per_member: Vec<Vec<f32>> = members
                    .iter()
                    .map(|net| member_logits(net, faces, batch.len()))
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
    for chunk in set.samples.chunks(CLEAN_CHUNK) {
        let n = chunk.len();
        let per_member: Vec<Vec<f32>> = members
            .iter()
            .map(|net| mirrored_mean_logits(net, chunk, n))
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

/// One member's logits for the `n` faces of `chunk`, averaged with those of their mirrors.
fn mirrored_mean_logits(net: &InferenceNet, chunk: &[Sample], n: usize) -> Vec<f32> {
    let side = net.input_size();
    let views = Tta::Flip.views(side);
    let mut input = vec![0.0f32; views.len() * n * side * side];
    for (view, part) in views.iter().zip(input.chunks_exact_mut(n * side * side)) {
        for (sample, face) in chunk.iter().zip(part.chunks_exact_mut(side * side)) {
            view.write_input(&sample.pixels, side, face);
        }
    }
    let logits = net.logits(&input, views.len() * n);
    let (a, b) = logits.split_at(n * NUM_CLASSES);
    a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
}
