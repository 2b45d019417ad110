//! The live webcam's frames, followed over time: each browser session's frames go through the
//! same tracker and smoothing as videos (`ferrite-video`'s `VideoAnalyzer`), so a face keeps
//! its track id from frame to frame and its label stops flickering. One thread serves every
//! session in turn (a session's frames must be analysed in order), from a bounded queue; a
//! session idle for a while is forgotten, and only so many are kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use ferrite_data::decode_image;
use ferrite_infer::PredictOptions;
use ferrite_video::{LiveReport, LiveSession};

use crate::models::{ModelChoice, ModelSet};
use crate::pool::Refusal;

/// Limits of the live sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveConfig {
    /// Frames that may wait for the live thread; one more is answered 503.
    pub queue: usize,
    /// Sessions followed at once (the longest idle is dropped for a new one).
    pub max_sessions: usize,
    /// A session with no frame for this long is forgotten.
    pub idle: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            queue: 16,
            max_sessions: 16,
            idle: Duration::from_secs(60),
        }
    }
}

/// How a session's frames are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    /// Detector and TTA options.
    pub options: PredictOptions,
    /// The model that classifies the faces.
    pub model: ModelChoice,
}

struct LiveFrame {
    session: String,
    bytes: Bytes,
    settings: LiveSettings,
    reply: oneshot::Sender<Result<LiveReport, String>>,
}

/// The live thread: submit a session's frames, receive their reports.
pub struct LiveSessions {
    frames: Sender<LiveFrame>,
}

impl LiveSessions {
    /// Starts the live thread.
    pub fn start(models: std::sync::Arc<ModelSet>, config: LiveConfig) -> LiveSessions {
        let (frames, queue) = crossbeam_channel::bounded::<LiveFrame>(config.queue);
        std::thread::Builder::new()
            .name("ferrite-live".into())
            .spawn(move || live_loop(&models, &queue, config))
            .expect("the live thread starts");
        LiveSessions { frames }
    }

    /// Queues a frame (an image's bytes) of `session`; its report arrives on the receiver.
    pub fn submit(
        &self,
        session: String,
        bytes: Bytes,
        settings: LiveSettings,
    ) -> Result<oneshot::Receiver<Result<LiveReport, String>>, Refusal> {
        let (reply, receiver) = oneshot::channel();
        let frame = LiveFrame {
            session,
            bytes,
            settings,
            reply,
        };
        match self.frames.try_send(frame) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Refusal::Busy),
        }
    }
}

/// A session being followed.
struct Session<'a> {
    live: LiveSession<'a>,
    settings: LiveSettings,
    started: Instant,
    last: Instant,
}

fn live_loop(models: &ModelSet, queue: &Receiver<LiveFrame>, config: LiveConfig) {
    let mut sessions: HashMap<String, Session<'_>> = HashMap::new();
    for frame in queue.iter() {
        if frame.reply.is_closed() {
            continue;
        }
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last) < config.idle);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyse(models, &mut sessions, &frame, config.max_sessions, now)
        }))
        .unwrap_or_else(|_| {
            sessions.remove(&frame.session);
            Err("internal error while reading this frame".into())
        });
        let _ = frame.reply.send(outcome);
    }
}

/// Decodes one frame and runs it through its session's analyser (a new session, or one whose
/// settings changed, starts afresh).
fn analyse<'a>(
    models: &'a ModelSet,
    sessions: &mut HashMap<String, Session<'a>>,
    frame: &LiveFrame,
    max_sessions: usize,
    now: Instant,
) -> Result<LiveReport, String> {
    let image =
        decode_image(&frame.bytes, frame.settings.options.max_pixels).map_err(|e| e.to_string())?;
    let gray = image.to_luma8();
    let fresh = sessions
        .get(&frame.session)
        .is_none_or(|s| s.settings != frame.settings);
    if fresh {
        if !sessions.contains_key(&frame.session) && sessions.len() >= max_sessions {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        let live = LiveSession::new(models.get(frame.settings.model), frame.settings.options)?;
        sessions.insert(
            frame.session.clone(),
            Session {
                live,
                settings: frame.settings,
                started: now,
                last: now,
            },
        );
    }
    let session = sessions
        .get_mut(&frame.session)
        .expect("the session was just found or made");
    session.last = now;
    let time_s = now.duration_since(session.started).as_secs_f64();
    Ok(session.live.frame(gray, time_s))
}
