//! A training run as an object with one method per step: prepare (data, loss, learner, start
//! or resume), then per epoch train, validate, re-plan, save the best model, checkpoint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use ferrite_data::{load_dataset, Dataset, Emotion, Split, NUM_CLASSES};
use ferrite_eval::{EvalReport, HistoryPoint};
use ferrite_model::{ModelBundle, Sitting};

use crate::batches::{augmented_batch, count_correct, validate, validate_unaveraged};
use crate::checkpoint::{self, RunState};
use crate::init::start_from;
use crate::learner::{new_learner, Learner, LearnerSpec, LossSpec, MixedLabels, SoftTargets};
use crate::mixup::Mixup;
use crate::plan::replanned_epochs;
use crate::progress::tenth_crossed;
use crate::provenance::hardware;
use crate::record::{model_card, write_history, RunFacts};
use crate::teacher::Teacher;
use crate::{class_weights, LrSchedule, Plateau, TrainConfig, TrainError};

/// Mixes the seed of a step's mixup draw, so that it differs from the step's dropout seed.
const MIXUP_SALT: u64 = 0x6d69_7875_7000_0000;

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
    TrainingRun::prepare(data, out, config, resume)?.run(stop)
}

/// The training and validation faces of a run.
struct RunData {
    train: Dataset,
    val: Dataset,
}

/// The sums of one epoch's training steps.
#[derive(Default)]
struct EpochTotals {
    loss_sum: f64,
    correct: usize,
    seen: usize,
    /// The learning rate of the last step.
    lr: f64,
}

/// How an epoch's training loop ended.
enum EpochEnd {
    /// Every batch was seen.
    Completed(EpochTotals),
    /// The stop flag was set.
    Interrupted,
}

/// A run in progress: its data, loss, learner, saved state and plan.
pub struct TrainingRun {
    out: PathBuf,
    checkpoint_dir: PathBuf,
    data: RunData,
    facts: RunFacts,
    class_weights: [f32; NUM_CLASSES],
    learner: Box<dyn Learner>,
    /// The teacher, when distilling.
    teacher: Option<Teacher>,
    state: RunState,
    /// The epoch the run now ends after (`--epochs`, shortened by `--time-limit`).
    epochs: usize,
    steps_per_epoch: usize,
    /// When this invocation started (for `--time-limit`).
    started: Instant,
    /// Epochs that were done before this invocation (on resume).
    epochs_before: usize,
}

impl TrainingRun {
    /// Checks the configuration, reads the data, and builds the learner: fresh, from `--init`
    /// weights, or from the checkpoint in `out` when `resume` is set.
    pub fn prepare(
        data: &Path,
        out: &Path,
        config: &TrainConfig,
        resume: bool,
    ) -> Result<TrainingRun, TrainError> {
        config.validate().map_err(TrainError::Config)?;
        let data = load_data(data, config)?;
        let class_weights = class_weights(&data.train.class_counts(), config.class_weighting);
        print_class_weights(config, &class_weights);
        let checkpoint_dir = checkpoint::checkpoint_dir(out);
        let saved = if resume {
            Some(resume_state(&checkpoint_dir, config)?)
        } else {
            None
        };
        // A resumed run keeps the update rule it was started with (its optimizer state is
        // that optimizer's); where it trains may change.
        let update = saved.as_ref().map_or(&config.update, |s| &s.config.update);
        let mut learner = new_learner(&LearnerSpec {
            engine: config.engine,
            device: config.device,
            arch: &config.arch,
            seed: config.seed,
            update,
        })
        .map_err(TrainError::Config)?;
        let (teacher, teacher_digests) = match &config.distill {
            Some(distill) => {
                let (teacher, digests) = Teacher::load(distill, &data.train)?;
                (Some(teacher), digests)
            }
            None => (None, Vec::new()),
        };
        let mut state = match saved {
            Some(state) => {
                learner
                    .load_checkpoint(&checkpoint_dir)
                    .map_err(TrainError::Io)?;
                state
            }
            None => {
                let earlier_legs = match &config.init {
                    Some(init) => start_from(learner.as_mut(), init, config)?.training.legs,
                    None => Vec::new(),
                };
                RunState {
                    config: config.clone(),
                    next_epoch: 1,
                    history: Vec::new(),
                    lr_history: Vec::new(),
                    epoch_seconds: Vec::new(),
                    plateau: Plateau::new(config.plateau_patience),
                    best: None,
                    earlier_legs,
                    sittings: Vec::new(),
                }
            }
        };
        let facts = RunFacts::new(
            hardware(config.device),
            &data.train,
            &data.val,
            teacher_digests,
        );
        state.sittings.push(Sitting {
            hardware: facts.hardware.clone(),
            first_epoch: state.next_epoch,
            epochs: 0,
            seconds: 0.0,
        });
        Ok(TrainingRun {
            out: out.to_path_buf(),
            checkpoint_dir,
            steps_per_epoch: data.train.samples.len().div_ceil(config.batch_size),
            data,
            facts,
            class_weights,
            learner,
            teacher,
            epochs: config.epochs,
            epochs_before: state.epoch_seconds.len(),
            state,
            started: Instant::now(),
        })
    }

    /// Runs the remaining epochs, or until `stop` is set.
    pub fn run(mut self, stop: &AtomicBool) -> Result<TrainOutcome, TrainError> {
        let mut interrupted = false;
        while self.state.next_epoch <= self.epochs {
            let started = Instant::now();
            match self.train_epoch(stop)? {
                EpochEnd::Interrupted => {
                    self.save_interrupted()?;
                    interrupted = true;
                    break;
                }
                EpochEnd::Completed(totals) => {
                    self.finish_epoch(totals, started.elapsed().as_secs_f64())?
                }
            }
        }
        Ok(TrainOutcome {
            best: self.state.best,
            epochs_done: self.state.history.len(),
            interrupted,
            seconds: self.state.epoch_seconds.iter().sum(),
        })
    }

    /// One pass over the shuffled training set.
    fn train_epoch(&mut self, stop: &AtomicBool) -> Result<EpochEnd, TrainError> {
        let epoch = self.state.next_epoch;
        let mut order: Vec<usize> = (0..self.data.train.samples.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            self.state.config.seed ^ (epoch as u64) << 32,
        ));
        let bar = progress_bar(self.steps_per_epoch as u64, epoch, self.epochs);
        let mut totals = EpochTotals::default();
        for (step, batch) in order.chunks(self.state.config.batch_size).enumerate() {
            if stop.load(Ordering::SeqCst) {
                bar.finish_and_clear();
                return Ok(EpochEnd::Interrupted);
            }
            let global = (epoch - 1) * self.steps_per_epoch + step;
            totals.lr = self.lr_at(global);
            let labels: Vec<usize> = batch
                .iter()
                .map(|&i| self.data.train.samples[i].label.index())
                .collect();
            let (loss_value, logits) = self.train_step(batch, &labels, global, totals.lr);
            if !loss_value.is_finite() {
                bar.abandon();
                return Err(TrainError::NonFinite {
                    epoch,
                    step: step + 1,
                    value: loss_value,
                    checkpoint: self.checkpoint_dir.clone(),
                });
            }
            totals.correct += count_correct(&logits, &labels);
            totals.seen += labels.len();
            totals.loss_sum += loss_value as f64 * labels.len() as f64;
            bar.set_message(format!(
                "loss {:.4} acc {:.4}",
                totals.loss_sum / totals.seen as f64,
                totals.correct as f64 / totals.seen as f64
            ));
            bar.inc(1);
            log_progress(&bar, epoch, self.epochs, totals.seen);
        }
        bar.finish_and_clear();
        Ok(EpochEnd::Completed(totals))
    }

    /// The learning rate of step `global` (counted from the run's first), with the plateau's
    /// scale.
    fn lr_at(&self, global: usize) -> f64 {
        let config = &self.state.config;
        let total_steps = self.steps_per_epoch * self.epochs;
        config
            .schedule
            .lr_at(config.lr, global, total_steps, self.steps_per_epoch)
            * self.state.plateau.scale
    }

    /// One update on the faces `batch` (indices into the training set) with their `labels`:
    /// augmented, mixed, read by the teacher, then learnt at rate `lr`. Returns the batch's
    /// loss and logits.
    fn train_step(
        &mut self,
        batch: &[usize],
        labels: &[usize],
        global: usize,
        lr: f64,
    ) -> (f32, Vec<f32>) {
        let config = &self.state.config;
        let mut augmented = augmented_batch(
            &self.data.train,
            batch,
            &config.augment,
            config.arch.input_size,
            config.seed,
            self.state.next_epoch,
        );
        let mixup = Mixup::for_step(
            config.mixup,
            config.cutmix,
            batch.len(),
            config.seed ^ MIXUP_SALT ^ global as u64,
        );
        if let Some(mixup) = &mixup {
            mixup.blend(augmented.faces_mut());
        }
        let partner_labels = mixup.as_ref().map(|m| m.partner_labels(labels));
        let teacher_logits = self
            .teacher
            .as_ref()
            .map(|teacher| teacher.log_probabilities(augmented.faces(), batch));
        let input = augmented.into_network_input();
        let loss = LossSpec {
            class_weights: &self.class_weights,
            smoothing: config.label_smoothing,
            soft: config
                .distill
                .as_ref()
                .zip(teacher_logits.as_deref())
                .map(|(d, logits)| SoftTargets {
                    logits,
                    temperature: d.temperature,
                    weight: d.weight,
                }),
            mix: mixup
                .as_ref()
                .zip(partner_labels.as_deref())
                .map(|(m, partners)| MixedLabels {
                    partners,
                    lambda: m.lambda,
                }),
        };
        self.learner
            .step(input, labels, &loss, lr, config.seed ^ global as u64)
    }

    /// Saves the weights reached so far; the unfinished epoch is run again on resume.
    fn save_interrupted(&self) -> Result<(), TrainError> {
        checkpoint::save(&self.checkpoint_dir, self.learner.as_ref(), &self.state)
            .map_err(TrainError::Io)?;
        println!(
            "interrupted during epoch {}: checkpoint saved in {}; continue with --resume",
            self.state.next_epoch,
            self.checkpoint_dir.display()
        );
        Ok(())
    }

    /// Validates, records and prints the epoch, then re-plans, saves the model if it is the
    /// best so far, and writes the checkpoint and history.
    fn finish_epoch(&mut self, totals: EpochTotals, seconds: f64) -> Result<(), TrainError> {
        let epoch = self.state.next_epoch;
        let side = self.state.config.arch.input_size;
        let (val_loss, val_report) = validate(self.learner.as_ref(), &self.data.val, side);
        let unaveraged = validate_unaveraged(self.learner.as_ref(), &self.data.val, side);
        let point = HistoryPoint {
            epoch,
            loss: totals.loss_sum / totals.seen.max(1) as f64,
            acc: totals.correct as f64 / totals.seen.max(1) as f64,
            val_loss,
            val_acc: val_report.accuracy,
        };
        println!(
            "Epoch {epoch}/{} - {seconds:.0}s - {:.0} img/s - loss: {:.4} - acc: {:.4} - val_loss: {:.4} - val_acc: {:.4} - val_macro_f1: {:.4} - lr: {:.2e}",
            self.epochs,
            totals.seen as f64 / seconds,
            point.loss,
            point.acc,
            point.val_loss,
            point.val_acc,
            val_report.macro_f1,
            totals.lr
        );
        if let Some(report) = unaveraged {
            println!(
                "  (the weight average; the last step's weights: val_acc {:.4} - val_macro_f1 {:.4})",
                report.accuracy, report.macro_f1
            );
        }
        let config = &self.state.config;
        if config.schedule == LrSchedule::Plateau && self.state.plateau.observe(val_loss) {
            println!(
                "validation loss has not improved for {} epochs: learning rate x{}",
                config.plateau_patience, self.state.plateau.scale
            );
        }
        self.state.history.push(point);
        self.state.lr_history.push(totals.lr);
        self.state.epoch_seconds.push(seconds);
        if let Some(sitting) = self.state.sittings.last_mut() {
            sitting.epochs += 1;
            sitting.seconds += seconds;
        }
        self.state.next_epoch += 1;
        self.replan(seconds);
        if self
            .state
            .best
            .is_none_or(|(acc, _)| val_report.accuracy > acc)
        {
            self.save_best(epoch, &val_report)?;
        }
        checkpoint::save(&self.checkpoint_dir, self.learner.as_ref(), &self.state)
            .map_err(TrainError::Io)?;
        write_history(&self.out, &self.state)
    }

    /// Fits the plan to `--time-limit` after every epoch but an invocation's first, whose pace
    /// includes warm-up (kernel autotuning took 2-3 minutes of a 7-minute GPU run).
    fn replan(&mut self, last_epoch_seconds: f64) {
        let Some(limit) = self.state.config.time_limit else {
            return;
        };
        if self.state.epoch_seconds.len() < self.epochs_before + 2 {
            return;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let done = self.state.next_epoch - 1;
        let fitted = replanned_epochs(limit, elapsed, last_epoch_seconds, done, self.epochs);
        if fitted != self.epochs {
            self.epochs = fitted;
            self.state.config.epochs = fitted;
            println!("time limit {limit:.0}s: the run now ends after epoch {fitted}");
        }
    }

    /// Writes the model of `epoch` and its card to the output folder.
    fn save_best(&mut self, epoch: usize, val_report: &EvalReport) -> Result<(), TrainError> {
        self.state.best = Some((val_report.accuracy, epoch));
        let bundle = ModelBundle {
            card: model_card(&self.state, &self.facts, val_report),
            weights: self.learner.weights().map_err(TrainError::Io)?.into(),
        };
        bundle
            .save(&self.out)
            .map_err(|e| TrainError::Io(e.to_string()))?;
        println!(
            "val_acc improved to {:.4}: model saved to {}",
            val_report.accuracy,
            self.out.display()
        );
        Ok(())
    }
}

/// Reads the training split (and the validation split), limited for quick runs.
fn load_data(data: &Path, config: &TrainConfig) -> Result<RunData, TrainError> {
    let mut train = load_dataset(data, Split::Train)?;
    let mut val = load_dataset(data, config.val_split.split())?;
    if let Some(limit) = config.limit {
        train.limit(limit);
        val.limit((limit / 4).max(64));
    }
    println!("{}", train.summary("train"));
    println!(
        "{}",
        val.summary(&format!("validation ({})", config.val_split))
    );
    Ok(RunData { train, val })
}

fn print_class_weights(config: &TrainConfig, weights: &[f32; NUM_CLASSES]) {
    println!(
        "class weights ({}): {}",
        config.class_weighting.name(),
        Emotion::ALL
            .iter()
            .map(|e| format!("{} {:.3}", e.name(), weights[e.index()]))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The run state saved in `dir`, after checking it is the same network on the same engine.
fn resume_state(dir: &Path, config: &TrainConfig) -> Result<RunState, TrainError> {
    let mut state = checkpoint::load_state(dir).map_err(TrainError::Io)?;
    if state.config.arch != config.arch || state.config.engine != config.engine {
        return Err(TrainError::Config(format!(
            "the checkpoint in {} is for architecture `{}` on engine {}, not `{}` on {}",
            dir.display(),
            state.config.arch.name,
            state.config.engine,
            config.arch.name,
            config.engine
        )));
    }
    state.config.epochs = config.epochs;
    println!(
        "resuming from {} at epoch {}",
        dir.display(),
        state.next_epoch
    );
    Ok(state)
}

/// Without a terminal (a log file, a background run) the bar is hidden: a plain line every
/// tenth of the epoch says how far it is, how fast it goes and when it ends.
fn log_progress(bar: &ProgressBar, epoch: usize, epochs: usize, images: usize) {
    if let Some((done, len, elapsed, left)) = tenth_crossed(bar, 1) {
        println!(
            "Epoch {epoch}/{epochs}: step {done}/{len}, {:.0} img/s, {left:.0}s left",
            images as f64 / elapsed.max(1e-9)
        );
    }
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
