//! Inference under load, in two stages on a fixed set of threads:
//!
//! 1. **Locate** (`workers` threads, one per core by default): decode each uploaded image, find
//!    and frame its faces. A request waits in a bounded queue for a worker; when the queue is
//!    full the server answers 503 with `Retry-After` at once instead of piling work up.
//! 2. **Classify** (one batcher thread): the faces of every request that reaches it within a
//!    short window (and those that queued while it was busy) are classified in one engine call,
//!    which the engine spreads over all cores: micro-batching, so concurrent requests share the
//!    engine's batched speed instead of each paying batch-1 cost.
//!
//! The thread count is fixed, so memory is too: tokio's blocking pool, which grew a thread (and
//! an allocator heap) per concurrent request, no longer runs inference. A request that waits
//! longer than its time limit is answered 503 and dropped before any work is spent on it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use ferrite_infer::{EmotionModel, ImageReport, LocatedFaces, PredictOptions, Tta};

use crate::models::{ModelChoice, ModelSet};

/// What an image whose processing panicked reports (a bug: the rest of the request goes on).
const INTERNAL_ERROR: &str = "internal error while finding faces in this image";

/// Sizes and limits of the inference pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Threads that decode and detect (the locate stage).
    pub workers: usize,
    /// Requests that may wait for a worker; one more is answered 503.
    pub queue: usize,
    /// How long the batcher waits for more faces after the first arrives.
    pub batch_window: Duration,
    /// Most faces classified in one engine call.
    pub max_batch_faces: usize,
    /// Longest a request may take, queueing included, before it is answered 503.
    pub timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 64,
            batch_window: Duration::from_millis(2),
            max_batch_faces: 256,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The queue is full: try again shortly.
    Busy,
}

/// Uploaded images: `(name, bytes)`.
pub type Uploads = Vec<(String, Bytes)>;

/// A request waiting for a worker.
struct Job {
    uploads: Uploads,
    options: PredictOptions,
    model: ModelChoice,
    deadline: Instant,
    reply: oneshot::Sender<Vec<ImageReport>>,
}

/// A request whose faces are located, waiting for the batcher.
struct Located {
    /// Each image's faces, or why it failed.
    images: Vec<(String, Result<LocatedFaces, String>)>,
    tta: Tta,
    model: ModelChoice,
    reply: oneshot::Sender<Vec<ImageReport>>,
}

impl Located {
    fn face_count(&self) -> usize {
        self.images
            .iter()
            .filter_map(|(_, l)| l.as_ref().ok())
            .map(|l| l.faces().len())
            .sum()
    }
}

/// The running pool: submit requests, receive their reports.
pub struct InferencePool {
    jobs: Sender<Job>,
    config: PoolConfig,
}

impl InferencePool {
    /// Starts the worker and batcher threads.
    pub fn start(models: Arc<ModelSet>, config: PoolConfig) -> InferencePool {
        let (jobs, job_queue) = crossbeam_channel::bounded::<Job>(config.queue);
        let (located_tx, located_rx) = crossbeam_channel::unbounded::<Located>();
        for i in 0..config.workers.max(1) {
            let (queue, out, models) = (job_queue.clone(), located_tx.clone(), models.clone());
            std::thread::Builder::new()
                .name(format!("ferrite-locate-{i}"))
                .spawn(move || locate_loop(&models, &queue, &out))
                .expect("a locate thread starts");
        }
        std::thread::Builder::new()
            .name("ferrite-batcher".into())
            .spawn(move || batch_loop(&models, &located_rx, config))
            .expect("the batcher thread starts");
        InferencePool { jobs, config }
    }

    /// The pool's settings.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Queues a request, whose faces `model` classifies; its reports arrive on the returned
    /// receiver (dropped unanswered if the request outlived its time limit before a worker
    /// took it).
    pub fn submit(
        &self,
        uploads: Uploads,
        options: PredictOptions,
        model: ModelChoice,
    ) -> Result<oneshot::Receiver<Vec<ImageReport>>, Refusal> {
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            uploads,
            options,
            model,
            deadline: Instant::now() + self.config.timeout,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Refusal::Busy),
        }
    }
}

/// A worker: decodes and locates the faces of each job, then hands them to the batcher.
fn locate_loop(models: &ModelSet, queue: &Receiver<Job>, out: &Sender<Located>) {
    for job in queue.iter() {
        if job.reply.is_closed() || Instant::now() >= job.deadline {
            continue;
        }
        let images = job
            .uploads
            .iter()
            .map(|(name, bytes)| {
                let located = match catch_unwind(AssertUnwindSafe(|| {
                    models.predictor().locate_bytes(bytes, &job.options)
                })) {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(INTERNAL_ERROR.to_string()),
                };
                (name.clone(), located)
            })
            .collect();
        let located = Located {
            images,
            tta: job.options.tta,
            model: job.model,
            reply: job.reply,
        };
        if out.send(located).is_err() {
            return;
        }
    }
}

/// The batcher: gathers located requests for `batch_window` after the first (or up to
/// `max_batch_faces`), classifies their faces in one engine call per model and TTA setting,
/// and answers.
fn batch_loop(models: &ModelSet, queue: &Receiver<Located>, config: PoolConfig) {
    while let Ok(first) = queue.recv() {
        let until = Instant::now() + config.batch_window;
        let mut faces = first.face_count();
        let mut batch = vec![first];
        while faces < config.max_batch_faces {
            match queue.recv_deadline(until) {
                Ok(more) => {
                    faces += more.face_count();
                    batch.push(more);
                }
                Err(_) => break,
            }
        }
        while let Some(first) = batch.first() {
            let (model, tta) = (first.model, first.tta);
            let (group, rest): (Vec<Located>, Vec<Located>) = batch
                .into_iter()
                .partition(|l| l.model == model && l.tta == tta);
            batch = rest;
            answer(models.get(model), group, tta);
        }
    }
}

/// Classifies the faces of `group` together with `model` and sends each request its reports.
fn answer(model: &EmotionModel, group: Vec<Located>, tta: Tta) {
    let mut replies = Vec::with_capacity(group.len());
    let mut names = Vec::new();
    let mut located = Vec::new();
    for request in group {
        let mut outcomes = Vec::with_capacity(request.images.len());
        for (name, result) in request.images {
            match result {
                Ok(faces) => {
                    located.push(faces);
                    outcomes.push(Ok(name));
                }
                Err(e) => outcomes.push(Err(ImageReport::failed(name, e))),
            }
        }
        names.push(outcomes);
        replies.push(request.reply);
    }
    let predictions = catch_unwind(AssertUnwindSafe(|| model.classify_located(located, tta)));
    let Ok(predictions) = predictions else {
        return; // The replies drop: each request is answered 500.
    };
    let mut predictions = predictions.into_iter();
    for (outcomes, reply) in names.into_iter().zip(replies) {
        let reports = outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(name) => ImageReport::ok(name, &predictions.next().expect("one per image")),
                Err(report) => report,
            })
            .collect();
        let _ = reply.send(reports);
    }
}
