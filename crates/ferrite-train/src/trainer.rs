use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use ferrite_data::{
    face_to_input, load_dataset, DataError, Dataset, Emotion, Split, FACE_PIXELS, NUM_CLASSES,
};
use ferrite_eval::{plot_history, ConfusionMatrix, EvalReport, HistoryPoint};
use ferrite_model::{write_atomically, ArchSpec, Engine, ModelBundle, ModelCard};

use crate::checkpoint::{self, RunState};
use crate::learner::{new_learner, Learner, LossSpec};
use crate::{class_weights, LrSchedule, Plateau, TrainConfig, TrainDevice};

/// Why a training run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration is invalid.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The loss became NaN or infinite.
    #[error("loss became {value} at epoch {epoch}, step {step}; the last good checkpoint is kept in {checkpoint}")]
    NonFinite {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// The loss value.
        value: f32,
        /// Where the last good checkpoint is.
        checkpoint: PathBuf,
    },
    /// Saving or loading a file failed.
    #[error("{0}")]
    Io(String),
}

/// What a finished (or interrupted) run produced.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Best validation accuracy and the epoch it came from.
    pub best: Option<(f64, usize)>,
    /// Epochs completed.
    pub epochs_done: usize,
    /// True when stopped by the stop flag (Ctrl-C) before the last epoch.
    pub interrupted: bool,
    /// Total training seconds, across resumes.
    pub seconds: f64,
}

/// Trains a network on `data` (its `train` split) and writes the best model to `out`, with
/// checkpoints in `out/checkpoint`. With `resume`, continues from that checkpoint. Setting
/// `stop` makes the run save and return after the current step.
pub fn train(
    data: &Path,
    out: &Path,
    config: &TrainConfig,
    resume: bool,
    stop: &AtomicBool,
) -> Result<TrainOutcome, TrainError> {
    config.validate().map_err(TrainError::Config)?;
    let val_split: Split = config.val_split.parse().map_err(TrainError::Config)?;
    let mut train_set = load_dataset(data, Split::Train)?;
    if let Some(limit) = config.limit {
        train_set.limit(limit);
    }
    let mut val_set = load_dataset(data, val_split)?;
    if let Some(limit) = config.limit {
        val_set.limit((limit / 4).max(64));
    }
    println!("{}", train_set.summary("train"));
    println!("{}", val_set.summary(&format!("validation ({val_split})")));
    let weights = class_weights(&train_set.class_counts(), config.class_weighting);
    let loss_spec = LossSpec {
        class_weights: &weights,
        smoothing: config.label_smoothing,
    };
    println!(
        "class weights ({:?}): {}",
        config.class_weighting,
        Emotion::ALL
            .iter()
            .map(|e| format!("{} {:.3}", e.name(), weights[e.index()]))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut learner = new_learner(config.engine, config.device, &config.arch, config.seed)
        .map_err(TrainError::Config)?;
    let started_from = match (&config.init, resume) {
        (Some(init), false) => Some(start_from(learner.as_mut(), init, &config.arch)?),
        _ => None,
    };
    let ckpt_dir = checkpoint::checkpoint_dir(out);
    let mut state = RunState {
        config: config.clone(),
        next_epoch: 1,
        history: Vec::new(),
        lr_history: Vec::new(),
        epoch_seconds: Vec::new(),
        plateau: Plateau::new(config.plateau_patience),
        best: None,
        started_from,
    };
    if resume {
        let s = checkpoint::load(&ckpt_dir, learner.as_mut()).map_err(TrainError::Io)?;
        if s.config.arch != config.arch || s.config.engine != config.engine {
            return Err(TrainError::Config(format!(
                "the checkpoint in {} is for architecture `{}` on engine {:?}, not `{}` on {:?}",
                ckpt_dir.display(),
                s.config.arch.name,
                s.config.engine,
                config.arch.name,
                config.engine
            )));
        }
        state = s;
        state.config.epochs = config.epochs;
        println!(
            "resuming from {} at epoch {}",
            ckpt_dir.display(),
            state.next_epoch
        );
    }

    let steps_per_epoch = train_set.samples.len().div_ceil(config.batch_size);
    let mut epochs = config.epochs;
    let run_started = Instant::now();
    let epochs_before = state.epoch_seconds.len();
    let data_hash = train_set.content_hash();
    let mut interrupted = false;
    while state.next_epoch <= epochs {
        let total_steps = steps_per_epoch * epochs;
        let epoch = state.next_epoch;
        let started = Instant::now();
        let mut order: Vec<usize> = (0..train_set.samples.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            config.seed ^ (epoch as u64) << 32,
        ));
        let bar = progress_bar(steps_per_epoch as u64, epoch, epochs);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut lr = 0.0;
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            if stop.load(Ordering::SeqCst) {
                interrupted = true;
                break;
            }
            let global = (epoch - 1) * steps_per_epoch + step;
            lr = config
                .schedule
                .lr_at(config.lr, global, total_steps, steps_per_epoch)
                * state.plateau.scale;
            let labels: Vec<usize> = batch
                .iter()
                .map(|&i| train_set.samples[i].label.index())
                .collect();
            let input = augmented_batch(&train_set, batch, config, epoch);
            let (loss_value, logits) =
                learner.step(input, &labels, &loss_spec, lr, config.seed ^ global as u64);
            if !loss_value.is_finite() {
                bar.abandon();
                return Err(TrainError::NonFinite {
                    epoch,
                    step: step + 1,
                    value: loss_value,
                    checkpoint: ckpt_dir,
                });
            }
            correct += count_correct(&logits, &labels);
            seen += labels.len();
            loss_sum += loss_value as f64 * labels.len() as f64;
            bar.set_message(format!(
                "loss {:.4} acc {:.4}",
                loss_sum / seen as f64,
                correct as f64 / seen as f64
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        if interrupted {
            // Save the weights reached so far; the unfinished epoch is run again on resume.
            checkpoint::save(&ckpt_dir, learner.as_ref(), &state).map_err(TrainError::Io)?;
            println!(
                "interrupted during epoch {epoch}: checkpoint saved in {}; continue with --resume",
                ckpt_dir.display()
            );
            break;
        }
        let (val_loss, val_report) = validate(learner.as_ref(), &val_set);
        let point = HistoryPoint {
            epoch,
            loss: loss_sum / seen.max(1) as f64,
            acc: correct as f64 / seen.max(1) as f64,
            val_loss,
            val_acc: val_report.accuracy,
        };
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Epoch {epoch}/{} - {:.0}s - {:.0} img/s - loss: {:.4} - acc: {:.4} - val_loss: {:.4} - val_acc: {:.4} - val_macro_f1: {:.4} - lr: {:.2e}",
            epochs,
            seconds,
            seen as f64 / seconds,
            point.loss,
            point.acc,
            point.val_loss,
            point.val_acc,
            val_report.macro_f1,
            lr
        );
        if config.schedule == LrSchedule::Plateau && state.plateau.observe(val_loss) {
            println!(
                "validation loss has not improved for {} epochs: learning rate x{}",
                config.plateau_patience, state.plateau.scale
            );
        }
        state.history.push(point);
        state.lr_history.push(lr);
        state.epoch_seconds.push(seconds);
        state.next_epoch += 1;
        // Re-planned after every epoch but an invocation's first, whose pace includes warm-up
        // (kernel autotuning took 2-3 minutes of a 7-minute GPU run). A plan is only ever
        // shortened: lengthening it again after a slow epoch would send the cosine schedule's
        // learning rate back up (seen on a CPU run whose plan went 8 -> 7 -> 8 epochs).
        let warmed_up = state.epoch_seconds.len() >= epochs_before + 2;
        if let (Some(limit), true) = (config.time_limit, warmed_up) {
            let elapsed = run_started.elapsed().as_secs_f64();
            let fitted = replanned_epochs(limit, elapsed, seconds, epoch, epochs);
            if fitted != epochs {
                epochs = fitted;
                state.config.epochs = epochs;
                println!("time limit {limit:.0}s: the run now ends after epoch {epochs}");
            }
        }
        if state.best.is_none_or(|(acc, _)| val_report.accuracy > acc) {
            state.best = Some((val_report.accuracy, epoch));
            let card = model_card(&state, &train_set, &val_set, &data_hash, &val_report);
            learner.save_model(out, card).map_err(TrainError::Io)?;
            println!(
                "val_acc improved to {:.4}: model saved to {}",
                val_report.accuracy,
                out.display()
            );
        }
        checkpoint::save(&ckpt_dir, learner.as_ref(), &state).map_err(TrainError::Io)?;
        write_history(out, &state)?;
    }
    Ok(TrainOutcome {
        best: state.best,
        epochs_done: state.history.len(),
        interrupted,
        seconds: state.epoch_seconds.iter().sum(),
    })
}

/// Loads the weights of the model folder `dir` into `learner`, after checking that the model
/// is the architecture being trained. Returns the `training` section of its card (provenance).
fn start_from(
    learner: &mut dyn Learner,
    dir: &Path,
    arch: &ArchSpec,
) -> Result<serde_json::Value, TrainError> {
    let card = ModelBundle::read_card(dir).map_err(|e| TrainError::Config(e.to_string()))?;
    if &card.arch != arch {
        return Err(TrainError::Config(format!(
            "cannot start from {}: it is architecture `{}`, not `{}`",
            dir.display(),
            card.arch.name,
            arch.name
        )));
    }
    learner.load_weights(dir).map_err(TrainError::Io)?;
    println!("starting from the weights of {}", dir.display());
    Ok(card.training)
}

/// The last epoch that a budget of `limit` seconds reaches when `elapsed` have gone and epochs
/// take `pace` seconds; never earlier than `done`, the epoch just finished, and never later than
/// `planned`, the current plan.
fn replanned_epochs(limit: f64, elapsed: f64, pace: f64, done: usize, planned: usize) -> usize {
    let left = ((limit - elapsed) / pace.max(1e-9)).floor().max(0.0);
    (done + left.min(1e6) as usize).min(planned)
}

fn progress_bar(steps: u64, epoch: usize, epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template(
            "Epoch {prefix} [{bar:30}] {pos}/{len} steps [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

/// Builds one augmented input batch in parallel. Each image's random stream depends only on
/// the seed, epoch and image index, so runs repeat exactly whatever the thread count.
fn augmented_batch(set: &Dataset, batch: &[usize], config: &TrainConfig, epoch: usize) -> Vec<f32> {
    let mut data = vec![0.0f32; batch.len() * FACE_PIXELS];
    data.par_chunks_mut(FACE_PIXELS)
        .zip(batch.par_iter())
        .for_each(|(out, &i)| {
            let stream =
                config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ i as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            config.augment.apply(&set.samples[i].pixels, out, &mut rng);
        });
    data
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or(0)
}

fn count_correct(logits: &[f32], labels: &[usize]) -> usize {
    logits
        .chunks_exact(NUM_CLASSES)
        .zip(labels)
        .filter(|(row, &label)| argmax(row) == label)
        .count()
}

/// Unweighted cross-entropy and the full report on the validation set (inference mode).
fn validate(learner: &dyn Learner, set: &Dataset) -> (f64, EvalReport) {
    let mut loss_sum = 0.0f64;
    let mut pairs = Vec::with_capacity(set.samples.len());
    for chunk in set.samples.chunks(256) {
        let mut input = vec![0.0f32; chunk.len() * FACE_PIXELS];
        for (sample, out) in chunk.iter().zip(input.chunks_exact_mut(FACE_PIXELS)) {
            face_to_input(&sample.pixels, out);
        }
        let logits = learner.logits(input, chunk.len());
        for (sample, row) in chunk.iter().zip(logits.chunks_exact(NUM_CLASSES)) {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
            loss_sum += (log_sum - row[sample.label.index()]) as f64;
            pairs.push((sample.label, Emotion::ALL[argmax(row)]));
        }
    }
    let report = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
    (loss_sum / set.samples.len().max(1) as f64, report)
}

fn model_card(
    state: &RunState,
    train_set: &Dataset,
    val_set: &Dataset,
    data_hash: &str,
    val_report: &EvalReport,
) -> ModelCard {
    let config = &state.config;
    let mut card = ModelCard::new(config.arch.clone());
    let (best_acc, best_epoch) = state.best.unwrap_or((0.0, 0));
    card.training = serde_json::json!({
        "engine": match (config.engine, config.device) {
            (Engine::Burn, TrainDevice::Cpu) => "burn 0.22 (Flex CPU backend)",
            (Engine::Burn, TrainDevice::Vulkan) => "burn 0.22 (wgpu backend on Vulkan, GPU)",
            (Engine::Ferrite, _) => "ferrite-engine (gemm CPU engine)",
        },
        "config": config,
        "epochs_completed": state.history.len(),
        "best_epoch": best_epoch,
        "best_val_accuracy": best_acc,
        "train_images": train_set.samples.len(),
        "train_class_counts": train_set.class_counts(),
        "val_images": val_set.samples.len(),
        "train_data_sha256": data_hash,
        "training_seconds": state.epoch_seconds.iter().sum::<f64>(),
        "hardware": hardware(config.device),
        "history": state.history,
        "lr_history": state.lr_history,
        "started_from": state.started_from,
    });
    card.evaluation.insert(
        config.val_split.clone(),
        serde_json::to_value(val_report).expect("report"),
    );
    card
}

fn hardware(device: TrainDevice) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let gpu = match device {
        TrainDevice::Cpu => "no GPU".to_string(),
        TrainDevice::Vulkan => gpu_name().unwrap_or_else(|| "a GPU through Vulkan".into()),
    };
    format!("{cpu}, {} threads, {gpu}", rayon::current_num_threads())
}

/// The GPU's name as nvidia-smi reports it, where it is installed.
fn gpu_name() -> Option<String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

fn write_history(out: &Path, state: &RunState) -> Result<(), TrainError> {
    let mut csv = String::from("epoch,loss,acc,val_loss,val_acc,lr,seconds\n");
    for ((h, lr), s) in state
        .history
        .iter()
        .zip(&state.lr_history)
        .zip(&state.epoch_seconds)
    {
        csv.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.3e},{:.1}\n",
            h.epoch, h.loss, h.acc, h.val_loss, h.val_acc, lr, s
        ));
    }
    let io = |e: ferrite_model::ModelError| TrainError::Io(e.to_string());
    write_atomically(&out.join("history.csv"), csv.as_bytes()).map_err(io)?;
    let json = serde_json::to_vec_pretty(&state.history).expect("history serialises");
    write_atomically(&out.join("history.json"), &json).map_err(io)?;
    plot_history(&state.history, &out.join("curves.png")).map_err(TrainError::Io)
}

#[cfg(test)]
mod tests {
    use super::replanned_epochs;

    #[test]
    fn a_time_limit_keeps_the_epochs_that_fit() {
        // 100 s used by 2 epochs of 40 s (plus loading); 300 s budget: 5 more fit.
        assert_eq!(replanned_epochs(300.0, 100.0, 40.0, 2, 30), 7);
        // Budget spent: the run ends with the epoch just done.
        assert_eq!(replanned_epochs(300.0, 310.0, 40.0, 4, 30), 4);
        assert_eq!(replanned_epochs(300.0, 299.0, 40.0, 4, 30), 4);
    }

    #[test]
    fn a_plan_is_only_ever_shortened() {
        // Room for 9 more epochs, but the plan (or --epochs) says 6.
        assert_eq!(replanned_epochs(1000.0, 100.0, 100.0, 2, 6), 6);
        // A plan cut to 7 after a slow epoch stays 7 when a faster epoch would fit 8.
        assert_eq!(replanned_epochs(800.0, 500.0, 90.0, 5, 7), 7);
    }
}
