use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use ferrite_data::{load_dataset, DataError, Dataset, Emotion, Split, FACE_PIXELS, FACE_SIZE};
use ferrite_eval::{plot_history, ConfusionMatrix, EvalReport, HistoryPoint};
use ferrite_model::{write_atomically, FerNet, ModelBundle, ModelCard};

use crate::checkpoint::{self, RunState};
use crate::{class_weights, loss::weighted_cross_entropy, LrSchedule, Plateau, TrainConfig};

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
    println!(
        "class weights ({:?}): {}",
        config.class_weighting,
        Emotion::ALL
            .iter()
            .map(|e| format!("{} {:.3}", e.name(), weights[e.index()]))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let device = Device::flex().autodiff();
    device.seed(config.seed);
    let mut net = FerNet::new(&config.arch, &device);
    // Plain Adam, as the report used. burn 0.22's AdamW with weight decay corrupts the
    // inference-mode network here (validation collapses to one class), so it is not offered.
    let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
    let ckpt_dir = checkpoint::checkpoint_dir(out);
    let mut state = RunState {
        config: config.clone(),
        next_epoch: 1,
        history: Vec::new(),
        lr_history: Vec::new(),
        epoch_seconds: Vec::new(),
        plateau: Plateau::new(config.plateau_patience),
        best: None,
    };
    if resume {
        let (n, o, s) = checkpoint::load(&ckpt_dir, net, optim).map_err(TrainError::Io)?;
        if s.config.arch != config.arch {
            return Err(TrainError::Config(format!(
                "the checkpoint in {} is for architecture `{}`, not `{}`",
                ckpt_dir.display(),
                s.config.arch.name,
                config.arch.name
            )));
        }
        (net, optim, state) = (n, o, s);
        state.config.epochs = config.epochs;
        println!(
            "resuming from {} at epoch {}",
            ckpt_dir.display(),
            state.next_epoch
        );
    }

    let steps_per_epoch = train_set.samples.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let data_hash = train_set.content_hash();
    let mut interrupted = false;
    while state.next_epoch <= config.epochs {
        let epoch = state.next_epoch;
        let started = Instant::now();
        let mut order: Vec<usize> = (0..train_set.samples.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            config.seed ^ (epoch as u64) << 32,
        ));
        let bar = progress_bar(steps_per_epoch as u64, epoch, config.epochs);
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
            let input = augmented_batch(&train_set, batch, config, epoch, &device);
            let logits = net.forward(input);
            let loss = weighted_cross_entropy(
                logits.clone(),
                &labels,
                &weights,
                config.label_smoothing,
                &device,
            );
            let loss_value: f32 = loss.clone().into_scalar();
            if !loss_value.is_finite() {
                bar.abandon();
                return Err(TrainError::NonFinite {
                    epoch,
                    step: step + 1,
                    value: loss_value,
                    checkpoint: ckpt_dir,
                });
            }
            correct += count_correct(logits, &labels);
            seen += labels.len();
            loss_sum += loss_value as f64 * labels.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
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
            checkpoint::save(&ckpt_dir, &net, &optim, &state).map_err(TrainError::Io)?;
            println!(
                "interrupted during epoch {epoch}: checkpoint saved in {}; continue with --resume",
                ckpt_dir.display()
            );
            break;
        }
        let (val_loss, val_report) = validate(&net.valid(), &val_set);
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
            config.epochs,
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
        if state.best.is_none_or(|(acc, _)| val_report.accuracy > acc) {
            state.best = Some((val_report.accuracy, epoch));
            let card = model_card(&state, &train_set, &val_set, &data_hash, &val_report);
            ModelBundle {
                card,
                net: net.valid(),
            }
            .save(out)
            .map_err(|e| TrainError::Io(e.to_string()))?;
            println!(
                "val_acc improved to {:.4}: model saved to {}",
                val_report.accuracy,
                out.display()
            );
        }
        checkpoint::save(&ckpt_dir, &net, &optim, &state).map_err(TrainError::Io)?;
        write_history(out, &state)?;
    }
    Ok(TrainOutcome {
        best: state.best,
        epochs_done: state.history.len(),
        interrupted,
        seconds: state.epoch_seconds.iter().sum(),
    })
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
fn augmented_batch(
    set: &Dataset,
    batch: &[usize],
    config: &TrainConfig,
    epoch: usize,
    device: &Device,
) -> Tensor<4> {
    let mut data = vec![0.0f32; batch.len() * FACE_PIXELS];
    data.par_chunks_mut(FACE_PIXELS)
        .zip(batch.par_iter())
        .for_each(|(out, &i)| {
            let stream =
                config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ i as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            config.augment.apply(&set.samples[i].pixels, out, &mut rng);
        });
    Tensor::from_data(
        TensorData::new(data, [batch.len(), 1, FACE_SIZE, FACE_SIZE]),
        device,
    )
}

fn count_correct(logits: Tensor<2>, labels: &[usize]) -> usize {
    let predicted: Vec<i64> = logits
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("argmax indices");
    predicted
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p as usize == **l)
        .count()
}

/// Unweighted cross-entropy and the full report on the validation set (inference mode).
fn validate(net: &FerNet, set: &Dataset) -> (f64, EvalReport) {
    let device = Device::flex();
    let mut loss_sum = 0.0f64;
    let mut pairs = Vec::with_capacity(set.samples.len());
    for chunk in set.samples.chunks(256) {
        let faces: Vec<&[u8]> = chunk.iter().map(|s| s.pixels.as_slice()).collect();
        let mut data = vec![0.0f32; faces.len() * FACE_PIXELS];
        for (face, out) in faces.iter().zip(data.chunks_exact_mut(FACE_PIXELS)) {
            ferrite_data::face_to_input(face, out);
        }
        let input = Tensor::<4>::from_data(
            TensorData::new(data, [faces.len(), 1, FACE_SIZE, FACE_SIZE]),
            &device,
        );
        let logp: Vec<f32> = log_softmax(net.forward(input), 1)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 log-probabilities");
        for (sample, row) in chunk
            .iter()
            .zip(logp.chunks_exact(ferrite_data::NUM_CLASSES))
        {
            loss_sum -= row[sample.label.index()] as f64;
            let best = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            pairs.push((sample.label, Emotion::ALL[best]));
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
        "engine": "burn 0.22 (flex CPU backend)",
        "config": config,
        "epochs_completed": state.history.len(),
        "best_epoch": best_epoch,
        "best_val_accuracy": best_acc,
        "train_images": train_set.samples.len(),
        "train_class_counts": train_set.class_counts(),
        "val_images": val_set.samples.len(),
        "train_data_sha256": data_hash,
        "training_seconds": state.epoch_seconds.iter().sum::<f64>(),
        "hardware": hardware(),
        "history": state.history,
        "lr_history": state.lr_history,
    });
    card.evaluation.insert(
        config.val_split.clone(),
        serde_json::to_value(val_report).expect("report"),
    );
    card
}

fn hardware() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpu}, {} threads, no GPU", rayon::current_num_threads())
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
