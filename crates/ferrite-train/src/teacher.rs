//! The teacher of a distilled run: its soft targets for each step, computed on the step's
//! augmented faces (`online`) or once before training on each clean face and its mirror
//! (`clean`, [`TeacherTargets::Clean`]).

use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::{Dataset, FaceView, Tta, FACE_SIZE, NUM_CLASSES};
use ferrite_engine::Network;
use ferrite_model::{Distillation, TeacherTargets};

use crate::batches::cut_windows;
use crate::progress::tenth_crossed;
use crate::TrainError;

/// Faces per teacher call when precomputing clean targets.
const CLEAN_CHUNK: usize = 256;

/// Where a distilled run's soft targets come from.
pub(crate) enum Teacher {
    /// The teacher's network, run on every augmented batch.
    Online(Network),
    /// The teacher's logits for every training face (a row of 7 per face, in sample order).
    Clean(Vec<f32>),
}

impl Teacher {
    /// Loads the teacher of `distill`; for clean targets, runs it once over `train`.
    pub(crate) fn load(distill: &Distillation, train: &Dataset) -> Result<Teacher, TrainError> {
        let source = &distill.teacher;
        let bundle = source
            .load()
            .map_err(|e| TrainError::Config(format!("teacher: {e}")))?;
        let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights)
            .map_err(|e| TrainError::Config(format!("teacher {source}: {e}")))?;
        println!(
            "distilling from {source} ({}, temperature {}, soft-loss weight {}, {} targets)",
            bundle.card.arch.name,
            distill.temperature,
            distill.weight,
            distill.targets.name()
        );
        Ok(match distill.targets {
            TeacherTargets::Online => Teacher::Online(net),
            TeacherTargets::Clean => Teacher::Clean(clean_logits(&net, train)),
        })
    }

    /// The teacher's logits for a step: `faces` holds the augmented faces (48x48) of the
    /// training samples `batch`; a teacher trained on crops reads their centre windows.
    pub(crate) fn logits(&self, faces: &[f32], batch: &[usize]) -> Vec<f32> {
        match self {
            Teacher::Online(net) => {
                let side = net.arch.input_size;
                if side == FACE_SIZE {
                    net.forward_infer(faces, batch.len())
                } else {
                    let windows = vec![FaceView::centre(side); batch.len()];
                    net.forward_infer(&cut_windows(faces, &windows, side), batch.len())
                }
            }
            Teacher::Clean(all) => batch
                .iter()
                .flat_map(|&i| &all[i * NUM_CLASSES..(i + 1) * NUM_CLASSES])
                .copied()
                .collect(),
        }
    }
}

/// The teacher's logits for every face of `set`, averaged with those of its mirror image.
fn clean_logits(net: &Network, set: &Dataset) -> Vec<f32> {
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
    let side = net.arch.input_size;
    let views = Tta::Flip.views(side);
    for chunk in set.samples.chunks(CLEAN_CHUNK) {
        let n = chunk.len();
        let mut input = vec![0.0f32; views.len() * n * side * side];
        for (view, part) in views.iter().zip(input.chunks_exact_mut(n * side * side)) {
            for (sample, face) in chunk.iter().zip(part.chunks_exact_mut(side * side)) {
                view.write_input(&sample.pixels, side, face);
            }
        }
        let logits = net.forward_infer(&input, views.len() * n);
        let (a, b) = logits.split_at(n * NUM_CLASSES);
        out.extend(a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)));
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
