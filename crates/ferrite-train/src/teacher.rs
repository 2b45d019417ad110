//! The teacher of a distilled run: its soft targets for each step, computed on the step's
//! augmented faces (`online`) or once before training on each clean face and its mirror
//! (`clean`, [`TeacherTargets::Clean`]).

use indicatif::{ProgressBar, ProgressStyle};

use ferrite_data::{face_to_input, Dataset, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};
use ferrite_engine::Network;
use ferrite_model::{Distillation, TeacherTargets};

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

    /// The teacher's logits for a step: `input` holds the augmented faces of the training
    /// samples `batch`.
    pub(crate) fn logits(&self, input: &[f32], batch: &[usize]) -> Vec<f32> {
        match self {
            Teacher::Online(net) => net.forward_infer(input, batch.len()),
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
    for chunk in set.samples.chunks(CLEAN_CHUNK) {
        let n = chunk.len();
        let mut input = vec![0.0f32; 2 * n * FACE_PIXELS];
        let (plain, mirrored) = input.split_at_mut(n * FACE_PIXELS);
        for ((sample, face), mirror) in chunk
            .iter()
            .zip(plain.chunks_exact_mut(FACE_PIXELS))
            .zip(mirrored.chunks_exact_mut(FACE_PIXELS))
        {
            face_to_input(&sample.pixels, face);
            mirror_into(face, mirror);
        }
        let logits = net.forward_infer(&input, 2 * n);
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

/// `face` mirrored left to right into `out` (both 48x48, row-major).
fn mirror_into(face: &[f32], out: &mut [f32]) {
    for (row, out_row) in face
        .chunks_exact(FACE_SIZE)
        .zip(out.chunks_exact_mut(FACE_SIZE))
    {
        for (o, v) in out_row.iter_mut().zip(row.iter().rev()) {
            *o = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirroring_reverses_each_row() {
        let face: Vec<f32> = (0..FACE_PIXELS).map(|i| i as f32).collect();
        let mut out = vec![0.0; FACE_PIXELS];
        mirror_into(&face, &mut out);
        assert_eq!(out[0], (FACE_SIZE - 1) as f32);
        assert_eq!(out[FACE_SIZE - 1], 0.0);
        assert_eq!(out[FACE_SIZE], (2 * FACE_SIZE - 1) as f32);
        let mut back = vec![0.0; FACE_PIXELS];
        mirror_into(&out, &mut back);
        assert_eq!(back, face);
    }
}
